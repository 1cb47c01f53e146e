#include "streaming/cursor_memo.h"

namespace messaging::streaming {

CursorMemo::Key CursorMemo::KeyOf(const domain::StreamCursorCodec& codec,
                                  const std::string& distributor_id,
                                  const domain::StreamCursor& cursor) {
  return {&codec,          distributor_id,         cursor.position.xid, cursor.position.seq,
          cursor.snapshot, cursor.conversation_id, cursor.issued_at};
}

std::string CursorMemo::Encode(const domain::StreamCursorCodec& codec,
                               const std::string& distributor_id,
                               const domain::StreamCursor& cursor) {
  if (const auto it = tokens_.find(KeyOf(codec, distributor_id, cursor)); it != tokens_.end()) {
    return *it->second;
  }
  ++sealed_;
  std::string token = codec.Encode(distributor_id, cursor);
  if (entries_.size() < kMaxEntries) {
    entries_.push_back({distributor_id, cursor, token});
    const Entry& entry = entries_.back();
    tokens_.emplace(KeyOf(codec, entry.distributor_id, entry.cursor), &entry.token);
  }
  return token;
}

}  // namespace messaging::streaming
