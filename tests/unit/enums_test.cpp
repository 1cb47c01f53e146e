// Every enum has one spelling per layer, in one table each (domain/enums.h for
// the database, transport/proto_mapping.cpp for the API): each table covers
// every API value, and every value survives the trip database -> domain -> API
// -> domain -> database.

#include "domain/enums.h"

#include <gmock/gmock.h>
#include <google/protobuf/descriptor.h>
#include <gtest/gtest.h>

#include <iterator>
#include <set>
#include <string>

#include "transport/proto_mapping.h"

namespace messaging::transport {
namespace {

using ::testing::Optional;

// Every row of `db_table` round-trips, and the table has a row for every API
// value but UNSPECIFIED.
template <typename E, std::size_t N, typename Proto>
void ExpectOneSpellingPerValue(const domain::DbSpelling<E> (&db_table)[N], Proto /*proto type*/,
                               const google::protobuf::EnumDescriptor* descriptor) {
  SCOPED_TRACE(descriptor->full_name());
  EXPECT_EQ(static_cast<int>(N), descriptor->value_count() - 1);
  std::set<std::string> spellings;
  for (const auto& row : db_table) {
    EXPECT_THAT(domain::FromDb<E>(domain::ToDb(row.value)), Optional(row.value));
    EXPECT_TRUE(spellings.insert(std::string(row.spelling)).second) << row.spelling;
  }
  for (int i = 0; i < descriptor->value_count(); ++i) {
    const int number = descriptor->value(i)->number();
    if (number == 0) continue;
    const auto domain_value = FromProto(static_cast<Proto>(number), "f");
    ASSERT_TRUE(domain_value.ok()) << domain_value.status();
    ASSERT_TRUE(domain_value->has_value()) << descriptor->value(i)->name();
    EXPECT_FALSE(domain::ToDb(**domain_value).empty()) << descriptor->value(i)->name();
  }
}

TEST(EnumSpellingTest, EveryEnumHasOneSpellingPerLayerForEveryValue) {
  ExpectOneSpellingPerValue(domain::kChannelDb, v1::Channel(), v1::Channel_descriptor());
  ExpectOneSpellingPerValue(domain::kConversationStatusDb, v1::ConversationStatus(),
                            v1::ConversationStatus_descriptor());
  ExpectOneSpellingPerValue(domain::kDirectionDb, v1::Direction(), v1::Direction_descriptor());
  ExpectOneSpellingPerValue(domain::kMessageTypeDb, v1::MessageType(),
                            v1::MessageType_descriptor());
  ExpectOneSpellingPerValue(domain::kDeliveryStatusDb, v1::DeliveryStatus(),
                            v1::DeliveryStatus_descriptor());
  ExpectOneSpellingPerValue(domain::kAiProcessingStatusDb, v1::AiProcessingStatus(),
                            v1::AiProcessingStatus_descriptor());
}

TEST(EnumSpellingTest, UnknownDatabaseTextIsNullopt) {
  EXPECT_EQ(domain::FromDb<domain::Channel>("WhatsApp"), std::nullopt);
  EXPECT_EQ(domain::FromDb<domain::DeliveryStatus>(""), std::nullopt);
}

TEST(EnumSpellingTest, EventTypesAreStoredAndSentAsTheirOwnValues) {
  EXPECT_THAT(domain::FromDb<domain::EventType>("created"), Optional(domain::EventType::kCreated));
  EXPECT_THAT(domain::FromDb<domain::EventType>("updated"), Optional(domain::EventType::kUpdated));
  EXPECT_THAT(domain::FromDb<domain::EventType>("deleted"), Optional(domain::EventType::kDeleted));
  EXPECT_EQ(domain::ToDb(domain::EventType::kHeartbeat), "");  // Never stored.
  EXPECT_EQ(ToProto(domain::EventType::kCreated), v1::MESSAGE_EVENT_TYPE_CREATED);
  EXPECT_EQ(ToProto(domain::EventType::kUpdated), v1::MESSAGE_EVENT_TYPE_UPDATED);
  EXPECT_EQ(ToProto(domain::EventType::kDeleted), v1::MESSAGE_EVENT_TYPE_DELETED);
  EXPECT_EQ(ToProto(domain::EventType::kHeartbeat), v1::MESSAGE_EVENT_TYPE_HEARTBEAT);
}

}  // namespace
}  // namespace messaging::transport
