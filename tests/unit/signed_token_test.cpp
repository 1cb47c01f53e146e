#include "domain/signed_token.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

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

TEST(TokenSignerTest, RoundTripReturnsThePayload) {
  const TokenSigner signer("key-1");
  const std::string token = signer.Sign(kBinding, "v1|42|payload");
  const auto payload = signer.Verify(token, kBinding, kField);
  ASSERT_THAT(payload, IsOk());
  EXPECT_EQ(*payload, "v1|42|payload");
}

TEST(TokenSignerTest, TokenIsUrlSafeAndDoesNotContainThePayloadInTheClear) {
  const TokenSigner signer("key-1");
  const std::string token = signer.Sign(kBinding, "v1|42|payload");
  EXPECT_EQ(token.find_first_not_of(kWebSafeAlphabet), std::string::npos) << token;
  EXPECT_EQ(token.find("payload"), std::string::npos);
}

TEST(TokenSignerTest, BinaryPayloadRoundTrips) {
  const TokenSigner signer("key-1");
  const std::string payload("\0\x01\xFF|x", 5);
  const auto verified = signer.Verify(signer.Sign(kBinding, payload), kBinding, kField);
  ASSERT_THAT(verified, IsOk());
  EXPECT_EQ(*verified, payload);
}

TEST(TokenSignerTest, OtherBindingIsRejected) {
  const TokenSigner signer("key-1");
  const std::string token = signer.Sign(kBinding, "payload");
  EXPECT_THAT(signer.Verify(token, "stream|d2", kField), StatusIs(kInvalid, kField));
  EXPECT_THAT(signer.Verify(token, "", kField), StatusIs(kInvalid, kField));
  EXPECT_THAT(signer.Verify(token, std::string(kBinding) + " ", kField),
              StatusIs(kInvalid, kField));
}

TEST(TokenSignerTest, BindingAndPayloadCannotBeReSplit) {
  // Moving bytes between the binding and the payload must change the MAC.
  const TokenSigner signer("key-1");
  const std::string a = signer.Sign("ab", "cd");
  const std::string b = signer.Sign("abc", "d");
  std::string raw_a, raw_b;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(a, &raw_a));
  ASSERT_TRUE(absl::WebSafeBase64Unescape(b, &raw_b));
  // Without a length prefix both MACs would cover the same bytes "abcd".
  EXPECT_NE(raw_a.substr(2), raw_b.substr(1)) << "same MAC for a different split";
}

TEST(TokenSignerTest, OtherKeyIsRejected) {
  const TokenSigner signer("key-1");
  const TokenSigner other("key-2");
  EXPECT_THAT(other.Verify(signer.Sign(kBinding, "payload"), kBinding, kField),
              StatusIs(kInvalid, "resume_cursor: is not a valid token"));
}

TEST(TokenSignerTest, EverySingleBitFlipIsRejected) {
  const TokenSigner signer("key-1");
  const std::string token = signer.Sign(kBinding, "v1|1700000000000000|some-id");
  std::string raw;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(token, &raw));
  int flips = 0;
  for (std::size_t byte = 0; byte < raw.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string altered = raw;
      altered[byte] = static_cast<char>(altered[byte] ^ (1 << bit));
      EXPECT_THAT(signer.Verify(absl::WebSafeBase64Escape(altered), kBinding, kField),
                  StatusIs(kInvalid, kField))
          << "byte " << byte << " bit " << bit;
      ++flips;
    }
  }
  EXPECT_EQ(flips, static_cast<int>(raw.size() * 8));
}

TEST(TokenSignerTest, EverySingleCharacterChangeIsRejected) {
  const TokenSigner signer("key-1");
  // 38 raw bytes do not fill the last base64 group, so the final character has
  // unused bits: changing only those must still be rejected (canonical form).
  const std::string token = signer.Sign(kBinding, std::string(22, 'p'));
  ASSERT_NE(token.size() % 4, 0u);
  for (std::size_t i = 0; i < token.size(); ++i) {
    for (const char c : std::string(kWebSafeAlphabet) + "+/=.") {
      if (c == token[i]) continue;
      std::string altered = token;
      altered[i] = c;
      EXPECT_THAT(signer.Verify(altered, kBinding, kField), StatusIs(kInvalid, kField))
          << "position " << i << " -> " << c;
    }
  }
}

TEST(TokenSignerTest, TruncatedOrExtendedTokensAreRejected) {
  const TokenSigner signer("key-1");
  const std::string token = signer.Sign(kBinding, "payload");
  for (std::size_t len = 0; len < token.size(); ++len) {
    EXPECT_THAT(signer.Verify(token.substr(0, len), kBinding, kField), StatusIs(kInvalid, kField))
        << len;
  }
  for (const char* suffix : {"A", "AA", "AAA", "AAAA", "=", "==", " ", "\n"}) {
    EXPECT_THAT(signer.Verify(token + suffix, kBinding, kField), StatusIs(kInvalid, kField))
        << suffix;
  }
  EXPECT_THAT(signer.Verify(" " + token, kBinding, kField), StatusIs(kInvalid, kField));
}

TEST(TokenSignerTest, NonCanonicalBase64IsRejected) {
  const TokenSigner signer("key-1");
  const std::string token = signer.Sign(kBinding, std::string(22, 'p'));
  ASSERT_THAT(signer.Verify(token, kBinding, kField), IsOk());
  std::string raw;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(token, &raw));
  // Padded and standard-alphabet spellings of the same bytes.
  std::string padded = token;
  while (padded.size() % 4 != 0) padded += '=';
  EXPECT_THAT(signer.Verify(padded, kBinding, kField), StatusIs(kInvalid, kField));
  std::string standard = absl::Base64Escape(raw);
  if (standard != token) {
    EXPECT_THAT(signer.Verify(standard, kBinding, kField), StatusIs(kInvalid, kField));
  }
  // Same bytes with an unused low bit of the last character set: Abseil
  // decodes it to the same bytes, but it is not the canonical spelling.
  std::string low_bits = token;
  const auto pos = std::string(kWebSafeAlphabet).find(low_bits.back());
  ASSERT_NE(pos, std::string::npos);
  low_bits.back() = kWebSafeAlphabet[pos ^ 1];
  EXPECT_THAT(signer.Verify(low_bits, kBinding, kField), StatusIs(kInvalid, kField));
  std::string raw_low;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(low_bits, &raw_low));
  EXPECT_EQ(raw_low, raw) << "the decoder ignores the unused bits; only the canonical check helps";
}

TEST(TokenSignerTest, GarbageAndEmptyAreRejected) {
  const TokenSigner signer("key-1");
  for (const std::string& bad :
       {std::string(), std::string("!!!!"), std::string("not a token"), std::string("AAAA"),
        absl::WebSafeBase64Escape(std::string(16, 'x')),  // MAC-sized: no payload at all.
        absl::WebSafeBase64Escape(std::string(17, 'x')), std::string(1, '\0')}) {
    EXPECT_THAT(signer.Verify(bad, kBinding, kField), StatusIs(kInvalid, kField)) << bad;
  }
}

TEST(TokenSignerTest, LongTokensWithAValidMacAreAcceptedUpToTheLimitOnly) {
  const TokenSigner signer("key-1");
  // 752 payload bytes + 16 MAC bytes = 768 raw bytes = 1024 characters.
  const std::string kib = signer.Sign(kBinding, std::string(752, 'p'));
  ASSERT_EQ(kib.size(), 1024u);
  EXPECT_THAT(signer.Verify(kib, kBinding, kField), IsOk());
  // Far over any sensible limit: rejected before decoding, despite a good MAC.
  const std::string huge = signer.Sign(kBinding, std::string(64 * 1024, 'p'));
  EXPECT_THAT(signer.Verify(huge, kBinding, kField), StatusIs(kInvalid, kField));
  EXPECT_THAT(signer.Verify(std::string(1 << 20, 'A'), kBinding, kField),
              StatusIs(kInvalid, kField));
}

}  // namespace
}  // namespace messaging::domain
