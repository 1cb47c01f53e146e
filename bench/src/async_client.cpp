#include "async_client.h"

#include <algorithm>
#include <chrono>

#include "cli.h"

namespace bench {

void RequireLoopback(const std::string& target) {
  static const char* const allowed[] = {
      "127.", "localhost:", "[::1]:", "ipv4:127.", "ipv6:[::1]", "unix:"};
  for (const char* prefix : allowed) {
    if (target.rfind(prefix, 0) == 0) return;
  }
  Die("--target must be a loopback address (127.x.x.x, localhost, [::1] or unix:), got " + target);
}

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target, int index) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt("messaging.bench.channel", index);  // Distinct args: never shared.
  args.SetMaxReceiveMessageSize(64 * 1024 * 1024);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

std::vector<std::shared_ptr<grpc::Channel>> ConnectChannels(const std::string& target,
                                                            int channels) {
  RequireLoopback(target);
  std::vector<std::shared_ptr<grpc::Channel>> out;
  for (int i = 0; i < std::max(1, channels); ++i) out.push_back(MakeChannel(target, i));
  const auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(10);
  for (auto& ch : out) {
    if (!ch->WaitForConnected(deadline)) Die("cannot connect to " + target);
  }
  return out;
}

CqPool::CqPool(int threads) {
  for (int i = 0; i < std::max(1, threads); ++i) {
    cqs_.push_back(std::make_unique<grpc::CompletionQueue>());
    grpc::CompletionQueue* q = cqs_.back().get();
    threads_.emplace_back([q] {
      void* tag = nullptr;
      bool ok = false;
      while (q->Next(&tag, &ok)) static_cast<CqTag*>(tag)->Proceed(ok);
    });
  }
}

CqPool::~CqPool() {
  for (auto& q : cqs_) q->Shutdown();
  for (auto& t : threads_) t.join();
}

}  // namespace bench
