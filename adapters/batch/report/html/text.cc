#include "adapters/batch/report/html/text.h"

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "adapters/batch/report/report_html.h"
#include "common/text/utf8.h"

namespace needlecheck::batch::html {
namespace {

// `text` as valid UTF-8: each byte that does not start a well-formed
// sequence, and each control character but \t \n \r, becomes U+FFFD.
std::string SanitizeUtf8(absl::string_view text) {
  static constexpr char kReplacement[] = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(text.size());
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = s[i];
    if (c < 0x80) {
      const bool control =
          (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F;
      if (control) {
        out += kReplacement;
      } else {
        out.push_back(static_cast<char>(c));
      }
      ++i;
      continue;
    }
    const int len = text::Utf8SequenceLength(text, i);
    if (len > 0) {
      out.append(text.data() + i, static_cast<size_t>(len));
      i += static_cast<size_t>(len);
    } else {
      out += kReplacement;
      ++i;
    }
  }
  return out;
}

// Escapes valid UTF-8 text for HTML.
void AppendEscapedUtf8(absl::string_view text, std::string& out) {
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
}

// At most `max_chars` code points of valid UTF-8 `text`, with "…" in place
// of the rest.
std::string Truncate(const std::string& text, size_t max_chars) {
  if (max_chars == 0) return "";
  size_t chars = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;
    if (chars == max_chars - 1) {
      // Does more than one code point remain?
      size_t rest = 0;
      for (size_t j = i; j < text.size(); ++j) {
        if ((static_cast<unsigned char>(text[j]) & 0xC0) != 0x80) ++rest;
      }
      if (rest > 1) return text.substr(0, i) + "\xE2\x80\xA6";
      return text;
    }
    ++chars;
  }
  return text;
}

}  // namespace

std::string EscapeShort(absl::string_view text, size_t max_chars) {
  std::string out;
  AppendEscapedUtf8(Truncate(SanitizeUtf8(text), max_chars), out);
  return out;
}

std::string Esc(absl::string_view text) { return HtmlEscape(text); }

std::string Num(int64_t n) {
  const uint64_t magnitude =
      n < 0 ? 0 - static_cast<uint64_t>(n) : static_cast<uint64_t>(n);
  const std::string digits = absl::StrCat(magnitude);
  std::string out;
  if (n < 0) out.push_back('-');
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

std::string Percent(int64_t part, int64_t whole) {
  if (whole <= 0) return "\xE2\x80\x93";
  const double pct = 100.0 * static_cast<double>(part) / whole;
  if (part > 0 && pct < 0.05) return "&lt;0.1%";
  return absl::StrFormat("%.1f%%", pct);
}

std::string Coord(double v) { return absl::StrFormat("%.1f", v); }

}  // namespace needlecheck::batch::html

namespace needlecheck::batch {

std::string HtmlEscape(absl::string_view text) {
  std::string out;
  html::AppendEscapedUtf8(html::SanitizeUtf8(text), out);
  return out;
}

}  // namespace needlecheck::batch
