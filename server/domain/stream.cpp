#include "domain/stream.h"

#include <algorithm>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace messaging::domain {

std::optional<std::uint64_t> SnapshotXmax(const std::string& snapshot) {
  const std::vector<absl::string_view> parts = absl::StrSplit(snapshot, ':');
  std::uint64_t xmax = 0;
  if (parts.size() != 3 || !absl::SimpleAtoi(parts[1], &xmax)) return std::nullopt;
  return xmax;
}

bool CoversThrough(const StreamCursor& cursor, const StreamPosition& position) {
  if (position <= cursor.position) return true;
  // "xmin:xmax:xip,...": every xid below xmax that is not in progress is visible.
  const auto xmax = SnapshotXmax(cursor.snapshot);
  if (!xmax || position.xid >= *xmax) return false;
  const std::vector<absl::string_view> parts = absl::StrSplit(cursor.snapshot, ':');
  for (absl::string_view in_progress : absl::StrSplit(parts[2], ',', absl::SkipEmpty())) {
    std::uint64_t xid = 0;
    if (!absl::SimpleAtoi(in_progress, &xid) || xid <= position.xid) return false;
  }
  return true;
}

absl::Status CheckNotPruned(const StreamCursor& after, const EventBatch& batch) {
  if (CoversThrough(after, batch.pruned_through)) return absl::OkStatus();
  return absl::OutOfRangeError(
      "resume_cursor: events after this position were pruned from the change log; list again "
      "and stream from the new stream_cursor");
}

StreamCursor CursorFromSnapshot(const std::string& snapshot, Micros now) {
  StreamCursor cursor;
  const std::vector<absl::string_view> parts = absl::StrSplit(snapshot, ':');
  std::uint64_t xmin = 0;
  if (!parts.empty() && absl::SimpleAtoi(parts[0], &xmin)) cursor.position = {xmin, 0};
  cursor.snapshot = snapshot;
  cursor.issued_at = now;
  return cursor;
}

StreamCursor Advance(const StreamCursor& cursor, const EventBatch& batch) {
  StreamCursor next = cursor;
  // Never backwards: a live subscription can be offered a group batch that
  // ends before its own cursor (it caught up past the group by itself); moving
  // back would deliver the events in between a second time.
  if (!batch.events.empty() && next.position < batch.events.back().position) {
    next.position = batch.events.back().position;
  }
  if (batch.complete) {
    // Everything below the horizon has been seen: jump to it.
    const StreamPosition at_horizon{batch.horizon, 0};
    if (next.position < at_horizon) next.position = at_horizon;
    next.issued_at = std::max(next.issued_at, batch.read_at);
  }
  if (!next.snapshot.empty()) {
    // Once every transaction the snapshot could say anything about has been
    // passed, the snapshot adds nothing.
    const auto xmax = SnapshotXmax(next.snapshot);
    if (xmax && next.position.xid >= *xmax) next.snapshot.clear();
  }
  return next;
}

}  // namespace messaging::domain
