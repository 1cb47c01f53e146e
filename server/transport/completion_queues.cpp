#include "transport/completion_queues.h"

namespace messaging::transport {
namespace {

thread_local const grpc::CompletionQueue* current_queue = nullptr;

}  // namespace

CompletionQueues::CompletionQueues(grpc::ServerBuilder& builder, int count) {
  for (int i = 0; i < count; ++i) queues_.push_back(builder.AddCompletionQueue());
}

CompletionQueues::~CompletionQueues() { Shutdown(); }

void CompletionQueues::Start() {
  for (auto& cq : queues_) threads_.emplace_back(&CompletionQueues::Poll, cq.get());
}

void CompletionQueues::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  for (auto& cq : queues_) cq->Shutdown();
  for (auto& t : threads_) t.join();
  threads_.clear();
  // The threads drained their queues; if they never started, drain here so
  // the calls waiting for requests are still freed.
  for (auto& cq : queues_) Poll(cq.get());
}

bool CompletionQueues::OnThreadOf(const grpc::CompletionQueue* cq) { return current_queue == cq; }

void CompletionQueues::Poll(grpc::ServerCompletionQueue* cq) {
  current_queue = cq;
  void* tag = nullptr;
  bool ok = false;
  // Next() returns false only once the queue is shut down and empty.
  while (cq->Next(&tag, &ok)) static_cast<CompletionTag*>(tag)->OnComplete(ok);
  current_queue = nullptr;
}

}  // namespace messaging::transport
