#pragma once

// NOT_FOUND, built the same way for every resource: "<resource> <id> not
// found". Another tenant's row is NOT_FOUND as well (Row Level Security hides
// it), so the text never says which of the two it was.

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace messaging::domain {

// "conversation <id> not found".
absl::Status NotFound(absl::string_view resource, absl::string_view id);

// Looked up by another key: "message with external_message_id \"<value>\" not
// found" (the value quoted, as it comes from the caller).
absl::Status NotFoundBy(absl::string_view resource, absl::string_view key, absl::string_view value);

// Referred to by a request field, which the text names first (AIP-193):
// "customer_id: customer <id> not found".
absl::Status ReferencedNotFound(absl::string_view field, absl::string_view resource,
                                absl::string_view id);

}  // namespace messaging::domain
