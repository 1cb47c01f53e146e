// Fuzzes page tokens and stream cursors (domain/page_token.h,
// domain/stream_cursor_codec.h). The first byte picks what the rest is:
//   0: a token as a client would send it (any bytes): decoding never
//      crashes and never accepts (the fuzzer cannot forge the HMAC);
//   1: a cursor *payload*, correctly signed, so the parser behind the MAC is
//      reached; whatever decodes re-encodes to a cursor that decodes to the
//      same values;
//   2: the same for a page-token payload (messages and conversations).
// Also: a signed token altered in any single byte is rejected.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/time/time.h"
#include "domain/page_token.h"
#include "domain/sealed_token.h"
#include "domain/stream_cursor_codec.h"

namespace {

using messaging::domain::ConversationFilter;
using messaging::domain::PageTokenCodec;
using messaging::domain::StreamCursorCodec;
using messaging::domain::TokenSealer;

constexpr char kDistributor[] = "8c7a6b5e-1d2f-4a3b-9c8d-7e6f5a4b3c2d";
constexpr char kConversation[] = "1b2c3d4e-5f60-4718-8293-a4b5c6d7e8f9";

void Check(bool condition) {
  if (!condition) std::abort();
}

const TokenSealer& Sealer() {
  static const TokenSealer sealer("fuzz-secret-0123456789abcdef");
  return sealer;
}

bool DecodesAnything(const std::string& token, absl::Time now) {
  const StreamCursorCodec cursors(Sealer(), absl::Hours(24 * 7));
  const PageTokenCodec pages(Sealer());
  return cursors.Decode(kDistributor, token, now).ok() ||
         pages.DecodeMessages(kDistributor, kConversation, false, token).ok() ||
         pages.DecodeConversations(kDistributor, ConversationFilter(), token).ok();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const absl::Time now = absl::FromUnixSeconds(1700000000);
  const StreamCursorCodec cursors(Sealer(), absl::Hours(24 * 7));
  const PageTokenCodec pages(Sealer());

  switch (data[0] % 3) {
    case 0:
      Check(!DecodesAnything(rest, now));
      break;
    case 1: {
      const std::string token = Sealer().Seal(std::string("stream|") + kDistributor, rest);
      const auto cursor = cursors.Decode(kDistributor, token, now);
      if (cursor.ok()) {
        const auto again = cursors.Decode(kDistributor, cursors.Encode(kDistributor, *cursor), now);
        Check(again.ok());
        Check(again->position.xid == cursor->position.xid);
        Check(again->position.seq == cursor->position.seq);
        Check(again->snapshot == cursor->snapshot);
        Check(again->conversation_id == cursor->conversation_id);
        Check(again->issued_at == cursor->issued_at);
        // Bound to the tenant.
        Check(!cursors.Decode(kConversation, token, now).ok());
      }
      // Any single altered byte of a real token is refused.
      std::string raw;
      Check(absl::WebSafeBase64Unescape(token, &raw));
      if (!raw.empty()) {
        raw[rest.size() % raw.size()] ^= static_cast<char>(1 + data[0] / 3 % 255);
        Check(!DecodesAnything(absl::WebSafeBase64Escape(raw), now));
      }
      break;
    }
    default: {
      const std::string messages_binding =
          std::string("messages|") + kDistributor + "|" + kConversation + "|asc";
      const auto key = pages.DecodeMessages(kDistributor, kConversation, false,
                                            Sealer().Seal(messages_binding, rest));
      if (key.ok()) {
        const std::string again = pages.EncodeMessages(kDistributor, kConversation, false, *key);
        const auto decoded = pages.DecodeMessages(kDistributor, kConversation, false, again);
        Check(decoded.ok() && decoded->created_at == key->created_at && decoded->id == key->id);
        // Bound to the query: the other order, another conversation.
        Check(!pages.DecodeMessages(kDistributor, kConversation, true, again).ok());
        Check(!pages.DecodeMessages(kDistributor, kDistributor, false, again).ok());
      }
      const std::string conversations_binding =
          std::string("conversations|") + kDistributor + "||||";
      (void)pages.DecodeConversations(kDistributor, ConversationFilter(),
                                      Sealer().Seal(conversations_binding, rest));
      break;
    }
  }
  return 0;
}
