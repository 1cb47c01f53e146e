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

 private:
  static void Poll(grpc::ServerCompletionQueue* cq);

  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> queues_;
  std::vector<std::thread> threads_;
  bool shut_down_ = false;
};

}  // namespace messaging::transport
