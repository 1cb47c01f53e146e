#include "transport/request_parser.h"

#include <gmock/gmock.h>
#include <google/protobuf/struct.pb.h>
#include <grpcpp/support/byte_buffer.h>
#include <gtest/gtest.h>

#include <string>

#include "messaging/v1/messaging.pb.h"
#include "unit/status_matchers.h"

namespace messaging::transport {
namespace {

using ::messaging::testing::IsOk;
using ::messaging::testing::StatusIs;

constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;

// A serialized CreateMessageRequest with `content` and one metadata entry,
// written with bytes protobuf's serializer would refuse (it checks UTF-8 on
// the way out too): built from valid placeholders, then patched.
std::string WireWith(const std::string& content, const std::string& key, const std::string& value) {
  v1::CreateMessageRequest request;
  request.mutable_message()->set_content(std::string(content.size(), 'C'));
  (*request.mutable_message()->mutable_metadata()->mutable_fields())[std::string(key.size(), 'K')]
      .set_string_value(std::string(value.size(), 'V'));
  std::string wire = request.SerializeAsString();
  wire.replace(wire.find(std::string(content.size(), 'C')), content.size(), content);
  wire.replace(wire.find(std::string(key.size(), 'K')), key.size(), key);
  wire.replace(wire.find(std::string(value.size(), 'V')), value.size(), value);
  return wire;
}

grpc::ByteBuffer Buffer(const std::string& wire) {
  grpc::Slice slice(wire);
  return grpc::ByteBuffer(&slice, 1);
}

TEST(RequestParserTest, ValidRequestParses) {
  v1::CreateMessageRequest request;
  ASSERT_THAT(ParseRequest(Buffer(WireWith("hello", "k", "v")), &request), IsOk());
  EXPECT_EQ(request.message().content(), "hello");
  EXPECT_EQ(request.message().metadata().fields().at("k").string_value(), "v");
}

TEST(RequestParserTest, InvalidUtf8IsNamedByField) {
  v1::CreateMessageRequest request;
  EXPECT_THAT(ParseRequest(Buffer(WireWith("a\xff", "k", "v")), &request),
              StatusIs(kInvalid, "message.content: is not valid UTF-8"));
  EXPECT_THAT(ParseRequest(Buffer(WireWith("ok", "\xc0\xaf", "v")), &request),
              StatusIs(kInvalid, "message.metadata.fields.key: is not valid UTF-8"));
  EXPECT_THAT(ParseRequest(Buffer(WireWith("ok", "k", "\xed\xa0\x80")), &request),
              StatusIs(kInvalid, "message.metadata.fields.value.string_value: is not valid UTF-8"));
}

TEST(RequestParserTest, MalformedBytesAreInvalidArgumentNotInternal) {
  v1::CreateMessageRequest request;
  const std::string wire = WireWith("hello", "k", "v");
  EXPECT_THAT(
      ParseRequest(Buffer(wire.substr(0, wire.size() - 3)), &request),
      StatusIs(kInvalid, "request: is not a well-formed messaging.v1.CreateMessageRequest"));
  EXPECT_THAT(ParseRequest(Buffer(std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 11)),
                           &request),
              StatusIs(kInvalid, "request"));
}

TEST(RequestParserTest, FindInvalidUtf8FieldSeesOnlyStringFields) {
  const auto& descriptor = *v1::CreateMessageRequest::descriptor();
  EXPECT_EQ(FindInvalidUtf8Field(descriptor, WireWith("fine", "k", "v")), std::nullopt);
  EXPECT_EQ(FindInvalidUtf8Field(descriptor, WireWith("\xe2\x82", "k", "v")), "message.content");
  EXPECT_EQ(FindInvalidUtf8Field(descriptor, ""), std::nullopt);
}

TEST(RequestParserTest, ResponsesRoundTrip) {
  v1::Message message;
  message.set_id("id-1");
  message.set_content("héllo");
  const grpc::ByteBuffer bytes = SerializeResponse(message);
  v1::Message back;
  ASSERT_THAT(ParseRequest(bytes, &back), IsOk());
  EXPECT_EQ(back.id(), "id-1");
  EXPECT_EQ(back.content(), "héllo");
}

}  // namespace
}  // namespace messaging::transport
