// The text of report.html: every string that comes from the data goes
// through Esc() or EscapeShort() (valid UTF-8, controls replaced, markup
// escaped: HtmlEscape() in report_html.h), and every figure through Num(),
// Percent() or Coord(), so the page has one way to write each.
//
// Contract: pure functions; deterministic; thread-safe.
#ifndef ADAPTERS_BATCH_REPORT_HTML_TEXT_H_
#define ADAPTERS_BATCH_REPORT_HTML_TEXT_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace needlecheck::batch::html {

// HtmlEscape(text): for element text and quoted attribute values.
std::string Esc(absl::string_view text);

// Escaped, truncated to `max_chars` code points ("…" in place of the rest).
std::string EscapeShort(absl::string_view text, size_t max_chars);

// 1234567 -> "1,234,567".
std::string Num(int64_t n);

// "12.3%", "&lt;0.1%", or an en dash when `whole` is 0.
std::string Percent(int64_t part, int64_t whole);

// An SVG coordinate or length, one decimal: 12.34 -> "12.3".
std::string Coord(double v);

}  // namespace needlecheck::batch::html

#endif  // ADAPTERS_BATCH_REPORT_HTML_TEXT_H_
