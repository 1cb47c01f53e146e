#include "transport/call_handler.h"

#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace messaging::transport {
namespace {

absl::string_view Metadata(grpc::ServerContextBase* context, absl::string_view key) {
  const auto& md = context->client_metadata();
  const auto it = md.find(grpc::string_ref(key.data(), key.size()));
  if (it == md.end()) return {};
  return absl::string_view(it->second.data(), it->second.size());
}

}  // namespace

absl::StatusOr<domain::RequestContext> CallHandler::Authenticate(
    grpc::ServerContextBase* context) const {
  auto distributor = verifier_.Authenticate(Metadata(context, "authorization"), absl::Now());
  if (!distributor.ok()) return distributor.status();
  domain::RequestContext ctx;
  ctx.distributor_id = *std::move(distributor);
  const absl::Time client_deadline = absl::FromChrono(context->deadline());
  ctx.deadline = std::min(client_deadline, absl::Now() + options_.default_deadline);
  return ctx;
}

grpc::Status CallHandler::Run(grpc::ServerContextBase* context, absl::string_view method,
                              const Body& body) const {
  const absl::Time start = absl::Now();
  absl::Status status;
  std::string distributor;
  auto ctx = Authenticate(context);
  if (!ctx.ok()) {
    status = ctx.status();
  } else {
    distributor = ctx->distributor_id;
    try {
      status = body(*ctx);
    } catch (const std::exception& e) {
      // A bug, not the caller's fault: keep details in the log only.
      log::Error("unhandled exception in {}: {}", method, e.what());
      status = absl::InternalError("internal error");
    }
  }
  LogCall(method, status, absl::Now() - start, distributor, context);
  return ToGrpc(status);
}

grpc::Status CallHandler::ToGrpc(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  // absl and gRPC share the canonical code numbers.
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

void CallHandler::LogCall(absl::string_view method, const absl::Status& status,
                          absl::Duration elapsed, absl::string_view distributor_id,
                          grpc::ServerContextBase* context) {
  nlohmann::json fields = {
      {"method", method},
      {"code", absl::StatusCodeToString(status.code())},
      {"duration_ms", absl::ToDoubleMilliseconds(elapsed)},
      {"distributor_id", distributor_id},
      {"peer", context->peer()},
  };
  const absl::string_view request_id = Metadata(context, "x-request-id");
  if (!request_id.empty()) fields["request_id"] = std::string(request_id.substr(0, 128));
  if (!status.ok()) fields["error"] = std::string(status.message());
  const auto level =
      (status.code() == absl::StatusCode::kInternal || status.code() == absl::StatusCode::kUnknown)
          ? spdlog::level::err
          : spdlog::level::info;
  log::Write(level, "rpc", fields);
}

}  // namespace messaging::transport
