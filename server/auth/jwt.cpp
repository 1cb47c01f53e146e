#include "auth/jwt.h"

#include <algorithm>
#include <jwt/jwt.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "domain/validation.h"

namespace messaging::auth {
namespace {

// Far above any real token, below gRPC's 8 KiB metadata limit.
constexpr std::size_t kMaxTokenBytes = 4 * 1024;

absl::Status Unauthenticated(absl::string_view why) {
  return absl::UnauthenticatedError(absl::StrCat("authorization: ", why));
}

// A NumericDate claim as whole seconds; nullopt if absent or not a number.
std::optional<int64_t> NumericClaim(const nlohmann::json& payload, const char* name) {
  const auto it = payload.find(name);
  if (it == payload.end() || !it->is_number()) return std::nullopt;
  const double value = it->get<double>();
  if (!(value > -1e15 && value < 1e15)) return std::nullopt;  // Also rejects NaN.
  return static_cast<int64_t>(value);
}

// Out-of-range time claims, read from the unverified payload segment.
absl::Status CheckTimeClaimsRange(absl::string_view token) {
  const std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3) return Unauthenticated("malformed token");
  std::string json;
  if (!absl::WebSafeBase64Unescape(parts[1], &json)) return Unauthenticated("malformed token");
  const nlohmann::json payload = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!payload.is_object()) return Unauthenticated("malformed token");
  for (const char* claim : {"exp", "nbf", "iat"}) {
    const auto it = payload.find(claim);
    if (it == payload.end()) continue;
    if (!it->is_number() || !NumericClaim(payload, claim)) {
      return Unauthenticated(absl::StrCat("token has an invalid ", claim, " claim"));
    }
  }
  return absl::OkStatus();
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

absl::StatusOr<std::string> TokenVerifier::Authenticate(absl::string_view authorization,
                                                        absl::Time now) const {
  if (authorization.empty()) return Unauthenticated("missing bearer token");
  constexpr absl::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size() ||
      !absl::EqualsIgnoreCase(authorization.substr(0, kScheme.size()), kScheme)) {
    return Unauthenticated("expected \"Bearer <token>\"");
  }
  const absl::string_view token = absl::StripAsciiWhitespace(authorization.substr(kScheme.size()));
  if (token.size() > kMaxTokenBytes) return Unauthenticated("token too long");
  // cpp-jwt's base64 decoder indexes its table with a plain (signed) char, so a
  // byte >= 0x80 reads out of bounds (an assert abort in debug builds). A
  // compact JWS is base64url segments and dots only; reject anything else here.
  const bool charset_ok = std::all_of(token.begin(), token.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
  if (!charset_ok) return Unauthenticated("malformed token");
  // cpp-jwt converts exp/nbf/iat to 64-bit integers before it checks the
  // signature, which is undefined behaviour for values out of range: reject
  // such claims first, so no unauthenticated input reaches that code.
  if (auto st = CheckTimeClaimsRange(token); !st.ok()) return st;

  {
    std::lock_guard<std::mutex> lock(cache_mu_);
    const auto it = cache_.find(token);
    if (it != cache_.end()) return CheckTime(it->second, now);
  }
  auto verified = Verify(token);
  if (!verified.ok()) return verified.status();
  auto distributor = CheckTime(*verified, now);
  if (distributor.ok()) {
    std::lock_guard<std::mutex> lock(cache_mu_);
    // Bounded: a flood of distinct valid tokens only ever costs a full verify.
    if (cache_.size() >= cache_capacity_) cache_.clear();
    cache_.emplace(std::string(token), *std::move(verified));
  }
  return distributor;
}

absl::StatusOr<TokenVerifier::Verified> TokenVerifier::Verify(absl::string_view token) const {
  std::error_code ec;
  nlohmann::json payload;
  try {
    auto decoded = jwt::decode(
        jwt::string_view(token.data(), token.size()), jwt::params::algorithms({"HS256"}), ec,
        jwt::params::secret(options_.secret), jwt::params::verify(true),
        jwt::params::leeway(static_cast<uint32_t>(absl::ToInt64Seconds(options_.leeway))));
    if (ec) return Unauthenticated(absl::StrCat("invalid token (", ec.message(), ")"));
    if (decoded.header().algo() != jwt::algorithm::HS256) {
      return Unauthenticated("only HS256 tokens are accepted");
    }
    payload = decoded.payload().create_json_obj();
  } catch (const std::exception&) {
    return Unauthenticated("malformed token");
  }

  Verified verified;
  const auto exp = NumericClaim(payload, "exp");
  if (!exp) return Unauthenticated("token has no numeric exp claim");
  verified.exp = *exp;
  if (payload.contains("nbf")) {
    const auto nbf = NumericClaim(payload, "nbf");
    if (!nbf) return Unauthenticated("token has a non-numeric nbf claim");
    verified.nbf = *nbf;
  }
  const auto claim = payload.find(options_.claim);
  if (claim == payload.end() || !claim->is_string()) {
    return Unauthenticated(absl::StrCat("token has no ", options_.claim, " claim"));
  }
  auto distributor = domain::ParseUuid(claim->get<std::string>(), options_.claim);
  if (!distributor.ok()) {
    return Unauthenticated(absl::StrCat(options_.claim, " claim is not a UUID"));
  }
  verified.distributor_id = *std::move(distributor);
  return verified;
}

absl::StatusOr<std::string> TokenVerifier::CheckTime(const Verified& claims, absl::Time now) const {
  const int64_t now_s = absl::ToUnixSeconds(now);
  const int64_t leeway_s = absl::ToInt64Seconds(options_.leeway);
  if (now_s > claims.exp + leeway_s) return Unauthenticated("token expired");
  if (claims.nbf && now_s + leeway_s < *claims.nbf) return Unauthenticated("token not yet valid");
  return claims.distributor_id;
}

absl::StatusOr<std::string> MintToken(const JwtOptions& options, absl::string_view distributor_id,
                                      absl::Duration ttl, absl::Time now) {
  if (auto st = ValidateSecret(options.secret); !st.ok()) return st;
  auto distributor = domain::ParseUuid(distributor_id, "--distributor");
  if (!distributor.ok()) return distributor.status();
  if (ttl <= absl::ZeroDuration()) return absl::InvalidArgumentError("--ttl: must be positive");
  try {
    jwt::jwt_object token{jwt::params::algorithm("HS256"), jwt::params::secret(options.secret)};
    token.add_claim(options.claim, *distributor);
    token.add_claim("iat", absl::ToUnixSeconds(now));
    token.add_claim("exp", absl::ToUnixSeconds(now + ttl));
    return token.signature();
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("cannot sign token: ", e.what()));
  }
}

}  // namespace messaging::auth
