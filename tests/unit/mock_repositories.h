#pragma once

// gMock doubles of the domain's storage interfaces (domain/repositories.h).

#include <gmock/gmock.h>

#include <cstdint>
#include <string>

#include "domain/repositories.h"

namespace messaging::testing {

class MockConversationRepository : public domain::ConversationRepository {
 public:
  MOCK_METHOD(absl::StatusOr<domain::Conversation>, Create,
              (const domain::RequestContext&, const domain::NewConversation&), (override));
  MOCK_METHOD(absl::StatusOr<domain::Conversation>, GetOrCreate,
              (const domain::RequestContext&, const std::string&, domain::Channel), (override));
  MOCK_METHOD(absl::StatusOr<domain::Conversation>, Get,
              (const domain::RequestContext&, const std::string&), (override));
  MOCK_METHOD(absl::StatusOr<domain::Page<domain::Conversation>>, List,
              (const domain::RequestContext&, const domain::ConversationQuery&), (override));
  MOCK_METHOD(absl::StatusOr<domain::Conversation>, Update,
              (const domain::RequestContext&, const std::string&, const domain::ConversationPatch&),
              (override));
  MOCK_METHOD(absl::Status, Delete, (const domain::RequestContext&, const std::string&),
              (override));
  MOCK_METHOD(absl::StatusOr<domain::Conversation>, MarkRead,
              (const domain::RequestContext&, const std::string&), (override));
};

class MockMessageRepository : public domain::MessageRepository {
 public:
  MOCK_METHOD(absl::StatusOr<domain::Message>, Create,
              (const domain::RequestContext&, const domain::NewMessage&, const std::string&),
              (override));
  MOCK_METHOD(absl::StatusOr<domain::Message>, Get,
              (const domain::RequestContext&, const std::string&), (override));
  MOCK_METHOD(absl::StatusOr<domain::Page<domain::Message>>, List,
              (const domain::RequestContext&, const domain::MessageQuery&), (override));
  MOCK_METHOD(absl::StatusOr<domain::Message>, Update,
              (const domain::RequestContext&, const std::string&, const domain::MessagePatch&),
              (override));
  MOCK_METHOD(absl::StatusOr<domain::Message>, UpdateDeliveryStatus,
              (const domain::RequestContext&, const domain::DeliveryStatusUpdate&), (override));
  MOCK_METHOD(absl::Status, Delete, (const domain::RequestContext&, const std::string&),
              (override));
};

class MockEventRepository : public domain::EventRepository {
 public:
  MOCK_METHOD(absl::StatusOr<domain::EventBatch>, Read,
              (const domain::RequestContext&, const domain::EventQuery&, const std::string&),
              (override));
  MOCK_METHOD(absl::StatusOr<std::uint64_t>, Horizon, (const domain::RequestContext&), (override));
  MOCK_METHOD(absl::StatusOr<domain::EventHeads>, Heads, (std::uint64_t), (override));
  MOCK_METHOD(absl::StatusOr<std::int64_t>, Prune, (absl::Duration), (override));
};

}  // namespace messaging::testing
