#pragma once

// What every messaging.v1 call does around its handler body: authenticate the
// bearer token (before any database work), derive the request context
// (tenant, deadline), turn the body's absl::Status into a grpc::Status, and
// write one structured log line (method, code, duration, distributor).

#include <grpcpp/grpcpp.h>

#include <functional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "auth/jwt.h"
#include "domain/model.h"

namespace messaging::transport {

struct CallOptions {
  // Deadline applied to database work when the client sets none.
  absl::Duration default_deadline = absl::Seconds(30);
};

class CallHandler {
 public:
  CallHandler(const auth::TokenVerifier& verifier, CallOptions options)
      : verifier_(verifier), options_(options) {}

  using Body = std::function<absl::Status(const domain::RequestContext&)>;

  grpc::Status Run(grpc::ServerContextBase* context, absl::string_view method,
                   const Body& body) const;

  // Authentication and context only (for streams, which log when they end).
  absl::StatusOr<domain::RequestContext> Authenticate(grpc::ServerContextBase* context) const;

  static grpc::Status ToGrpc(const absl::Status& status);
  static void LogCall(absl::string_view method, const absl::Status& status, absl::Duration elapsed,
                      absl::string_view distributor_id, grpc::ServerContextBase* context);

 private:
  const auth::TokenVerifier& verifier_;
  const CallOptions options_;
};

}  // namespace messaging::transport
