#pragma once

// Early-return helpers for absl::Status / absl::StatusOr (Abseil 20220623 has none).

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define MESSAGING_STATUS_CONCAT_INNER(a, b) a##b
#define MESSAGING_STATUS_CONCAT(a, b) MESSAGING_STATUS_CONCAT_INNER(a, b)

#define RETURN_IF_ERROR(expr)                           \
  do {                                                  \
    if (absl::Status _status = (expr); !_status.ok()) { \
      return _status;                                   \
    }                                                   \
  } while (false)

#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(MESSAGING_STATUS_CONCAT(_status_or_, __LINE__), lhs, expr)

// NOLINTBEGIN(bugprone-macro-parentheses): `lhs` is a declaration
// (`auto x`), which parentheses would break.
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) {                            \
    return std::move(tmp).status();           \
  }                                           \
  lhs = *std::move(tmp)
// NOLINTEND(bugprone-macro-parentheses)
