#include "domain/field_mask.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "domain/validation.h"

namespace messaging::domain {

absl::StatusOr<std::set<std::string, std::less<>>> ParseUpdateMask(
    const std::vector<std::string>& paths, const std::set<std::string, std::less<>>& allowed) {
  if (paths.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("update_mask: is required; updatable paths are ",
                                                   absl::StrJoin(allowed, ", ")));
  }
  std::set<std::string, std::less<>> result;
  for (const auto& path : paths) {
    if (allowed.count(path) == 0) {
      return absl::InvalidArgumentError(absl::StrCat("update_mask: path ", QuoteForError(path),
                                                     " cannot be updated; updatable paths are ",
                                                     absl::StrJoin(allowed, ", ")));
    }
    result.insert(path);
  }
  return result;
}

}  // namespace messaging::domain
