#include "domain/not_found.h"

#include "absl/strings/str_cat.h"
#include "domain/validation.h"

namespace messaging::domain {

absl::Status NotFound(absl::string_view resource, absl::string_view id) {
  return absl::NotFoundError(absl::StrCat(resource, " ", id, " not found"));
}

absl::Status NotFoundBy(absl::string_view resource, absl::string_view key,
                        absl::string_view value) {
  return absl::NotFoundError(
      absl::StrCat(resource, " with ", key, " ", QuoteForError(value), " not found"));
}

absl::Status ReferencedNotFound(absl::string_view field, absl::string_view resource,
                                absl::string_view id) {
  return absl::NotFoundError(absl::StrCat(field, ": ", resource, " ", id, " not found"));
}

}  // namespace messaging::domain
