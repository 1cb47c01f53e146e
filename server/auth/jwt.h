#pragma once

// Authentication: `authorization: Bearer <JWT>`, HS256 only, signed with the
// server's secret, with an `exp`. A distributor's token carries its UUID in a
// configurable claim; an AI worker's token says "role": "ai_worker", names the
// worker in `sub`, and may restrict it to one distributor with that claim.

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

// Who a verified token speaks for.
struct Principal {
  // A distributor token: its distributor. A worker token: the one distributor
  // the worker is restricted to, or "" (every distributor).
  std::string distributor_id;
  // A worker token's `sub`; empty for a distributor token.
  std::string worker_name;

  bool is_worker() const { return !worker_name.empty(); }
};

// The `role` claim value of AI worker tokens.
inline constexpr char kWorkerRole[] = "ai_worker";

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

  // The principal of an authorization header value (UUIDs in lower case), or
  // UNAUTHENTICATED saying why: missing, not Bearer, malformed, not HS256,
  // bad signature, expired, not yet valid, wrong audience or issuer, valid
  // for too long, no UUID in the distributor claim (required for
  // distributors, optional for workers), or a worker token without a valid
  // `sub`.
  absl::StatusOr<Principal> AuthenticatePrincipal(absl::string_view authorization,
                                                  absl::Time now) const;

  // The distributor's UUID, for distributor tokens only: a worker token is
  // PERMISSION_DENIED. Otherwise as AuthenticatePrincipal().
  absl::StatusOr<std::string> Authenticate(absl::string_view authorization, absl::Time now) const;

 private:
  struct Verified {
    Principal principal;
    int64_t exp = 0;
    std::optional<int64_t> nbf;
    std::optional<int64_t> iat;
  };
  absl::StatusOr<Verified> Verify(absl::string_view token) const;
  absl::StatusOr<Principal> CheckTime(const Verified& claims, absl::Time now) const;

  JwtOptions options_;
  const std::size_t cache_capacity_;
  mutable std::mutex cache_mu_;
  mutable absl::flat_hash_map<std::string, Verified> cache_;
};

// A signed HS256 token for `distributor_id`, valid for `ttl` from `now`,
// carrying `aud` and `iss` when the options name them.
absl::StatusOr<std::string> MintToken(const JwtOptions& options, absl::string_view distributor_id,
                                      absl::Duration ttl, absl::Time now);

// A signed HS256 AI worker token for `worker` (its `sub`), restricted to
// `distributor_id` unless that is empty, valid for `ttl` from `now`.
absl::StatusOr<std::string> MintWorkerToken(const JwtOptions& options, absl::string_view worker,
                                            absl::string_view distributor_id, absl::Duration ttl,
                                            absl::Time now);

// INVALID_ARGUMENT unless `name` is a usable worker name: 1 to 128 of
// A-Z a-z 0-9 . _ : @ - (it appears in logs and in the queue's leased_by).
absl::Status ValidateWorkerName(absl::string_view name);

}  // namespace messaging::auth
