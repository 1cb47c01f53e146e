#include "messaging/client/ai_worker.h"

#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <utility>

namespace messaging::client {
namespace {

void SetDuration(absl::Duration d, google::protobuf::Duration* out) {
  const int64_t nanos = absl::ToInt64Nanoseconds(d);
  out->set_seconds(nanos / 1'000'000'000);
  out->set_nanos(static_cast<int32_t>(nanos % 1'000'000'000));
}

// Codes a claim cannot get past by trying again.
bool IsPermanentClaimError(absl::StatusCode code) {
  return code == absl::StatusCode::kUnauthenticated ||
         code == absl::StatusCode::kPermissionDenied || code == absl::StatusCode::kInvalidArgument;
}

// Extends one item's lease every `every` on a thread of its own while the
// handler runs on the caller's thread. Stops at destruction.
class LeaseKeeper {
 public:
  LeaseKeeper(MessagingClient& client, const v1::AiWorkItem& item, absl::Duration lease,
              absl::Duration every)
      : thread_([this, &client, &item, lease, every] {
          v1::ExtendAiWorkLeaseRequest request;
          request.set_id(item.id());
          request.set_lease_token(item.lease_token());
          SetDuration(lease, request.mutable_lease_duration());
          std::unique_lock<std::mutex> lock(mu_);
          while (!cv_.wait_for(lock, absl::ToChronoNanoseconds(every), [this] { return done_; })) {
            lock.unlock();
            auto extended = client.ExtendAiWorkLease(request);
            lock.lock();
            if (extended.status().code() == absl::StatusCode::kFailedPrecondition) {
              lost_ = true;  // Expired and claimed again, or requeued: no longer ours.
              return;
            }
            // Other errors (server briefly unreachable): the lease may still
            // hold; the next round tries again.
          }
        }) {}

  ~LeaseKeeper() { Stop(); }

  LeaseKeeper(const LeaseKeeper&) = delete;
  LeaseKeeper& operator=(const LeaseKeeper&) = delete;

  // Stops extending; true if an extension found the lease gone.
  bool Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    return lost_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  bool lost_ = false;
  std::thread thread_;  // Last: starts once the members above exist.
};

}  // namespace

bool IsRetryableAiWorkError(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kUnimplemented:
    case absl::StatusCode::kPermissionDenied:
      return false;
    default:
      return true;
  }
}

AiWorker::AiWorker(MessagingClient client, AiWorkHandler handler, AiWorkerOptions options)
    : client_(std::move(client)), handler_(std::move(handler)), options_(std::move(options)) {}

absl::Status AiWorker::Run() {
  while (!stopping_) {
    auto processed = RunOnce();
    if (processed.ok()) continue;
    if (IsPermanentClaimError(processed.status().code())) return processed.status();
    // Wait out the pause, but not past Stop().
    const absl::Time until = absl::Now() + options_.error_pause;
    while (!stopping_ && absl::Now() < until) absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> AiWorker::RunOnce() {
  v1::ClaimAiWorkRequest claim;
  claim.set_max_items(options_.max_items);
  SetDuration(options_.lease_duration, claim.mutable_lease_duration());
  SetDuration(options_.wait_duration, claim.mutable_wait_duration());
  auto claimed = client_.ClaimAiWork(claim);
  if (!claimed.ok()) {
    ++claim_errors_;
    return claimed.status();
  }
  // Every claimed item is processed, also after Stop(): left alone, each would
  // wait for its lease to expire before another worker could take it.
  for (const auto& item : claimed->items()) Process(item);
  return claimed->items_size();
}

absl::StatusOr<AiWorkResult> AiWorker::CallHandler(const v1::AiWorkItem& item) {
  try {
    return handler_(item);
  } catch (const std::exception& e) {
    return absl::InternalError(std::string("handler threw: ") + e.what());
  } catch (...) {
    return absl::InternalError("handler threw");
  }
}

void AiWorker::Process(const v1::AiWorkItem& item) {
  LeaseKeeper keeper(client_, item, options_.lease_duration, options_.lease_duration / 3);
  absl::StatusOr<AiWorkResult> result = CallHandler(item);
  if (keeper.Stop()) {
    ++leases_lost_;
    return;
  }
  if (result.ok()) {
    v1::CompleteAiWorkRequest complete;
    complete.set_id(item.id());
    complete.set_lease_token(item.lease_token());
    complete.set_ai_summary(std::move(result->ai_summary));
    complete.set_ai_intent(std::move(result->ai_intent));
    complete.set_ai_sentiment(std::move(result->ai_sentiment));
    *complete.mutable_ai_extracted_data() = std::move(result->ai_extracted_data);
    if (result->conversation_ai_context_summary) {
      complete.set_conversation_ai_context_summary(*result->conversation_ai_context_summary);
    }
    auto completed = client_.CompleteAiWork(complete);
    if (completed.ok()) {
      ++completed_;
    } else if (completed.status().code() == absl::StatusCode::kFailedPrecondition) {
      ++leases_lost_;  // It expired after the last extension: another worker has it.
    } else {
      ++failed_;  // Not written; the lease expires and the item comes back.
    }
    return;
  }
  v1::FailAiWorkRequest fail;
  fail.set_id(item.id());
  fail.set_lease_token(item.lease_token());
  fail.set_error_message(std::string(result.status().message()));
  fail.set_retryable(options_.retryable(result.status()));
  auto failed = client_.FailAiWork(fail);
  if (!failed.ok() && failed.status().code() == absl::StatusCode::kFailedPrecondition) {
    ++leases_lost_;
  } else {
    ++failed_;  // Also when FailAiWork itself failed: the lease expiring retries the item.
  }
}

AiWorkerStats AiWorker::stats() const {
  AiWorkerStats stats;
  stats.completed = completed_.load();
  stats.failed = failed_.load();
  stats.leases_lost = leases_lost_.load();
  stats.claim_errors = claim_errors_.load();
  return stats;
}

}  // namespace messaging::client
