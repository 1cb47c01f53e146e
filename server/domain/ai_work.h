#pragma once

// The AI work queue as the domain sees it: work items, leases, and the pure
// rules around them (argument limits, retry backoff, lease tokens). See
// docs/ai-work-queue.md.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "domain/model.h"
#include "domain/sealed_token.h"

namespace messaging::domain {

struct AiWorkItem {
  std::string id;
  std::string distributor_id;
  std::string message_id;
  AiWorkState state = AiWorkState::kAvailable;
  std::int32_t attempt = 0;
  std::int64_t lease_token = 0;  // The fencing number of the current lease; 0: none.
  std::optional<Micros> lease_expire_time;
  Micros available_at = 0;
  std::string last_error;
  // Filled by the calls that return them.
  std::optional<Message> message;
  std::optional<Conversation> conversation;
  std::vector<Message> context_messages;
  std::string sealed_lease_token;  // What the worker holding the lease gets (LeaseTokenCodec).
};

// A lease as a worker presents it (the opened lease token).
struct AiWorkLease {
  std::string item_id;
  std::string distributor_id;
  std::int64_t fence = 0;
};

struct AiWorkClaim {
  int max_items = 1;
  absl::Duration lease = absl::Seconds(60);
  absl::Duration wait = absl::ZeroDuration();
  int leased_cap = 1000;  // Per distributor.
  int max_attempts = 5;
};

struct AiWorkResult {
  std::string ai_summary;
  std::string ai_intent;
  std::string ai_sentiment;
  std::optional<std::string> ai_extracted_data_json;
  std::optional<std::string> conversation_ai_context_summary;
};

// What to do with a failed attempt, decided once the attempt number is known.
struct AiWorkFailure {
  std::string error_message;
  bool retryable = false;
  int max_attempts = 5;
  // The retry delay after failed attempt n (from 1).
  std::function<absl::Duration(int)> retry_delay;
};

struct AiWorkQuery {
  std::optional<AiWorkState> state;
  std::string after_id;  // Keyset position (items in id order); "" for the first page.
  int limit = 50;
  // A page stops early (with a next page) once its messages hold this much:
  // each item carries its message, which may be large.
  std::size_t max_bytes = 1024 * 1024;
};

// Limits of the queue's arguments (the API contract).
inline constexpr int kMaxClaimItems = 100;
inline constexpr absl::Duration kDefaultLease = absl::Seconds(60);
inline constexpr absl::Duration kMaxLease = absl::Minutes(15);
inline constexpr absl::Duration kMaxClaimWait = absl::Seconds(30);
inline constexpr std::size_t kMaxAiErrorBytes = 4096;

// max_items: 0 -> 1; negative or above 100 -> INVALID_ARGUMENT.
absl::StatusOr<int> ClaimItems(std::int64_t max_items);
// A lease duration: unset -> 60 s; not positive or above 15 min -> INVALID_ARGUMENT naming `field`.
absl::StatusOr<absl::Duration> LeaseDuration(std::optional<absl::Duration> requested,
                                             absl::string_view field);
// wait_duration: unset -> 0; negative or above 30 s -> INVALID_ARGUMENT.
absl::StatusOr<absl::Duration> ClaimWait(std::optional<absl::Duration> requested);

// The retry delay after failed attempt `attempt` (from 1): exponential
// backoff, base * 2^(attempt - 1) capped at `cap`, with full jitter in
// [backoff / 2, backoff] (`unit` in [0, 1) picks the point), and never less
// than what the worker asked for.
absl::Duration RetryDelay(int attempt, absl::Duration requested, double unit,
                          absl::Duration base = absl::Seconds(1),
                          absl::Duration cap = absl::Minutes(10));

// Lease tokens: the fencing number with its item and tenant, sealed, so a
// client can neither read nor forge one and every call on a lease knows its
// tenant without a lookup.
class LeaseTokenCodec {
 public:
  explicit LeaseTokenCodec(const TokenSealer& sealer) : sealer_(sealer) {}

  std::string Encode(const AiWorkLease& lease) const;
  // FAILED_PRECONDITION naming lease_token if the token is not one of ours or
  // not for `item_id`.
  absl::StatusOr<AiWorkLease> Decode(absl::string_view token, absl::string_view item_id) const;

 private:
  const TokenSealer& sealer_;
};

}  // namespace messaging::domain
