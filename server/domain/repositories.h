#pragma once

// Storage interfaces the domain services depend on. The PostgreSQL
// implementations live in repository/; unit tests substitute gMock doubles.
// Every method runs as ctx.distributor_id: another tenant's row is NOT_FOUND.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "domain/ai_work.h"
#include "domain/model.h"
#include "domain/stream.h"

namespace messaging::domain {

class ConversationRepository {
 public:
  virtual ~ConversationRepository() = default;

  // ALREADY_EXISTS if an active one exists for (customer, channel); NOT_FOUND
  // if the customer does not exist.
  virtual absl::StatusOr<Conversation> Create(const RequestContext& ctx,
                                              const NewConversation& conversation) = 0;
  // The active conversation for (customer, channel), created if absent; atomic.
  virtual absl::StatusOr<Conversation> GetOrCreate(const RequestContext& ctx,
                                                   const std::string& customer_id,
                                                   Channel channel) = 0;
  virtual absl::StatusOr<Conversation> Get(const RequestContext& ctx, const std::string& id) = 0;
  virtual absl::StatusOr<Page<Conversation>> List(const RequestContext& ctx,
                                                  const ConversationQuery& query) = 0;
  virtual absl::StatusOr<Conversation> Update(const RequestContext& ctx, const std::string& id,
                                              const ConversationPatch& patch) = 0;
  virtual absl::Status Delete(const RequestContext& ctx, const std::string& id) = 0;
  virtual absl::StatusOr<Conversation> MarkRead(const RequestContext& ctx,
                                                const std::string& id) = 0;
};

class MessageRepository {
 public:
  virtual ~MessageRepository() = default;

  // Inserts the message and updates its conversation in one transaction. With
  // an external_message_id already stored, returns the stored message and
  // changes nothing.
  virtual absl::StatusOr<Message> Create(const RequestContext& ctx, const NewMessage& message,
                                         const std::string& preview) = 0;
  virtual absl::StatusOr<Message> Get(const RequestContext& ctx, const std::string& id) = 0;
  // NOT_FOUND if the conversation is not the caller's.
  virtual absl::StatusOr<Page<Message>> List(const RequestContext& ctx,
                                             const MessageQuery& query) = 0;
  virtual absl::StatusOr<Message> Update(const RequestContext& ctx, const std::string& id,
                                         const MessagePatch& patch) = 0;
  // Moves the delivery status forward only (domain/delivery_status.h); an
  // older status leaves the message unchanged and returns it.
  virtual absl::StatusOr<Message> UpdateDeliveryStatus(const RequestContext& ctx,
                                                       const DeliveryStatusUpdate& update) = 0;
  virtual absl::Status Delete(const RequestContext& ctx, const std::string& id) = 0;
};

// The message change log behind StreamMessages.
class EventRepository {
 public:
  virtual ~EventRepository() = default;

  // Events after `query.after` (in (xid, seq) order, below the xmin horizon),
  // of one conversation when `conversation_id` is set.
  virtual absl::StatusOr<EventBatch> Read(const RequestContext& ctx, const EventQuery& query,
                                          const std::string& conversation_id) = 0;
  // The current horizon, returned once it is durable (no crash can hand out
  // again an xid below it): a live stream starts at (horizon, 0).
  virtual absl::StatusOr<std::uint64_t> Horizon(const RequestContext& ctx) = 0;
  // Distributors with events whose xid is in [from_xid, horizon), read with no
  // tenant set through the SECURITY DEFINER function (ids and positions only).
  // The horizon is not made durable here (the EventListener does that).
  virtual absl::StatusOr<EventHeads> Heads(std::uint64_t from_xid) = 0;
  // Deletes events older than `retention` (all tenants). Returns rows deleted.
  virtual absl::StatusOr<std::int64_t> Prune(absl::Duration retention) = 0;
};

// The AI work queue (docs/ai-work-queue.md). Calls on a lease run as the
// lease's tenant (ctx.distributor_id) and write nothing unless `lease` is the
// item's current, unexpired lease: FAILED_PRECONDITION.
class AiWorkRepository {
 public:
  virtual ~AiWorkRepository() = default;

  // Leases claimable items across distributors (only ctx.distributor_id's
  // when set), each with its message, conversation and context messages.
  virtual absl::StatusOr<std::vector<AiWorkItem>> Claim(const RequestContext& ctx,
                                                        const AiWorkClaim& claim) = 0;
  virtual absl::StatusOr<AiWorkItem> Extend(const RequestContext& ctx, const AiWorkLease& lease,
                                            absl::Duration lease_duration) = 0;
  // Writes the results to the message and removes the item, in one
  // transaction. A repeat with the same lease returns the message again.
  virtual absl::StatusOr<Message> Complete(const RequestContext& ctx, const AiWorkLease& lease,
                                           const AiWorkResult& result) = 0;
  virtual absl::StatusOr<AiWorkItem> Fail(const RequestContext& ctx, const AiWorkLease& lease,
                                          const AiWorkFailure& failure) = 0;
  // A distributor's items; for a worker (ctx.worker_name set) those of every
  // distributor, or of the one it is restricted to.
  virtual absl::StatusOr<Page<AiWorkItem>> List(const RequestContext& ctx,
                                                const AiWorkQuery& query) = 0;
  // Claimable now, attempts reset, the message PENDING again.
  virtual absl::StatusOr<AiWorkItem> Requeue(const RequestContext& ctx, const std::string& id) = 0;
  // When the next item becomes claimable (nullopt: none is queued).
  virtual absl::StatusOr<std::optional<Micros>> NextAvailable(const RequestContext& ctx) = 0;
  // Removes dead letters older than `retention` (every tenant). Rows removed.
  virtual absl::StatusOr<std::int64_t> Prune(absl::Duration retention) = 0;
  // Items per state (every tenant).
  virtual absl::StatusOr<std::vector<std::pair<AiWorkState, std::int64_t>>> Depth() = 0;
};

}  // namespace messaging::domain
