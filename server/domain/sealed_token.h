#pragma once

// Opaque tokens (page tokens, stream cursors): the payload encrypted and
// authenticated with AES-256-GCM under a key derived from the server secret,
// bound to the query it belongs to (the "binding", authenticated but not
// stored). A client learns nothing from a token (no positions, ids or
// snapshots), and one presented with another binding, or altered in any bit,
// fails to open.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace messaging::domain {

class TokenSealer {
 public:
  // Keys are derived from `secret` (HKDF-SHA256); never log either. `secret`
  // must not be empty.
  explicit TokenSealer(absl::string_view secret);

  std::string Seal(absl::string_view binding, absl::string_view payload) const;

  // The payload, or INVALID_ARGUMENT naming `field` if the token is malformed,
  // altered, sealed under another key or bound to something else.
  absl::StatusOr<std::string> Open(absl::string_view token, absl::string_view binding,
                                   absl::string_view field) const;

 private:
  // The keys, set up once (OpenSSL contexts with the keys scheduled, which
  // each call copies): looking the algorithms up and expanding the keys on
  // every call cost more than sealing a token does.
  struct Keys;

  std::string Nonce(absl::string_view aad, absl::string_view payload) const;

  const std::shared_ptr<const Keys> keys_;  // Never null: a moved-from sealer still seals.
};

// HMAC-SHA256(key, data) as raw bytes (32 of them); empty when OpenSSL fails.
// Auth checks JWT signatures with it.
std::string HmacSha256(absl::string_view key, absl::string_view data);

}  // namespace messaging::domain
