#include "domain/sealed_token.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>

#include <cstdlib>
#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace messaging::domain {
namespace {

constexpr char kVersion = '\x02';  // 1 was the HMAC-only format.
constexpr std::size_t kKeyBytes = 32;
constexpr std::size_t kNonceBytes = 12;
constexpr std::size_t kTagBytes = 16;
// Stream cursors carry a database snapshot (one xid per concurrent transaction).
constexpr std::size_t kMaxTokenChars = 16 * 1024;

using CipherContext = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;
using MacContext = std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)>;
using Cipher = std::unique_ptr<EVP_CIPHER, decltype(&EVP_CIPHER_free)>;
using Mac = std::unique_ptr<EVP_MAC, decltype(&EVP_MAC_free)>;

const unsigned char* Bytes(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// HKDF-SHA256 (RFC 5869): independent keys for independent uses of one secret.
std::string DeriveKey(absl::string_view secret, absl::string_view info) {
  std::unique_ptr<EVP_KDF, decltype(&EVP_KDF_free)> kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr),
                                                        &EVP_KDF_free);
  std::unique_ptr<EVP_KDF_CTX, decltype(&EVP_KDF_CTX_free)> ctx(
      kdf ? EVP_KDF_CTX_new(kdf.get()) : nullptr, &EVP_KDF_CTX_free);
  std::string digest = "SHA256";
  std::string salt = "messaging opaque tokens";
  std::string key(secret), label(info);
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest.data(), 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, key.data(), key.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt.data(), salt.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, label.data(), label.size()),
      OSSL_PARAM_construct_end()};
  std::string out(kKeyBytes, '\0');
  if (!ctx || EVP_KDF_derive(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), out.size(),
                             params) != 1) {
    // Only a broken OpenSSL gets here; serving with a guessable key is worse.
    std::abort();
  }
  return out;
}

// Length-prefixed so (binding, payload) pairs cannot be re-split.
std::string AdditionalData(absl::string_view binding) {
  return absl::StrCat(binding.size(), ":", binding);
}

}  // namespace

std::string HmacSha256(absl::string_view key, absl::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int out_len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), Bytes(data), data.size(), out,
           &out_len) == nullptr) {
    return {};
  }
  return std::string(reinterpret_cast<const char*>(out), out_len);
}

// Set up once; every call works on a copy of a context. Copying only reads
// the source (OpenSSL 3.0's EVP_CIPHER_CTX_copy and EVP_MAC_CTX_dup, apart
// from atomic reference counts), so many threads copy one at once. The
// algorithms are fetched only here: a keyed context holds its own reference
// to its algorithm.
struct TokenSealer::Keys {
  CipherContext encrypt{EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free};  // Key set, no nonce yet.
  CipherContext decrypt{EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free};
  MacContext nonce_mac{nullptr, &EVP_MAC_CTX_free};  // HMAC-SHA256 with the nonce key.

  Keys(const std::string& encryption_key, const std::string& nonce_key) {
    const Cipher aes_gcm(EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr), &EVP_CIPHER_free);
    const Mac hmac(EVP_MAC_fetch(nullptr, "HMAC", nullptr), &EVP_MAC_free);
    nonce_mac.reset(hmac ? EVP_MAC_CTX_new(hmac.get()) : nullptr);
    std::string digest = "SHA256";
    const OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest.data(), 0),
        OSSL_PARAM_construct_end()};
    const bool ok = aes_gcm && encrypt && decrypt && nonce_mac &&
                    EVP_EncryptInit_ex(encrypt.get(), aes_gcm.get(), nullptr, Bytes(encryption_key),
                                       nullptr) == 1 &&
                    EVP_DecryptInit_ex(decrypt.get(), aes_gcm.get(), nullptr, Bytes(encryption_key),
                                       nullptr) == 1 &&
                    EVP_MAC_init(nonce_mac.get(), Bytes(nonce_key), nonce_key.size(), params) == 1;
    if (!ok) std::abort();  // Only a broken OpenSSL gets here.
  }

  // A context with the key, ready for a nonce (EVP_*Init_ex with only an IV).
  static CipherContext CopyOf(const CipherContext& keyed) {
    CipherContext ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
    if (!ctx || EVP_CIPHER_CTX_copy(ctx.get(), keyed.get()) != 1) std::abort();
    return ctx;
  }
};

TokenSealer::TokenSealer(absl::string_view secret)
    : keys_(std::make_shared<const Keys>(DeriveKey(secret, "aes-256-gcm key v2"),
                                         DeriveKey(secret, "synthetic nonce key v2"))) {}

// A synthetic nonce (as in SIV): a MAC of what is sealed. The same token is
// sealed the same way every time (one spelling per token), and two different
// tokens never share a nonce, which GCM must never allow, however many
// tokens a key seals.
std::string TokenSealer::Nonce(absl::string_view aad, absl::string_view payload) const {
  const MacContext mac(EVP_MAC_CTX_dup(keys_->nonce_mac.get()), &EVP_MAC_CTX_free);
  unsigned char out[EVP_MAX_MD_SIZE];
  std::size_t out_len = 0;
  const bool ok = mac && EVP_MAC_update(mac.get(), Bytes(aad), aad.size()) == 1 &&
                  EVP_MAC_update(mac.get(), Bytes(payload), payload.size()) == 1 &&
                  EVP_MAC_final(mac.get(), out, &out_len, sizeof(out)) == 1 &&
                  out_len >= kNonceBytes;
  if (!ok) std::abort();  // Allocation failure inside OpenSSL.
  return std::string(reinterpret_cast<const char*>(out), kNonceBytes);
}

std::string TokenSealer::Seal(absl::string_view binding, absl::string_view payload) const {
  const std::string aad = AdditionalData(binding);
  const std::string nonce = Nonce(aad, payload);
  std::string sealed(1 + kNonceBytes + payload.size() + kTagBytes, '\0');
  sealed[0] = kVersion;
  sealed.replace(1, kNonceBytes, nonce);
  auto* out = reinterpret_cast<unsigned char*>(sealed.data()) + 1 + kNonceBytes;
  const CipherContext ctx = Keys::CopyOf(keys_->encrypt);
  int len = 0;
  const bool ok =
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, nullptr, Bytes(nonce)) == 1 &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) == 1 &&
      EVP_EncryptUpdate(ctx.get(), out, &len, Bytes(payload), static_cast<int>(payload.size())) ==
          1 &&
      EVP_EncryptFinal_ex(ctx.get(), out + len, &len) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, out + payload.size()) == 1;
  if (!ok) std::abort();  // Allocation failure inside OpenSSL; nothing sensible to return.
  return absl::WebSafeBase64Escape(sealed);
}

absl::StatusOr<std::string> TokenSealer::Open(absl::string_view token, absl::string_view binding,
                                              absl::string_view field) const {
  auto invalid = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": is not a valid token for this request"));
  };
  if (token.size() > kMaxTokenChars) return invalid();
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token, &raw)) return invalid();
  if (raw.size() <= 1 + kNonceBytes + kTagBytes || raw[0] != kVersion) return invalid();
  // Canonical encoding only, so one token has exactly one spelling.
  if (absl::WebSafeBase64Escape(raw) != token) return invalid();

  const std::string aad = AdditionalData(binding);
  const absl::string_view nonce = absl::string_view(raw).substr(1, kNonceBytes);
  const std::size_t payload_size = raw.size() - 1 - kNonceBytes - kTagBytes;
  const auto* ciphertext = Bytes(raw) + 1 + kNonceBytes;
  std::string tag = raw.substr(raw.size() - kTagBytes);
  std::string payload(payload_size, '\0');
  auto* out = reinterpret_cast<unsigned char*>(payload.data());
  const CipherContext ctx = Keys::CopyOf(keys_->decrypt);
  int len = 0;
  const bool opened =
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, nullptr, Bytes(nonce)) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), out, &len, ciphertext, static_cast<int>(payload_size)) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), out + len, &len) == 1;
  if (!opened) return invalid();
  return payload;
}

}  // namespace messaging::domain
