#pragma once

// The delivery-status state machine. Provider callbacks (Twilio) arrive out of
// order, so a status only ever moves forward:
//   queued < sent < delivered < read;  failed and undelivered are final.
// "received" is the state of inbound messages and never changes.

#include <vector>

#include "domain/enums.h"

namespace messaging::domain {

// True if a message in `current` may move to `next`. Equal states are not a
// transition (the callback is a no-op).
bool CanTransition(DeliveryStatus current, DeliveryStatus next);

// Every state that may move to `next` (CanTransition), for a write that
// applies the transition as a condition in one statement.
std::vector<DeliveryStatus> StatesThatMayBecome(DeliveryStatus next);

// True for states nothing can leave.
bool IsFinal(DeliveryStatus status);

}  // namespace messaging::domain
