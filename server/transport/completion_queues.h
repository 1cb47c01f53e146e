#pragma once

// The server's serving threads: one grpc::ServerCompletionQueue per thread
// (threads = cores by default), shared by every RPC, unary and streaming.
// Each thread takes completed operations off its own queue and hands them to
// the CompletionTag they were started with. Nothing on these threads blocks:
// database work goes to a worker pool and comes back by starting an operation
// (Finish, Write), whose completion lands on the call's own queue again.

#include <grpcpp/grpcpp.h>

#include <memory>
#include <thread>
#include <vector>

#include "absl/functional/function_ref.h"

namespace messaging::transport {

// The receiver of one asynchronous operation's completion. `ok` is gRPC's:
// false when the operation could not happen (call cancelled, server down).
class CompletionTag {
 public:
  virtual void OnComplete(bool ok) = 0;

 protected:
  ~CompletionTag() = default;
};

class CompletionQueues {
 public:
  // Adds `count` queues to `builder`; call before BuildAndStart().
  CompletionQueues(grpc::ServerBuilder& builder, int count);
  ~CompletionQueues();
  CompletionQueues(const CompletionQueues&) = delete;
  CompletionQueues& operator=(const CompletionQueues&) = delete;

  const std::vector<std::unique_ptr<grpc::ServerCompletionQueue>>& queues() const {
    return queues_;
  }

  // One polling thread per queue.
  void Start();
  // After grpc::Server::Shutdown(): shuts every queue down, completes what is
  // left on it (so every call object is freed), joins the threads.
  void Shutdown();

  // True on the thread that polls `cq`: an operation started there needs no
  // hop to the queue's thread.
  static bool OnThreadOf(const grpc::CompletionQueue* cq);

  // Runs `start`, which begins one operation on `cq`, unless `cq` is shut
  // down: then returns false and the caller's call is over. gRPC aborts the
  // process when an operation begins on a queue that is shut down, and the
  // completions drained at shutdown would otherwise begin the next one (a
  // write failing, then Finish; a request matched just before, then the next
  // request). `start` must not call StartOperation itself.
  static bool StartOperation(const grpc::CompletionQueue* cq, absl::FunctionRef<void()> start);

 private:
  static void Poll(grpc::ServerCompletionQueue* cq);

  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> queues_;
  std::vector<std::thread> threads_;
  bool shut_down_ = false;
};

}  // namespace messaging::transport
