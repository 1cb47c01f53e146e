#include "messaging/client/token_source.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace messaging::client {
namespace {

constexpr char kBearerPrefix[] = "Bearer ";

}  // namespace

TokenSource::TokenSource(std::string token)
    : callback_([token = std::move(token)]() -> absl::StatusOr<std::string> { return token; }) {}

TokenSource::TokenSource(const char* token)
    : TokenSource(std::string(token == nullptr ? "" : token)) {}

absl::StatusOr<std::string> TokenSource::AuthorizationHeader() const {
  if (!callback_) return absl::UnauthenticatedError("no token source configured");
  absl::StatusOr<std::string> token = callback_();
  if (!token.ok()) return token.status();
  if (token->empty()) return absl::UnauthenticatedError("the token source returned an empty token");
  if (absl::StartsWith(*token, kBearerPrefix)) return *std::move(token);
  return absl::StrCat(kBearerPrefix, *token);
}

}  // namespace messaging::client
