#include "domain/page_token.h"

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "domain/validation.h"

namespace messaging::domain {
namespace {

constexpr char kField[] = "page_token";

std::string ConversationBinding(const std::string& distributor_id, const ConversationFilter& f) {
  return absl::StrCat("conversations|", distributor_id, "|", f.customer_id.value_or(""), "|",
                      f.channel ? ToDb(*f.channel) : "", "|", f.status ? ToDb(*f.status) : "");
}

std::string MessageBinding(const std::string& distributor_id, const std::string& conversation_id,
                           bool descending) {
  return absl::StrCat("messages|", distributor_id, "|", conversation_id, "|",
                      descending ? "desc" : "asc");
}

std::string EncodeKey(Micros ts, const std::string& id) { return absl::StrCat("v1|", ts, "|", id); }

// Parses "v1|<micros>|<uuid>"; the MAC already vouched for it, but stay strict.
absl::Status DecodeKey(const std::string& payload, Micros* ts, std::string* id) {
  const std::vector<std::string> parts = absl::StrSplit(payload, '|');
  if (parts.size() != 3 || parts[0] != "v1" || !absl::SimpleAtoi(parts[1], ts) ||
      !ParseUuid(parts[2], kField).ok()) {
    return absl::InvalidArgumentError("page_token: is not a valid token for this request");
  }
  *id = parts[2];
  return absl::OkStatus();
}

}  // namespace

std::string PageTokenCodec::EncodeConversations(const std::string& distributor_id,
                                                const ConversationFilter& filter,
                                                const ConversationKey& last) const {
  return sealer_.Seal(ConversationBinding(distributor_id, filter),
                      EncodeKey(last.inbox_at, last.id));
}

absl::StatusOr<ConversationKey> PageTokenCodec::DecodeConversations(
    const std::string& distributor_id, const ConversationFilter& filter,
    const std::string& token) const {
  auto payload = sealer_.Open(token, ConversationBinding(distributor_id, filter), kField);
  if (!payload.ok()) return payload.status();
  ConversationKey key;
  if (auto st = DecodeKey(*payload, &key.inbox_at, &key.id); !st.ok()) return st;
  return key;
}

std::string PageTokenCodec::EncodeMessages(const std::string& distributor_id,
                                           const std::string& conversation_id, bool descending,
                                           const MessageKey& last) const {
  return sealer_.Seal(MessageBinding(distributor_id, conversation_id, descending),
                      EncodeKey(last.created_at, last.id));
}

absl::StatusOr<MessageKey> PageTokenCodec::DecodeMessages(const std::string& distributor_id,
                                                          const std::string& conversation_id,
                                                          bool descending,
                                                          const std::string& token) const {
  auto payload =
      sealer_.Open(token, MessageBinding(distributor_id, conversation_id, descending), kField);
  if (!payload.ok()) return payload.status();
  MessageKey key;
  if (auto st = DecodeKey(*payload, &key.created_at, &key.id); !st.ok()) return st;
  return key;
}

}  // namespace messaging::domain
