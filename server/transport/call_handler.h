#pragma once

// What every messaging.v1 call does around its handler body: authenticate the
// bearer token and apply the distributor's rate limit (both before any
// database work), derive the request context (tenant, deadline), turn the
// body's absl::Status into a grpc::Status, echo or assign an x-request-id, and
// finish with one structured log line and the call's metrics.

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "auth/jwt.h"
#include "domain/model.h"
#include "domain/rate_limiter.h"
#include "observability/metrics.h"

namespace messaging::transport {

struct CallOptions {
  // Deadline applied to database work when the client sets none.
  absl::Duration default_deadline = absl::Seconds(30);
};

// Which tokens a method takes; any other kind is PERMISSION_DENIED.
enum class Callers {
  kDistributors,  // Distributor tokens.
  kWorkers,       // AI worker tokens.
  kEither,
};

class CallHandler {
 public:
  CallHandler(const auth::TokenVerifier& verifier, domain::RateLimiter& rate_limiter,
              observability::Metrics& metrics, CallOptions options)
      : verifier_(verifier), rate_limiter_(rate_limiter), metrics_(metrics), options_(options) {}

  // Authentication, rate limit and the call's context (tenant or worker,
  // deadline).
  absl::StatusOr<domain::RequestContext> Admit(grpc::ServerContextBase* context,
                                               Callers callers = Callers::kDistributors) const;

  // The key a call is queued and rate-limited under: the distributor, or for
  // an AI worker its distributor or else a key of its own, so workers share
  // the pool fairly with tenants.
  static std::string FairnessKey(const domain::RequestContext& ctx);

  // The caller's x-request-id or a new one, echoed in the response metadata.
  static std::string AssignRequestId(grpc::ServerContextBase* context);

  // Logs the call and records its metrics.
  void Finish(absl::string_view method, const absl::Status& status, absl::Duration elapsed,
              absl::string_view distributor_id, absl::string_view request_id,
              grpc::ServerContextBase* context) const;

  observability::Metrics& metrics() const { return metrics_; }

  // Same code and message; a retry delay payload becomes google.rpc.RetryInfo.
  static grpc::Status ToGrpc(const absl::Status& status);

 private:
  const auth::TokenVerifier& verifier_;
  domain::RateLimiter& rate_limiter_;
  observability::Metrics& metrics_;
  const CallOptions options_;
};

// absl::Status payload key carrying a retry delay in milliseconds.
inline constexpr char kRetryDelayPayload[] = "type.googleapis.com/google.rpc.RetryInfo";

}  // namespace messaging::transport
