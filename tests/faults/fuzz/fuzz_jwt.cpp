// Fuzzes bearer-token verification (auth/jwt.h). The first byte picks what
// the rest of the input is:
//   0: the whole authorization header value, as received;
//   1: the JWT payload (JSON), correctly signed with HS256 and the server's
//      secret, so claim parsing (exp, nbf, the distributor claim) is reached;
//   2: the JWT header (JSON), with a valid payload and signature.
// Never a crash; whatever is accepted yields a canonical lower-case UUID and
// carried a numeric exp in the future (within the leeway).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "auth/jwt.h"
#include "domain/sealed_token.h"
#include "domain/validation.h"

namespace {

constexpr char kSecret[] = "fuzz-secret-0123456789abcdef-0123456789";

void Check(bool condition) {
  if (!condition) std::abort();
}

std::string Signed(const std::string& header, const std::string& payload) {
  const std::string input =
      absl::WebSafeBase64Escape(header) + "." + absl::WebSafeBase64Escape(payload);
  return input + "." + absl::WebSafeBase64Escape(messaging::domain::HmacSha256(kSecret, input));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  static const messaging::auth::TokenVerifier verifier([] {
    messaging::auth::JwtOptions options;
    options.secret = kSecret;
    return options;
  }());
  const absl::Time now = absl::FromUnixSeconds(1700000000);

  std::string authorization;
  switch (data[0] % 3) {
    case 0:
      authorization = rest;
      break;
    case 1:
      authorization = "Bearer " + Signed(R"({"alg":"HS256","typ":"JWT"})", rest);
      break;
    default:
      authorization =
          "Bearer " +
          Signed(rest,
                 R"({"distributor_id":"8c7a6b5e-1d2f-4a3b-9c8d-7e6f5a4b3c2d","exp":1700000100})");
      break;
  }
  const auto distributor = verifier.Authenticate(authorization, now);
  if (distributor.ok()) {
    Check(distributor->size() == 36);
    Check(messaging::domain::ParseUuid(*distributor, "d").ok());
    for (char c : *distributor) Check(!(c >= 'A' && c <= 'Z'));
    // Raw input is never accepted: it would mean a forged HMAC-SHA256.
    Check(data[0] % 3 != 0);
    if (data[0] % 3 == 1) {  // The accepted payload had a numeric, unexpired exp.
      const auto payload = nlohmann::json::parse(rest, nullptr, /*allow_exceptions=*/false);
      Check(payload.is_object() && payload.contains("exp") && payload["exp"].is_number());
      Check(payload["exp"].get<double>() >= 1700000000.0 - 31);
    }
    if (data[0] % 3 == 2) {  // Only an HS256 header is accepted.
      const auto header = nlohmann::json::parse(rest, nullptr, /*allow_exceptions=*/false);
      Check(header.is_object() && header.contains("alg") && header["alg"] == "HS256");
    }
  } else {
    Check(distributor.status().code() == absl::StatusCode::kUnauthenticated);
  }
  return 0;
}
