#pragma once

// gMock matchers for absl::Status and absl::StatusOr<T> (GoogleTest 1.12 and
// Abseil 20220623 ship none):
//   EXPECT_THAT(ParseUuid(x, "id"), StatusIs(absl::StatusCode::kInvalidArgument, "id: "));
//   EXPECT_THAT(service.Delete(ctx, id), IsOk());

#include <gmock/gmock.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace messaging::testing {

inline const absl::Status& GetStatus(const absl::Status& status) { return status; }

template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

// The status has `code` and its message contains `substring`.
MATCHER_P2(StatusIs, code, substring,
           absl::StrCat("has code ", absl::StatusCodeToString(code), " and a message containing \"",
                        std::string(substring), "\"")) {
  const absl::Status& status = ::messaging::testing::GetStatus(arg);
  *result_listener << "status is " << status.ToString();
  return status.code() == code && absl::StrContains(status.message(), substring);
}

MATCHER(IsOk, "is OK") {
  const absl::Status& status = ::messaging::testing::GetStatus(arg);
  *result_listener << "status is " << status.ToString();
  return status.ok();
}

}  // namespace messaging::testing
