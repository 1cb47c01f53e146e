#include "transport/proto_mapping.h"

#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "unit/status_matchers.h"

namespace messaging::transport {
namespace {

using ::google::protobuf::FieldMask;
using ::google::protobuf::Struct;
using ::google::protobuf::util::MessageDifferencer;
using ::messaging::testing::IsOk;
using ::messaging::testing::StatusIs;
using ::testing::Optional;

constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;

FieldMask Mask(std::initializer_list<const char*> paths) {
  FieldMask mask;
  for (const char* p : paths) mask.add_paths(p);
  return mask;
}

Struct ParseStruct(const std::string& json) {
  Struct s;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &s).ok()) << json;
  return s;
}

// ---- Enums ------------------------------------------------------------------

TEST(EnumFromProtoTest, UnspecifiedIsNullopt) {
  EXPECT_EQ(FromProto(v1::CHANNEL_UNSPECIFIED, "f").value(), std::nullopt);
  EXPECT_EQ(FromProto(v1::CONVERSATION_STATUS_UNSPECIFIED, "f").value(), std::nullopt);
  EXPECT_EQ(FromProto(v1::DIRECTION_UNSPECIFIED, "f").value(), std::nullopt);
  EXPECT_EQ(FromProto(v1::MESSAGE_TYPE_UNSPECIFIED, "f").value(), std::nullopt);
  EXPECT_EQ(FromProto(v1::DELIVERY_STATUS_UNSPECIFIED, "f").value(), std::nullopt);
  EXPECT_EQ(FromProto(v1::AI_PROCESSING_STATUS_UNSPECIFIED, "f").value(), std::nullopt);
}

TEST(EnumFromProtoTest, KnownValuesMap) {
  EXPECT_THAT(FromProto(v1::CHANNEL_WHATSAPP, "f").value(), Optional(domain::Channel::kWhatsapp));
  EXPECT_THAT(FromProto(v1::CHANNEL_SMS, "f").value(), Optional(domain::Channel::kSms));
  EXPECT_THAT(FromProto(v1::CHANNEL_EMAIL, "f").value(), Optional(domain::Channel::kEmail));
  EXPECT_THAT(FromProto(v1::CONVERSATION_STATUS_CLOSED, "f").value(),
              Optional(domain::ConversationStatus::kClosed));
  EXPECT_THAT(FromProto(v1::DIRECTION_OUTBOUND, "f").value(),
              Optional(domain::Direction::kOutbound));
  EXPECT_THAT(FromProto(v1::MESSAGE_TYPE_FILE, "f").value(), Optional(domain::MessageType::kFile));
  EXPECT_THAT(FromProto(v1::DELIVERY_STATUS_UNDELIVERED, "f").value(),
              Optional(domain::DeliveryStatus::kUndelivered));
  EXPECT_THAT(FromProto(v1::DELIVERY_STATUS_RECEIVED, "f").value(),
              Optional(domain::DeliveryStatus::kReceived));
  EXPECT_THAT(FromProto(v1::AI_PROCESSING_STATUS_SKIPPED, "f").value(),
              Optional(domain::AiProcessingStatus::kSkipped));
}

TEST(EnumFromProtoTest, OutOfRangeValuesAreRejectedNamingTheField) {
  for (const int raw : {99, -1, 8, std::numeric_limits<int>::max()}) {
    SCOPED_TRACE(raw);
    EXPECT_THAT(FromProto(static_cast<v1::Channel>(raw), "conversation.channel"),
                StatusIs(kInvalid, "conversation.channel"));
    EXPECT_THAT(FromProto(static_cast<v1::ConversationStatus>(raw), "conversation.status"),
                StatusIs(kInvalid, "conversation.status"));
    EXPECT_THAT(FromProto(static_cast<v1::Direction>(raw), "message.direction"),
                StatusIs(kInvalid, "message.direction"));
    EXPECT_THAT(FromProto(static_cast<v1::MessageType>(raw), "message.message_type"),
                StatusIs(kInvalid, "message.message_type"));
    EXPECT_THAT(FromProto(static_cast<v1::DeliveryStatus>(raw), "delivery_status"),
                StatusIs(kInvalid, "delivery_status"));
    EXPECT_THAT(FromProto(static_cast<v1::AiProcessingStatus>(raw), "message.ai_processing_status"),
                StatusIs(kInvalid, "message.ai_processing_status"));
  }
  // The value just past the last one of each enum.
  EXPECT_THAT(FromProto(static_cast<v1::Channel>(4), "c"), StatusIs(kInvalid, "c"));
  EXPECT_THAT(FromProto(static_cast<v1::Direction>(3), "d"), StatusIs(kInvalid, "d"));
  EXPECT_THAT(FromProto(static_cast<v1::MessageType>(5), "t"), StatusIs(kInvalid, "t"));
  EXPECT_THAT(FromProto(static_cast<v1::AiProcessingStatus>(6), "a"), StatusIs(kInvalid, "a"));
}

TEST(EnumToProtoTest, EveryDomainValueRoundTripsThroughTheMessage) {
  using DS = domain::DeliveryStatus;
  for (const DS s : {DS::kQueued, DS::kSent, DS::kDelivered, DS::kRead, DS::kFailed,
                     DS::kUndelivered, DS::kReceived}) {
    domain::Message m;
    m.delivery_status = s;
    v1::Message proto;
    ToProto(m, &proto);
    EXPECT_NE(proto.delivery_status(), v1::DELIVERY_STATUS_UNSPECIFIED);
    EXPECT_THAT(FromProto(proto.delivery_status(), "f").value(), Optional(s));
  }
  using AI = domain::AiProcessingStatus;
  for (const AI s : {AI::kPending, AI::kProcessing, AI::kCompleted, AI::kFailed, AI::kSkipped}) {
    domain::Message m;
    m.ai_processing_status = s;
    v1::Message proto;
    ToProto(m, &proto);
    EXPECT_THAT(FromProto(proto.ai_processing_status(), "f").value(), Optional(s));
  }
  for (const auto t : {domain::MessageType::kText, domain::MessageType::kMedia,
                       domain::MessageType::kAudio, domain::MessageType::kFile}) {
    domain::Message m;
    m.message_type = t;
    v1::Message proto;
    ToProto(m, &proto);
    EXPECT_THAT(FromProto(proto.message_type(), "f").value(), Optional(t));
  }
  for (const auto d : {domain::Direction::kInbound, domain::Direction::kOutbound}) {
    domain::Message m;
    m.direction = d;
    v1::Message proto;
    ToProto(m, &proto);
    EXPECT_THAT(FromProto(proto.direction(), "f").value(), Optional(d));
  }
  for (const auto c :
       {domain::Channel::kWhatsapp, domain::Channel::kSms, domain::Channel::kEmail}) {
    for (const auto st :
         {domain::ConversationStatus::kActive, domain::ConversationStatus::kArchived,
          domain::ConversationStatus::kClosed}) {
      domain::Conversation conv;
      conv.channel = c;
      conv.status = st;
      v1::Conversation proto;
      ToProto(conv, &proto);
      EXPECT_THAT(FromProto(proto.channel(), "f").value(), Optional(c));
      EXPECT_THAT(FromProto(proto.status(), "f").value(), Optional(st));
    }
  }
}

// ---- Struct <-> JSON --------------------------------------------------------

TEST(StructJsonTest, NestedStructRoundTrips) {
  const Struct original = ParseStruct(R"({
      "name": "Ana", "count": 3, "ratio": 0.25, "vip": true, "nothing": null,
      "tags": ["a", 1, null, false, {"deep": [[], {}, [null]]}],
      "nested": {"empty_list": [], "empty_object": {}, "unicode": "caf\u00e9 \ud83d\ude00"}})");
  const auto json = StructToJson(original, "metadata");
  ASSERT_THAT(json, IsOk());
  Struct back;
  JsonToStruct(*json, &back);
  EXPECT_TRUE(MessageDifferencer::Equals(original, back)) << *json;

  // The JSON text means the same document.
  const auto doc = nlohmann::json::parse(*json);
  EXPECT_EQ(doc.at("tags").size(), 5u);
  EXPECT_TRUE(doc.at("nothing").is_null());
  EXPECT_TRUE(doc.at("tags").at(2).is_null());
  EXPECT_EQ(doc.at("nested").at("unicode"), "caf\xC3\xA9 \xF0\x9F\x98\x80");
  EXPECT_EQ(doc.at("count"), 3);
}

TEST(StructJsonTest, EmptyStructIsAnEmptyObject) {
  const auto json = StructToJson(Struct{}, "metadata");
  ASSERT_THAT(json, IsOk());
  EXPECT_EQ(nlohmann::json::parse(*json), nlohmann::json::object());
}

TEST(StructJsonTest, JsonFromTheDatabaseRoundTrips) {
  const std::string stored = R"({"a":{"b":[1,"two",null,{"c":true}]},"d":null})";
  Struct s;
  JsonToStruct(stored, &s);
  const auto json = StructToJson(s, "metadata");
  ASSERT_THAT(json, IsOk());
  EXPECT_EQ(nlohmann::json::parse(*json), nlohmann::json::parse(stored));
}

TEST(StructJsonTest, UnparsableOrNonObjectJsonLeavesAnEmptyStruct) {
  for (const char* bad : {"not json", "[1,2]", "\"str\"", "42", "", "{\"a\":"}) {
    Struct s = ParseStruct(R"({"stale": 1})");
    JsonToStruct(bad, &s);
    EXPECT_EQ(s.fields_size(), 0) << bad;
  }
}

TEST(StructJsonTest, NonFiniteNumbersNeverProduceInvalidJson) {
  Struct s;
  (*s.mutable_fields())["x"].set_number_value(std::numeric_limits<double>::quiet_NaN());
  const auto json = StructToJson(s, "message.metadata");
  // JSON has no NaN (the column is jsonb): the encoder either refuses it,
  // naming the field, or writes valid JSON (Protobuf 3.21 writes "NaN").
  if (json.ok()) {
    EXPECT_TRUE(nlohmann::json::accept(*json)) << *json;
  } else {
    EXPECT_THAT(json, StatusIs(kInvalid, "message.metadata"));
  }
}

// ---- New*FromProto -----------------------------------------------------------

TEST(NewMessageFromProtoTest, CopiesFieldsAndLeavesUnspecifiedEnumsUnset) {
  v1::Message m;
  m.set_conversation_id("c");
  m.set_direction(v1::DIRECTION_INBOUND);
  m.set_content("hello");
  m.set_external_message_id("SM1");
  *m.mutable_metadata() = ParseStruct(R"({"k":"v"})");
  const auto out = NewMessageFromProto(m);
  ASSERT_THAT(out, IsOk());
  EXPECT_EQ(out->conversation_id, "c");
  EXPECT_EQ(out->direction, domain::Direction::kInbound);
  EXPECT_EQ(out->message_type, std::nullopt);
  EXPECT_EQ(out->delivery_status, std::nullopt);
  EXPECT_EQ(out->ai_processing_status, std::nullopt);
  EXPECT_EQ(out->content, "hello");
  EXPECT_EQ(out->external_message_id, "SM1");
  EXPECT_EQ(out->ai_extracted_data_json, std::nullopt) << "absent Struct is NULL, not {}";
  EXPECT_EQ(nlohmann::json::parse(out->metadata_json), nlohmann::json({{"k", "v"}}));
}

TEST(NewMessageFromProtoTest, PresentButEmptyExtractedDataIsAnEmptyObject) {
  v1::Message m;
  m.mutable_ai_extracted_data();
  const auto out = NewMessageFromProto(m);
  ASSERT_THAT(out, IsOk());
  ASSERT_TRUE(out->ai_extracted_data_json.has_value());
  EXPECT_EQ(nlohmann::json::parse(*out->ai_extracted_data_json), nlohmann::json::object());
}

TEST(NewMessageFromProtoTest, UnknownEnumValuesAreRejectedNamingTheField) {
  v1::Message m;
  m.set_direction(static_cast<v1::Direction>(42));
  EXPECT_THAT(NewMessageFromProto(m), StatusIs(kInvalid, "message.direction"));
  m.set_direction(v1::DIRECTION_OUTBOUND);
  m.set_message_type(static_cast<v1::MessageType>(42));
  EXPECT_THAT(NewMessageFromProto(m), StatusIs(kInvalid, "message.message_type"));
  m.set_message_type(v1::MESSAGE_TYPE_TEXT);
  m.set_delivery_status(static_cast<v1::DeliveryStatus>(42));
  EXPECT_THAT(NewMessageFromProto(m), StatusIs(kInvalid, "message.delivery_status"));
  m.set_delivery_status(v1::DELIVERY_STATUS_QUEUED);
  m.set_ai_processing_status(static_cast<v1::AiProcessingStatus>(42));
  EXPECT_THAT(NewMessageFromProto(m), StatusIs(kInvalid, "message.ai_processing_status"));
}

TEST(NewConversationFromProtoTest, MapsFields) {
  v1::Conversation c;
  c.set_customer_id("cust");
  c.set_channel(v1::CHANNEL_SMS);
  c.set_ai_context_summary("summary");
  const auto out = NewConversationFromProto(c);
  ASSERT_THAT(out, IsOk());
  EXPECT_EQ(out->customer_id, "cust");
  EXPECT_EQ(out->channel, domain::Channel::kSms);
  EXPECT_EQ(out->status, std::nullopt);
  EXPECT_EQ(out->ai_context_summary, "summary");
  EXPECT_EQ(nlohmann::json::parse(out->metadata_json), nlohmann::json::object());

  c.set_channel(static_cast<v1::Channel>(7));
  EXPECT_THAT(NewConversationFromProto(c), StatusIs(kInvalid, "conversation.channel"));
}

// ---- Patches ----------------------------------------------------------------

v1::Conversation FullConversation() {
  v1::Conversation c;
  c.set_status(v1::CONVERSATION_STATUS_ARCHIVED);
  c.set_ai_context_summary("summary");
  *c.mutable_metadata() = ParseStruct(R"({"k":1})");
  c.set_unread_count(7);
  return c;
}

TEST(ConversationPatchFromProtoTest, OnlyMaskedFieldsAreSet) {
  const v1::Conversation c = FullConversation();
  auto patch = ConversationPatchFromProto(c, Mask({"status"}));
  ASSERT_THAT(patch, IsOk());
  EXPECT_EQ(patch->status, domain::ConversationStatus::kArchived);
  EXPECT_EQ(patch->ai_context_summary, std::nullopt);
  EXPECT_EQ(patch->metadata_json, std::nullopt);

  patch = ConversationPatchFromProto(c, Mask({"ai_context_summary", "metadata"}));
  ASSERT_THAT(patch, IsOk());
  EXPECT_EQ(patch->status, std::nullopt);
  EXPECT_THAT(patch->ai_context_summary, Optional(std::string("summary")));
  ASSERT_TRUE(patch->metadata_json.has_value());
  EXPECT_EQ(nlohmann::json::parse(*patch->metadata_json), nlohmann::json({{"k", 1}}));
}

TEST(ConversationPatchFromProtoTest, MaskedEmptyValuesClearTheField) {
  const auto patch =
      ConversationPatchFromProto(v1::Conversation{}, Mask({"ai_context_summary", "metadata"}));
  ASSERT_THAT(patch, IsOk());
  EXPECT_THAT(patch->ai_context_summary, Optional(std::string()));
  ASSERT_TRUE(patch->metadata_json.has_value());
  EXPECT_EQ(nlohmann::json::parse(*patch->metadata_json), nlohmann::json::object());
}

TEST(ConversationPatchFromProtoTest, BadMasksAndValuesAreRejected) {
  const v1::Conversation c = FullConversation();
  EXPECT_THAT(ConversationPatchFromProto(c, Mask({})), StatusIs(kInvalid, "update_mask"));
  EXPECT_THAT(ConversationPatchFromProto(c, Mask({"status", "unread_count"})),
              StatusIs(kInvalid, "unread_count"));
  EXPECT_THAT(ConversationPatchFromProto(v1::Conversation{}, Mask({"status"})),
              StatusIs(kInvalid, "conversation.status"));
  v1::Conversation bad = c;
  bad.set_status(static_cast<v1::ConversationStatus>(9));
  EXPECT_THAT(ConversationPatchFromProto(bad, Mask({"status"})),
              StatusIs(kInvalid, "conversation.status"));
  // Not in the mask: an invalid value there is ignored.
  EXPECT_THAT(ConversationPatchFromProto(bad, Mask({"metadata"})), IsOk());
}

v1::Message FullMessage() {
  v1::Message m;
  m.set_delivery_status(v1::DELIVERY_STATUS_DELIVERED);
  m.set_error_code("30003");
  m.set_error_message("Unreachable");
  m.set_ai_processing_status(v1::AI_PROCESSING_STATUS_COMPLETED);
  m.set_ai_summary("sum");
  m.set_ai_intent("buy");
  m.set_ai_sentiment("positive");
  *m.mutable_ai_extracted_data() = ParseStruct(R"({"sku":"A1","qty":[1,null]})");
  *m.mutable_metadata() = ParseStruct(R"({"m":true})");
  m.set_content("not patchable");
  return m;
}

TEST(MessagePatchFromProtoTest, OnlyMaskedFieldsAreSet) {
  const auto patch = MessagePatchFromProto(FullMessage(), Mask({"ai_summary", "error_code"}));
  ASSERT_THAT(patch, IsOk());
  EXPECT_THAT(patch->ai_summary, Optional(std::string("sum")));
  EXPECT_THAT(patch->error_code, Optional(std::string("30003")));
  EXPECT_EQ(patch->delivery_status, std::nullopt);
  EXPECT_EQ(patch->error_message, std::nullopt);
  EXPECT_EQ(patch->ai_processing_status, std::nullopt);
  EXPECT_EQ(patch->ai_intent, std::nullopt);
  EXPECT_EQ(patch->ai_sentiment, std::nullopt);
  EXPECT_FALSE(patch->ai_extracted_data_json.has_value());
  EXPECT_EQ(patch->metadata_json, std::nullopt);
}

TEST(MessagePatchFromProtoTest, FullMaskSetsEverything) {
  const auto patch = MessagePatchFromProto(
      FullMessage(),
      Mask({"delivery_status", "error_code", "error_message", "ai_processing_status", "ai_summary",
            "ai_intent", "ai_sentiment", "ai_extracted_data", "metadata"}));
  ASSERT_THAT(patch, IsOk());
  EXPECT_THAT(patch->delivery_status, Optional(domain::DeliveryStatus::kDelivered));
  EXPECT_THAT(patch->error_message, Optional(std::string("Unreachable")));
  EXPECT_THAT(patch->ai_processing_status, Optional(domain::AiProcessingStatus::kCompleted));
  EXPECT_THAT(patch->ai_intent, Optional(std::string("buy")));
  EXPECT_THAT(patch->ai_sentiment, Optional(std::string("positive")));
  ASSERT_TRUE(patch->ai_extracted_data_json.has_value());
  ASSERT_TRUE(patch->ai_extracted_data_json->has_value());
  EXPECT_EQ(nlohmann::json::parse(**patch->ai_extracted_data_json),
            nlohmann::json::parse(R"({"sku":"A1","qty":[1,null]})"));
  ASSERT_TRUE(patch->metadata_json.has_value());
  EXPECT_EQ(nlohmann::json::parse(*patch->metadata_json), nlohmann::json({{"m", true}}));
}

TEST(MessagePatchFromProtoTest, ExtractedDataInMaskWithoutValueClearsIt) {
  v1::Message m = FullMessage();
  m.clear_ai_extracted_data();
  const auto patch = MessagePatchFromProto(m, Mask({"ai_extracted_data"}));
  ASSERT_THAT(patch, IsOk());
  ASSERT_TRUE(patch->ai_extracted_data_json.has_value()) << "the field is written";
  EXPECT_FALSE(patch->ai_extracted_data_json->has_value()) << "as NULL";
}

TEST(MessagePatchFromProtoTest, ExtractedDataSetToEmptyStructIsAnEmptyObjectNotNull) {
  v1::Message m;
  m.mutable_ai_extracted_data();
  const auto patch = MessagePatchFromProto(m, Mask({"ai_extracted_data"}));
  ASSERT_THAT(patch, IsOk());
  ASSERT_TRUE(patch->ai_extracted_data_json.has_value());
  ASSERT_TRUE(patch->ai_extracted_data_json->has_value());
  EXPECT_EQ(nlohmann::json::parse(**patch->ai_extracted_data_json), nlohmann::json::object());
}

TEST(MessagePatchFromProtoTest, BadMasksAndValuesAreRejected) {
  const v1::Message m = FullMessage();
  EXPECT_THAT(MessagePatchFromProto(m, Mask({})), StatusIs(kInvalid, "update_mask"));
  EXPECT_THAT(MessagePatchFromProto(m, Mask({"content"})), StatusIs(kInvalid, "\"content\""));
  EXPECT_THAT(MessagePatchFromProto(m, Mask({"ai_summary", "conversation_id"})),
              StatusIs(kInvalid, "conversation_id"));
  EXPECT_THAT(MessagePatchFromProto(v1::Message{}, Mask({"delivery_status"})),
              StatusIs(kInvalid, "message.delivery_status"));
  EXPECT_THAT(MessagePatchFromProto(v1::Message{}, Mask({"ai_processing_status"})),
              StatusIs(kInvalid, "message.ai_processing_status"));
  v1::Message bad = m;
  bad.set_delivery_status(static_cast<v1::DeliveryStatus>(99));
  EXPECT_THAT(MessagePatchFromProto(bad, Mask({"delivery_status"})),
              StatusIs(kInvalid, "message.delivery_status"));
}

// ---- ToProto ------------------------------------------------------------------

TEST(ToProtoTest, MessageTimestampsAreExactToTheMicrosecond) {
  domain::Message m;
  m.created_at = 1700000000123456;
  m.updated_at = 1700000001000001;
  m.ai_processed_at = 1;
  v1::Message proto;
  ToProto(m, &proto);
  EXPECT_EQ(proto.create_time().seconds(), 1700000000);
  EXPECT_EQ(proto.create_time().nanos(), 123456000);
  EXPECT_EQ(proto.update_time().seconds(), 1700000001);
  EXPECT_EQ(proto.update_time().nanos(), 1000);
  ASSERT_TRUE(proto.has_ai_processed_at());
  EXPECT_EQ(proto.ai_processed_at().seconds(), 0);
  EXPECT_EQ(proto.ai_processed_at().nanos(), 1000);
}

TEST(ToProtoTest, TimestampsBeforeTheEpochNormaliseNanos) {
  domain::Conversation c;
  c.created_at = -1;  // 1969-12-31T23:59:59.999999Z
  v1::Conversation proto;
  ToProto(c, &proto);
  EXPECT_EQ(proto.create_time().seconds(), -1);
  EXPECT_EQ(proto.create_time().nanos(), 999999000);
}

TEST(ToProtoTest, OptionalFieldsStayUnsetWhenAbsent) {
  domain::Message m;
  v1::Message proto;
  ToProto(m, &proto);
  EXPECT_FALSE(proto.has_ai_processed_at());
  EXPECT_FALSE(proto.has_ai_extracted_data());

  domain::Conversation c;
  v1::Conversation conv;
  ToProto(c, &conv);
  EXPECT_FALSE(conv.has_last_message_at());
}

TEST(ToProtoTest, ConversationFieldsAreCopied) {
  domain::Conversation c;
  c.id = "id-1";
  c.distributor_id = "dist";
  c.customer_id = "cust";
  c.channel = domain::Channel::kEmail;
  c.status = domain::ConversationStatus::kClosed;
  c.ai_context_summary = "ctx";
  c.unread_count = 4;
  c.last_message_at = 1700000000999999;
  c.last_message_preview = "hi";
  c.metadata_json = R"({"a":[1,{"b":null}]})";
  c.created_at = 1000000;
  c.updated_at = 2000000;
  v1::Conversation proto;
  ToProto(c, &proto);
  EXPECT_EQ(proto.id(), "id-1");
  EXPECT_EQ(proto.distributor_id(), "dist");
  EXPECT_EQ(proto.customer_id(), "cust");
  EXPECT_EQ(proto.channel(), v1::CHANNEL_EMAIL);
  EXPECT_EQ(proto.status(), v1::CONVERSATION_STATUS_CLOSED);
  EXPECT_EQ(proto.ai_context_summary(), "ctx");
  EXPECT_EQ(proto.unread_count(), 4);
  ASSERT_TRUE(proto.has_last_message_at());
  EXPECT_EQ(proto.last_message_at().seconds(), 1700000000);
  EXPECT_EQ(proto.last_message_at().nanos(), 999999000);
  EXPECT_EQ(proto.last_message_preview(), "hi");
  EXPECT_EQ(proto.create_time().seconds(), 1);
  EXPECT_EQ(proto.update_time().seconds(), 2);
  const auto json = StructToJson(proto.metadata(), "metadata");
  ASSERT_THAT(json, IsOk());
  EXPECT_EQ(nlohmann::json::parse(*json), nlohmann::json::parse(c.metadata_json));
}

TEST(ToProtoTest, MessageFieldsAreCopied) {
  domain::Message m;
  m.id = "m1";
  m.conversation_id = "c1";
  m.distributor_id = "d1";
  m.direction = domain::Direction::kOutbound;
  m.message_type = domain::MessageType::kMedia;
  m.content = "caption";
  m.media_url = "https://x/y.png";
  m.media_content_type = "image/png";
  m.external_message_id = "SM9";
  m.delivery_status = domain::DeliveryStatus::kRead;
  m.error_code = "e";
  m.error_message = "em";
  m.ai_processing_status = domain::AiProcessingStatus::kFailed;
  m.ai_summary = "s";
  m.ai_intent = "i";
  m.ai_sentiment = "neg";
  m.ai_extracted_data_json = R"({"x":null})";
  m.metadata_json = R"({"y":[true]})";
  m.version = 7;
  v1::Message proto;
  ToProto(m, &proto);
  EXPECT_EQ(proto.id(), "m1");
  EXPECT_EQ(proto.conversation_id(), "c1");
  EXPECT_EQ(proto.distributor_id(), "d1");
  EXPECT_EQ(proto.direction(), v1::DIRECTION_OUTBOUND);
  EXPECT_EQ(proto.message_type(), v1::MESSAGE_TYPE_MEDIA);
  EXPECT_EQ(proto.content(), "caption");
  EXPECT_EQ(proto.media_url(), "https://x/y.png");
  EXPECT_EQ(proto.media_content_type(), "image/png");
  EXPECT_EQ(proto.external_message_id(), "SM9");
  EXPECT_EQ(proto.delivery_status(), v1::DELIVERY_STATUS_READ);
  EXPECT_EQ(proto.error_code(), "e");
  EXPECT_EQ(proto.error_message(), "em");
  EXPECT_EQ(proto.ai_processing_status(), v1::AI_PROCESSING_STATUS_FAILED);
  EXPECT_EQ(proto.ai_summary(), "s");
  EXPECT_EQ(proto.ai_intent(), "i");
  EXPECT_EQ(proto.ai_sentiment(), "neg");
  ASSERT_TRUE(proto.has_ai_extracted_data());
  EXPECT_EQ(proto.ai_extracted_data().fields().at("x").kind_case(),
            google::protobuf::Value::kNullValue);
  EXPECT_TRUE(proto.metadata().fields().at("y").list_value().values(0).bool_value());
  EXPECT_EQ(proto.version(), 7);
}

}  // namespace
}  // namespace messaging::transport
