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

// floor-server: a bare async gRPC server (no database, no service code).
// floor-fanout: its server CPU per message written to a stream; the
// transport's floor under the `fanout` mode's figure.
int RunFloorServer(Flags& flags);
int RunFloorFanout(Flags& flags);
// floor-list-server: ListConversations on a bare async gRPC server whose
// serving threads run the page statement through libpq themselves; List's
// floor under the `list` scenario's ratio.
int RunListFloorServer(Flags& flags);

}  // namespace bench
