#pragma once

// Cursors sealed while one batch (or one round of heartbeats) goes to the
// streams of a distributor. Streams with the same filter that took the same
// batches hold equal cursors, and sealing is deterministic (one spelling per
// cursor), so each distinct cursor is sealed once per batch rather than once
// per stream: an event of a distributor reaches every one of its
// distributor-wide streams with the same cursor. It keeps at most
// kMaxEntries cursors (a batch offered to streams whose cursors all differ
// seals each, as without it). Used by one thread at a time.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "domain/stream.h"
#include "domain/stream_cursor_codec.h"

namespace messaging::streaming {

class CursorMemo {
 public:
  static constexpr std::size_t kMaxEntries = 4096;

  // codec.Encode(distributor_id, cursor), sealed at its first request only.
  std::string Encode(const domain::StreamCursorCodec& codec, const std::string& distributor_id,
                     const domain::StreamCursor& cursor);
  // Cursors sealed so far.
  std::size_t sealed() const { return sealed_; }

 private:
  struct Entry {
    std::string distributor_id;
    domain::StreamCursor cursor;
    std::string token;
  };
  // Every field of a request; the views point into an Entry (or, for a
  // lookup, into the request itself).
  using Key = std::tuple<const domain::StreamCursorCodec*, absl::string_view, std::uint64_t,
                         std::int64_t, absl::string_view, absl::string_view, domain::Micros>;
  static Key KeyOf(const domain::StreamCursorCodec& codec, const std::string& distributor_id,
                   const domain::StreamCursor& cursor);

  std::deque<Entry> entries_;  // A deque never moves its elements: the keys stay valid.
  absl::flat_hash_map<Key, const std::string*> tokens_;
  std::size_t sealed_ = 0;
};

}  // namespace messaging::streaming
