#pragma once

// The unary RPCs of messaging.v1.MessagingService, one line each. This list
// is the only place a unary RPC is named on the client: MessagingConnection's
// virtual methods, the real connection (token, deadline, retries), the stub
// behind it, MessagingClient's methods and MockMessagingConnection's
// MOCK_METHODs are all generated from it. StreamMessages is not here: as a
// server stream it has hand-written code of its own. The list is expanded
// inside namespace messaging::client, which its type names are relative to.
//
// X(Name, Request, Response, Retry):
//   Name      the RPC, and the C++ method name everywhere;
//   Request   its request message;
//   Response  its response message; google::protobuf::Empty makes the method
//             return absl::Status, any other T makes it absl::StatusOr<T>
//             (UnaryResult below);
//   Retry     whether the real connection may send the request again after an
//             attempt failed with UNAVAILABLE or ABORTED (with backoff, under
//             ClientOptions::retry): kAlways, kNever, or a predicate on the
//             request (all three defined below).
//
// A delete is retried because it is idempotent in effect, but when an attempt
// whose answer was lost had already deleted the resource, the retry reports
// NOT_FOUND: treat NOT_FOUND from a delete as "it is gone".

#include <type_traits>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "messaging/v1/messaging.pb.h"

// clang-format off
#define MESSAGING_CLIENT_UNARY_RPCS(X)                                                             \
  /* Creates a conversation. Never retried: after a lost answer a repeat would report */           \
  /* ALREADY_EXISTS. */                                                                            \
  X(CreateConversation, v1::CreateConversationRequest, v1::Conversation, kNever)                   \
  /* The active conversation for (customer, channel), created if missing. Retried: atomic on */    \
  /* the server, a repeat finds the conversation the first attempt made. */                        \
  X(GetOrCreateConversation, v1::GetOrCreateConversationRequest, v1::Conversation, kAlways)        \
  /* One conversation. Retried (a read). */                                                        \
  X(GetConversation, v1::GetConversationRequest, v1::Conversation, kAlways)                        \
  /* A page of conversations in inbox order. Retried (a read). */                                  \
  X(ListConversations, v1::ListConversationsRequest, v1::ListConversationsResponse, kAlways)       \
  /* Updates the fields in update_mask. Never retried: a repeat could apply twice. */              \
  X(UpdateConversation, v1::UpdateConversationRequest, v1::Conversation, kNever)                   \
  /* Deletes a conversation and its messages. Retried (see NOT_FOUND above). */                    \
  X(DeleteConversation, v1::DeleteConversationRequest, google::protobuf::Empty, kAlways)           \
  /* Sets unread_count to 0. Retried: doing it twice is doing it once. */                          \
  X(MarkConversationRead, v1::MarkConversationReadRequest, v1::Conversation, kAlways)              \
  /* Records a message. Retried only with an external_message_id: the server deduplicates */       \
  /* on it; without one a repeat would store the message twice. */                                 \
  X(CreateMessage, v1::CreateMessageRequest, v1::Message, kIfExternalMessageIdSet)                 \
  /* One message. Retried (a read). */                                                             \
  X(GetMessage, v1::GetMessageRequest, v1::Message, kAlways)                                       \
  /* A page of one conversation's messages. Retried (a read). */                                   \
  X(ListMessages, v1::ListMessagesRequest, v1::ListMessagesResponse, kAlways)                      \
  /* Updates the fields in update_mask. Never retried: a repeat could apply twice. */              \
  X(UpdateMessage, v1::UpdateMessageRequest, v1::Message, kNever)                                  \
  /* Applies a delivery-status callback. Retried: the status never moves backwards, so a */        \
  /* repeat is a no-op. */                                                                         \
  X(UpdateDeliveryStatus, v1::UpdateDeliveryStatusRequest, v1::Message, kAlways)                   \
  /* Deletes one message. Retried (see NOT_FOUND above). */                                        \
  X(DeleteMessage, v1::DeleteMessageRequest, google::protobuf::Empty, kAlways)                     \
  /* AI work queue (AiWorker in messaging/client/ai_worker.h runs the loop). */                    \
  /* Leases claimable items, waiting up to wait_duration. Retried: items a lost answer */          \
  /* leased are claimable again once their lease expires, nothing is processed twice. */           \
  X(ClaimAiWork, v1::ClaimAiWorkRequest, v1::ClaimAiWorkResponse, kAlways)                         \
  /* Extends a lease. Retried: it sets the expiry from now, twice is once. */                      \
  X(ExtendAiWorkLease, v1::ExtendAiWorkLeaseRequest, v1::AiWorkItem, kAlways)                      \
  /* Writes the results. Retried: a repeat with the same lease token returns the same */           \
  /* message. */                                                                                   \
  X(CompleteAiWork, v1::CompleteAiWorkRequest, v1::Message, kAlways)                               \
  /* Reports a failed attempt. Never retried: after a lost answer the token is no longer */        \
  /* current and a repeat reports FAILED_PRECONDITION; the lease expiring has the same effect. */  \
  X(FailAiWork, v1::FailAiWorkRequest, v1::AiWorkItem, kNever)                                     \
  /* A page of work items. Retried (a read). */                                                    \
  X(ListAiWork, v1::ListAiWorkRequest, v1::ListAiWorkResponse, kAlways)                            \
  /* Makes an item claimable again, attempts reset. Retried: twice is once. */                     \
  X(RequeueAiWork, v1::RequeueAiWorkRequest, v1::AiWorkItem, kAlways)
// clang-format on

namespace messaging::client {

// What the client method of an RPC returning `Response` returns.
template <typename Response>
using UnaryResult = std::conditional_t<std::is_same_v<Response, google::protobuf::Empty>,
                                       absl::Status, absl::StatusOr<Response>>;

namespace internal {

// The Retry column: may `request` be sent again after a failed attempt?
inline constexpr auto kAlways = [](const auto& /*request*/) { return true; };
inline constexpr auto kNever = [](const auto& /*request*/) { return false; };
inline constexpr auto kIfExternalMessageIdSet = [](const v1::CreateMessageRequest& request) {
  return !request.message().external_message_id().empty();
};

// How long the server may hold `request` on purpose before it answers, added
// to the per-attempt deadline: a ClaimAiWork's wait_duration; nothing else.
template <typename Request>
absl::Duration ServerWait(const Request& /*request*/) {
  return absl::ZeroDuration();
}
inline absl::Duration ServerWait(const v1::ClaimAiWorkRequest& request) {
  return absl::Seconds(request.wait_duration().seconds()) +
         absl::Nanoseconds(request.wait_duration().nanos());
}

}  // namespace internal
}  // namespace messaging::client
