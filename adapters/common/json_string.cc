#include "adapters/common/json_string.h"

#include <cstdint>

namespace needlecheck::adapters {
namespace {

constexpr absl::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// The length of the valid UTF-8 sequence starting at s[i] (RFC 3629: no
// overlong forms, no surrogates, nothing above U+10FFFF); for a bad one,
// minus the number of bytes to skip: the valid prefix read before the byte
// that broke it, or the bad lead byte itself (-1).
int Utf8Sequence(absl::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t c = b(i);
  if (c < 0x80) return 1;
  int n;
  uint8_t lo = 0x80, hi = 0xBF;  // the second byte's range
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return -1;
  }
  for (int k = 1; k < n; ++k) {
    if (i + k >= s.size()) return -k;
    const uint8_t x = b(i + k);
    const bool in_range =
        k == 1 ? (x >= lo && x <= hi) : (x >= 0x80 && x <= 0xBF);
    if (!in_range) return -k;
  }
  return n;
}

// Whether byte c of ASCII text is written as it is.
bool Plain(uint8_t c) { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\'; }

void AppendEscaped(char c, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  switch (c) {
    case '"':
      out->append("\\\"");
      return;
    case '\\':
      out->append("\\\\");
      return;
    case '\b':
      out->append("\\b");
      return;
    case '\t':
      out->append("\\t");
      return;
    case '\n':
      out->append("\\n");
      return;
    case '\f':
      out->append("\\f");
      return;
    case '\r':
      out->append("\\r");
      return;
    default: {
      const auto u = static_cast<uint8_t>(c);
      if (u < 0x20) {
        out->append("\\u00");
        out->push_back(kHex[u >> 4]);
        out->push_back(kHex[u & 15]);
      } else {
        out->push_back(c);
      }
    }
  }
}

}  // namespace

void AppendJsonString(absl::string_view value, std::string* out) {
  out->push_back('"');
  size_t i = 0;
  while (i < value.size()) {
    // A run of plain ASCII goes in one append.
    size_t plain = i;
    while (plain < value.size() && Plain(static_cast<uint8_t>(value[plain]))) {
      ++plain;
    }
    if (plain > i) {
      out->append(value.data() + i, plain - i);
      i = plain;
      if (i == value.size()) break;
    }
    const int n = Utf8Sequence(value, i);
    if (n == 1) {
      AppendEscaped(value[i], out);
      ++i;
    } else if (n > 1) {
      out->append(value.data() + i, n);
      i += n;
    } else {
      // A bad sequence: one replacement for the bytes read so far; the
      // byte that broke it is read again (it may start a good one).
      out->append(kReplacement.data(), kReplacement.size());
      i += n == -1 ? 1 : static_cast<size_t>(-n);
    }
  }
  out->push_back('"');
}

}  // namespace needlecheck::adapters
