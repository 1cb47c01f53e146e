#include "domain/sealed_token.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "unit/status_matchers.h"

namespace messaging::domain {
namespace {

using ::messaging::testing::IsOk;
using ::messaging::testing::StatusIs;

constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;
constexpr char kField[] = "resume_cursor";
constexpr char kBinding[] = "stream|d1";
constexpr char kWebSafeAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

TEST(HmacSha256Test, MatchesRfc4231TestCase2) {
  EXPECT_EQ(absl::BytesToHexString(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(TokenSealerTest, RoundTripReturnsThePayload) {
  const TokenSealer sealer("key-1");
  const std::string token = sealer.Seal(kBinding, "v1|42|payload");
  const auto payload = sealer.Open(token, kBinding, kField);
  ASSERT_THAT(payload, IsOk());
  EXPECT_EQ(*payload, "v1|42|payload");
}

// Clients keep stream cursors across server upgrades: a token sealed by the
// first release of this format (recorded here) opens, and is spelled the same.
TEST(TokenSealerTest, ATokenFromAnEarlierReleaseOpensAndIsSealedTheSameWay) {
  const TokenSealer sealer("golden-secret");
  constexpr char kEarlier[] = "Aomr9RveQ8UNidQo72_MFxZ5NyIWoCoPx65UxLr4-kWdByXfDPNOALc";
  const auto payload = sealer.Open(kEarlier, "conversations|a", kField);
  ASSERT_THAT(payload, IsOk());
  EXPECT_EQ(*payload, "v1|42|cursor");
  EXPECT_EQ(sealer.Seal("conversations|a", "v1|42|cursor"), kEarlier);
}

// One sealer serves every worker thread (run under ThreadSanitizer too, which
// cannot see inside OpenSSL): each thread's tokens must be the very tokens one
// thread seals, nonce included, and open to their payloads.
TEST(TokenSealerTest, SealsAndOpensFromManyThreadsAtOnce) {
  constexpr int kThreads = 8;
  constexpr int kTokens = 500;
  const TokenSealer sealer("key-1");
  const auto payload = [](int t, int i) {
    return "v1|" + std::to_string(t) + "|" + std::to_string(i);
  };
  std::vector<std::vector<std::string>> expected(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kTokens; ++i) expected[t].push_back(sealer.Seal(kBinding, payload(t, i)));
  }
  std::vector<int> mismatches(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kTokens; ++i) {
        const std::string token = sealer.Seal(kBinding, payload(t, i));
        const auto opened = sealer.Open(token, kBinding, kField);
        if (token != expected[t][i] || !opened.ok() || *opened != payload(t, i)) ++mismatches[t];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_THAT(mismatches, ::testing::Each(0));
}

TEST(TokenSealerTest, TokenIsUrlSafeAndDoesNotContainThePayloadInTheClear) {
  const TokenSealer sealer("key-1");
  const std::string token = sealer.Seal(kBinding, "v1|42|payload");
  EXPECT_EQ(token.find_first_not_of(kWebSafeAlphabet), std::string::npos) << token;
  EXPECT_EQ(token.find("payload"), std::string::npos);
}

// Opaque means encrypted: no byte run of the payload survives in the token, so
// a client cannot read positions, ids or snapshots out of it.
TEST(TokenSealerTest, PayloadBytesDoNotAppearInTheToken) {
  const TokenSealer sealer("key-1");
  const std::string payload = "v1|1700000000000000|8c5b0e6e-0000-4000-8000-000000000001";
  std::string raw;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(sealer.Seal(kBinding, payload), &raw));
  for (std::size_t i = 0; i + 4 <= payload.size(); ++i) {
    EXPECT_EQ(raw.find(payload.substr(i, 4)), std::string::npos) << payload.substr(i, 4);
  }
}

// One spelling per token (a repeated page request gets the same token), but
// payloads that differ in one byte give unrelated tokens.
TEST(TokenSealerTest, SealingIsDeterministicAndNoncesDifferPerPayload) {
  const TokenSealer sealer("key-1");
  EXPECT_EQ(sealer.Seal(kBinding, "v1|42|a"), sealer.Seal(kBinding, "v1|42|a"));
  std::string a, b;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(sealer.Seal(kBinding, "v1|42|a"), &a));
  ASSERT_TRUE(absl::WebSafeBase64Unescape(sealer.Seal(kBinding, "v1|42|b"), &b));
  ASSERT_EQ(a.size(), b.size());
  EXPECT_NE(a.substr(1, 12), b.substr(1, 12)) << "the nonce follows the payload";
  EXPECT_NE(a.substr(1, 8), b.substr(1, 8));
  EXPECT_NE(TokenSealer("key-2").Seal(kBinding, "v1|42|a"), sealer.Seal(kBinding, "v1|42|a"));
}

TEST(TokenSealerTest, BinaryPayloadRoundTrips) {
  const TokenSealer sealer("key-1");
  const std::string payload("\0\x01\xFF|x", 5);
  const auto verified = sealer.Open(sealer.Seal(kBinding, payload), kBinding, kField);
  ASSERT_THAT(verified, IsOk());
  EXPECT_EQ(*verified, payload);
}

TEST(TokenSealerTest, OtherBindingIsRejected) {
  const TokenSealer sealer("key-1");
  const std::string token = sealer.Seal(kBinding, "payload");
  EXPECT_THAT(sealer.Open(token, "stream|d2", kField), StatusIs(kInvalid, kField));
  EXPECT_THAT(sealer.Open(token, "", kField), StatusIs(kInvalid, kField));
  EXPECT_THAT(sealer.Open(token, std::string(kBinding) + " ", kField), StatusIs(kInvalid, kField));
}

TEST(TokenSealerTest, BindingAndPayloadCannotBeReSplit) {
  // Moving bytes between the binding and the payload must change the MAC.
  const TokenSealer sealer("key-1");
  const std::string a = sealer.Seal("ab", "cd");
  const std::string b = sealer.Seal("abc", "d");
  std::string raw_a, raw_b;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(a, &raw_a));
  ASSERT_TRUE(absl::WebSafeBase64Unescape(b, &raw_b));
  // Without a length prefix both MACs would cover the same bytes "abcd".
  EXPECT_NE(raw_a.substr(2), raw_b.substr(1)) << "same MAC for a different split";
}

TEST(TokenSealerTest, OtherKeyIsRejected) {
  const TokenSealer sealer("key-1");
  const TokenSealer other("key-2");
  EXPECT_THAT(other.Open(sealer.Seal(kBinding, "payload"), kBinding, kField),
              StatusIs(kInvalid, "resume_cursor: is not a valid token"));
}

TEST(TokenSealerTest, EverySingleBitFlipIsRejected) {
  const TokenSealer sealer("key-1");
  const std::string token = sealer.Seal(kBinding, "v1|1700000000000000|some-id");
  std::string raw;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(token, &raw));
  int flips = 0;
  for (std::size_t byte = 0; byte < raw.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string altered = raw;
      altered[byte] = static_cast<char>(altered[byte] ^ (1 << bit));
      EXPECT_THAT(sealer.Open(absl::WebSafeBase64Escape(altered), kBinding, kField),
                  StatusIs(kInvalid, kField))
          << "byte " << byte << " bit " << bit;
      ++flips;
    }
  }
  EXPECT_EQ(flips, static_cast<int>(raw.size() * 8));
}

TEST(TokenSealerTest, EverySingleCharacterChangeIsRejected) {
  const TokenSealer sealer("key-1");
  // 52 sealed bytes do not fill the last base64 group, so the final character
  // has unused bits: changing only those must still be rejected (canonical form).
  const std::string token = sealer.Seal(kBinding, std::string(23, 'p'));
  ASSERT_NE(token.size() % 4, 0u);
  for (std::size_t i = 0; i < token.size(); ++i) {
    for (const char c : std::string(kWebSafeAlphabet) + "+/=.") {
      if (c == token[i]) continue;
      std::string altered = token;
      altered[i] = c;
      EXPECT_THAT(sealer.Open(altered, kBinding, kField), StatusIs(kInvalid, kField))
          << "position " << i << " -> " << c;
    }
  }
}

TEST(TokenSealerTest, TruncatedOrExtendedTokensAreRejected) {
  const TokenSealer sealer("key-1");
  const std::string token = sealer.Seal(kBinding, "payload");
  for (std::size_t len = 0; len < token.size(); ++len) {
    EXPECT_THAT(sealer.Open(token.substr(0, len), kBinding, kField), StatusIs(kInvalid, kField))
        << len;
  }
  for (const char* suffix : {"A", "AA", "AAA", "AAAA", "=", "==", " ", "\n"}) {
    EXPECT_THAT(sealer.Open(token + suffix, kBinding, kField), StatusIs(kInvalid, kField))
        << suffix;
  }
  EXPECT_THAT(sealer.Open(" " + token, kBinding, kField), StatusIs(kInvalid, kField));
}

TEST(TokenSealerTest, NonCanonicalBase64IsRejected) {
  const TokenSealer sealer("key-1");
  // 23 bytes of payload make 52 sealed bytes: the last character has unused bits.
  const std::string token = sealer.Seal(kBinding, std::string(23, 'p'));
  ASSERT_THAT(sealer.Open(token, kBinding, kField), IsOk());
  std::string raw;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(token, &raw));
  // Padded and standard-alphabet spellings of the same bytes.
  std::string padded = token;
  while (padded.size() % 4 != 0) padded += '=';
  EXPECT_THAT(sealer.Open(padded, kBinding, kField), StatusIs(kInvalid, kField));
  std::string standard = absl::Base64Escape(raw);
  if (standard != token) {
    EXPECT_THAT(sealer.Open(standard, kBinding, kField), StatusIs(kInvalid, kField));
  }
  // Same bytes with an unused low bit of the last character set: Abseil
  // decodes it to the same bytes, but it is not the canonical spelling.
  std::string low_bits = token;
  const auto pos = std::string(kWebSafeAlphabet).find(low_bits.back());
  ASSERT_NE(pos, std::string::npos);
  low_bits.back() = kWebSafeAlphabet[pos ^ 1];
  EXPECT_THAT(sealer.Open(low_bits, kBinding, kField), StatusIs(kInvalid, kField));
  std::string raw_low;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(low_bits, &raw_low));
  EXPECT_EQ(raw_low, raw) << "the decoder ignores the unused bits; only the canonical check helps";
}

TEST(TokenSealerTest, GarbageAndEmptyAreRejected) {
  const TokenSealer sealer("key-1");
  for (const std::string& bad :
       {std::string(), std::string("!!!!"), std::string("not a token"), std::string("AAAA"),
        absl::WebSafeBase64Escape(std::string(29, '\x02')),  // Nonce and tag, no payload.
        absl::WebSafeBase64Escape(std::string(17, 'x')), std::string(1, '\0')}) {
    EXPECT_THAT(sealer.Open(bad, kBinding, kField), StatusIs(kInvalid, kField)) << bad;
  }
}

TEST(TokenSealerTest, LongTokensThatOpenAreAcceptedUpToTheLimitOnly) {
  const TokenSealer sealer("key-1");
  // 1 version + 12 nonce + 739 payload + 16 tag bytes = 768 bytes = 1024 characters.
  const std::string kib = sealer.Seal(kBinding, std::string(739, 'p'));
  ASSERT_EQ(kib.size(), 1024u);
  EXPECT_THAT(sealer.Open(kib, kBinding, kField), IsOk());
  // Far over any sensible limit: rejected before decoding, though it would open.
  const std::string huge = sealer.Seal(kBinding, std::string(64 * 1024, 'p'));
  EXPECT_THAT(sealer.Open(huge, kBinding, kField), StatusIs(kInvalid, kField));
  EXPECT_THAT(sealer.Open(std::string(1 << 20, 'A'), kBinding, kField), StatusIs(kInvalid, kField));
}

}  // namespace
}  // namespace messaging::domain
