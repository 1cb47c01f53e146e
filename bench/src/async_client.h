#pragma once

// gRPC client plumbing: loopback-only channels, one connection each, and the
// completion-queue threads that drive every call.

#include <grpcpp/grpcpp.h>

#include <cstddef>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace bench {

// Refuses anything but loopback: this tool must never load a remote service.
void RequireLoopback(const std::string& target);

// A channel with its own connection (no subchannel sharing between channels).
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target, int index);
// Connects `channels` and waits (up to 10 s) until each is ready.
std::vector<std::shared_ptr<grpc::Channel>> ConnectChannels(const std::string& target,
                                                            int channels);

// Completion-queue (async API) plumbing. gRPC 1.51's callback API runs client
// callbacks on its "callback alternative" queue, whose threads sleep 100 ms
// after an idle second: a measurement artifact. So every call here uses the
// async API on our own threads, each draining one CompletionQueue; many calls
// are in flight per thread.
class CqTag {
 public:
  virtual ~CqTag() = default;
  virtual void Proceed(bool ok) = 0;
};

class CqPool {
 public:
  explicit CqPool(int threads);
  // Shuts the queues down and joins the threads: every call must be finished.
  ~CqPool();
  CqPool(const CqPool&) = delete;
  CqPool& operator=(const CqPool&) = delete;
  grpc::CompletionQueue* cq(std::size_t i) { return cqs_[i % cqs_.size()].get(); }

 private:
  std::vector<std::unique_ptr<grpc::CompletionQueue>> cqs_;
  std::vector<std::thread> threads_;
};

}  // namespace bench
