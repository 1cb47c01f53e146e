// Fuzzes the request validators (domain/validation.h) against independent
// reference implementations: ParseUuid accepts exactly the canonical 8-4-4-4-12
// hex form, IsValidUtf8 agrees with a straightforward decoder of the Unicode
// definition, CheckText enforces its three rules, and Preview returns a
// prefix that is valid UTF-8 whenever its input is.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "domain/validation.h"

namespace {

using messaging::domain::CheckText;
using messaging::domain::IsValidUtf8;
using messaging::domain::ParseUuid;
using messaging::domain::Preview;

void Check(bool condition) {
  if (!condition) std::abort();
}

bool ReferenceIsUuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

// Valid UTF-8 per RFC 3629: shortest form, no surrogates, at most U+10FFFF.
bool ReferenceIsValidUtf8(const std::string& s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    int len;
    std::uint32_t cp;
    if (b0 < 0x80) {
      len = 1;
      cp = b0;
    } else if ((b0 & 0xE0) == 0xC0) {
      len = 2;
      cp = b0 & 0x1F;
    } else if ((b0 & 0xF0) == 0xE0) {
      len = 3;
      cp = b0 & 0x0F;
    } else if ((b0 & 0xF8) == 0xF0) {
      len = 4;
      cp = b0 & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (int k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (b & 0x3F);
    }
    const std::uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);

  const auto uuid = ParseUuid(input, "field");
  Check(uuid.ok() == ReferenceIsUuid(input));
  if (uuid.ok()) {
    Check(uuid->size() == 36);
    for (char c : *uuid) Check(!(c >= 'A' && c <= 'Z'));
    Check(ParseUuid(*uuid, "field").ok());
  } else {
    Check(uuid.status().message().find("field") == 0);  // Names the field.
  }

  const bool valid = IsValidUtf8(input);
  Check(valid == ReferenceIsValidUtf8(input));

  const std::size_t limit = size > 0 ? data[0] % 64 : 0;
  const auto text = CheckText(input, "f", limit);
  Check(text.ok() == (input.size() <= limit && input.find('\0') == std::string::npos && valid));

  for (std::size_t chars : {std::size_t{0}, std::size_t{1}, std::size_t{7}, limit}) {
    const std::string preview = Preview(input, chars);
    Check(preview.size() <= input.size());
    Check(input.compare(0, preview.size(), preview) == 0);
    if (valid) Check(IsValidUtf8(preview));
  }
  return 0;
}
