#include "domain/delivery_status.h"

namespace messaging::domain {
namespace {

// Position on the forward path; final states rank above every other.
int Rank(DeliveryStatus s) {
  switch (s) {
    case DeliveryStatus::kQueued:
      return 0;
    case DeliveryStatus::kSent:
      return 1;
    case DeliveryStatus::kDelivered:
      return 2;
    case DeliveryStatus::kRead:
      return 3;
    case DeliveryStatus::kFailed:
    case DeliveryStatus::kUndelivered:
    case DeliveryStatus::kReceived:
      return 4;
  }
  return 4;
}

}  // namespace

bool IsFinal(DeliveryStatus s) {
  return s == DeliveryStatus::kFailed || s == DeliveryStatus::kUndelivered ||
         s == DeliveryStatus::kReceived;
}

bool CanTransition(DeliveryStatus current, DeliveryStatus next) {
  if (current == next || IsFinal(current)) return false;
  if (next == DeliveryStatus::kReceived) return false;  // Only inbound messages start there.
  // A failure can be reported after any forward state except read: a read
  // message was delivered, whatever a late callback says.
  if (next == DeliveryStatus::kFailed || next == DeliveryStatus::kUndelivered) {
    return current != DeliveryStatus::kRead;
  }
  return Rank(next) > Rank(current);
}

std::vector<DeliveryStatus> StatesThatMayBecome(DeliveryStatus next) {
  std::vector<DeliveryStatus> states;
  for (const auto& spelling : kDeliveryStatusDb) {
    if (CanTransition(spelling.value, next)) states.push_back(spelling.value);
  }
  return states;
}

}  // namespace messaging::domain
