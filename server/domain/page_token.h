#pragma once

// Page tokens for keyset pagination. A token carries the last row's sort key
// sealed (encrypted and authenticated) and bound to the tenant and the query
// (filters and order), so it cannot be read, forged, altered, or replayed
// against another query.

#include <string>

#include "absl/status/statusor.h"
#include "domain/model.h"
#include "domain/sealed_token.h"

namespace messaging::domain {

class PageTokenCodec {
 public:
  explicit PageTokenCodec(const TokenSealer& sealer) : sealer_(sealer) {}

  std::string EncodeConversations(const std::string& distributor_id,
                                  const ConversationFilter& filter,
                                  const ConversationKey& last) const;
  absl::StatusOr<ConversationKey> DecodeConversations(const std::string& distributor_id,
                                                      const ConversationFilter& filter,
                                                      const std::string& token) const;

  std::string EncodeMessages(const std::string& distributor_id, const std::string& conversation_id,
                             bool descending, const MessageKey& last) const;
  absl::StatusOr<MessageKey> DecodeMessages(const std::string& distributor_id,
                                            const std::string& conversation_id, bool descending,
                                            const std::string& token) const;

 private:
  const TokenSealer& sealer_;
};

}  // namespace messaging::domain
