#include "transport/call_handler.h"

#include <google/protobuf/util/time_util.h>

#include <random>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/logging.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace messaging::transport {
namespace {

absl::string_view Metadata(grpc::ServerContextBase* context, absl::string_view key) {
  const auto& md = context->client_metadata();
  const auto it = md.find(grpc::string_ref(key.data(), key.size()));
  if (it == md.end()) return {};
  return absl::string_view(it->second.data(), it->second.size());
}

std::string NewRequestId() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  return absl::StrFormat("%016x", random());
}

}  // namespace

std::string CallHandler::AssignRequestId(grpc::ServerContextBase* context) {
  const absl::string_view given = Metadata(context, "x-request-id");
  std::string id = given.empty() ? NewRequestId() : std::string(given.substr(0, 128));
  for (char& c : id) {
    if (c < 0x21 || c > 0x7e) c = '_';  // Keep logs and headers printable.
  }
  context->AddInitialMetadata("x-request-id", id);
  return id;
}

std::string CallHandler::FairnessKey(const domain::RequestContext& ctx) {
  if (!ctx.is_worker() || !ctx.distributor_id.empty()) return ctx.distributor_id;
  return absl::StrCat("worker:", ctx.worker_name);
}

absl::StatusOr<domain::RequestContext> CallHandler::Admit(grpc::ServerContextBase* context,
                                                          Callers callers) const {
  // Two credentials on one call are ambiguous (a proxy may check one and we
  // the other): refuse rather than pick.
  if (context->client_metadata().count("authorization") > 1) {
    return absl::UnauthenticatedError("authorization: more than one authorization header");
  }
  auto principal = verifier_.AuthenticatePrincipal(Metadata(context, "authorization"), absl::Now());
  if (!principal.ok()) return principal.status();
  if (principal->is_worker() && callers == Callers::kDistributors) {
    return absl::PermissionDeniedError(
        "authorization: an AI worker token cannot call this method (it needs a distributor token)");
  }
  if (!principal->is_worker() && callers == Callers::kWorkers) {
    return absl::PermissionDeniedError(
        "authorization: this method is for AI workers (it needs a worker token)");
  }
  domain::RequestContext ctx;
  ctx.distributor_id = std::move(principal->distributor_id);
  ctx.worker_name = std::move(principal->worker_name);
  const absl::Duration wait = rate_limiter_.Acquire(FairnessKey(ctx), absl::Now());
  if (wait > absl::ZeroDuration()) {
    metrics_.AddRateLimited();
    absl::Status limited = absl::ResourceExhaustedError(
        absl::StrFormat("rate limit exceeded for this distributor; retry in %d ms",
                        absl::ToInt64Milliseconds(wait) + 1));
    limited.SetPayload(kRetryDelayPayload,
                       absl::Cord(absl::StrCat(absl::ToInt64Milliseconds(wait) + 1)));
    return limited;
  }
  const absl::Time client_deadline = absl::FromChrono(context->deadline());
  ctx.deadline = std::min(client_deadline, absl::Now() + options_.default_deadline);
  return ctx;
}

grpc::Status CallHandler::ToGrpc(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  // absl and gRPC share the canonical code numbers.
  const auto code = static_cast<grpc::StatusCode>(status.code());
  const std::string message(status.message());
  const auto delay = status.GetPayload(kRetryDelayPayload);
  int64_t delay_ms = 0;
  if (!delay || !absl::SimpleAtoi(std::string(*delay), &delay_ms)) {
    return grpc::Status(code, message);
  }
  google::rpc::RetryInfo retry;
  *retry.mutable_retry_delay() = google::protobuf::util::TimeUtil::MillisecondsToDuration(delay_ms);
  google::rpc::Status details;
  details.set_code(static_cast<int>(code));
  details.set_message(message);
  details.add_details()->PackFrom(retry);
  return grpc::Status(code, message, details.SerializeAsString());
}

void CallHandler::Finish(absl::string_view method, const absl::Status& status,
                         absl::Duration elapsed, absl::string_view distributor_id,
                         absl::string_view request_id, grpc::ServerContextBase* context) const {
  const std::string code = absl::StatusCodeToString(status.code());
  metrics_.RecordCall(method, code, elapsed);
  const auto level =
      (status.code() == absl::StatusCode::kInternal || status.code() == absl::StatusCode::kUnknown)
          ? spdlog::level::err
          : spdlog::level::info;
  if (!log::Enabled(level)) return;  // Building the line costs more than the call's own work.
  nlohmann::json fields = {
      {"method", std::string(method)},
      {"code", code},
      {"duration_ms", absl::ToDoubleMilliseconds(elapsed)},
      {"distributor_id", std::string(distributor_id)},
      {"peer", context->peer()},
      {"request_id", std::string(request_id)},
  };
  if (!status.ok()) fields["error"] = std::string(status.message());
  log::Write(level, "rpc", fields);
}

}  // namespace messaging::transport
