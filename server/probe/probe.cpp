#include "probe/probe.h"

#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "auth/jwt.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "messaging/v1/messaging.grpc.pb.h"

namespace messaging::probe {
namespace {

struct Options {
  std::string target;
  bool tls = false;
  std::string tls_ca_file;  // Empty: the system's roots.
  std::string tls_server_name;
  int timeout_seconds = 10;
  bool health_only = false;
  // RLS scopes the call to this distributor: one that owns nothing reads nothing.
  std::string distributor = "00000000-0000-4000-8000-000000000000";
  auth::JwtOptions jwt;
};

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(path + ": cannot be read");
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> Connect(const Options& options) {
  grpc::ChannelArguments args;
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (options.tls) {
    grpc::SslCredentialsOptions ssl;
    if (!options.tls_ca_file.empty()) {
      auto roots = ReadFile(options.tls_ca_file);
      if (!roots.ok()) return roots.status();
      ssl.pem_root_certs = *roots;
    }
    credentials = grpc::SslCredentials(ssl);
    if (!options.tls_server_name.empty()) {
      args.SetSslTargetNameOverride(options.tls_server_name);
    }
  }
  return grpc::CreateCustomChannel(options.target, credentials, args);
}

std::unique_ptr<grpc::ClientContext> ContextWithin(const Options& options) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(options.timeout_seconds)));
  return context;
}

bool Report(const std::string& check, const grpc::Status& status, const std::string& detail) {
  if (status.ok()) {
    std::cout << "ok   " << check << ": " << detail << "\n";
    return true;
  }
  std::cout << "FAIL " << check << ": code " << status.error_code() << ": "
            << status.error_message() << "\n";
  return false;
}

bool CheckHealth(const std::shared_ptr<grpc::Channel>& channel, const Options& options) {
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  auto context = ContextWithin(options);
  grpc::Status status = stub->Check(context.get(), request, &response);
  if (status.ok() && response.status() != grpc::health::v1::HealthCheckResponse::SERVING) {
    status = grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          "health is " + grpc::health::v1::HealthCheckResponse::ServingStatus_Name(
                                             response.status()));
  }
  return Report("health", status, "SERVING");
}

bool CheckAuthenticatedCall(const std::shared_ptr<grpc::Channel>& channel, const Options& options) {
  auto token = auth::MintToken(options.jwt, options.distributor, absl::Seconds(60), absl::Now());
  if (!token.ok()) {
    std::cout << "FAIL token: " << token.status().message() << "\n";
    return false;
  }
  auto stub = v1::MessagingService::NewStub(channel);
  v1::ListConversationsRequest request;
  request.set_page_size(1);
  v1::ListConversationsResponse response;
  auto context = ContextWithin(options);
  context->AddMetadata("authorization", "Bearer " + *token);
  const absl::Time start = absl::Now();
  const grpc::Status status = stub->ListConversations(context.get(), request, &response);
  return Report(
      "ListConversations", status,
      "OK in " + absl::FormatDuration(absl::Trunc(absl::Now() - start, absl::Milliseconds(1))));
}

}  // namespace

int RunProbe(int argc, char** argv) {
  Options options;
  CLI::App app{"Checks a running messaging-server: health, then one authenticated call"};
  app.add_option("--target", options.target, "host:port of the server")
      ->envname("MESSAGING_PROBE_TARGET")
      ->required();
  app.add_flag("--tls", options.tls, "connect over TLS")->envname("MESSAGING_PROBE_TLS");
  app.add_option("--tls-ca", options.tls_ca_file, "PEM roots to verify the server with")
      ->envname("MESSAGING_PROBE_TLS_CA");
  app.add_option("--tls-server-name", options.tls_server_name, "name the certificate must carry")
      ->envname("MESSAGING_PROBE_TLS_SERVER_NAME");
  app.add_option("--timeout", options.timeout_seconds, "seconds per call")
      ->check(CLI::Range(1, 300))
      ->capture_default_str();
  app.add_flag("--health-only", options.health_only, "skip the authenticated call");
  app.add_option("--distributor", options.distributor, "distributor UUID of the probe's token")
      ->capture_default_str();
  app.add_option("--jwt-secret", options.jwt.secret, "HS256 secret the server verifies with")
      ->envname("MESSAGING_JWT_SECRET");
  app.add_option("--jwt-claim", options.jwt.claim, "claim holding the distributor")
      ->envname("MESSAGING_JWT_CLAIM")
      ->capture_default_str();
  app.add_option("--jwt-audience", options.jwt.audience, "aud claim to include")
      ->envname("MESSAGING_JWT_AUDIENCE");
  app.add_option("--jwt-issuer", options.jwt.issuer, "iss claim to include")
      ->envname("MESSAGING_JWT_ISSUER");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (!options.health_only && options.jwt.secret.empty()) {
    std::cerr << "messaging-probe: MESSAGING_JWT_SECRET (--jwt-secret) is required, or "
                 "--health-only\n";
    return 2;
  }

  auto channel = Connect(options);
  if (!channel.ok()) {
    std::cerr << "messaging-probe: " << channel.status().message() << "\n";
    return 2;
  }
  bool ok = CheckHealth(*channel, options);
  if (ok && !options.health_only) ok = CheckAuthenticatedCall(*channel, options);
  return ok ? 0 : 1;
}

}  // namespace messaging::probe
