#pragma once

// Stream positions and events (docs/streaming.md). The event log is read in
// (xid, seq) order and only below the xmin horizon, where it is final; see
// docs/streaming.md for why that makes resume gap-free.

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "domain/model.h"

namespace messaging::domain {

// A point in the event log: everything at or before it has been seen.
struct StreamPosition {
  std::uint64_t xid = 0;  // Writing transaction (xid8).
  std::int64_t seq = 0;   // Order within the log.

  friend bool operator<(const StreamPosition& a, const StreamPosition& b) {
    return a.xid != b.xid ? a.xid < b.xid : a.seq < b.seq;
  }
  friend bool operator==(const StreamPosition& a, const StreamPosition& b) {
    return a.xid == b.xid && a.seq == b.seq;
  }
  friend bool operator<=(const StreamPosition& a, const StreamPosition& b) { return !(b < a); }
};

// What a subscriber has seen: every event at or before `position`, plus (if
// `snapshot` is set) every event of a transaction visible in that database
// snapshot -- a List response's snapshot, so "list then subscribe" repeats
// nothing and misses nothing.
struct StreamCursor {
  StreamPosition position;
  std::string snapshot;         // pg_snapshot text "xmin:xmax:xip,...", or "".
  std::string conversation_id;  // The stream filter it was issued for; "" = all.
  Micros issued_at = 0;         // For retention: older than it = OUT_OF_RANGE.
};

struct StreamEvent {
  EventType type = EventType::kCreated;
  StreamPosition position;
  // The message right after the change (kDeleted: its last state), as the log
  // stored it. Events written before migration 003 have no stored state: the
  // message as it is when read, or only its ids if it has since been deleted.
  Message message;
};

struct EventQuery {
  StreamCursor after;
  // The read's horizon is at most this: the last horizon the event listener
  // published, which a database crash can no longer undo (see
  // docs/streaming.md). 0 = nothing readable yet.
  std::uint64_t horizon_cap = std::numeric_limits<std::uint64_t>::max();
  int limit = 256;
  // Events follow while they start within this many bytes of row text: a
  // read holds at most this much plus one event.
  std::int64_t max_bytes = kNoByteLimit;
};

struct EventBatch {
  std::vector<StreamEvent> events;
  // The horizon the read used: every event of a transaction older than it has
  // been returned (when `complete`) or comes after the last returned one.
  std::uint64_t horizon = 0;
  bool complete = false;  // Nothing more below the horizon (not cut by limit or max_bytes).
  Micros read_at = 0;     // Database clock when read.
  // The log's low-water mark, read in the same snapshot: the highest position
  // pruning has deleted ({0, 0} before the first prune).
  StreamPosition pruned_through;
};

// A distributor with events in the xid range a Heads() call scanned.
struct DistributorHead {
  std::string distributor_id;
  StreamPosition last;  // Its newest event in that range.
};
// Which distributors have events that became readable in [from_xid, horizon).
struct EventHeads {
  std::uint64_t horizon = 0;  // pg_snapshot_xmin at the read: the log is final below it.
  Micros read_at = 0;         // Database clock at the read.
  std::vector<DistributorHead> changed;
};

// Where `cursor` stands after `batch` was delivered to its owner (never before
// where it stood): past the last event, or (when the read was complete) at the horizon, which also
// retires the snapshot once the horizon has passed it. A complete read also renews issued_at:
// nothing older than the read is still pending.
StreamCursor Advance(const StreamCursor& cursor, const EventBatch& batch);

// True when `cursor` has seen every event at or before `position`: it stands
// there or later, or its snapshot saw every transaction up to position.xid.
bool CoversThrough(const StreamCursor& cursor, const StreamPosition& position);

// OUT_OF_RANGE when pruning deleted events that `after`, the cursor `batch`
// was read from, had not seen (the log's low-water mark is past it): the
// reader must list again rather than silently miss them.
absl::Status CheckNotPruned(const StreamCursor& after, const EventBatch& batch);

// The cursor of a List response read in `snapshot`: everything that snapshot
// saw is covered; everything else is still to come.
StreamCursor CursorFromSnapshot(const std::string& snapshot, Micros now);

// Xmax of a pg_snapshot text (the first xid not yet assigned when it was taken).
std::optional<std::uint64_t> SnapshotXmax(const std::string& snapshot);

}  // namespace messaging::domain
