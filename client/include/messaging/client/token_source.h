#pragma once

// Where the client gets the bearer token it sends with every call: a fixed
// token, or a callback asked before each attempt (so a token can be refreshed
// before it expires).

#include <functional>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/status/statusor.h"

namespace messaging::client {

class TokenSource {
 public:
  using Callback = std::function<absl::StatusOr<std::string>()>;

  // A fixed token: the JWT itself, without the "Bearer " prefix (a prefix
  // given anyway is tolerated).
  TokenSource(std::string token);  // NOLINT(google-explicit-constructor)
  TokenSource(const char* token);  // NOLINT(google-explicit-constructor)

  // A callback called before every attempt of every call (and every stream
  // reconnect). An error from it fails the call with that status, untried.
  // It may be called from several threads at once.
  template <typename F,
            typename = std::enable_if_t<std::is_invocable_r_v<absl::StatusOr<std::string>, F&> &&
                                        !std::is_convertible_v<F, std::string> &&
                                        !std::is_same_v<std::decay_t<F>, TokenSource>>>
  TokenSource(F callback)  // NOLINT(google-explicit-constructor)
      : callback_(Callback(std::move(callback))) {}

  // The value of the `authorization` metadata: "Bearer <token>".
  absl::StatusOr<std::string> AuthorizationHeader() const;

 private:
  Callback callback_;
};

}  // namespace messaging::client
