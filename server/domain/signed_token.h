#pragma once

// Opaque, tamper-proof tokens (page tokens, stream cursors): a payload plus an
// HMAC-SHA256 over the payload and a "binding" (the query the token belongs
// to). A token presented with another binding, or altered in any bit, fails.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace messaging::domain {

class TokenSigner {
 public:
  // `key` is secret; derive it from the server secret, never log it.
  explicit TokenSigner(std::string key);

  std::string Sign(absl::string_view binding, absl::string_view payload) const;

  // The payload, or INVALID_ARGUMENT naming `field` if the token is malformed,
  // altered or bound to something else.
  absl::StatusOr<std::string> Verify(absl::string_view token, absl::string_view binding,
                                     absl::string_view field) const;

 private:
  std::string Mac(absl::string_view binding, absl::string_view payload) const;

  std::string key_;
};

// HMAC-SHA256(key, data) as raw bytes.
std::string HmacSha256(absl::string_view key, absl::string_view data);

}  // namespace messaging::domain
