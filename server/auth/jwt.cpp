#include "auth/jwt.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cmath>
#include <jwt/jwt.hpp>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "domain/sealed_token.h"
#include "domain/validation.h"

namespace messaging::auth {
namespace {

// Far above any real token, below gRPC's 8 KiB metadata limit.
constexpr std::size_t kMaxTokenBytes = 4 * 1024;
// 9999-12-31T23:59:59Z: later NumericDates are not dates any client means.
constexpr int64_t kLatestNumericDate = 253402300799;

absl::Status Unauthenticated(absl::string_view why) {
  return absl::UnauthenticatedError(absl::StrCat("authorization: ", why));
}

bool IsBase64UrlChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
}

// One base64url segment of a compact JWS, decoded; nullopt when empty, not
// base64url, or not in its canonical spelling.
std::optional<std::string> DecodeSegment(absl::string_view segment) {
  if (segment.empty() || !std::all_of(segment.begin(), segment.end(), IsBase64UrlChar)) {
    return std::nullopt;
  }
  std::string bytes;
  if (!absl::WebSafeBase64Unescape(segment, &bytes)) return std::nullopt;
  // Canonical spelling only: the decoder ignores a last character's unused
  // bits, so without this check one signature would have several spellings.
  if (absl::WebSafeBase64Escape(bytes) != segment) return std::nullopt;
  return bytes;
}

std::optional<nlohmann::json> DecodeJsonObject(absl::string_view segment) {
  auto bytes = DecodeSegment(segment);
  if (!bytes) return std::nullopt;
  nlohmann::json object = nlohmann::json::parse(*bytes, nullptr, /*allow_exceptions=*/false);
  if (!object.is_object()) return std::nullopt;
  return object;
}

// HMAC-SHA256 of `signing_input`, compared with `signature` in constant time,
// so the time a refusal takes says nothing about how much of a forged
// signature was right.
bool SignatureMatches(absl::string_view secret, absl::string_view signing_input,
                      absl::string_view signature) {
  const std::string expected = domain::HmacSha256(secret, signing_input);
  if (expected.empty()) return false;  // HMAC failed: nothing may match, not even "".
  return signature.size() == expected.size() &&
         CRYPTO_memcmp(expected.data(), signature.data(), expected.size()) == 0;
}

// A NumericDate claim: absent (nullopt), or whole seconds in [0, 9999-12-31].
// Fractions, negatives, huge values and non-numbers are refused by name.
absl::StatusOr<std::optional<int64_t>> TimeClaim(const nlohmann::json& payload, const char* name) {
  const auto it = payload.find(name);
  if (it == payload.end()) return std::optional<int64_t>();
  const auto invalid = [name] {
    return Unauthenticated(
        absl::StrCat("token has an invalid ", name, " claim (want whole seconds since 1970)"));
  };
  if (it->is_number_unsigned()) {
    const auto value = it->get<uint64_t>();
    if (value > static_cast<uint64_t>(kLatestNumericDate)) return invalid();
    return std::optional<int64_t>(static_cast<int64_t>(value));
  }
  if (it->is_number_integer()) {
    const auto value = it->get<int64_t>();
    if (value < 0 || value > kLatestNumericDate) return invalid();
    return std::optional<int64_t>(value);
  }
  if (it->is_number_float()) {
    // 1.7e9 is a whole number written as a float; 1.5 or 1e300 is not a date.
    const double value = it->get<double>();
    if (!(value >= 0 && value <= static_cast<double>(kLatestNumericDate)) ||
        value != std::floor(value)) {
      return invalid();
    }
    return std::optional<int64_t>(static_cast<int64_t>(value));
  }
  return invalid();
}

bool AudienceMatches(const nlohmann::json& payload, absl::string_view audience) {
  const auto it = payload.find("aud");
  if (it == payload.end()) return false;
  if (it->is_string()) return it->get_ref<const std::string&>() == audience;
  if (!it->is_array()) return false;
  return std::any_of(it->begin(), it->end(), [&](const nlohmann::json& entry) {
    return entry.is_string() && entry.get_ref<const std::string&>() == audience;
  });
}

}  // namespace

absl::Status ValidateSecret(absl::string_view secret) {
  if (secret.size() < kMinSecretBytes) {
    return absl::InvalidArgumentError(absl::StrCat("MESSAGING_JWT_SECRET: must be at least ",
                                                   kMinSecretBytes, " bytes (got ", secret.size(),
                                                   ")"));
  }
  return absl::OkStatus();
}

absl::Status ValidateWorkerName(absl::string_view name) {
  const bool valid =
      !name.empty() && name.size() <= 128 && std::all_of(name.begin(), name.end(), [](char c) {
        return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' ||
               c == ':' || c == '@' || c == '-';
      });
  if (valid) return absl::OkStatus();
  return absl::InvalidArgumentError(
      "worker name: must be 1 to 128 characters of A-Z a-z 0-9 . _ : @ -");
}

absl::StatusOr<std::string> TokenVerifier::Authenticate(absl::string_view authorization,
                                                        absl::Time now) const {
  auto principal = AuthenticatePrincipal(authorization, now);
  if (!principal.ok()) return principal.status();
  if (principal->is_worker()) {
    return absl::PermissionDeniedError(
        "authorization: an AI worker token cannot call this method (it needs a distributor token)");
  }
  return std::move(principal->distributor_id);
}

absl::StatusOr<Principal> TokenVerifier::AuthenticatePrincipal(absl::string_view authorization,
                                                               absl::Time now) const {
  if (authorization.empty()) return Unauthenticated("missing bearer token");
  constexpr absl::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size() ||
      !absl::EqualsIgnoreCase(authorization.substr(0, kScheme.size()), kScheme)) {
    return Unauthenticated("expected \"Bearer <token>\"");
  }
  const absl::string_view token = absl::StripAsciiWhitespace(authorization.substr(kScheme.size()));
  if (token.size() > kMaxTokenBytes) return Unauthenticated("token too long");
  {
    std::lock_guard<std::mutex> lock(cache_mu_);
    const auto it = cache_.find(token);
    if (it != cache_.end()) return CheckTime(it->second, now);
  }
  auto verified = Verify(token);
  if (!verified.ok()) return verified.status();
  auto principal = CheckTime(*verified, now);
  if (principal.ok()) {
    std::lock_guard<std::mutex> lock(cache_mu_);
    // Bounded: a flood of distinct valid tokens only ever costs a full verify.
    if (cache_.size() >= cache_capacity_) cache_.clear();
    cache_.emplace(std::string(token), *std::move(verified));
  }
  return principal;
}

absl::StatusOr<TokenVerifier::Verified> TokenVerifier::Verify(absl::string_view token) const {
  const std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3) return Unauthenticated("malformed token");
  const auto header = DecodeJsonObject(parts[0]);
  if (!header) return Unauthenticated("malformed token");
  const auto alg = header->find("alg");
  if (alg == header->end() || !alg->is_string() || alg->get_ref<const std::string&>() != "HS256") {
    return Unauthenticated("only HS256 tokens are accepted");
  }
  // RFC 7515 4.1.11: a token that needs extensions we do not implement is refused.
  if (header->contains("crit")) return Unauthenticated("token has critical extensions");
  const auto signature = DecodeSegment(parts[2]);
  const absl::string_view signing_input = token.substr(0, parts[0].size() + 1 + parts[1].size());
  if (!signature || !SignatureMatches(options_.secret, signing_input, *signature)) {
    return Unauthenticated("invalid token (signature verification failed)");
  }
  // Only signed bytes are read from here on.
  const auto payload = DecodeJsonObject(parts[1]);
  if (!payload) return Unauthenticated("malformed token");

  Verified verified;
  std::optional<int64_t> exp;
  for (auto [name, field] :
       {std::pair{"exp", &exp}, std::pair{"nbf", &verified.nbf}, std::pair{"iat", &verified.iat}}) {
    auto value = TimeClaim(*payload, name);
    if (!value.ok()) return value.status();
    *field = *value;
  }
  if (!exp) return Unauthenticated("token has no numeric exp claim");
  verified.exp = *exp;
  if (options_.max_lifetime > absl::ZeroDuration() && verified.iat &&
      verified.exp - *verified.iat > absl::ToInt64Seconds(options_.max_lifetime)) {
    return Unauthenticated("token lifetime exceeds the allowed maximum");
  }
  if (!options_.audience.empty() && !AudienceMatches(*payload, options_.audience)) {
    return Unauthenticated("token is not for this audience");
  }
  if (!options_.issuer.empty()) {
    const auto iss = payload->find("iss");
    if (iss == payload->end() || !iss->is_string() ||
        iss->get_ref<const std::string&>() != options_.issuer) {
      return Unauthenticated("token is not from the expected issuer");
    }
  }
  // Only the worker role is ours; any other `role` (e.g. Supabase's) leaves
  // a distributor token as it was.
  const auto role = payload->find("role");
  const bool worker = role != payload->end() && role->is_string() &&
                      role->get_ref<const std::string&>() == kWorkerRole;
  if (worker) {
    const auto sub = payload->find("sub");
    if (sub == payload->end() || !sub->is_string() ||
        !ValidateWorkerName(sub->get_ref<const std::string&>()).ok()) {
      return Unauthenticated("worker token has no valid sub claim (the worker's name)");
    }
    verified.principal.worker_name = sub->get<std::string>();
  }
  const auto claim = payload->find(options_.claim);
  if (worker && claim == payload->end()) return verified;  // An unrestricted worker.
  if (claim == payload->end() || !claim->is_string()) {
    return Unauthenticated(absl::StrCat("token has no ", options_.claim, " claim"));
  }
  auto distributor = domain::ParseUuid(claim->get<std::string>(), options_.claim);
  if (!distributor.ok()) {
    return Unauthenticated(absl::StrCat(options_.claim, " claim is not a UUID"));
  }
  verified.principal.distributor_id = *std::move(distributor);
  return verified;
}

absl::StatusOr<Principal> TokenVerifier::CheckTime(const Verified& claims, absl::Time now) const {
  const int64_t now_s = absl::ToUnixSeconds(now);
  const int64_t leeway_s = absl::ToInt64Seconds(options_.leeway);
  if (now_s > claims.exp + leeway_s) return Unauthenticated("token expired");
  if (claims.nbf && now_s + leeway_s < *claims.nbf) return Unauthenticated("token not yet valid");
  if (options_.max_lifetime > absl::ZeroDuration() &&
      claims.exp - now_s > absl::ToInt64Seconds(options_.max_lifetime) + leeway_s) {
    return Unauthenticated("token lifetime exceeds the allowed maximum");
  }
  return claims.principal;
}

namespace {

// Signs a token for `worker` (a worker token when not empty) and
// `distributor_id` (omitted when empty).
absl::StatusOr<std::string> Mint(const JwtOptions& options, absl::string_view worker,
                                 absl::string_view distributor_id, absl::Duration ttl,
                                 absl::Time now) {
  if (auto st = ValidateSecret(options.secret); !st.ok()) return st;
  std::string distributor;
  if (worker.empty() || !distributor_id.empty()) {
    auto parsed = domain::ParseUuid(distributor_id, "--distributor");
    if (!parsed.ok()) return parsed.status();
    distributor = *std::move(parsed);
  }
  if (ttl <= absl::ZeroDuration()) return absl::InvalidArgumentError("--ttl: must be positive");
  try {
    jwt::jwt_object token{jwt::params::algorithm("HS256"), jwt::params::secret(options.secret)};
    if (!worker.empty()) {
      token.add_claim("role", kWorkerRole);
      token.add_claim("sub", std::string(worker));
    }
    if (!distributor.empty()) token.add_claim(options.claim, distributor);
    token.add_claim("iat", absl::ToUnixSeconds(now));
    token.add_claim("exp", absl::ToUnixSeconds(now + ttl));
    if (!options.audience.empty()) token.add_claim("aud", options.audience);
    if (!options.issuer.empty()) token.add_claim("iss", options.issuer);
    return token.signature();
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("cannot sign token: ", e.what()));
  }
}

}  // namespace

absl::StatusOr<std::string> MintToken(const JwtOptions& options, absl::string_view distributor_id,
                                      absl::Duration ttl, absl::Time now) {
  return Mint(options, "", distributor_id, ttl, now);
}

absl::StatusOr<std::string> MintWorkerToken(const JwtOptions& options, absl::string_view worker,
                                            absl::string_view distributor_id, absl::Duration ttl,
                                            absl::Time now) {
  if (auto st = ValidateWorkerName(worker); !st.ok()) return st;
  return Mint(options, worker, distributor_id, ttl, now);
}

}  // namespace messaging::auth
