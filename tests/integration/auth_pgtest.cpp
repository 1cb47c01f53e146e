// Authentication matrix through real gRPC: every bad credential is
// UNAUTHENTICATED, decided before any database work; health needs no token.

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "domain/sealed_token.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "support/api_test.h"

namespace messaging::testing {
namespace {

using grpc::StatusCode;

std::string B64(const std::string& s) { return absl::WebSafeBase64Escape(s); }

// A JWT with any header and payload, signed HS256/HS512 with `secret` (or unsigned).
std::string MakeJwt(const std::string& alg, const std::string& payload_json,
                    const std::string& secret = kTestSecret) {
  const std::string signing_input = absl::StrCat(
      B64(absl::StrCat(R"({"alg":")", alg, R"(","typ":"JWT"})")), ".", B64(payload_json));
  std::string signature;
  if (alg == "HS256") {
    signature = domain::HmacSha256(secret, signing_input);
  } else if (alg == "HS512") {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha512(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(), out,
         &len);
    signature.assign(reinterpret_cast<const char*>(out), len);
  }
  return absl::StrCat(signing_input, ".", B64(signature));
}

std::string Claims(const std::string& distributor, int64_t exp_offset_s,
                   const std::string& extra = "") {
  return absl::StrCat(R"({"distributor_id":")", distributor, R"(","exp":)",
                      absl::ToUnixSeconds(absl::Now()) + exp_offset_s, extra, "}");
}

class AuthTest : public ApiTest {
 protected:
  grpc::Status GetWithAuthorization(const std::string* authorization) {
    grpc::ClientContext context;
    if (authorization != nullptr) context.AddMetadata("authorization", *authorization);
    v1::GetConversationRequest request;
    request.set_id(conversation_id_);
    v1::Conversation out;
    return server().stub().GetConversation(&context, request, &out);
  }

  void SetUp() override {
    distributor_ = db().NewDistributor();
    conversation_id_ = CreateConversation(distributor_, db().NewCustomer()).id();
  }

  std::string distributor_;
  std::string conversation_id_;
};

TEST_F(AuthTest, ValidTokenIsAccepted) {
  const std::string header = "Bearer " + MakeJwt("HS256", Claims(distributor_, 600));
  EXPECT_TRUE(GetWithAuthorization(&header).ok());
  const std::string lower_scheme = "bearer " + MakeJwt("HS256", Claims(distributor_, 600));
  EXPECT_TRUE(GetWithAuthorization(&lower_scheme).ok());
}

TEST_F(AuthTest, EveryBadCredentialIsUnauthenticated) {
  const std::string now_plus_10m = Claims(distributor_, 600);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"wrong scheme", "Basic dXNlcjpwYXNz"},
      {"bearer without token", "Bearer "},
      {"garbage", "Bearer not.a.jwt"},
      {"two parts", "Bearer abc.def"},
      {"bad signature",
       "Bearer " + MakeJwt("HS256", now_plus_10m, "another-secret-0123456789abcdef-xyz")},
      {"alg none, no signature", "Bearer " + MakeJwt("none", now_plus_10m)},
      {"alg none with HS256 signature", "Bearer " + B64(R"({"alg":"none","typ":"JWT"})") + "." +
                                            B64(now_plus_10m) + "." +
                                            B64(domain::HmacSha256(kTestSecret, "x"))},
      {"HS512 with the right secret", "Bearer " + MakeJwt("HS512", now_plus_10m)},
      {"expired", "Bearer " + MakeJwt("HS256", Claims(distributor_, -3600))},
      {"no exp", "Bearer " + MakeJwt("HS256", R"({"distributor_id":")" + distributor_ + R"("})")},
      {"absurd exp",
       "Bearer " + MakeJwt("HS256", R"({"distributor_id":")" + distributor_ + R"(","exp":1e300})")},
      {"not yet valid",
       "Bearer " + MakeJwt("HS256", Claims(distributor_, 7200,
                                           absl::StrCat(R"(,"nbf":)",
                                                        absl::ToUnixSeconds(absl::Now()) + 3600)))},
      {"missing claim",
       "Bearer " + MakeJwt("HS256", absl::StrCat(R"({"exp":)",
                                                 absl::ToUnixSeconds(absl::Now()) + 600, "}"))},
      {"claim not a uuid", "Bearer " + MakeJwt("HS256", Claims("distributor-7", 600))},
      {"claim not a string",
       "Bearer " + MakeJwt("HS256", absl::StrCat(R"({"distributor_id":7,"exp":)",
                                                 absl::ToUnixSeconds(absl::Now()) + 600, "}"))},
      {"payload not json", "Bearer " + B64(R"({"alg":"HS256","typ":"JWT"})") + "." + B64("{{{") +
                               "." + B64(domain::HmacSha256(kTestSecret, "x"))},
      {"token over our 4 KiB limit", "Bearer " + std::string(4 * 1024 + 1, 'a')},
  };
  for (const auto& [name, header] : cases) {
    SCOPED_TRACE(name);
    const auto status = GetWithAuthorization(&header);
    EXPECT_EQ(status.error_code(), StatusCode::UNAUTHENTICATED) << status.error_message();
  }
  const auto status = GetWithAuthorization(nullptr);
  EXPECT_EQ(status.error_code(), StatusCode::UNAUTHENTICATED);
}

// Metadata beyond gRPC's header list limit (8 KiB) never reaches a handler:
// the transport rejects the call (and closes that connection); the server
// keeps serving everyone else.
TEST_F(AuthTest, OneMegabyteHeaderIsRejectedByTheTransport) {
  const std::string huge = "Bearer " + std::string(1024 * 1024, 'a');
  const auto status = GetWithAuthorization(&huge);
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.error_code(), StatusCode::UNKNOWN);
  grpc::ChannelArguments fresh_connection;  // Not the shared subchannel the server closed.
  fresh_connection.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto channel = grpc::CreateCustomChannel(server().address(), grpc::InsecureChannelCredentials(),
                                           fresh_connection);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  context.AddMetadata("authorization", "Bearer " + MakeJwt("HS256", Claims(distributor_, 600)));
  v1::GetConversationRequest request;
  request.set_id(conversation_id_);
  v1::Conversation out;
  const auto after =
      v1::MessagingService::NewStub(channel)->GetConversation(&context, request, &out);
  EXPECT_TRUE(after.ok()) << after.error_code() << ": " << after.error_message();
}

// Two credentials on one call are refused even when both are valid, on unary
// calls and on the stream alike.
TEST_F(AuthTest, TwoAuthorizationHeadersAreUnauthenticated) {
  const std::string valid = "Bearer " + MakeJwt("HS256", Claims(distributor_, 600));
  {
    grpc::ClientContext context;
    context.AddMetadata("authorization", valid);
    context.AddMetadata("authorization", valid);
    v1::GetConversationRequest request;
    request.set_id(conversation_id_);
    v1::Conversation out;
    const auto status = server().stub().GetConversation(&context, request, &out);
    EXPECT_EQ(status.error_code(), StatusCode::UNAUTHENTICATED) << status.error_message();
    EXPECT_NE(status.error_message().find("more than one"), std::string::npos)
        << status.error_message();
  }
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    context.AddMetadata("authorization", valid);
    context.AddMetadata("authorization", valid);
    auto reader = server().stub().StreamMessages(&context, v1::StreamMessagesRequest());
    v1::MessageEvent event;
    EXPECT_FALSE(reader->Read(&event));
    EXPECT_EQ(reader->Finish().error_code(), StatusCode::UNAUTHENTICATED);
  }
  EXPECT_TRUE(GetWithAuthorization(&valid).ok()) << "one header of the same token is fine";
}

TEST_F(AuthTest, HealthNeedsNoToken) {
  auto health = grpc::health::v1::Health::NewStub(server().channel());
  grpc::ClientContext context;
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  ASSERT_TRUE(health->Check(&context, request, &response).ok());
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

// With the database unreachable, a bad token is still UNAUTHENTICATED (it is
// checked first) and a good one gets the retryable UNAVAILABLE.
TEST(AuthBeforeDatabaseTest, BadTokenIsRejectedWithoutTouchingTheDatabase) {
  TestServer server("postgresql://postgres@127.0.0.1:1/nowhere?connect_timeout=1");
  const std::string distributor = "9a9a9a9a-0000-4000-8000-000000000000";
  v1::GetConversationRequest request;
  request.set_id("8b8b8b8b-0000-4000-8000-000000000000");
  v1::Conversation out;
  {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer nonsense");
    EXPECT_EQ(server.stub().GetConversation(&context, request, &out).error_code(),
              StatusCode::UNAUTHENTICATED);
  }
  auto context = server.Context(distributor);
  const auto status = server.stub().GetConversation(context.get(), request, &out);
  EXPECT_EQ(status.error_code(), StatusCode::UNAVAILABLE);
  EXPECT_EQ(status.error_message().find("127.0.0.1"), std::string::npos)
      << "connection details leaked: " << status.error_message();
}

}  // namespace
}  // namespace messaging::testing
