// Optional TLS: with MESSAGING_TLS_CERT/KEY the gRPC port speaks TLS only.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "absl/time/clock.h"
#include "support/subprocess.h"
#include "support/test_database.h"
#include "support/test_server.h"

namespace messaging::testing {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

TEST(TlsTest, ServesTlsAndRefusesPlaintext) {
  char dir_template[] = "/tmp/messaging-tls-XXXXXX";
  const std::string dir = mkdtemp(dir_template);
  const auto made = RunCommand(
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
      "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout " +
      dir + "/key.pem -out " + dir + "/cert.pem");
  ASSERT_EQ(made.exit_code, 0) << made.output;

  TestDatabase db("tls");
  TestServer server(db.server_url(), [&](app::ServerConfig& c) {
    c.tls_cert_file = dir + "/cert.pem";
    c.tls_key_file = dir + "/key.pem";
  });
  const std::string distributor = db.NewDistributor();
  v1::ListConversationsRequest request;
  v1::ListConversationsResponse response;

  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = ReadFile(dir + "/cert.pem");
  auto secure = v1::MessagingService::NewStub(
      grpc::CreateChannel(server.address(), grpc::SslCredentials(tls)));
  grpc::ClientContext ok_context;
  ok_context.AddMetadata("authorization", "Bearer " + TokenFor(distributor));
  const auto status = secure->ListConversations(&ok_context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();

  grpc::ClientContext plain_context;
  plain_context.AddMetadata("authorization", "Bearer " + TokenFor(distributor));
  plain_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
  EXPECT_FALSE(server.stub().ListConversations(&plain_context, request, &response).ok())
      << "a plaintext client got through a TLS port";
  RunCommand("rm -rf " + dir);
}

// A key pair for CN=localhost written to `stem`.key / `stem`.crt.
void MakeCertificate(const std::string& stem) {
  const auto made = RunCommand(
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
      "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout " +
      stem + ".key -out " + stem + ".crt 2>&1");
  ASSERT_EQ(made.exit_code, 0) << made.output;
}

// ListConversations over a new connection that trusts only `roots`.
grpc::Status CallTrusting(const std::string& address, const std::string& roots,
                          const std::string& distributor) {
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = roots;
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // Never reuse a connection.
  auto stub = v1::MessagingService::NewStub(
      grpc::CreateCustomChannel(address, grpc::SslCredentials(tls), args));
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer " + TokenFor(distributor));
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
  v1::ListConversationsRequest request;
  v1::ListConversationsResponse response;
  return stub->ListConversations(&context, request, &response);
}

// cert-manager renews a certificate by rewriting the mounted Secret: new
// connections must get the new certificate without a restart.
TEST(TlsTest, RenewedCertificateServesNewConnectionsWithoutARestart) {
  char dir_template[] = "/tmp/messaging-tls-XXXXXX";
  const std::string dir = mkdtemp(dir_template);
  MakeCertificate(dir + "/old");
  MakeCertificate(dir + "/new");
  ASSERT_EQ(RunCommand("cp " + dir + "/old.key " + dir + "/tls.key && cp " + dir + "/old.crt " +
                       dir + "/tls.crt")
                .exit_code,
            0);

  TestDatabase db("tls_reload");
  TestServer server(db.server_url(), [&](app::ServerConfig& c) {
    c.tls_cert_file = dir + "/tls.crt";
    c.tls_key_file = dir + "/tls.key";
    c.tls_reload_interval = absl::Seconds(1);
  });
  const std::string distributor = db.NewDistributor();
  const std::string old_roots = ReadFile(dir + "/old.crt");
  const std::string new_roots = ReadFile(dir + "/new.crt");
  const grpc::Status before = CallTrusting(server.address(), old_roots, distributor);
  ASSERT_TRUE(before.ok()) << before.error_message();
  ASSERT_FALSE(CallTrusting(server.address(), new_roots, distributor).ok());

  // Replaced the way a Secret volume is: each file renamed into place.
  ASSERT_EQ(RunCommand("cp " + dir + "/new.key " + dir + "/tmp.key && mv " + dir + "/tmp.key " +
                       dir + "/tls.key && cp " + dir + "/new.crt " + dir + "/tmp.crt && mv " + dir +
                       "/tmp.crt " + dir + "/tls.crt")
                .exit_code,
            0);
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  grpc::Status renewed = CallTrusting(server.address(), new_roots, distributor);
  while (!renewed.ok() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(200));  // Polling the condition, not a proof by sleeping.
    renewed = CallTrusting(server.address(), new_roots, distributor);
  }
  EXPECT_TRUE(renewed.ok()) << "the renewed certificate was never served: "
                            << renewed.error_message();
  EXPECT_FALSE(CallTrusting(server.address(), old_roots, distributor).ok())
      << "new connections still get the replaced certificate";
  RunCommand("rm -rf " + dir);
}

TEST(TlsTest, MissingKeyFileIsAConfigurationError) {
  TestDatabase db("tls_config");
  EXPECT_THROW(TestServer(db.server_url(),
                          [](app::ServerConfig& c) {
                            c.tls_cert_file = "/nonexistent/cert.pem";
                            c.tls_key_file = "/nonexistent/key.pem";
                          }),
               std::runtime_error);
}

}  // namespace
}  // namespace messaging::testing
