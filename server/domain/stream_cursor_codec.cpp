#include "domain/stream_cursor_codec.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "domain/validation.h"

namespace messaging::domain {
namespace {

constexpr char kField[] = "resume_cursor";

std::string Binding(const std::string& distributor_id) {
  return absl::StrCat("stream|", distributor_id);
}

absl::Status Invalid() {
  return absl::InvalidArgumentError("resume_cursor: is not a valid cursor for this caller");
}

// "xmin:xmax:xip,xip,..." with decimal xids only (it is sent to PostgreSQL as
// a pg_snapshot parameter; stay strict anyway).
bool IsSnapshotText(absl::string_view s) {
  if (s.empty()) return true;
  const std::vector<absl::string_view> parts = absl::StrSplit(s, ':');
  if (parts.size() != 3 || parts[0].empty() || parts[1].empty()) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c)) && c != ':' && c != ',') return false;
  }
  return true;
}

}  // namespace

std::string StreamCursorCodec::Encode(const std::string& distributor_id,
                                      const StreamCursor& cursor) const {
  return sealer_.Seal(
      Binding(distributor_id),
      absl::StrCat("c1|", cursor.issued_at, "|", cursor.conversation_id, "|", cursor.position.xid,
                   "|", cursor.position.seq, "|", cursor.snapshot));
}

absl::StatusOr<StreamCursor> StreamCursorCodec::Decode(const std::string& distributor_id,
                                                       const std::string& token,
                                                       absl::Time now) const {
  auto payload = sealer_.Open(token, Binding(distributor_id), kField);
  if (!payload.ok()) return payload.status();
  const std::vector<std::string> parts = absl::StrSplit(*payload, '|');
  StreamCursor cursor;
  if (parts.size() != 6 || parts[0] != "c1" || !absl::SimpleAtoi(parts[1], &cursor.issued_at) ||
      !absl::SimpleAtoi(parts[3], &cursor.position.xid) ||
      !absl::SimpleAtoi(parts[4], &cursor.position.seq) || !IsSnapshotText(parts[5])) {
    return Invalid();
  }
  cursor.conversation_id = parts[2];
  if (!cursor.conversation_id.empty() && !ParseUuid(cursor.conversation_id, kField).ok()) {
    return Invalid();
  }
  cursor.snapshot = parts[5];
  if (absl::FromUnixMicros(cursor.issued_at) < now - retention_) {
    return absl::OutOfRangeError(
        "resume_cursor: older than the event retention; list again and stream from the new "
        "stream_cursor");
  }
  return cursor;
}

}  // namespace messaging::domain
