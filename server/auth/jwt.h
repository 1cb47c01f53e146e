#pragma once

// Per-distributor authentication: `authorization: Bearer <JWT>`,
// HS256 only, signed with the server's secret, carrying the distributor's UUID
// in a configurable claim and an `exp`.

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace messaging::auth {

inline constexpr std::size_t kMinSecretBytes = 32;

struct JwtOptions {
  std::string secret;
  std::string claim = "distributor_id";
  absl::Duration leeway = absl::Seconds(30);  // Clock skew allowed on exp and nbf.
  // When set, a token must name this audience in `aud` (a string or an array).
  std::string audience;
  // When set, a token's `iss` must equal this.
  std::string issuer;
  // When positive, a token may be valid for at most this long: exp - iat, and
  // exp - now (so a token without iat cannot outlive it either).
  absl::Duration max_lifetime = absl::ZeroDuration();
};

// INVALID_ARGUMENT unless the secret is long enough for HS256.
absl::Status ValidateSecret(absl::string_view secret);

// Verifies bearer tokens: a compact JWS (RFC 7515) whose header says HS256,
// its HMAC compared in constant time, then the claims: exp required, exp, nbf
// and iat whole seconds between 1970 and 9999, the distributor claim a UUID,
// aud, iss and lifetime as configured. Clients send the same token on every call until it
// expires, so a verified token's claims are remembered (bounded): a repeat
// costs a hash lookup and the time checks, not a base64 + JSON + HMAC pass.
class TokenVerifier {
 public:
  explicit TokenVerifier(JwtOptions options, std::size_t cache_capacity = 4096)
      : options_(std::move(options)), cache_capacity_(cache_capacity) {}

  // The distributor's UUID (lower case) from an authorization header value, or
  // UNAUTHENTICATED saying why: missing, not Bearer, malformed, not HS256,
  // bad signature, expired, not yet valid, wrong audience or issuer, valid
  // for too long, or no UUID in the claim.
  absl::StatusOr<std::string> Authenticate(absl::string_view authorization, absl::Time now) const;

 private:
  struct Verified {
    std::string distributor_id;
    int64_t exp = 0;
    std::optional<int64_t> nbf;
    std::optional<int64_t> iat;
  };
  absl::StatusOr<Verified> Verify(absl::string_view token) const;
  absl::StatusOr<std::string> CheckTime(const Verified& claims, absl::Time now) const;

  JwtOptions options_;
  const std::size_t cache_capacity_;
  mutable std::mutex cache_mu_;
  mutable absl::flat_hash_map<std::string, Verified> cache_;
};

// A signed HS256 token for `distributor_id`, valid for `ttl` from `now`,
// carrying `aud` and `iss` when the options name them.
absl::StatusOr<std::string> MintToken(const JwtOptions& options, absl::string_view distributor_id,
                                      absl::Duration ttl, absl::Time now);

}  // namespace messaging::auth
