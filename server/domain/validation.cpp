#include "domain/validation.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace messaging::domain {
namespace {

absl::Status Invalid(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

bool IsHex(char c) { return absl::ascii_isxdigit(static_cast<unsigned char>(c)); }

// Length in bytes of the UTF-8 sequence starting with `lead`, 0 if invalid.
int SequenceLength(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}

}  // namespace

absl::StatusOr<std::string> ParseUuid(absl::string_view value, absl::string_view field) {
  if (value.empty()) return Invalid(field, "is required");
  if (value.size() != 36) return Invalid(field, "must be a UUID");
  for (std::size_t i = 0; i < value.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? value[i] != '-' : !IsHex(value[i])) return Invalid(field, "must be a UUID");
  }
  return absl::AsciiStrToLower(value);
}

absl::StatusOr<std::string> ParseOptionalUuid(absl::string_view value, absl::string_view field) {
  if (value.empty()) return std::string();
  return ParseUuid(value, field);
}

bool IsValidUtf8(absl::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto lead = static_cast<unsigned char>(s[i]);
    const int len = SequenceLength(lead);
    if (len == 0 || i + len > s.size()) return false;
    for (int k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    if (len >= 3) {
      const auto second = static_cast<unsigned char>(s[i + 1]);
      if (lead == 0xE0 && second < 0xA0) return false;  // Overlong.
      if (lead == 0xED && second > 0x9F) return false;  // UTF-16 surrogate.
      if (lead == 0xF0 && second < 0x90) return false;  // Overlong.
      if (lead == 0xF4 && second > 0x8F) return false;  // Above U+10FFFF.
    }
    i += len;
  }
  return true;
}

absl::Status CheckText(absl::string_view value, absl::string_view field, std::size_t max_bytes) {
  if (value.size() > max_bytes) {
    return Invalid(field, absl::StrCat("is longer than ", max_bytes, " bytes"));
  }
  if (value.find('\0') != absl::string_view::npos) return Invalid(field, "contains a NUL byte");
  if (!IsValidUtf8(value)) return Invalid(field, "is not valid UTF-8");
  return absl::OkStatus();
}

std::string QuoteForError(absl::string_view value) {
  constexpr std::size_t kMax = 64;
  const bool cut = value.size() > kMax;
  return absl::StrCat("\"", absl::CHexEscape(value.substr(0, kMax)), cut ? "...\"" : "\"");
}

std::string Preview(absl::string_view text, std::size_t max_chars) {
  std::size_t i = 0;
  for (std::size_t chars = 0; i < text.size() && chars < max_chars; ++chars) {
    const int len = SequenceLength(static_cast<unsigned char>(text[i]));
    i += len == 0 ? 1 : static_cast<std::size_t>(len);
  }
  return std::string(text.substr(0, std::min(i, text.size())));
}

absl::Status ValidateNewConversation(const NewConversation& c, const Limits& limits) {
  RETURN_IF_ERROR(
      CheckText(c.ai_context_summary, "conversation.ai_context_summary", limits.max_summary_bytes));
  return CheckText(c.metadata_json, "conversation.metadata", limits.max_json_bytes);
}

absl::Status ValidateConversationPatch(const ConversationPatch& p, const Limits& limits) {
  if (p.ai_context_summary) {
    RETURN_IF_ERROR(CheckText(*p.ai_context_summary, "conversation.ai_context_summary",
                              limits.max_summary_bytes));
  }
  if (p.metadata_json) {
    RETURN_IF_ERROR(CheckText(*p.metadata_json, "conversation.metadata", limits.max_json_bytes));
  }
  return absl::OkStatus();
}

absl::Status ValidateNewMessage(const NewMessage& m, const Limits& limits) {
  RETURN_IF_ERROR(CheckText(m.content, "message.content", limits.max_content_bytes));
  const MessageType type = m.message_type.value_or(MessageType::kText);
  if (type == MessageType::kText && m.content.empty()) {
    return Invalid("message.content", "is required for a text message");
  }
  if (type != MessageType::kText && m.media_url.empty()) {
    return Invalid("message.media_url", "is required for a media, audio or file message");
  }
  const std::pair<absl::string_view, const std::string*> short_fields[] = {
      {"message.media_url", &m.media_url},
      {"message.media_content_type", &m.media_content_type},
      {"message.external_message_id", &m.external_message_id},
      {"message.error_code", &m.error_code},
      {"message.error_message", &m.error_message},
      {"message.ai_intent", &m.ai_intent},
      {"message.ai_sentiment", &m.ai_sentiment},
  };
  for (const auto& [field, value] : short_fields) {
    RETURN_IF_ERROR(CheckText(*value, field, limits.max_text_field_bytes));
  }
  RETURN_IF_ERROR(CheckText(m.ai_summary, "message.ai_summary", limits.max_summary_bytes));
  if (m.ai_extracted_data_json) {
    RETURN_IF_ERROR(
        CheckText(*m.ai_extracted_data_json, "message.ai_extracted_data", limits.max_json_bytes));
  }
  return CheckText(m.metadata_json, "message.metadata", limits.max_json_bytes);
}

absl::Status ValidateMessagePatch(const MessagePatch& p, const Limits& limits) {
  const std::pair<absl::string_view, const std::optional<std::string>*> short_fields[] = {
      {"message.error_code", &p.error_code},
      {"message.error_message", &p.error_message},
      {"message.ai_intent", &p.ai_intent},
      {"message.ai_sentiment", &p.ai_sentiment},
  };
  for (const auto& [field, value] : short_fields) {
    if (*value) RETURN_IF_ERROR(CheckText(**value, field, limits.max_text_field_bytes));
  }
  if (p.ai_summary) {
    RETURN_IF_ERROR(CheckText(*p.ai_summary, "message.ai_summary", limits.max_summary_bytes));
  }
  if (p.ai_extracted_data_json && *p.ai_extracted_data_json) {
    RETURN_IF_ERROR(
        CheckText(**p.ai_extracted_data_json, "message.ai_extracted_data", limits.max_json_bytes));
  }
  if (p.metadata_json) {
    RETURN_IF_ERROR(CheckText(*p.metadata_json, "message.metadata", limits.max_json_bytes));
  }
  return absl::OkStatus();
}

}  // namespace messaging::domain
