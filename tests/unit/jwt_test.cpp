#include "auth/jwt.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdint>
#include <jwt/jwt.hpp>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "unit/status_matchers.h"

namespace messaging::auth {
namespace {

using ::messaging::testing::IsOk;
using ::messaging::testing::StatusIs;

constexpr auto kUnauthenticated = absl::StatusCode::kUnauthenticated;
constexpr char kSecret[] = "0123456789abcdef0123456789abcdef-test-secret";
constexpr char kOtherSecret[] = "fedcba9876543210fedcba9876543210-other-secret";
constexpr char kDistributor[] = "11111111-2222-3333-4444-555555555555";

std::string B64(absl::string_view bytes) { return absl::WebSafeBase64Escape(bytes); }

std::string Hmac(const EVP_MD* md, absl::string_view key, absl::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int out_len = 0;
  HMAC(md, key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &out_len);
  return std::string(reinterpret_cast<const char*>(out), out_len);
}

// A compact JWS built by hand, so tests control every byte.
std::string BuildJwt(const nlohmann::json& header, const nlohmann::json& payload,
                     const EVP_MD* md = EVP_sha256(), absl::string_view secret = kSecret) {
  const std::string signing_input = absl::StrCat(B64(header.dump()), ".", B64(payload.dump()));
  return absl::StrCat(signing_input, ".", B64(Hmac(md, secret, signing_input)));
}

class JwtTest : public ::testing::Test {
 protected:
  JwtTest() {
    options_.secret = kSecret;
    // Authenticate's `now` must be close to the real clock: the JWT library
    // also checks exp/nbf against the system clock.
    now_ = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
    now_s_ = absl::ToUnixSeconds(now_);
  }

  nlohmann::json Header(const std::string& alg = "HS256") const {
    return {{"alg", alg}, {"typ", "JWT"}};
  }
  nlohmann::json Claims() const {
    return {{"distributor_id", kDistributor}, {"exp", now_s_ + 600}};
  }

  absl::StatusOr<std::string> Auth(const std::string& token) const {
    return TokenVerifier(options_).Authenticate("Bearer " + token, now_);
  }

  JwtOptions options_;
  absl::Time now_;
  int64_t now_s_ = 0;
};

// ---- Happy paths ------------------------------------------------------------

TEST_F(JwtTest, MintedTokenAuthenticatesAsLowerCaseDistributor) {
  const auto token = MintToken(options_, absl::AsciiStrToUpper(kDistributor), absl::Hours(1), now_);
  ASSERT_THAT(token, IsOk());
  const auto distributor = Auth(*token);
  ASSERT_THAT(distributor, IsOk());
  EXPECT_EQ(*distributor, kDistributor);
}

TEST_F(JwtTest, MintedTokenCarriesIatAndExp) {
  const auto token = MintToken(options_, kDistributor, absl::Seconds(90), now_);
  ASSERT_THAT(token, IsOk());
  const std::vector<std::string> parts = absl::StrSplit(*token, '.');
  ASSERT_EQ(parts.size(), 3u);
  std::string header_json, payload_json;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(parts[0], &header_json));
  ASSERT_TRUE(absl::WebSafeBase64Unescape(parts[1], &payload_json));
  const auto header = nlohmann::json::parse(header_json);
  const auto payload = nlohmann::json::parse(payload_json);
  EXPECT_EQ(header.at("alg"), "HS256");
  EXPECT_EQ(payload.at("distributor_id"), kDistributor);
  EXPECT_EQ(payload.at("iat").get<int64_t>(), now_s_);
  EXPECT_EQ(payload.at("exp").get<int64_t>(), now_s_ + 90);
}

TEST_F(JwtTest, HandBuiltHs256TokenIsAccepted) {
  // Guards the helpers: the negative cases below differ from this in one way.
  const auto distributor = Auth(BuildJwt(Header(), Claims()));
  ASSERT_THAT(distributor, IsOk());
  EXPECT_EQ(*distributor, kDistributor);
}

TEST_F(JwtTest, UpperCaseClaimIsReturnedInLowerCase) {
  auto claims = Claims();
  claims["distributor_id"] = absl::AsciiStrToUpper(kDistributor);
  const auto distributor = Auth(BuildJwt(Header(), claims));
  ASSERT_THAT(distributor, IsOk());
  EXPECT_EQ(*distributor, kDistributor);
}

TEST_F(JwtTest, BearerSchemeIsCaseInsensitive) {
  const std::string token = BuildJwt(Header(), Claims());
  const TokenVerifier verifier(options_);
  for (const char* scheme : {"Bearer ", "bearer ", "BEARER ", "bEaReR "}) {
    EXPECT_THAT(verifier.Authenticate(scheme + token, now_), IsOk()) << scheme;
  }
}

TEST_F(JwtTest, ClaimNameIsConfigurable) {
  options_.claim = "tenant";
  const auto minted = MintToken(options_, kDistributor, absl::Hours(1), now_);
  ASSERT_THAT(minted, IsOk());
  EXPECT_THAT(Auth(*minted), IsOk());

  nlohmann::json tenant_claims = {{"tenant", kDistributor}, {"exp", now_s_ + 600}};
  const auto distributor = Auth(BuildJwt(Header(), tenant_claims));
  ASSERT_THAT(distributor, IsOk());
  EXPECT_EQ(*distributor, kDistributor);

  // The default claim name is not looked at any more.
  EXPECT_THAT(Auth(BuildJwt(Header(), Claims())), StatusIs(kUnauthenticated, "tenant"));
}

// ---- Time claims ------------------------------------------------------------

TEST_F(JwtTest, ExpiredBeyondLeewayIsRejected) {
  auto claims = Claims();
  claims["exp"] = now_s_ - 120;  // Leeway is 30 s.
  EXPECT_THAT(Auth(BuildJwt(Header(), claims)), StatusIs(kUnauthenticated, "authorization"));
  claims["exp"] = now_s_ - 100000;
  EXPECT_THAT(Auth(BuildJwt(Header(), claims)), StatusIs(kUnauthenticated, "authorization"));
}

TEST_F(JwtTest, ExpiredWithinLeewayIsAccepted) {
  auto claims = Claims();
  claims["exp"] = now_s_ - 10;
  EXPECT_THAT(Auth(BuildJwt(Header(), claims)), IsOk());
}

TEST_F(JwtTest, LeewayIsConfigurable) {
  options_.leeway = absl::ZeroDuration();
  auto claims = Claims();
  claims["exp"] = now_s_ - 10;
  EXPECT_THAT(Auth(BuildJwt(Header(), claims)), StatusIs(kUnauthenticated, "expired"));
}

TEST_F(JwtTest, MintedTokenPastItsTtlIsRejected) {
  const auto token = MintToken(options_, kDistributor, absl::Seconds(60), now_ - absl::Hours(1));
  ASSERT_THAT(token, IsOk());
  EXPECT_THAT(Auth(*token), StatusIs(kUnauthenticated, "authorization"));
}

// The verifier remembers verified tokens; the remembered claims still expire.
TEST_F(JwtTest, ARememberedTokenIsRejectedOnceItExpires) {
  TokenVerifier verifier(options_);
  const auto token = BuildJwt(Header(), Claims());  // exp = now + 600 s, leeway 30 s.
  EXPECT_THAT(verifier.Authenticate("Bearer " + token, now_), IsOk());
  EXPECT_THAT(verifier.Authenticate("Bearer " + token, now_ + absl::Seconds(620)), IsOk());
  EXPECT_THAT(verifier.Authenticate("Bearer " + token, now_ + absl::Seconds(640)),
              StatusIs(kUnauthenticated, "expired"));
}

TEST_F(JwtTest, ARememberedTokenIsNotValidBeforeItsNotBefore) {
  TokenVerifier verifier(options_);
  auto claims = Claims();
  claims["nbf"] = now_s_ + 10;  // Within the leeway now; not 60 s earlier.
  const auto token = BuildJwt(Header(), claims);
  EXPECT_THAT(verifier.Authenticate("Bearer " + token, now_), IsOk());
  EXPECT_THAT(verifier.Authenticate("Bearer " + token, now_ - absl::Seconds(60)),
              StatusIs(kUnauthenticated, "not yet valid"));
}

TEST_F(JwtTest, OnlyTheExactVerifiedTokenIsRemembered) {
  TokenVerifier verifier(options_, /*cache_capacity=*/2);
  const auto token = BuildJwt(Header(), Claims());
  ASSERT_THAT(verifier.Authenticate("Bearer " + token, now_), IsOk());
  // One changed signature character is verified afresh, and fails.
  std::string tampered = token;
  char& c = tampered[tampered.size() - 5];  // Not the last: its low bits are padding.
  c = c == 'A' ? 'B' : 'A';
  EXPECT_THAT(verifier.Authenticate("Bearer " + tampered, now_),
              StatusIs(kUnauthenticated, "authorization"));
  // More distinct tokens than the capacity: each still authenticates.
  for (int i = 0; i < 5; ++i) {
    auto claims = Claims();
    claims["exp"] = now_s_ + 600 + i;
    EXPECT_THAT(verifier.Authenticate("Bearer " + BuildJwt(Header(), claims), now_), IsOk());
  }
  EXPECT_THAT(verifier.Authenticate("Bearer " + token, now_), IsOk());
}

TEST_F(JwtTest, ExpIsRequiredAndMustBeANumber) {
  nlohmann::json no_exp = {{"distributor_id", kDistributor}};
  EXPECT_THAT(Auth(BuildJwt(Header(), no_exp)), StatusIs(kUnauthenticated, "exp"));
  for (const nlohmann::json& bad_exp :
       {nlohmann::json("soon"), nlohmann::json(std::to_string(now_s_ + 600)), nlohmann::json(true),
        nlohmann::json(nullptr), nlohmann::json::array({now_s_ + 600}),
        nlohmann::json::object({{"t", now_s_ + 600}}), nlohmann::json(1e300),
        nlohmann::json(-1e300)}) {
    auto claims = Claims();
    claims["exp"] = bad_exp;
    EXPECT_THAT(Auth(BuildJwt(Header(), claims)), StatusIs(kUnauthenticated, "authorization"))
        << bad_exp.dump();
  }
}

TEST_F(JwtTest, NotBeforeInTheFutureIsRejected) {
  auto claims = Claims();
  claims["nbf"] = now_s_ + 300;
  EXPECT_THAT(Auth(BuildJwt(Header(), claims)), StatusIs(kUnauthenticated, "authorization"));
}

TEST_F(JwtTest, NotBeforeWithinLeewayOrPastIsAccepted) {
  auto claims = Claims();
  claims["nbf"] = now_s_ + 10;
  EXPECT_THAT(Auth(BuildJwt(Header(), claims)), IsOk());
  claims["nbf"] = now_s_ - 3600;
  EXPECT_THAT(Auth(BuildJwt(Header(), claims)), IsOk());
}

TEST_F(JwtTest, NonNumericNotBeforeIsRejected) {
  auto claims = Claims();
  claims["nbf"] = "yesterday";
  EXPECT_THAT(Auth(BuildJwt(Header(), claims)), StatusIs(kUnauthenticated, "authorization"));
}

// ---- Distributor claim ------------------------------------------------------

TEST_F(JwtTest, MissingOrMalformedDistributorClaimIsRejected) {
  nlohmann::json missing = {{"exp", now_s_ + 600}};
  EXPECT_THAT(Auth(BuildJwt(Header(), missing)), StatusIs(kUnauthenticated, "distributor_id"));
  for (const nlohmann::json& bad :
       {nlohmann::json("not-a-uuid"), nlohmann::json(""), nlohmann::json(42),
        nlohmann::json(nullptr), nlohmann::json::array({kDistributor}),
        nlohmann::json(std::string(kDistributor) + " "),
        nlohmann::json("11111111222233334444555555555555")}) {
    auto claims = Claims();
    claims["distributor_id"] = bad;
    EXPECT_THAT(Auth(BuildJwt(Header(), claims)), StatusIs(kUnauthenticated, "distributor_id"))
        << bad.dump();
  }
}

// ---- Header, scheme and signature -------------------------------------------

TEST_F(JwtTest, MissingOrWrongSchemeIsRejected) {
  const std::string token = BuildJwt(Header(), Claims());
  const TokenVerifier verifier(options_);
  for (const std::string& header :
       {std::string(), std::string("Bearer"), std::string("Bearer "), std::string("Bearer    "),
        token, "Basic " + token, std::string("Basic dXNlcjpwYXNzd29yZA=="), "Token " + token,
        "Bearer:" + token, "Bearer\t" + token, std::string("Bearertoken")}) {
    EXPECT_THAT(verifier.Authenticate(header, now_), StatusIs(kUnauthenticated, "authorization"))
        << '"' << header << '"';
  }
}

TEST_F(JwtTest, GarbageIsRejected) {
  const std::string good = BuildJwt(Header(), Claims());
  const std::string header_part = good.substr(0, good.find('.'));
  for (const std::string& token : {
           std::string("abc"),
           std::string("a.b.c"),
           std::string(".."),
           std::string("...."),
           std::string("@@@.@@@.@@@"),
           B64("not json") + "." + B64("{}") + ".sig",
           B64("[]") + "." + B64("{}") + ".sig",
           header_part + "." + B64("not json") + ".sig",
           header_part + "." + B64("[1,2]") + ".sig",
           header_part + "." + B64("\"string\"") + ".sig",
           good + ".extra",
           good.substr(0, good.rfind('.')),      // no signature part
           good.substr(0, good.rfind('.') + 1),  // empty signature
           std::string(1, '\0'),
           std::string("\xFF\xFE.\xFF.\xFF"),
       }) {
    EXPECT_THAT(Auth(token), StatusIs(kUnauthenticated, "authorization")) << token;
  }
}

TEST_F(JwtTest, BytesOutsideTheBase64UrlAlphabetAreRejectedWithoutCrashing) {
  // Regression: cpp-jwt's base64 decoder indexed its table with a signed char,
  // so a byte >= 0x80 read out of bounds (assert abort in debug builds).
  const std::string good = BuildJwt(Header(), Claims());
  const std::size_t positions[] = {0, good.find('.') + 1, good.rfind('.') + 1, good.size() - 1};
  for (int byte = 0; byte < 256; ++byte) {
    const char c = static_cast<char>(byte);
    if (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') {
      continue;
    }
    for (const std::size_t pos : positions) {
      std::string altered = good;
      altered[pos] = c;
      EXPECT_THAT(Auth(altered), StatusIs(kUnauthenticated, "authorization"))
          << "byte " << byte << " at " << pos;
    }
  }
}

TEST_F(JwtTest, WrongSecretIsRejected) {
  EXPECT_THAT(Auth(BuildJwt(Header(), Claims(), EVP_sha256(), kOtherSecret)),
              StatusIs(kUnauthenticated, "authorization"));
  JwtOptions other = options_;
  other.secret = kOtherSecret;
  const auto minted = MintToken(other, kDistributor, absl::Hours(1), now_);
  ASSERT_THAT(minted, IsOk());
  EXPECT_THAT(Auth(*minted), StatusIs(kUnauthenticated, "authorization"));
}

TEST_F(JwtTest, TamperedPayloadIsRejected) {
  const std::string good = BuildJwt(Header(), Claims());
  const auto first_dot = good.find('.');
  const auto last_dot = good.rfind('.');
  auto claims = Claims();
  claims["distributor_id"] = "99999999-2222-3333-4444-555555555555";
  const std::string forged =
      absl::StrCat(good.substr(0, first_dot), ".", B64(claims.dump()), good.substr(last_dot));
  EXPECT_THAT(Auth(forged), StatusIs(kUnauthenticated, "authorization"));
}

TEST_F(JwtTest, EverySignatureCharacterChangeIsRejected) {
  const std::string good = BuildJwt(Header(), Claims());
  const auto sig_start = good.rfind('.') + 1;
  // The last character carries unused bits; skip it (a decoder may ignore them).
  for (std::size_t i = sig_start; i + 1 < good.size(); ++i) {
    std::string altered = good;
    altered[i] = altered[i] == 'A' ? 'B' : 'A';
    EXPECT_THAT(Auth(altered), StatusIs(kUnauthenticated, "authorization")) << i;
  }
}

TEST_F(JwtTest, AlgNoneIsRejected) {
  const std::string unsigned_part = absl::StrCat(
      B64(nlohmann::json{{"alg", "none"}, {"typ", "JWT"}}.dump()), ".", B64(Claims().dump()));
  const std::string hs256_sig =
      BuildJwt(Header(), Claims()).substr(BuildJwt(Header(), Claims()).rfind('.'));
  for (const std::string& token : {unsigned_part + ".", unsigned_part, unsigned_part + hs256_sig,
                                   unsigned_part + "." + B64("signature")}) {
    EXPECT_THAT(Auth(token), StatusIs(kUnauthenticated, "authorization")) << token;
  }
  for (const char* alg : {"None", "NONE", "nOnE"}) {
    const std::string token = absl::StrCat(B64(nlohmann::json{{"alg", alg}, {"typ", "JWT"}}.dump()),
                                           ".", B64(Claims().dump()), ".");
    EXPECT_THAT(Auth(token), StatusIs(kUnauthenticated, "authorization")) << alg;
  }
}

TEST_F(JwtTest, OtherHmacAlgorithmsWithTheSameSecretAreRejected) {
  EXPECT_THAT(Auth(BuildJwt(Header("HS384"), Claims(), EVP_sha384())),
              StatusIs(kUnauthenticated, "authorization"));
  EXPECT_THAT(Auth(BuildJwt(Header("HS512"), Claims(), EVP_sha512())),
              StatusIs(kUnauthenticated, "authorization"));

  // The same through the JWT library itself.
  jwt::jwt_object hs512{jwt::params::algorithm("HS512"), jwt::params::secret(kSecret),
                        jwt::params::payload({{"distributor_id", kDistributor}})};
  hs512.add_claim("exp", now_s_ + 600);
  EXPECT_THAT(Auth(hs512.signature()), StatusIs(kUnauthenticated, "authorization"));
}

TEST_F(JwtTest, AlgorithmConfusionHeadersAreRejected) {
  // An HS256 signature under a header that names another algorithm.
  // (cpp-jwt matches alg case-insensitively, so "hs256" is accepted; that is
  // harmless since the signature is still HS256 with our secret.)
  for (const char* alg : {"RS256", "ES256", "PS256", "HS256 ", "", "HS2566"}) {
    EXPECT_THAT(Auth(BuildJwt(Header(alg), Claims())), StatusIs(kUnauthenticated, "authorization"))
        << '"' << alg << '"';
  }
  nlohmann::json no_alg = {{"typ", "JWT"}};
  EXPECT_THAT(Auth(BuildJwt(no_alg, Claims())), StatusIs(kUnauthenticated, "authorization"));
}

TEST_F(JwtTest, TokensOver4KiBAreRejected) {
  auto claims = Claims();
  claims["pad"] = std::string(1000, 'p');
  const std::string normal = BuildJwt(Header(), claims);
  ASSERT_GT(normal.size(), 1024u);
  EXPECT_THAT(Auth(normal), IsOk()) << "a padded but reasonable token is fine";

  // Over our 4 KiB limit but under gRPC's 8 KiB metadata limit, so it is the
  // verifier that refuses it.
  claims["pad"] = std::string(3100, 'p');
  const std::string over = BuildJwt(Header(), claims);
  ASSERT_GT(over.size(), 4u * 1024u);
  ASSERT_LT(over.size(), 8u * 1024u);
  EXPECT_THAT(Auth(over), StatusIs(kUnauthenticated, "too long"));
  EXPECT_THAT(Auth(std::string(1 << 20, 'A')), StatusIs(kUnauthenticated, "too long"));
}

// ---- Claim ranges, audience, issuer, lifetime ---------------------------------

TEST_F(JwtTest, TimeClaimsMustBeWholeSecondsBetween1970And9999) {
  for (const char* name : {"exp", "nbf", "iat"}) {
    for (const nlohmann::json& bad :
         {nlohmann::json(-1), nlohmann::json(-now_s_),
          nlohmann::json(static_cast<double>(now_s_) + 0.5), nlohmann::json(253402300800),
          nlohmann::json(std::numeric_limits<int64_t>::max()),
          nlohmann::json(std::numeric_limits<uint64_t>::max()), nlohmann::json(1e300),
          nlohmann::json("1700000000")}) {
      auto claims = Claims();
      claims[name] = bad;
      EXPECT_THAT(Auth(BuildJwt(Header(), claims)), StatusIs(kUnauthenticated, name))
          << name << "=" << bad.dump();
    }
  }
  auto claims = Claims();
  claims["exp"] = static_cast<double>(now_s_ + 600);  // A whole number written as a float.
  claims["iat"] = now_s_;
  EXPECT_THAT(Auth(BuildJwt(Header(), claims)), IsOk());
}

TEST_F(JwtTest, TruncatedOrPaddedSignatureIsRejected) {
  const std::string token = BuildJwt(Header(), Claims());
  ASSERT_THAT(Auth(token), IsOk());
  EXPECT_THAT(Auth(token.substr(0, token.size() - 1)), StatusIs(kUnauthenticated, "signature"));
  EXPECT_THAT(Auth(token + "AA"), StatusIs(kUnauthenticated, "signature"));
  EXPECT_THAT(Auth(token.substr(0, token.rfind('.') + 1)),
              StatusIs(kUnauthenticated, "authorization"));
}

// The last character of a 32-byte signature carries 2 unused bits: changing
// only those decodes to the same bytes, and must still be refused.
TEST_F(JwtTest, NonCanonicalSignatureSpellingIsRejected) {
  const std::string token = BuildJwt(Header(), Claims());
  ASSERT_THAT(Auth(token), IsOk());
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const auto last = alphabet.find(token.back());
  ASSERT_NE(last, std::string::npos);
  for (std::size_t low = 1; low < 4; ++low) {
    std::string altered = token;
    altered.back() = alphabet[(last & ~std::size_t{3}) | ((last & 3) ^ low)];
    EXPECT_THAT(Auth(altered), StatusIs(kUnauthenticated, "signature")) << altered.back();
  }
}

TEST_F(JwtTest, CriticalHeaderExtensionsAreRejected) {
  auto header = Header();
  header["crit"] = nlohmann::json::array({"b64"});
  EXPECT_THAT(Auth(BuildJwt(header, Claims())), StatusIs(kUnauthenticated, "critical"));
}

TEST_F(JwtTest, AudienceIsCheckedOnlyWhenConfigured) {
  auto claims = Claims();
  EXPECT_THAT(Auth(BuildJwt(Header(), claims)), IsOk()) << "no audience configured";
  options_.audience = "messaging";
  EXPECT_THAT(Auth(BuildJwt(Header(), claims)), StatusIs(kUnauthenticated, "audience"));
  claims["aud"] = "billing";
  EXPECT_THAT(Auth(BuildJwt(Header(), claims)), StatusIs(kUnauthenticated, "audience"));
  claims["aud"] = nlohmann::json::array({"billing", 7});
  EXPECT_THAT(Auth(BuildJwt(Header(), claims)), StatusIs(kUnauthenticated, "audience"));
  claims["aud"] = "messaging";
  EXPECT_THAT(Auth(BuildJwt(Header(), claims)), IsOk());
  claims["aud"] = nlohmann::json::array({"billing", "messaging"});
  EXPECT_THAT(Auth(BuildJwt(Header(), claims)), IsOk());
}

TEST_F(JwtTest, IssuerIsCheckedOnlyWhenConfigured) {
  auto claims = Claims();
  claims["iss"] = "someone-else";
  EXPECT_THAT(Auth(BuildJwt(Header(), claims)), IsOk()) << "no issuer configured";
  options_.issuer = "https://auth.example";
  EXPECT_THAT(Auth(BuildJwt(Header(), claims)), StatusIs(kUnauthenticated, "issuer"));
  claims.erase("iss");
  EXPECT_THAT(Auth(BuildJwt(Header(), claims)), StatusIs(kUnauthenticated, "issuer"));
  claims["iss"] = "https://auth.example";
  EXPECT_THAT(Auth(BuildJwt(Header(), claims)), IsOk());
}

TEST_F(JwtTest, MaximumLifetimeBoundsExpMinusIatAndExpMinusNow) {
  options_.max_lifetime = absl::Hours(1);
  auto claims = Claims();  // exp = now + 10 min, no iat.
  EXPECT_THAT(Auth(BuildJwt(Header(), claims)), IsOk());
  claims["exp"] = now_s_ + 2 * 3600;  // No iat, but valid for two more hours.
  EXPECT_THAT(Auth(BuildJwt(Header(), claims)), StatusIs(kUnauthenticated, "lifetime"));
  claims["exp"] = now_s_ + 600;
  claims["iat"] = now_s_ - 3 * 3600;  // Issued for 3h10m, of which 10 min remain.
  EXPECT_THAT(Auth(BuildJwt(Header(), claims)), StatusIs(kUnauthenticated, "lifetime"));
  claims["iat"] = now_s_ - 1800;
  EXPECT_THAT(Auth(BuildJwt(Header(), claims)), IsOk());
}

TEST_F(JwtTest, MintedTokenCarriesConfiguredAudienceAndIssuer) {
  options_.audience = "messaging";
  options_.issuer = "https://auth.example";
  const auto token = MintToken(options_, kDistributor, absl::Minutes(5), now_);
  ASSERT_THAT(token, IsOk());
  EXPECT_THAT(Auth(*token), IsOk());
  const std::vector<std::string> parts = absl::StrSplit(*token, '.');
  ASSERT_EQ(parts.size(), 3u);
  std::string payload;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(parts[1], &payload));
  const auto json = nlohmann::json::parse(payload);
  EXPECT_EQ(json.at("aud"), "messaging");
  EXPECT_EQ(json.at("iss"), "https://auth.example");
}

// ---- ValidateSecret / MintToken --------------------------------------------

TEST(ValidateSecretTest, RequiresAtLeast32Bytes) {
  EXPECT_THAT(ValidateSecret(std::string(32, 's')), IsOk());
  EXPECT_THAT(ValidateSecret(std::string(31, 's')),
              StatusIs(absl::StatusCode::kInvalidArgument, "MESSAGING_JWT_SECRET"));
  EXPECT_THAT(ValidateSecret(""), StatusIs(absl::StatusCode::kInvalidArgument, "32"));
}

TEST(MintTokenTest, RejectsBadInput) {
  JwtOptions options;
  options.secret = kSecret;
  const absl::Time now = absl::Now();
  EXPECT_THAT(MintToken(options, "not-a-uuid", absl::Hours(1), now),
              StatusIs(absl::StatusCode::kInvalidArgument, "--distributor"));
  EXPECT_THAT(MintToken(options, "", absl::Hours(1), now),
              StatusIs(absl::StatusCode::kInvalidArgument, "--distributor"));
  EXPECT_THAT(MintToken(options, kDistributor, absl::ZeroDuration(), now),
              StatusIs(absl::StatusCode::kInvalidArgument, "--ttl"));
  EXPECT_THAT(MintToken(options, kDistributor, absl::Seconds(-5), now),
              StatusIs(absl::StatusCode::kInvalidArgument, "--ttl"));
  options.secret = "short";
  EXPECT_THAT(MintToken(options, kDistributor, absl::Hours(1), now),
              StatusIs(absl::StatusCode::kInvalidArgument, "MESSAGING_JWT_SECRET"));
}

// ---- AI worker tokens ---------------------------------------------------------

TEST_F(JwtTest, WorkerTokensAuthenticateAsWorkersWithAnOptionalDistributor) {
  const TokenVerifier verifier(options_);
  const auto unrestricted = MintWorkerToken(options_, "summarizer-1", "", absl::Hours(1), now_);
  ASSERT_THAT(unrestricted, IsOk());
  const auto anyone = verifier.AuthenticatePrincipal("Bearer " + *unrestricted, now_);
  ASSERT_THAT(anyone, IsOk());
  EXPECT_TRUE(anyone->is_worker());
  EXPECT_EQ(anyone->worker_name, "summarizer-1");
  EXPECT_EQ(anyone->distributor_id, "");

  const auto restricted = MintWorkerToken(
      options_, "summarizer-2", absl::AsciiStrToUpper(kDistributor), absl::Hours(1), now_);
  ASSERT_THAT(restricted, IsOk());
  const auto one = verifier.AuthenticatePrincipal("Bearer " + *restricted, now_);
  ASSERT_THAT(one, IsOk());
  EXPECT_EQ(one->worker_name, "summarizer-2");
  EXPECT_EQ(one->distributor_id, kDistributor);
  // Twice: the second answer comes from the cache and must be the same.
  EXPECT_EQ(verifier.AuthenticatePrincipal("Bearer " + *restricted, now_)->worker_name,
            "summarizer-2");

  // A worker token is no distributor token.
  EXPECT_THAT(verifier.Authenticate("Bearer " + *restricted, now_),
              StatusIs(absl::StatusCode::kPermissionDenied, "worker"));
  const auto distributor = verifier.AuthenticatePrincipal(
      "Bearer " + *MintToken(options_, kDistributor, absl::Hours(1), now_), now_);
  ASSERT_THAT(distributor, IsOk());
  EXPECT_FALSE(distributor->is_worker());
}

TEST_F(JwtTest, WorkerTokensNeedAValidSubAndAUuidWhenRestricted) {
  auto claims = nlohmann::json{{"role", "ai_worker"}, {"exp", now_s_ + 600}};
  EXPECT_THAT(Auth(BuildJwt(Header(), claims)), StatusIs(kUnauthenticated, "sub"));
  for (const nlohmann::json& sub :
       {nlohmann::json(""), nlohmann::json(7), nlohmann::json("has space"),
        nlohmann::json(std::string(129, 'w'))}) {
    claims["sub"] = sub;
    EXPECT_THAT(
        TokenVerifier(options_).AuthenticatePrincipal("Bearer " + BuildJwt(Header(), claims), now_),
        StatusIs(kUnauthenticated, "sub"))
        << sub.dump();
  }
  claims["sub"] = "w";
  claims["distributor_id"] = "not-a-uuid";
  EXPECT_THAT(
      TokenVerifier(options_).AuthenticatePrincipal("Bearer " + BuildJwt(Header(), claims), now_),
      StatusIs(kUnauthenticated, "UUID"));
  // Another role (e.g. Supabase's "authenticated") leaves a distributor token as it was.
  auto supabase = Claims();
  supabase["role"] = "authenticated";
  EXPECT_THAT(Auth(BuildJwt(Header(), supabase)), IsOk());
}

TEST(MintWorkerTokenTest, RejectsBadInput) {
  JwtOptions options;
  options.secret = kSecret;
  const absl::Time now = absl::Now();
  EXPECT_THAT(MintWorkerToken(options, "", "", absl::Hours(1), now),
              StatusIs(absl::StatusCode::kInvalidArgument, "worker name"));
  EXPECT_THAT(MintWorkerToken(options, "a b", "", absl::Hours(1), now),
              StatusIs(absl::StatusCode::kInvalidArgument, "worker name"));
  EXPECT_THAT(MintWorkerToken(options, "w", "nope", absl::Hours(1), now),
              StatusIs(absl::StatusCode::kInvalidArgument, "--distributor"));
  EXPECT_THAT(MintWorkerToken(options, "w", "", absl::ZeroDuration(), now),
              StatusIs(absl::StatusCode::kInvalidArgument, "--ttl"));
}

}  // namespace
}  // namespace messaging::auth
