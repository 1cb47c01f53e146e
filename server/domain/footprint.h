#pragma once

// How much memory a value holds, for byte budgets (queued stream events):
// the struct itself plus the contents of its strings. An estimate (allocator
// overhead and string capacity slack are not counted), but one that grows
// with everything a client can make large.

#include <cstddef>

#include "domain/model.h"

namespace messaging::domain {

std::size_t Footprint(const Message& message);

}  // namespace messaging::domain
