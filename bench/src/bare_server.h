#pragma once

// What the bare servers (floor.cpp, list_floor.cpp) share: the thread that
// serves one completion queue, and the end of a run.

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

namespace bench {

// Serves `cq` on a detached thread: every tag is a `Call`, and its
// Proceed(ok) runs on that thread.
template <typename Call>
void ServeDetached(grpc::ServerCompletionQueue* cq) {
  std::thread([cq] {
    void* tag = nullptr;
    bool ok = false;
    while (cq->Next(&tag, &ok)) static_cast<Call*>(tag)->Proceed(ok);
  }).detach();
}

// Ends the process once `max_runtime` has passed, if nothing killed it first
// (the load generator's script does). Its calls are never finished: there is
// nothing to shut down cleanly.
[[noreturn]] inline void ExitAfter(const char* server, std::chrono::seconds max_runtime) {
  std::this_thread::sleep_for(max_runtime);
  std::fprintf(stderr, "%s: --max-seconds passed; exiting\n", server);
  std::_Exit(1);
}

}  // namespace bench
