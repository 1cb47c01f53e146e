#include "domain/conversation_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <tuple>
#include <vector>

#include "unit/mock_repositories.h"
#include "unit/status_matchers.h"
#include "unit/test_values.h"

namespace messaging::domain {
namespace {

using ::messaging::testing::IsOk;
using ::messaging::testing::MockConversationRepository;
using ::messaging::testing::StatusIs;
using ::testing::_;
using ::testing::AllOf;
using ::testing::DoAll;
using ::testing::Eq;
using ::testing::Field;
using ::testing::Invoke;
using ::testing::Optional;
using ::testing::Return;
using ::testing::SaveArg;
using ::testing::StrictMock;

constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;
constexpr char kCustomer[] = "33333333-3333-3333-3333-333333333333";
constexpr char kConversationId[] = "55555555-5555-5555-5555-555555555555";

Conversation StoredConversation(const std::string& id, Micros inbox_at) {
  Conversation c;
  c.id = id;
  c.distributor_id = kDistributor;
  c.customer_id = kCustomer;
  c.inbox_at = inbox_at;
  c.created_at = inbox_at;
  return c;
}

NewConversation WhatsappConversation() {
  NewConversation c;
  c.customer_id = kCustomer;
  c.channel = Channel::kWhatsapp;
  return c;
}

class ConversationServiceTest : public ::testing::Test {
 protected:
  StrictMock<MockConversationRepository> repo_;
  TokenSealer sealer_{"conversation-service-test-key"};
  PageTokenCodec codec_{sealer_};
  StreamCursorCodec cursors_{sealer_, absl::Hours(24)};
  ConversationService service_{repo_, codec_, cursors_, Limits{}};
};

// ---- Create / GetOrCreate ---------------------------------------------------

TEST_F(ConversationServiceTest, CreateDefaultsStatusToActive) {
  NewConversation seen;
  EXPECT_CALL(repo_, Create(Field(&RequestContext::distributor_id, kDistributor), _))
      .WillOnce(DoAll(SaveArg<1>(&seen), Return(StoredConversation(kConversationId, 1))));
  ASSERT_THAT(service_.Create(Ctx(), WhatsappConversation()), IsOk());
  EXPECT_EQ(seen.status, ConversationStatus::kActive);
  EXPECT_EQ(seen.channel, Channel::kWhatsapp);
  EXPECT_EQ(seen.customer_id, kCustomer);
}

TEST_F(ConversationServiceTest, CreateKeepsAnExplicitStatusAndNormalisesCustomerId) {
  NewConversation seen;
  EXPECT_CALL(repo_, Create(_, _))
      .WillOnce(DoAll(SaveArg<1>(&seen), Return(StoredConversation(kConversationId, 1))));
  NewConversation c = WhatsappConversation();
  c.customer_id = "ABCDEF00-3333-3333-3333-333333333333";
  c.status = ConversationStatus::kArchived;
  ASSERT_THAT(service_.Create(Ctx(), c), IsOk());
  EXPECT_EQ(seen.status, ConversationStatus::kArchived);
  EXPECT_EQ(seen.customer_id, "abcdef00-3333-3333-3333-333333333333");
}

TEST_F(ConversationServiceTest, CreateRejectsBadInputWithoutCallingTheRepository) {
  EXPECT_CALL(repo_, Create(_, _)).Times(0);
  NewConversation no_channel = WhatsappConversation();
  no_channel.channel.reset();
  EXPECT_THAT(service_.Create(Ctx(), no_channel),
              StatusIs(kInvalid, "conversation.channel: is required"));

  NewConversation no_customer = WhatsappConversation();
  no_customer.customer_id.clear();
  EXPECT_THAT(service_.Create(Ctx(), no_customer),
              StatusIs(kInvalid, "conversation.customer_id: is required"));

  NewConversation bad_customer = WhatsappConversation();
  bad_customer.customer_id = "customer-1";
  EXPECT_THAT(service_.Create(Ctx(), bad_customer),
              StatusIs(kInvalid, "conversation.customer_id: must be a UUID"));

  NewConversation bad_summary = WhatsappConversation();
  bad_summary.ai_context_summary = std::string(16 * 1024 + 1, 's');
  EXPECT_THAT(service_.Create(Ctx(), bad_summary),
              StatusIs(kInvalid, "conversation.ai_context_summary"));

  NewConversation bad_metadata = WhatsappConversation();
  bad_metadata.metadata_json = "{\"k\":\"\xC0\x80\"}";
  EXPECT_THAT(service_.Create(Ctx(), bad_metadata), StatusIs(kInvalid, "conversation.metadata"));
}

TEST_F(ConversationServiceTest, CreatePassesRepositoryErrorsThrough) {
  EXPECT_CALL(repo_, Create(_, _))
      .WillOnce(Return(absl::AlreadyExistsError("conversation: an active one exists")));
  EXPECT_THAT(service_.Create(Ctx(), WhatsappConversation()),
              StatusIs(absl::StatusCode::kAlreadyExists, "active"));
}

TEST_F(ConversationServiceTest, GetOrCreateValidatesBeforeTheRepository) {
  EXPECT_THAT(service_.GetOrCreate(Ctx(), "x", Channel::kSms), StatusIs(kInvalid, "customer_id"));
  EXPECT_THAT(service_.GetOrCreate(Ctx(), "", Channel::kSms),
              StatusIs(kInvalid, "customer_id: is required"));
  EXPECT_THAT(service_.GetOrCreate(Ctx(), kCustomer, std::nullopt),
              StatusIs(kInvalid, "channel: is required"));

  EXPECT_CALL(repo_, GetOrCreate(_, Eq("abcdef00-3333-3333-3333-333333333333"), Channel::kEmail))
      .WillOnce(Return(StoredConversation(kConversationId, 1)));
  EXPECT_THAT(service_.GetOrCreate(Ctx(), "ABCDEF00-3333-3333-3333-333333333333", Channel::kEmail),
              IsOk());
}

// ---- Get / Delete / MarkRead / Update ---------------------------------------

TEST_F(ConversationServiceTest, IdIsValidatedAndNormalisedForEveryLookup) {
  const std::string upper = "ABCDEF00-5555-5555-5555-555555555555";
  const std::string lower = "abcdef00-5555-5555-5555-555555555555";
  EXPECT_CALL(repo_, Get(_, lower)).WillOnce(Return(StoredConversation(lower, 1)));
  EXPECT_CALL(repo_, Delete(_, lower)).WillOnce(Return(absl::OkStatus()));
  EXPECT_CALL(repo_, MarkRead(_, lower)).WillOnce(Return(StoredConversation(lower, 1)));
  EXPECT_THAT(service_.Get(Ctx(), upper), IsOk());
  EXPECT_THAT(service_.Delete(Ctx(), upper), IsOk());
  EXPECT_THAT(service_.MarkRead(Ctx(), upper), IsOk());

  EXPECT_THAT(service_.Get(Ctx(), "1"), StatusIs(kInvalid, "id"));
  EXPECT_THAT(service_.Delete(Ctx(), ""), StatusIs(kInvalid, "id: is required"));
  EXPECT_THAT(service_.MarkRead(Ctx(), "zzzzzzzz-5555-5555-5555-555555555555"),
              StatusIs(kInvalid, "id"));
}

TEST_F(ConversationServiceTest, UpdateValidatesIdAndPatch) {
  ConversationPatch bad;
  bad.ai_context_summary = "\xFF";
  EXPECT_THAT(service_.Update(Ctx(), kConversationId, bad),
              StatusIs(kInvalid, "conversation.ai_context_summary"));
  EXPECT_THAT(service_.Update(Ctx(), "nope", ConversationPatch{}),
              StatusIs(kInvalid, "conversation.id"));

  ConversationPatch good;
  good.status = ConversationStatus::kClosed;
  EXPECT_CALL(repo_,
              Update(_, Eq(std::string(kConversationId)),
                     Field(&ConversationPatch::status, Optional(ConversationStatus::kClosed))))
      .WillOnce(Return(StoredConversation(kConversationId, 1)));
  EXPECT_THAT(service_.Update(Ctx(), kConversationId, good), IsOk());
}

// ---- List -------------------------------------------------------------------

TEST_F(ConversationServiceTest, ListRejectsBadArgumentsWithoutCallingTheRepository) {
  EXPECT_CALL(repo_, List(_, _)).Times(0);
  ConversationFilter bad_customer;
  bad_customer.customer_id = "not-a-uuid";
  EXPECT_THAT(service_.List(Ctx(), bad_customer, 0, ""), StatusIs(kInvalid, "customer_id"));
  ConversationFilter empty_customer;
  empty_customer.customer_id = "";
  EXPECT_THAT(service_.List(Ctx(), empty_customer, 0, ""), StatusIs(kInvalid, "customer_id"));
  EXPECT_THAT(service_.List(Ctx(), {}, -5, ""), StatusIs(kInvalid, "page_size"));
  EXPECT_THAT(service_.List(Ctx(), {}, 0, "bogus"), StatusIs(kInvalid, "page_token"));
}

TEST_F(ConversationServiceTest, ListPassesFiltersAndDefaultPageSize) {
  ConversationFilter filter;
  filter.customer_id = "ABCDEF00-3333-3333-3333-333333333333";
  filter.channel = Channel::kSms;
  filter.status = ConversationStatus::kClosed;
  EXPECT_CALL(
      repo_,
      List(_,
           AllOf(Field(&ConversationQuery::limit, 50),
                 Field(&ConversationQuery::after, Eq(std::nullopt)),
                 Field(&ConversationQuery::filter,
                       AllOf(Field(&ConversationFilter::customer_id,
                                   Optional(std::string("abcdef00-3333-3333-3333-333333333333"))),
                             Field(&ConversationFilter::channel, Optional(Channel::kSms)),
                             Field(&ConversationFilter::status,
                                   Optional(ConversationStatus::kClosed)))))))
      .WillOnce(Return(Page<Conversation>{}));
  const auto list = service_.List(Ctx(), filter, 0, "");
  ASSERT_THAT(list, IsOk());
  EXPECT_EQ(list->next_page_token, "");
}

TEST_F(ConversationServiceTest, ListReturnsAStreamCursorTakenInThePageSnapshot) {
  Page<Conversation> page;
  page.snapshot = "7:9:8";
  EXPECT_CALL(repo_, List(_, _)).WillOnce(Return(page));
  const auto list = service_.List(Ctx(), {}, 0, "");
  ASSERT_THAT(list, IsOk());
  const auto cursor = cursors_.Decode(kDistributor, list->stream_cursor, absl::Now());
  ASSERT_THAT(cursor, IsOk());
  EXPECT_EQ(cursor->snapshot, "7:9:8");
  EXPECT_THAT(cursors_.Decode(kOtherDistributor, list->stream_cursor, absl::Now()),
              StatusIs(kInvalid, "resume_cursor"));
}

// An in-memory keyset implementation of List in inbox order (inbox_at desc, id desc).
class FakeInbox {
 public:
  explicit FakeInbox(std::vector<Conversation> rows) : rows_(std::move(rows)) {
    std::sort(rows_.begin(), rows_.end(), [](const Conversation& a, const Conversation& b) {
      return std::tie(a.inbox_at, a.id) > std::tie(b.inbox_at, b.id);
    });
  }

  absl::StatusOr<Page<Conversation>> List(const RequestContext&, const ConversationQuery& q) {
    ++calls_;
    Page<Conversation> page;
    for (const auto& row : rows_) {
      if (q.after && std::tie(row.inbox_at, row.id) >= std::tie(q.after->inbox_at, q.after->id)) {
        continue;
      }
      if (static_cast<int>(page.items.size()) == q.limit) {
        page.has_more = true;
        break;
      }
      page.items.push_back(row);
    }
    return page;
  }

  const std::vector<Conversation>& rows() const { return rows_; }
  int calls() const { return calls_; }

 private:
  std::vector<Conversation> rows_;
  int calls_ = 0;
};

TEST_F(ConversationServiceTest, PagesThroughEveryRowOnceWithTokens) {
  // Seven rows, two sharing an inbox_at so the id tie-break matters.
  FakeInbox inbox({StoredConversation(IdN(1), 100), StoredConversation(IdN(2), 300),
                   StoredConversation(IdN(3), 200), StoredConversation(IdN(4), 200),
                   StoredConversation(IdN(5), 500), StoredConversation(IdN(6), 50),
                   StoredConversation(IdN(7), 400)});
  EXPECT_CALL(repo_, List(_, _)).WillRepeatedly(Invoke(&inbox, &FakeInbox::List));

  std::vector<std::string> seen;
  std::vector<std::size_t> page_sizes;
  std::string token;
  for (int guard = 0; guard < 10; ++guard) {
    const auto page = service_.List(Ctx(), {}, 3, token);
    ASSERT_THAT(page, IsOk());
    page_sizes.push_back(page->conversations.size());
    for (const auto& c : page->conversations) seen.push_back(c.id);
    token = page->next_page_token;
    if (token.empty()) break;
  }
  std::vector<std::string> expected;
  for (const auto& row : inbox.rows()) expected.push_back(row.id);
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(page_sizes, (std::vector<std::size_t>{3, 3, 1}));
  EXPECT_EQ(inbox.calls(), 3);
}

TEST_F(ConversationServiceTest, ExactlyFullLastPageHasNoToken) {
  FakeInbox inbox({StoredConversation(IdN(1), 1), StoredConversation(IdN(2), 2)});
  EXPECT_CALL(repo_, List(_, _)).WillRepeatedly(Invoke(&inbox, &FakeInbox::List));
  const auto page = service_.List(Ctx(), {}, 2, "");
  ASSERT_THAT(page, IsOk());
  EXPECT_EQ(page->conversations.size(), 2u);
  EXPECT_EQ(page->next_page_token, "");
}

TEST_F(ConversationServiceTest, PageTokenIsBoundToFiltersAndDistributor) {
  FakeInbox inbox({StoredConversation(IdN(1), 1), StoredConversation(IdN(2), 2)});
  EXPECT_CALL(repo_, List(_, _)).WillRepeatedly(Invoke(&inbox, &FakeInbox::List));
  ConversationFilter whatsapp;
  whatsapp.channel = Channel::kWhatsapp;
  const auto page = service_.List(Ctx(), whatsapp, 1, "");
  ASSERT_THAT(page, IsOk());
  ASSERT_NE(page->next_page_token, "");
  const int calls = inbox.calls();

  ConversationFilter sms;
  sms.channel = Channel::kSms;
  ConversationFilter with_customer = whatsapp;
  with_customer.customer_id = kCustomer;
  ConversationFilter with_status = whatsapp;
  with_status.status = ConversationStatus::kActive;
  for (const ConversationFilter& other : {ConversationFilter{}, sms, with_customer, with_status}) {
    EXPECT_THAT(service_.List(Ctx(), other, 1, page->next_page_token),
                StatusIs(kInvalid, "page_token"));
  }
  EXPECT_THAT(service_.List(Ctx(kOtherDistributor), whatsapp, 1, page->next_page_token),
              StatusIs(kInvalid, "page_token"));
  EXPECT_EQ(inbox.calls(), calls) << "a rejected token never reaches the repository";

  // A different page size is the same query.
  EXPECT_THAT(service_.List(Ctx(), whatsapp, 5, page->next_page_token), IsOk());
}

TEST_F(ConversationServiceTest, PageTokenBindsTheNormalisedCustomerId) {
  FakeInbox inbox({StoredConversation(IdN(1), 1), StoredConversation(IdN(2), 2)});
  EXPECT_CALL(repo_, List(_, _)).WillRepeatedly(Invoke(&inbox, &FakeInbox::List));
  ConversationFilter upper;
  upper.customer_id = "ABCDEF00-3333-3333-3333-333333333333";
  ConversationFilter lower;
  lower.customer_id = "abcdef00-3333-3333-3333-333333333333";
  const auto page = service_.List(Ctx(), upper, 1, "");
  ASSERT_THAT(page, IsOk());
  ASSERT_NE(page->next_page_token, "");
  EXPECT_THAT(service_.List(Ctx(), lower, 1, page->next_page_token), IsOk());
}

}  // namespace
}  // namespace messaging::domain
