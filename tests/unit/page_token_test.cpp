#include "domain/page_token.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "unit/status_matchers.h"

namespace messaging::domain {
namespace {

using ::messaging::testing::IsOk;
using ::messaging::testing::StatusIs;

constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;
constexpr char kDistributor[] = "11111111-1111-1111-1111-111111111111";
constexpr char kOtherDistributor[] = "22222222-2222-2222-2222-222222222222";
constexpr char kCustomer[] = "33333333-3333-3333-3333-333333333333";
constexpr char kOtherCustomer[] = "44444444-4444-4444-4444-444444444444";
constexpr char kConversation[] = "55555555-5555-5555-5555-555555555555";
constexpr char kOtherConversation[] = "66666666-6666-6666-6666-666666666666";
constexpr char kRowId[] = "77777777-7777-7777-7777-77777777777a";

class PageTokenTest : public ::testing::Test {
 protected:
  TokenSealer sealer_{"page-token-test-key"};
  PageTokenCodec codec_{sealer_};
};

ConversationFilter Filter(std::optional<std::string> customer, std::optional<Channel> channel,
                          std::optional<ConversationStatus> status) {
  ConversationFilter f;
  f.customer_id = std::move(customer);
  f.channel = channel;
  f.status = status;
  return f;
}

// ---- Conversations ----------------------------------------------------------

TEST_F(PageTokenTest, ConversationKeyRoundTrips) {
  const ConversationFilter filter = Filter(kCustomer, Channel::kSms, ConversationStatus::kArchived);
  for (const Micros inbox_at : {Micros{0}, Micros{1}, Micros{1700000000123456}, Micros{-1},
                                Micros{-62135596800000000}, Micros{253402300799999999}}) {
    SCOPED_TRACE(inbox_at);
    const std::string token = codec_.EncodeConversations(kDistributor, filter, {inbox_at, kRowId});
    const auto key = codec_.DecodeConversations(kDistributor, filter, token);
    ASSERT_THAT(key, IsOk());
    EXPECT_EQ(key->inbox_at, inbox_at);
    EXPECT_EQ(key->id, kRowId);
  }
}

TEST_F(PageTokenTest, ConversationTokenIsBoundToTheDistributor) {
  const ConversationFilter filter;
  const std::string token =
      codec_.EncodeConversations(kDistributor, filter, {1700000000000000, kRowId});
  EXPECT_THAT(codec_.DecodeConversations(kOtherDistributor, filter, token),
              StatusIs(kInvalid, "page_token"));
}

TEST_F(PageTokenTest, ConversationTokenIsBoundToEveryFilter) {
  const std::vector<ConversationFilter> filters = {
      Filter(std::nullopt, std::nullopt, std::nullopt),
      Filter(kCustomer, std::nullopt, std::nullopt),
      Filter(kOtherCustomer, std::nullopt, std::nullopt),
      Filter(std::nullopt, Channel::kWhatsapp, std::nullopt),
      Filter(std::nullopt, Channel::kSms, std::nullopt),
      Filter(std::nullopt, Channel::kEmail, std::nullopt),
      Filter(std::nullopt, std::nullopt, ConversationStatus::kActive),
      Filter(std::nullopt, std::nullopt, ConversationStatus::kArchived),
      Filter(std::nullopt, std::nullopt, ConversationStatus::kClosed),
      Filter(kCustomer, Channel::kWhatsapp, ConversationStatus::kActive),
      Filter(kCustomer, Channel::kWhatsapp, ConversationStatus::kClosed),
      Filter(kCustomer, Channel::kEmail, ConversationStatus::kActive),
  };
  for (std::size_t made = 0; made < filters.size(); ++made) {
    const std::string token =
        codec_.EncodeConversations(kDistributor, filters[made], {1700000000000000, kRowId});
    for (std::size_t used = 0; used < filters.size(); ++used) {
      const auto key = codec_.DecodeConversations(kDistributor, filters[used], token);
      if (made == used) {
        EXPECT_THAT(key, IsOk()) << made;
      } else {
        EXPECT_THAT(key, StatusIs(kInvalid, "page_token")) << "made " << made << " used " << used;
      }
    }
  }
}

TEST_F(PageTokenTest, TokenFromAnotherServerKeyIsRejected) {
  const TokenSealer other_signer("another-key");
  const PageTokenCodec other(other_signer);
  const std::string token = other.EncodeConversations(kDistributor, {}, {1, kRowId});
  EXPECT_THAT(codec_.DecodeConversations(kDistributor, {}, token),
              StatusIs(kInvalid, "page_token"));
}

// ---- Messages ---------------------------------------------------------------

TEST_F(PageTokenTest, MessageKeyRoundTripsInBothOrders) {
  for (const bool descending : {false, true}) {
    const std::string token =
        codec_.EncodeMessages(kDistributor, kConversation, descending, {1700000000654321, kRowId});
    const auto key = codec_.DecodeMessages(kDistributor, kConversation, descending, token);
    ASSERT_THAT(key, IsOk());
    EXPECT_EQ(key->created_at, 1700000000654321);
    EXPECT_EQ(key->id, kRowId);
  }
}

TEST_F(PageTokenTest, MessageTokenIsBoundToOrder) {
  const std::string asc =
      codec_.EncodeMessages(kDistributor, kConversation, false, {1700000000000000, kRowId});
  const std::string desc =
      codec_.EncodeMessages(kDistributor, kConversation, true, {1700000000000000, kRowId});
  EXPECT_NE(asc, desc);
  EXPECT_THAT(codec_.DecodeMessages(kDistributor, kConversation, true, asc),
              StatusIs(kInvalid, "page_token"));
  EXPECT_THAT(codec_.DecodeMessages(kDistributor, kConversation, false, desc),
              StatusIs(kInvalid, "page_token"));
}

TEST_F(PageTokenTest, MessageTokenIsBoundToConversationAndDistributor) {
  const std::string token =
      codec_.EncodeMessages(kDistributor, kConversation, false, {1700000000000000, kRowId});
  EXPECT_THAT(codec_.DecodeMessages(kDistributor, kOtherConversation, false, token),
              StatusIs(kInvalid, "page_token"));
  EXPECT_THAT(codec_.DecodeMessages(kOtherDistributor, kConversation, false, token),
              StatusIs(kInvalid, "page_token"));
}

TEST_F(PageTokenTest, MessageAndConversationTokensAreNotInterchangeable) {
  const std::string message_token =
      codec_.EncodeMessages(kDistributor, kConversation, false, {1, kRowId});
  const std::string conversation_token = codec_.EncodeConversations(kDistributor, {}, {1, kRowId});
  EXPECT_THAT(codec_.DecodeConversations(kDistributor, {}, message_token),
              StatusIs(kInvalid, "page_token"));
  EXPECT_THAT(codec_.DecodeMessages(kDistributor, kConversation, false, conversation_token),
              StatusIs(kInvalid, "page_token"));
}

// ---- Tampering --------------------------------------------------------------

TEST_F(PageTokenTest, EverySingleBitFlipIsRejected) {
  const std::string token =
      codec_.EncodeMessages(kDistributor, kConversation, true, {1700000000000000, kRowId});
  std::string raw;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(token, &raw));
  ASSERT_GT(raw.size(), 16u);
  for (std::size_t byte = 0; byte < raw.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string altered = raw;
      altered[byte] = static_cast<char>(altered[byte] ^ (1 << bit));
      EXPECT_THAT(codec_.DecodeMessages(kDistributor, kConversation, true,
                                        absl::WebSafeBase64Escape(altered)),
                  StatusIs(kInvalid, "page_token: is not a valid token"))
          << "byte " << byte << " bit " << bit;
    }
  }
}

TEST_F(PageTokenTest, EveryCharacterChangeIsRejected) {
  const std::string token =
      codec_.EncodeConversations(kDistributor, Filter(kCustomer, Channel::kWhatsapp, std::nullopt),
                                 {1700000000000000, kRowId});
  const std::string alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=";
  for (std::size_t i = 0; i < token.size(); ++i) {
    for (const char c : alphabet) {
      if (c == token[i]) continue;
      std::string altered = token;
      altered[i] = c;
      EXPECT_THAT(codec_.DecodeConversations(
                      kDistributor, Filter(kCustomer, Channel::kWhatsapp, std::nullopt), altered),
                  StatusIs(kInvalid, "page_token"))
          << "position " << i << " -> " << c;
    }
  }
}

TEST_F(PageTokenTest, GarbageIsRejected) {
  const std::string overlong(1 << 20, 'A');
  for (const std::string& bad :
       {std::string("garbage"), std::string("===="), std::string("AAAA"), std::string("a.b.c"),
        absl::WebSafeBase64Escape(""), absl::WebSafeBase64Escape(std::string(16, '\x01')), overlong,
        std::string(5000, 'Z')}) {
    EXPECT_THAT(codec_.DecodeMessages(kDistributor, kConversation, false, bad),
                StatusIs(kInvalid, "page_token"))
        << bad.substr(0, 40);
    EXPECT_THAT(codec_.DecodeConversations(kDistributor, {}, bad), StatusIs(kInvalid, "page_token"))
        << bad.substr(0, 40);
  }
}

TEST_F(PageTokenTest, NonCanonicalSpellingOfAValidTokenIsRejected) {
  const std::string token = codec_.EncodeConversations(kDistributor, {}, {42, kRowId});
  ASSERT_THAT(codec_.DecodeConversations(kDistributor, {}, token), IsOk());
  std::string padded = token;
  while (padded.size() % 4 != 0) padded += '=';
  if (padded != token) {
    EXPECT_THAT(codec_.DecodeConversations(kDistributor, {}, padded),
                StatusIs(kInvalid, "page_token"));
  }
  EXPECT_THAT(codec_.DecodeConversations(kDistributor, {}, token + "\n"),
              StatusIs(kInvalid, "page_token"));
  EXPECT_THAT(codec_.DecodeConversations(kDistributor, {}, " " + token),
              StatusIs(kInvalid, "page_token"));
}

TEST_F(PageTokenTest, CorrectlySignedButMalformedPayloadIsRejected) {
  // Signs payloads directly with the codec's binding for an unfiltered
  // conversation list, to check that the decoder stays strict even when the MAC
  // is good. The first assertion guards the test against a changed binding.
  const std::string binding = std::string("conversations|") + kDistributor + "|||";
  ASSERT_THAT(codec_.DecodeConversations(kDistributor, {},
                                         sealer_.Seal(binding, std::string("v1|42|") + kRowId)),
              IsOk())
      << "the binding format changed; update this test";
  for (const std::string& payload : {
           std::string("v2|42|") + kRowId,
           std::string("v1|x|") + kRowId,
           std::string("v1||") + kRowId,
           std::string("v1|99999999999999999999|") + kRowId,
           std::string("v1|42|not-a-uuid"),
           std::string("v1|42|"),
           std::string("v1|42"),
           std::string("v1|42|") + kRowId + "|extra",
           std::string("x"),
       }) {
    EXPECT_THAT(codec_.DecodeConversations(kDistributor, {}, sealer_.Seal(binding, payload)),
                StatusIs(kInvalid, "page_token"))
        << payload;
  }
}

}  // namespace
}  // namespace messaging::domain
