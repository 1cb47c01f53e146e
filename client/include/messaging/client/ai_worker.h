#pragma once

// A worker loop for the AI work queue. The application writes what to do with
// one message; the loop does the queue's protocol around it:
//
//   messaging::client::MessagingClient client("messaging:50051", worker_token);
//   messaging::client::AiWorker worker(
//       client, [](const messaging::v1::AiWorkItem& item)
//                   -> absl::StatusOr<messaging::client::AiWorkResult> {
//         AiWorkResult result;
//         result.ai_summary = CallTheModel(item.message(), item.context_messages());
//         return result;  // or an error status: the item is failed
//       });
//   absl::Status status = worker.Run();  // until worker.Stop()
//
// Run() claims items (waiting on the server while there are none), and for
// each item: runs the handler; meanwhile extends the item's lease whenever a
// third of it has passed; then completes the item with the handler's result,
// or fails it, retryable unless the handler's status says the input itself is
// at fault (AiWorkerOptions::retryable). A lease that could not be extended
// (expired and claimed by another worker) means the item is no longer ours:
// the handler's result is then dropped, never written.
//
// The worker token (claims "role": "ai_worker", "sub": its name) comes from
// `messaging-server mint-token --worker NAME`.

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "messaging/client/messaging_client.h"
#include "messaging/v1/messaging.pb.h"

namespace messaging::client {

// What the handler found; CompleteAiWork writes it to the message.
struct AiWorkResult {
  std::string ai_summary;
  std::string ai_intent;
  std::string ai_sentiment;
  google::protobuf::Struct ai_extracted_data;
  // When set, replaces the conversation's ai_context_summary.
  std::optional<std::string> conversation_ai_context_summary;
};

// Processes one item. An error status fails the item (see
// AiWorkerOptions::retryable); an exception counts as a retryable error.
using AiWorkHandler = std::function<absl::StatusOr<AiWorkResult>(const v1::AiWorkItem&)>;

// Whether the handler's error may go away on another attempt: true for every
// code except those that say the input is at fault (INVALID_ARGUMENT,
// FAILED_PRECONDITION, OUT_OF_RANGE, NOT_FOUND, UNIMPLEMENTED,
// PERMISSION_DENIED).
bool IsRetryableAiWorkError(const absl::Status& status);

struct AiWorkerOptions {
  // Items leased per claim, processed one after another (1..100).
  int max_items = 1;
  // Length of each lease; the lease is extended every third of it while the
  // handler runs, so a crashed worker's item is claimable again this soon.
  absl::Duration lease_duration = absl::Seconds(60);
  // How long a claim waits on the server for work when there is none (at
  // most 30 s). Stop() takes effect at the latest when this ends.
  absl::Duration wait_duration = absl::Seconds(20);
  // Pause after a claim failed for a reason that may pass (server
  // unreachable, overloaded) before the next claim.
  absl::Duration error_pause = absl::Seconds(1);
  std::function<bool(const absl::Status&)> retryable = IsRetryableAiWorkError;
};

// What a worker did so far.
struct AiWorkerStats {
  std::int64_t completed = 0;
  std::int64_t failed = 0;
  // Items whose lease was lost (expired, claimed again) before the handler
  // finished; their results were dropped.
  std::int64_t leases_lost = 0;
  std::int64_t claim_errors = 0;
};

class AiWorker {
 public:
  AiWorker(MessagingClient client, AiWorkHandler handler, AiWorkerOptions options = {});
  AiWorker(const AiWorker&) = delete;
  AiWorker& operator=(const AiWorker&) = delete;

  // Claims and processes items until Stop(). Returns OK after Stop(), or the
  // status of a claim that cannot succeed by trying again (UNAUTHENTICATED,
  // PERMISSION_DENIED: not a worker token; INVALID_ARGUMENT: bad options).
  absl::Status Run();

  // One claim (waiting up to wait_duration) and the processing of what it
  // returned: the number of items processed, or the claim's error.
  absl::StatusOr<int> RunOnce();

  // Makes Run() return once the items in hand are done (or the claim waiting
  // on the server ends). Thread-safe.
  void Stop() { stopping_ = true; }

  AiWorkerStats stats() const;

 private:
  void Process(const v1::AiWorkItem& item);
  absl::StatusOr<AiWorkResult> CallHandler(const v1::AiWorkItem& item);

  MessagingClient client_;
  const AiWorkHandler handler_;
  const AiWorkerOptions options_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::int64_t> completed_{0};
  std::atomic<std::int64_t> failed_{0};
  std::atomic<std::int64_t> leases_lost_{0};
  std::atomic<std::int64_t> claim_errors_{0};
};

}  // namespace messaging::client
