#include "domain/message_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "unit/mock_repositories.h"
#include "unit/status_matchers.h"
#include "unit/test_values.h"

namespace messaging::domain {
namespace {

using ::messaging::testing::IsOk;
using ::messaging::testing::MockMessageRepository;
using ::messaging::testing::StatusIs;
using ::testing::_;
using ::testing::AllOf;
using ::testing::DoAll;
using ::testing::Eq;
using ::testing::Field;
using ::testing::Optional;
using ::testing::Return;
using ::testing::SaveArg;
using ::testing::StrictMock;

constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;
constexpr char kConversation[] = "55555555-5555-5555-5555-555555555555";
constexpr char kOtherConversation[] = "66666666-6666-6666-6666-666666666666";
constexpr char kMessageId[] = "77777777-7777-7777-7777-777777777777";

Message StoredMessage(const std::string& id, Micros created_at) {
  Message m;
  m.id = id;
  m.conversation_id = kConversation;
  m.distributor_id = kDistributor;
  m.created_at = created_at;
  return m;
}

NewMessage Inbound(std::string content = "hello") {
  NewMessage m;
  m.conversation_id = kConversation;
  m.direction = Direction::kInbound;
  m.content = std::move(content);
  return m;
}

// ---- ParseMessageOrder ------------------------------------------------------

TEST(ParseMessageOrderTest, AcceptedSpellings) {
  struct Case {
    const char* order_by;
    bool descending;
  };
  for (const Case& c :
       {Case{"", false}, Case{"create_time", false}, Case{"create_time asc", false},
        Case{"create_time desc", true}, Case{"create_time DESC", true},
        Case{"create_time Asc", false}, Case{"  create_time   desc  ", true}, Case{" ", false}}) {
    const auto parsed = ParseMessageOrder(c.order_by);
    ASSERT_THAT(parsed, IsOk()) << '"' << c.order_by << '"';
    EXPECT_EQ(*parsed, c.descending) << '"' << c.order_by << '"';
  }
}

TEST(ParseMessageOrderTest, FieldNameIsCaseSensitiveAndOtherValuesAreRejected) {
  for (const char* bad : {"CREATE_TIME desc", "Create_Time", "update_time", "create_time desc x",
                          "create_time descending", "desc", "create_time,desc", "create_time\tdesc",
                          "-create_time", "create_time asc desc", "id"}) {
    EXPECT_THAT(ParseMessageOrder(bad), StatusIs(kInvalid, "order_by")) << '"' << bad << '"';
  }
}

// ---- MessagePreview ---------------------------------------------------------

TEST(MessagePreviewTest, TextIsCutAtCodePoints) {
  NewMessage m = Inbound("\xC3\xA9t\xC3\xA9 \xF0\x9F\x98\x80 long text");
  EXPECT_EQ(MessagePreview(m, 3), "\xC3\xA9t\xC3\xA9");
  EXPECT_EQ(MessagePreview(m, 5), "\xC3\xA9t\xC3\xA9 \xF0\x9F\x98\x80");
  EXPECT_EQ(MessagePreview(m, 100), m.content);
}

TEST(MessagePreviewTest, MediaWithoutTextGetsAPlaceholder) {
  NewMessage m = Inbound("");
  m.media_url = "https://example.com/x";
  m.message_type = MessageType::kMedia;
  EXPECT_EQ(MessagePreview(m, 120), "[media]");
  m.message_type = MessageType::kAudio;
  EXPECT_EQ(MessagePreview(m, 120), "[audio]");
  m.message_type = MessageType::kFile;
  EXPECT_EQ(MessagePreview(m, 120), "[file]");
  m.content = "caption";
  EXPECT_EQ(MessagePreview(m, 120), "caption");
}

// ---- MessageService ---------------------------------------------------------

class MessageServiceTest : public ::testing::Test {
 protected:
  StrictMock<MockMessageRepository> repo_;
  TokenSealer sealer_{"message-service-test-key"};
  PageTokenCodec codec_{sealer_};
  StreamCursorCodec cursors_{sealer_, absl::Hours(24)};
  MessageService service_{repo_, codec_, cursors_, Limits{}};
};

TEST_F(MessageServiceTest, CreateInboundFillsDefaults) {
  NewMessage seen;
  std::string preview;
  EXPECT_CALL(repo_, Create(Field(&RequestContext::distributor_id, kDistributor), _, _))
      .WillOnce(
          DoAll(SaveArg<1>(&seen), SaveArg<2>(&preview), Return(StoredMessage(kMessageId, 1))));
  const auto created = service_.Create(Ctx(), Inbound("hi there"));
  ASSERT_THAT(created, IsOk());
  EXPECT_EQ(created->id, kMessageId);
  EXPECT_EQ(seen.message_type, MessageType::kText);
  EXPECT_EQ(seen.delivery_status, DeliveryStatus::kReceived);
  EXPECT_EQ(seen.ai_processing_status, AiProcessingStatus::kPending);
  EXPECT_EQ(seen.conversation_id, kConversation);
  EXPECT_EQ(preview, "hi there");
}

TEST_F(MessageServiceTest, CreateOutboundDefaultsToQueued) {
  NewMessage seen;
  EXPECT_CALL(repo_, Create(_, _, _))
      .WillOnce(DoAll(SaveArg<1>(&seen), Return(StoredMessage(kMessageId, 1))));
  NewMessage m = Inbound();
  m.direction = Direction::kOutbound;
  ASSERT_THAT(service_.Create(Ctx(), m), IsOk());
  EXPECT_EQ(seen.delivery_status, DeliveryStatus::kQueued);
  EXPECT_EQ(seen.ai_processing_status, AiProcessingStatus::kPending);
}

TEST_F(MessageServiceTest, CreateKeepsExplicitValues) {
  NewMessage seen;
  EXPECT_CALL(repo_, Create(_, _, _))
      .WillOnce(DoAll(SaveArg<1>(&seen), Return(StoredMessage(kMessageId, 1))));
  NewMessage m = Inbound("");
  m.direction = Direction::kOutbound;
  m.message_type = MessageType::kAudio;
  m.media_url = "https://example.com/a.ogg";
  m.delivery_status = DeliveryStatus::kSent;
  m.ai_processing_status = AiProcessingStatus::kSkipped;
  ASSERT_THAT(service_.Create(Ctx(), m), IsOk());
  EXPECT_EQ(seen.message_type, MessageType::kAudio);
  EXPECT_EQ(seen.delivery_status, DeliveryStatus::kSent);
  EXPECT_EQ(seen.ai_processing_status, AiProcessingStatus::kSkipped);
}

TEST_F(MessageServiceTest, CreateNormalisesConversationIdAndPreviewsWithTheLimit) {
  NewMessage seen;
  std::string preview;
  EXPECT_CALL(repo_, Create(_, _, _))
      .WillOnce(
          DoAll(SaveArg<1>(&seen), SaveArg<2>(&preview), Return(StoredMessage(kMessageId, 1))));
  NewMessage m = Inbound();
  m.conversation_id = "ABCDEF00-5555-5555-5555-55555555555F";
  std::string long_text;
  for (int i = 0; i < 200; ++i) long_text += "\xE2\x82\xAC";  // 200 euro signs.
  m.content = long_text;
  ASSERT_THAT(service_.Create(Ctx(), m), IsOk());
  EXPECT_EQ(seen.conversation_id, "abcdef00-5555-5555-5555-55555555555f");
  EXPECT_EQ(preview, long_text.substr(0, 120 * 3)) << "120 code points, not bytes";
}

TEST_F(MessageServiceTest, CreateMediaPreviewIsAPlaceholder) {
  std::string preview;
  EXPECT_CALL(repo_, Create(_, _, _))
      .WillOnce(DoAll(SaveArg<2>(&preview), Return(StoredMessage(kMessageId, 1))));
  NewMessage m = Inbound("");
  m.message_type = MessageType::kMedia;
  m.media_url = "https://example.com/x.jpg";
  ASSERT_THAT(service_.Create(Ctx(), m), IsOk());
  EXPECT_EQ(preview, "[media]");
}

TEST_F(MessageServiceTest, CreateRejectsBadInputWithoutCallingTheRepository) {
  EXPECT_CALL(repo_, Create(_, _, _)).Times(0);
  NewMessage no_direction = Inbound();
  no_direction.direction.reset();
  EXPECT_THAT(service_.Create(Ctx(), no_direction), StatusIs(kInvalid, "message.direction"));

  NewMessage bad_conversation = Inbound();
  bad_conversation.conversation_id = "not-a-uuid";
  EXPECT_THAT(service_.Create(Ctx(), bad_conversation),
              StatusIs(kInvalid, "message.conversation_id: must be a UUID"));

  NewMessage no_conversation = Inbound();
  no_conversation.conversation_id.clear();
  EXPECT_THAT(service_.Create(Ctx(), no_conversation),
              StatusIs(kInvalid, "message.conversation_id: is required"));

  EXPECT_THAT(service_.Create(Ctx(), Inbound("")), StatusIs(kInvalid, "message.content"));
  EXPECT_THAT(service_.Create(Ctx(), Inbound(std::string(64 * 1024 + 1, 'x'))),
              StatusIs(kInvalid, "message.content"));
  EXPECT_THAT(service_.Create(Ctx(), Inbound("\xED\xA0\x80")),
              StatusIs(kInvalid, "message.content"));

  NewMessage media_without_url = Inbound("");
  media_without_url.message_type = MessageType::kFile;
  EXPECT_THAT(service_.Create(Ctx(), media_without_url), StatusIs(kInvalid, "message.media_url"));
}

TEST_F(MessageServiceTest, CreatePassesRepositoryErrorsThrough) {
  EXPECT_CALL(repo_, Create(_, _, _))
      .WillOnce(Return(absl::NotFoundError("conversation: not found")));
  EXPECT_THAT(service_.Create(Ctx(), Inbound()),
              StatusIs(absl::StatusCode::kNotFound, "conversation"));
}

TEST_F(MessageServiceTest, GetValidatesAndNormalisesTheId) {
  EXPECT_CALL(repo_, Get(_, Eq("abcdef00-7777-7777-7777-777777777777")))
      .WillOnce(Return(StoredMessage(kMessageId, 1)));
  EXPECT_THAT(service_.Get(Ctx(), "ABCDEF00-7777-7777-7777-777777777777"), IsOk());
  EXPECT_THAT(service_.Get(Ctx(), "nope"), StatusIs(kInvalid, "id"));
  EXPECT_THAT(service_.Get(Ctx(), ""), StatusIs(kInvalid, "id: is required"));
}

TEST_F(MessageServiceTest, DeleteValidatesTheId) {
  EXPECT_CALL(repo_, Delete(_, Eq(std::string(kMessageId)))).WillOnce(Return(absl::OkStatus()));
  EXPECT_THAT(service_.Delete(Ctx(), kMessageId), IsOk());
  EXPECT_THAT(service_.Delete(Ctx(), "1234"), StatusIs(kInvalid, "id"));
}

TEST_F(MessageServiceTest, UpdateValidatesIdAndPatchBeforeTheRepository) {
  MessagePatch bad;
  bad.ai_intent = std::string(5000, 'i');
  EXPECT_THAT(service_.Update(Ctx(), kMessageId, bad), StatusIs(kInvalid, "message.ai_intent"));
  EXPECT_THAT(service_.Update(Ctx(), "x", MessagePatch{}), StatusIs(kInvalid, "message.id"));

  MessagePatch good;
  good.ai_summary = "summary";
  EXPECT_CALL(repo_, Update(_, Eq(std::string(kMessageId)),
                            Field(&MessagePatch::ai_summary, Optional(std::string("summary")))))
      .WillOnce(Return(StoredMessage(kMessageId, 1)));
  EXPECT_THAT(service_.Update(Ctx(), kMessageId, good), IsOk());
}

// ---- List -------------------------------------------------------------------

TEST_F(MessageServiceTest, ListBuildsTheQuery) {
  EXPECT_CALL(repo_,
              List(_, AllOf(Field(&MessageQuery::conversation_id, kConversation),
                            Field(&MessageQuery::descending, true), Field(&MessageQuery::limit, 50),
                            Field(&MessageQuery::after, Eq(std::nullopt)))))
      .WillOnce(Return(Page<Message>{}));
  const auto list = service_.List(Ctx(), kConversation, "create_time desc", 0, "");
  ASSERT_THAT(list, IsOk());
  EXPECT_TRUE(list->messages.empty());
  EXPECT_EQ(list->next_page_token, "");
}

TEST_F(MessageServiceTest, ListClampsPageSize) {
  EXPECT_CALL(repo_, List(_, Field(&MessageQuery::limit, 500))).WillOnce(Return(Page<Message>{}));
  EXPECT_THAT(service_.List(Ctx(), kConversation, "", 10000, ""), IsOk());
}

TEST_F(MessageServiceTest, ListRejectsBadArgumentsWithoutCallingTheRepository) {
  EXPECT_CALL(repo_, List(_, _)).Times(0);
  EXPECT_THAT(service_.List(Ctx(), "bad", "", 0, ""), StatusIs(kInvalid, "conversation_id"));
  EXPECT_THAT(service_.List(Ctx(), kConversation, "update_time", 0, ""),
              StatusIs(kInvalid, "order_by"));
  EXPECT_THAT(service_.List(Ctx(), kConversation, "", -1, ""), StatusIs(kInvalid, "page_size"));
  EXPECT_THAT(service_.List(Ctx(), kConversation, "", 0, "garbage"),
              StatusIs(kInvalid, "page_token"));
}

TEST_F(MessageServiceTest, NextPageTokenOnlyWhenThereIsMore) {
  Page<Message> last_page;
  last_page.items = {StoredMessage(IdN(1), 10), StoredMessage(IdN(2), 20)};
  last_page.has_more = false;
  EXPECT_CALL(repo_, List(_, _)).WillOnce(Return(last_page));
  const auto list = service_.List(Ctx(), kConversation, "", 2, "");
  ASSERT_THAT(list, IsOk());
  EXPECT_EQ(list->messages.size(), 2u);
  EXPECT_EQ(list->next_page_token, "");
}

TEST_F(MessageServiceTest, PageTokenResumesAfterTheLastItem) {
  Page<Message> first;
  first.items = {StoredMessage(IdN(1), 10), StoredMessage(IdN(2), 20)};
  first.has_more = true;
  EXPECT_CALL(repo_, List(_, Field(&MessageQuery::after, Eq(std::nullopt))))
      .WillOnce(Return(first));
  const auto page1 = service_.List(Ctx(), kConversation, "create_time", 2, "");
  ASSERT_THAT(page1, IsOk());
  ASSERT_NE(page1->next_page_token, "");

  EXPECT_CALL(repo_,
              List(_, Field(&MessageQuery::after, Optional(AllOf(Field(&MessageKey::created_at, 20),
                                                                 Field(&MessageKey::id, IdN(2)))))))
      .WillOnce(Return(Page<Message>{}));
  // "" and "create_time asc" are the same query as "create_time".
  EXPECT_THAT(service_.List(Ctx(), kConversation, "create_time asc", 2, page1->next_page_token),
              IsOk());
}

TEST_F(MessageServiceTest, PageTokenIsRejectedForAnotherQuery) {
  Page<Message> first;
  first.items = {StoredMessage(IdN(1), 10)};
  first.has_more = true;
  EXPECT_CALL(repo_, List(_, _)).WillOnce(Return(first));
  const auto page1 = service_.List(Ctx(), kConversation, "create_time desc", 1, "");
  ASSERT_THAT(page1, IsOk());
  const std::string& token = page1->next_page_token;
  ASSERT_NE(token, "");

  // The repository is not called again (StrictMock + WillOnce above).
  EXPECT_THAT(service_.List(Ctx(), kConversation, "create_time", 1, token),
              StatusIs(kInvalid, "page_token"));
  EXPECT_THAT(service_.List(Ctx(), kOtherConversation, "create_time desc", 1, token),
              StatusIs(kInvalid, "page_token"));
  EXPECT_THAT(service_.List(Ctx(kOtherDistributor), kConversation, "create_time desc", 1, token),
              StatusIs(kInvalid, "page_token"));
}

TEST_F(MessageServiceTest, PageTokenSurvivesConversationIdCase) {
  // The token binds the normalised id, so the same conversation in upper case
  // is the same query.
  Page<Message> first;
  first.items = {StoredMessage(IdN(1), 10)};
  first.has_more = true;
  EXPECT_CALL(repo_, List(_, _)).WillOnce(Return(first)).WillOnce(Return(Page<Message>{}));
  const auto page1 = service_.List(Ctx(), "ABCDEF00-5555-5555-5555-555555555555", "", 1, "");
  ASSERT_THAT(page1, IsOk());
  EXPECT_THAT(
      service_.List(Ctx(), "abcdef00-5555-5555-5555-555555555555", "", 1, page1->next_page_token),
      IsOk());
}

TEST_F(MessageServiceTest, ListReturnsAStreamCursorTakenInThePageSnapshot) {
  Page<Message> page;
  page.snapshot = "100:105:101,103";
  EXPECT_CALL(repo_, List(_, _)).WillOnce(Return(page));
  const auto list = service_.List(Ctx(), kConversation, "", 0, "");
  ASSERT_THAT(list, IsOk());
  ASSERT_NE(list->stream_cursor, "");
  const auto cursor = cursors_.Decode(kDistributor, list->stream_cursor, absl::Now());
  ASSERT_THAT(cursor, IsOk());
  EXPECT_EQ(cursor->snapshot, "100:105:101,103");
  EXPECT_EQ(cursor->position.xid, 100u);
  EXPECT_THAT(cursors_.Decode(kOtherDistributor, list->stream_cursor, absl::Now()),
              StatusIs(kInvalid, "resume_cursor"));
}

// ---- UpdateDeliveryStatus ---------------------------------------------------

TEST_F(MessageServiceTest, UpdateDeliveryStatusNeedsAnIdOrExternalId) {
  EXPECT_CALL(repo_, UpdateDeliveryStatus(_, _)).Times(0);
  EXPECT_THAT(service_.UpdateDeliveryStatus(Ctx(), MessageRef{}, DeliveryStatus::kSent, "", ""),
              StatusIs(kInvalid, "external_message_id"));
}

TEST_F(MessageServiceTest, UpdateDeliveryStatusRejectsUnspecifiedAndReceived) {
  EXPECT_CALL(repo_, UpdateDeliveryStatus(_, _)).Times(0);
  const MessageRef ref{kMessageId, ""};
  EXPECT_THAT(service_.UpdateDeliveryStatus(Ctx(), ref, std::nullopt, "", ""),
              StatusIs(kInvalid, "delivery_status: is required"));
  EXPECT_THAT(service_.UpdateDeliveryStatus(Ctx(), ref, DeliveryStatus::kReceived, "", ""),
              StatusIs(kInvalid, "delivery_status"));
  EXPECT_THAT(service_.UpdateDeliveryStatus(Ctx(), MessageRef{"", "SM123"},
                                            DeliveryStatus::kReceived, "", ""),
              StatusIs(kInvalid, "delivery_status"));
}

TEST_F(MessageServiceTest, UpdateDeliveryStatusValidatesEveryField) {
  EXPECT_CALL(repo_, UpdateDeliveryStatus(_, _)).Times(0);
  EXPECT_THAT(
      service_.UpdateDeliveryStatus(Ctx(), MessageRef{"nope", ""}, DeliveryStatus::kSent, "", ""),
      StatusIs(kInvalid, "id: must be a UUID"));
  EXPECT_THAT(
      service_.UpdateDeliveryStatus(Ctx(), MessageRef{"", "SM\xFF"}, DeliveryStatus::kSent, "", ""),
      StatusIs(kInvalid, "external_message_id"));
  EXPECT_THAT(service_.UpdateDeliveryStatus(Ctx(), MessageRef{"", std::string(4097, 'S')},
                                            DeliveryStatus::kSent, "", ""),
              StatusIs(kInvalid, "external_message_id"));
  EXPECT_THAT(service_.UpdateDeliveryStatus(Ctx(), MessageRef{kMessageId, ""},
                                            DeliveryStatus::kFailed, std::string(4097, '3'), ""),
              StatusIs(kInvalid, "error_code"));
  EXPECT_THAT(service_.UpdateDeliveryStatus(Ctx(), MessageRef{kMessageId, ""},
                                            DeliveryStatus::kFailed, "30003", "bad\xC0\x80"),
              StatusIs(kInvalid, "error_message"));
}

TEST_F(MessageServiceTest, UpdateDeliveryStatusByIdForwardsNormalisedValues) {
  DeliveryStatusUpdate seen;
  EXPECT_CALL(repo_, UpdateDeliveryStatus(_, _))
      .WillOnce(DoAll(SaveArg<1>(&seen), Return(StoredMessage(kMessageId, 1))));
  ASSERT_THAT(
      service_.UpdateDeliveryStatus(Ctx(), MessageRef{"ABCDEF00-7777-7777-7777-777777777777", ""},
                                    DeliveryStatus::kUndelivered, "30005", "Unknown destination"),
      IsOk());
  EXPECT_EQ(seen.ref.id, "abcdef00-7777-7777-7777-777777777777");
  EXPECT_EQ(seen.ref.external_message_id, "");
  EXPECT_EQ(seen.status, DeliveryStatus::kUndelivered);
  EXPECT_EQ(seen.error_code, "30005");
  EXPECT_EQ(seen.error_message, "Unknown destination");
}

TEST_F(MessageServiceTest, UpdateDeliveryStatusByExternalId) {
  DeliveryStatusUpdate seen;
  EXPECT_CALL(repo_, UpdateDeliveryStatus(_, _))
      .WillOnce(DoAll(SaveArg<1>(&seen), Return(StoredMessage(kMessageId, 1))));
  ASSERT_THAT(service_.UpdateDeliveryStatus(Ctx(), MessageRef{"", "SM0123456789abcdef"},
                                            DeliveryStatus::kRead, "", ""),
              IsOk());
  EXPECT_EQ(seen.ref.id, "");
  EXPECT_EQ(seen.ref.external_message_id, "SM0123456789abcdef");
  EXPECT_EQ(seen.status, DeliveryStatus::kRead);
}

}  // namespace
}  // namespace messaging::domain
