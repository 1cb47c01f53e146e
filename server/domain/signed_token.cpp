#include "domain/signed_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace messaging::domain {
namespace {

constexpr std::size_t kMacBytes = 16;  // Truncated HMAC-SHA256: 128-bit forgery resistance.
// Stream cursors carry a database snapshot (one xid per concurrent transaction).
constexpr std::size_t kMaxTokenChars = 16 * 1024;

}  // namespace

std::string HmacSha256(absl::string_view key, absl::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int out_len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &out_len);
  return std::string(reinterpret_cast<const char*>(out), out_len);
}

TokenSigner::TokenSigner(std::string key) : key_(std::move(key)) {}

std::string TokenSigner::Mac(absl::string_view binding, absl::string_view payload) const {
  // Length-prefix the binding so (binding, payload) pairs cannot be re-split.
  return HmacSha256(key_, absl::StrCat(binding.size(), ":", binding, payload)).substr(0, kMacBytes);
}

std::string TokenSigner::Sign(absl::string_view binding, absl::string_view payload) const {
  return absl::WebSafeBase64Escape(absl::StrCat(payload, Mac(binding, payload)));
}

absl::StatusOr<std::string> TokenSigner::Verify(absl::string_view token, absl::string_view binding,
                                                absl::string_view field) const {
  auto invalid = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": is not a valid token for this request"));
  };
  if (token.size() > kMaxTokenChars) return invalid();
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token, &raw) || raw.size() <= kMacBytes) return invalid();
  // Canonical encoding only, so one token has exactly one spelling.
  if (absl::WebSafeBase64Escape(raw) != token) return invalid();
  const std::string payload = raw.substr(0, raw.size() - kMacBytes);
  const std::string expected = Mac(binding, payload);
  if (CRYPTO_memcmp(expected.data(), raw.data() + payload.size(), kMacBytes) != 0) {
    return invalid();
  }
  return payload;
}

}  // namespace messaging::domain
