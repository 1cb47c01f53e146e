#pragma once

// Options of a MessagingClient / MessagingConnection: per-call deadline, the
// retry policy for idempotent calls, transport security and channel arguments.

#include <grpcpp/support/channel_arguments.h>

#include <optional>
#include <string>

#include "absl/time/time.h"

namespace messaging::client {

// When and how often a failed call is tried again. Only idempotent calls are
// retried (see MessagingConnection), and only on UNAVAILABLE or ABORTED.
//
// The n-th delay (n = 0, 1, ...) is min(max_backoff, initial_backoff *
// multiplier^n), reduced by a random fraction of at most `jitter` so that many
// clients failing together do not come back in lockstep.
struct RetryPolicy {
  // Attempts per call, the first one included: 1 disables retries, 0 means no
  // limit (Subscription's default: it reconnects until stopped).
  int max_attempts = 5;
  absl::Duration initial_backoff = absl::Milliseconds(200);
  absl::Duration max_backoff = absl::Seconds(5);
  double multiplier = 2.0;
  // In [0, 1]: each delay is drawn uniformly from [d * (1 - jitter), d].
  double jitter = 0.2;
};

// TLS for the channel. Without it (ClientOptions::tls unset) the channel is
// plaintext, which suits a service mesh or loopback.
struct TlsOptions {
  // PEM roots that sign the server's certificate; empty: gRPC's default roots.
  std::string pem_root_certs;
  // Client certificate and key for mutual TLS; both or neither.
  std::string pem_cert_chain;
  std::string pem_private_key;
};

struct ClientOptions {
  // Deadline of each attempt of a unary call (a retried call gets a fresh one).
  // StreamMessages has no deadline: it is meant to stay open.
  absl::Duration call_timeout = absl::Seconds(30);
  RetryPolicy retry;
  std::optional<TlsOptions> tls;
  // Passed to grpc::CreateCustomChannel, e.g. keepalive, load balancing
  // ("grpc.lb_policy_name" = "round_robin" with a dns:/// target for a
  // headless Service), reconnect backoff, max message size.
  grpc::ChannelArguments channel_arguments;
};

}  // namespace messaging::client
