#pragma once

// Per-distributor authentication (SPEC §4): `authorization: Bearer <JWT>`,
// HS256 only, signed with the server's secret, carrying the distributor's UUID
// in a configurable claim and an `exp`.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace messaging::auth {

inline constexpr std::size_t kMinSecretBytes = 32;

struct JwtOptions {
  std::string secret;
  std::string claim = "distributor_id";
  absl::Duration leeway = absl::Seconds(30);  // Clock skew allowed on exp and nbf.
};

// INVALID_ARGUMENT unless the secret is long enough for HS256.
absl::Status ValidateSecret(absl::string_view secret);

class TokenVerifier {
 public:
  explicit TokenVerifier(JwtOptions options) : options_(std::move(options)) {}

  // The distributor's UUID (lower case) from an authorization header value, or
  // UNAUTHENTICATED saying why: missing, not Bearer, malformed, not HS256,
  // bad signature, expired, not yet valid, or no UUID in the claim.
  absl::StatusOr<std::string> Authenticate(absl::string_view authorization, absl::Time now) const;

 private:
  JwtOptions options_;
};

// A signed HS256 token for `distributor_id`, valid for `ttl` from `now`.
absl::StatusOr<std::string> MintToken(const JwtOptions& options, absl::string_view distributor_id,
                                      absl::Duration ttl, absl::Time now);

}  // namespace messaging::auth
