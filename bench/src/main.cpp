// messaging-bench: a gRPC load generator for the messaging service.
//
//   messaging-bench health|create|list|list-conversations|get-conversation [flags]
//                                                                    closed-loop unary load
//   messaging-bench fanout [flags]                                   subscribers + paced writes
//   messaging-bench idle [flags]                                     N open streams, RSS/threads
//   messaging-bench floor-server|floor-fanout [flags]                bare gRPC: fan-out's floor
//                   (floor-server serves until killed, its parent ends, or --max-seconds)
//   messaging-bench floor-list-server [flags]                        bare gRPC + libpq: List floor
//
// Every mode stops by itself (duration or count, plus deadlines) and prints a
// final `RESULT key=value ...` line; the exit status is non-zero if any call
// failed or any check (loss, duplicates, early stream ends) did not hold.
// Loopback targets only. See bench/README.md.

#include <cstdio>
#include <string>

#include "cli.h"
#include "modes.h"

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  bench::Flags flags(argc, argv, 2);
  if (mode == "health" || mode == "create" || mode == "list" || mode == "list-conversations" ||
      mode == "get-conversation") {
    return bench::RunUnary(mode, flags);
  }
  if (mode == "fanout") return bench::RunFanout(flags);
  if (mode == "idle") return bench::RunIdle(flags);
  if (mode == "floor-server") return bench::RunFloorServer(flags);
  if (mode == "floor-fanout") return bench::RunFloorFanout(flags);
  if (mode == "floor-list-server") return bench::RunListFloorServer(flags);
  if (mode == "ai-throughput" || mode == "ai-latency") return bench::RunAiQueue(mode, flags);
  std::fprintf(stderr,
               "usage: messaging-bench "
               "health|create|list|list-conversations|get-conversation|fanout|idle|ai-throughput|"
               "ai-latency|floor-fanout "
               "--target=127.0.0.1:PORT [--fixture=FILE] [flags]\n"
               "       messaging-bench floor-server --port=PORT [flags]\n"
               "       messaging-bench floor-list-server --port=PORT --database-url=URL "
               "--statement-file=FILE --fixture=FILE [flags]\n"
               "see bench/README.md\n");
  return 2;
}
