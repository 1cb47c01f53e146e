#pragma once

// Ids and request contexts shared by the domain service unit tests.

#include <string>

#include "domain/model.h"

namespace messaging::domain {

inline constexpr char kDistributor[] = "11111111-1111-1111-1111-111111111111";
inline constexpr char kOtherDistributor[] = "22222222-2222-2222-2222-222222222222";

inline RequestContext Ctx(const std::string& distributor = kDistributor) {
  RequestContext ctx;
  ctx.distributor_id = distributor;
  return ctx;
}

// A valid UUID ending in the digits of n: ids that sort like n.
inline std::string IdN(int n) {
  std::string id = "00000000-0000-0000-0000-000000000000";
  const std::string digits = std::to_string(n);
  id.replace(id.size() - digits.size(), digits.size(), digits);
  return id;
}

}  // namespace messaging::domain
