#include "adapters/hl7v2/er7_escape.h"

#include "absl/strings/ascii.h"
#include "common/net/percent_encoding.h"

namespace needlecheck::hl7v2 {
namespace {

// Decodes the body of one escape sequence (between the escape characters)
// into `out`; false if it is to be kept verbatim.
bool DecodeEscape(absl::string_view body, const Er7Delimiters& d,
                  std::string* out) {
  if (body.size() == 1) {
    char c = '\0';
    switch (body[0]) {
      case 'F':
        c = d.field;
        break;
      case 'S':
        c = d.component;
        break;
      case 'T':
        c = d.subcomponent;
        break;
      case 'R':
        c = d.repetition;
        break;
      case 'E':
        c = d.escape;
        break;
      case 'P':
        c = d.truncation;
        break;
      case 'H':
      case 'N':
        return true;
      default:
        return false;
    }
    if (c == '\0') return false;
    out->push_back(c);
    return true;
  }
  if (body == ".br") {
    out->push_back('\n');
    return true;
  }
  if (body.size() >= 1 && body[0] == 'X' && body.size() % 2 == 1) {
    std::string bytes;
    for (size_t i = 1; i + 1 < body.size(); i += 2) {
      const int hi = net::HexDigitValue(body[i]);
      const int lo = net::HexDigitValue(body[i + 1]);
      if (hi < 0 || lo < 0) return false;
      bytes.push_back(static_cast<char>(hi * 16 + lo));
    }
    out->append(bytes);
    return true;
  }
  return false;
}

}  // namespace

std::string Er7Delimiters::EncodingCharacters() const {
  std::string out;
  for (char c : {component, repetition, escape, subcomponent, truncation}) {
    if (c == '\0') break;
    out.push_back(c);
  }
  return out;
}

bool Er7Delimiters::IsDelimiter(char c) const {
  return c != '\0' && (c == field || c == component || c == repetition ||
                       c == escape || c == subcomponent || c == truncation);
}

std::string Er7Unescape(absl::string_view value, const Er7Delimiters& d) {
  if (d.escape == '\0' || value.find(d.escape) == absl::string_view::npos) {
    return std::string(value);
  }
  std::string out;
  out.reserve(value.size());
  size_t i = 0;
  while (i < value.size()) {
    if (value[i] != d.escape) {
      out.push_back(value[i++]);
      continue;
    }
    const size_t close = value.find(d.escape, i + 1);
    if (close == absl::string_view::npos) {
      out.append(value.data() + i, value.size() - i);
      break;
    }
    const absl::string_view body = value.substr(i + 1, close - i - 1);
    if (!DecodeEscape(body, d, &out)) {
      out.append(value.data() + i, close - i + 1);
    }
    i = close + 1;
  }
  return out;
}

std::string Er7Escape(absl::string_view text, const Er7Delimiters& d) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const unsigned char u = static_cast<unsigned char>(c);
    const char* code = nullptr;
    if (c == '\0') {
      code = nullptr;
    } else if (c == d.escape) {
      code = "E";
    } else if (c == d.field) {
      code = "F";
    } else if (c == d.component) {
      code = "S";
    } else if (c == d.subcomponent) {
      code = "T";
    } else if (c == d.repetition) {
      code = "R";
    } else if (c == d.truncation) {
      code = "P";
    }
    if (code != nullptr && d.escape != '\0') {
      out.push_back(d.escape);
      out.append(code);
      out.push_back(d.escape);
    } else if (u < 0x20 || u == 0x7F || (code != nullptr)) {
      if (d.escape == '\0') {
        out.push_back(' ');  // no escape character declared: blank it out
        continue;
      }
      out.push_back(d.escape);
      out.push_back('X');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xF]);
      out.push_back(d.escape);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string Er7EscapeControlBytes(absl::string_view raw,
                                  const Er7Delimiters& d) {
  std::string out;
  out.reserve(raw.size());
  for (char c : raw) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) {
      out += Er7Escape(absl::string_view(&c, 1), d);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace needlecheck::hl7v2
