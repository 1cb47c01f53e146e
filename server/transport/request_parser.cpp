#include "transport/request_parser.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>
#include <grpcpp/impl/codegen/proto_buffer_reader.h>
#include <grpcpp/impl/codegen/proto_utils.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "domain/validation.h"

namespace messaging::transport {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::internal::WireFormatLite;
using google::protobuf::io::CodedInputStream;

// protobuf's own default recursion limit: deeper input failed to parse anyway.
constexpr int kMaxDepth = 100;

std::optional<std::string> Walk(const Descriptor& message, absl::string_view wire,
                                const std::string& prefix, int depth) {
  CodedInputStream in(reinterpret_cast<const uint8_t*>(wire.data()), static_cast<int>(wire.size()));
  while (const uint32_t tag = in.ReadTag()) {
    const FieldDescriptor* field =
        message.FindFieldByNumber(static_cast<int>(WireFormatLite::GetTagFieldNumber(tag)));
    const bool length_delimited =
        WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED;
    if (field == nullptr || !length_delimited ||
        (field->type() != FieldDescriptor::TYPE_STRING &&
         field->type() != FieldDescriptor::TYPE_MESSAGE)) {
      if (!WireFormatLite::SkipField(&in, tag)) return std::nullopt;
      continue;
    }
    uint32_t length = 0;
    std::string bytes;
    if (!in.ReadVarint32(&length) || !in.ReadString(&bytes, static_cast<int>(length))) {
      return std::nullopt;
    }
    const std::string path = prefix + field->name();
    if (field->type() == FieldDescriptor::TYPE_STRING) {
      if (!domain::IsValidUtf8(bytes)) return path;
    } else if (depth < kMaxDepth) {
      if (auto found = Walk(*field->message_type(), bytes, path + ".", depth + 1)) return found;
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> FindInvalidUtf8Field(const Descriptor& message, absl::string_view wire) {
  return Walk(message, wire, "", 0);
}

absl::Status ParseRequest(const grpc::ByteBuffer& bytes, google::protobuf::Message* request) {
  grpc::ByteBuffer buffer(bytes);  // Shares the slices; the reader needs a mutable buffer.
  grpc::ProtoBufferReader reader(&buffer);
  if (reader.status().ok() && request->ParseFromZeroCopyStream(&reader)) return absl::OkStatus();

  // The cold path: find out why, in terms of the request's fields.
  std::vector<grpc::Slice> slices;
  std::string wire;
  if (bytes.Dump(&slices).ok()) {
    for (const auto& slice : slices) {
      wire.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
    }
  }
  if (auto field = FindInvalidUtf8Field(*request->GetDescriptor(), wire)) {
    return absl::InvalidArgumentError(absl::StrCat(*field, ": is not valid UTF-8"));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("request: is not a well-formed ", request->GetDescriptor()->full_name(),
                   " (truncated, nested too deep, or wrong field types)"));
}

grpc::ByteBuffer SerializeResponse(const google::protobuf::Message& response) {
  grpc::ByteBuffer out;
  bool own_buffer = false;
  // Only fails for messages over 2 GiB, which no response comes near.
  (void)grpc::SerializationTraits<google::protobuf::Message>::Serialize(response, &out,
                                                                        &own_buffer);
  return out;
}

}  // namespace messaging::transport
