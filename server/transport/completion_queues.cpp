#include "transport/completion_queues.h"

#include <mutex>
#include <shared_mutex>

#include "absl/container/flat_hash_set.h"

namespace messaging::transport {
namespace {

thread_local const grpc::CompletionQueue* current_queue = nullptr;

// Queues that are shut down. Beginning an operation holds the lock shared;
// shutting a queue down holds it exclusively, so the two never interleave.
struct ShutDownQueues {
  std::shared_mutex mu;
  absl::flat_hash_set<const grpc::CompletionQueue*> queues;
};

ShutDownQueues& shut_down_queues() {
  static auto* instance = new ShutDownQueues();  // Never destroyed: used until exit.
  return *instance;
}

}  // namespace

CompletionQueues::CompletionQueues(grpc::ServerBuilder& builder, int count) {
  for (int i = 0; i < count; ++i) queues_.push_back(builder.AddCompletionQueue());
}

CompletionQueues::~CompletionQueues() {
  Shutdown();
  // The addresses may be reused by later queues.
  auto& closed = shut_down_queues();
  std::lock_guard<std::shared_mutex> lock(closed.mu);
  for (auto& cq : queues_) closed.queues.erase(cq.get());
}

void CompletionQueues::Start() {
  for (auto& cq : queues_) threads_.emplace_back(&CompletionQueues::Poll, cq.get());
}

void CompletionQueues::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  {
    auto& closed = shut_down_queues();
    std::lock_guard<std::shared_mutex> lock(closed.mu);
    for (auto& cq : queues_) {
      closed.queues.insert(cq.get());
      cq->Shutdown();
    }
  }
  for (auto& t : threads_) t.join();
  threads_.clear();
  // The threads drained their queues; if they never started, drain here so
  // the calls waiting for requests are still freed.
  for (auto& cq : queues_) Poll(cq.get());
}

bool CompletionQueues::OnThreadOf(const grpc::CompletionQueue* cq) { return current_queue == cq; }

bool CompletionQueues::StartOperation(const grpc::CompletionQueue* cq,
                                      absl::FunctionRef<void()> start) {
  auto& closed = shut_down_queues();
  std::shared_lock<std::shared_mutex> lock(closed.mu);
  if (closed.queues.contains(cq)) return false;
  start();
  return true;
}

void CompletionQueues::Poll(grpc::ServerCompletionQueue* cq) {
  current_queue = cq;
  void* tag = nullptr;
  bool ok = false;
  // Next() returns false only once the queue is shut down and empty.
  while (cq->Next(&tag, &ok)) static_cast<CompletionTag*>(tag)->OnComplete(ok);
  current_queue = nullptr;
}

}  // namespace messaging::transport
