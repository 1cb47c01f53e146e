#pragma once

// Opaque (encrypted), tamper-proof stream cursors, bound to the distributor that received
// them (a cursor never works for another tenant).

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "domain/sealed_token.h"
#include "domain/stream.h"

namespace messaging::domain {

class StreamCursorCodec {
 public:
  StreamCursorCodec(const TokenSealer& sealer, absl::Duration retention)
      : sealer_(sealer), retention_(retention) {}

  std::string Encode(const std::string& distributor_id, const StreamCursor& cursor) const;

  // INVALID_ARGUMENT when forged, altered or another tenant's; OUT_OF_RANGE
  // when older than the event retention (its events may be gone).
  absl::StatusOr<StreamCursor> Decode(const std::string& distributor_id, const std::string& token,
                                      absl::Time now) const;

 private:
  const TokenSealer& sealer_;
  absl::Duration retention_;
};

}  // namespace messaging::domain
