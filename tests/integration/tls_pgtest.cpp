// Optional TLS: with MESSAGING_TLS_CERT/KEY the gRPC port speaks TLS only.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

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
