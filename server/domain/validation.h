#pragma once

// Validation of request values. Every error is INVALID_ARGUMENT and names the
// offending field, so a caller can fix the request without reading our code.

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "domain/model.h"

namespace messaging::domain {

struct Limits {
  std::size_t max_content_bytes = 64 * 1024;
  std::size_t max_text_field_bytes = 4 * 1024;  // ids, codes, intents, urls...
  std::size_t max_summary_bytes = 16 * 1024;    // ai_summary, ai_context_summary
  std::size_t max_json_bytes = 64 * 1024;       // metadata, ai_extracted_data
  std::size_t preview_chars = 120;              // last_message_preview length
  // List pages stop adding rows at this many bytes of row text (one row at least).
  std::size_t max_page_bytes = 1024 * 1024;
};

// A canonical UUID (8-4-4-4-12 hex digits), returned in lower case.
absl::StatusOr<std::string> ParseUuid(absl::string_view value, absl::string_view field);

// Like ParseUuid, but "" is allowed and returned as "".
absl::StatusOr<std::string> ParseOptionalUuid(absl::string_view value, absl::string_view field);

// Valid UTF-8 without NUL bytes and at most max_bytes long.
absl::Status CheckText(absl::string_view value, absl::string_view field, std::size_t max_bytes);

bool IsValidUtf8(absl::string_view s);

// `value` quoted for an error message: at most 64 bytes, escaped, so a huge or
// binary input never makes a huge (or unprintable) error.
std::string QuoteForError(absl::string_view value);

// The first `max_chars` code points of valid UTF-8 text.
std::string Preview(absl::string_view text, std::size_t max_chars);

absl::Status ValidateNewConversation(const NewConversation& c, const Limits& limits);
absl::Status ValidateConversationPatch(const ConversationPatch& p, const Limits& limits);
absl::Status ValidateNewMessage(const NewMessage& m, const Limits& limits);
absl::Status ValidateMessagePatch(const MessagePatch& p, const Limits& limits);

}  // namespace messaging::domain
