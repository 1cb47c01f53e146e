#pragma once

// Update masks (AIP-134): which fields an Update call writes.

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace messaging::domain {

inline const std::set<std::string, std::less<>>& ConversationMaskPaths() {
  static const std::set<std::string, std::less<>> kPaths = {"status", "ai_context_summary",
                                                            "metadata"};
  return kPaths;
}

inline const std::set<std::string, std::less<>>& MessageMaskPaths() {
  static const std::set<std::string, std::less<>> kPaths = {
      "delivery_status",      "error_code",        "error_message",
      "ai_processing_status", "ai_summary",        "ai_intent",
      "ai_sentiment",         "ai_extracted_data", "metadata"};
  return kPaths;
}

// The mask's paths, checked against `allowed`. An empty mask, or a path not in
// `allowed`, is INVALID_ARGUMENT naming the path.
absl::StatusOr<std::set<std::string, std::less<>>> ParseUpdateMask(
    const std::vector<std::string>& paths, const std::set<std::string, std::less<>>& allowed);

}  // namespace messaging::domain
