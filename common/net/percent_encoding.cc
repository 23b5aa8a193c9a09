#include "common/net/percent_encoding.h"

#include "absl/strings/ascii.h"

namespace needlecheck::net {
namespace {

// The byte of the escape at in[i] ('%' and two hex digits), or -1.
int EscapeAt(absl::string_view in, size_t i) {
  if (in[i] != '%' || i + 2 >= in.size()) return -1;
  const int hi = HexDigitValue(in[i + 1]);
  const int lo = HexDigitValue(in[i + 2]);
  if (hi < 0 || lo < 0) return -1;
  return hi * 16 + lo;
}

// `value` with every byte for which keep(byte) is false as "%XX".
template <typename Keep>
std::string PercentEncodeUnless(absl::string_view value, Keep keep) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (unsigned char c : value) {
    if (keep(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace

int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentEncodeUnprintable(absl::string_view value) {
  return PercentEncodeUnless(
      value, [](unsigned char c) { return c > 0x20 && c < 0x7f && c != '%'; });
}

std::string PercentEncodeReserved(absl::string_view value) {
  return PercentEncodeUnless(value, [](unsigned char c) {
    return absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' ||
           c == '~';
  });
}

std::string PercentDecodeLenient(absl::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    const int byte = EscapeAt(value, i);
    if (byte >= 0) {
      out.push_back(static_cast<char>(byte));
      i += 2;
    } else {
      out.push_back(value[i]);
    }
  }
  return out;
}

bool PercentDecodeStrict(absl::string_view in, std::string* out) {
  out->clear();
  out->reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out->push_back(in[i]);
      continue;
    }
    const int byte = EscapeAt(in, i);
    if (byte <= 0) return false;  // malformed, or NUL
    out->push_back(static_cast<char>(byte));
    i += 2;
  }
  return true;
}

}  // namespace needlecheck::net
