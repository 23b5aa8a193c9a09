#include "adapters/common/json_string.h"

#include <cstdint>

#include "common/text/utf8.h"

namespace needlecheck::adapters {
namespace {

constexpr absl::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

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
    const int n = text::Utf8SequenceLength(value, i);
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
