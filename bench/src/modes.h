#pragma once

#include <string>

#include "cli.h"

namespace bench {

// health | create | list | list-conversations | get-conversation: closed-loop
// unary calls.
int RunUnary(const std::string& mode, Flags& flags);
// Fan-out: subscribers + a paced publisher; commit-to-delivery latency, loss, duplicates.
int RunFanout(Flags& flags);
// Idle: open N streams and hold them; server RSS and threads.
int RunIdle(Flags& flags);
// ai-throughput | ai-latency: the AI work queue (claim + complete; long-poll latency).
int RunAiQueue(const std::string& mode, Flags& flags);

}  // namespace bench
