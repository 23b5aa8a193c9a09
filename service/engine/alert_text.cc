#include "service/engine/alert_text.h"

#include <cstring>

#include "absl/container/inlined_vector.h"

namespace needlecheck::engine {
namespace {

const absl::string_view* Lookup(TemplateValues values, absl::string_view name) {
  for (const auto& [key, value] : values) {
    if (key == name) return &value;
  }
  return nullptr;
}

}  // namespace

ExpandedTemplate::ExpandedTemplate(absl::string_view text,
                                   TemplateValues values) {
  const char* const end = text.data() + text.size();
  const char* p = text.data();
  while (p < end) {
    const char* open = static_cast<const char*>(
        std::memchr(p, '{', static_cast<size_t>(end - p)));
    const char* close = open == nullptr
                            ? nullptr
                            : static_cast<const char*>(std::memchr(
                                  open, '}', static_cast<size_t>(end - open)));
    if (close == nullptr) {
      pieces_.emplace_back(p, static_cast<size_t>(end - p));
      return;
    }
    if (open > p) pieces_.emplace_back(p, static_cast<size_t>(open - p));
    const absl::string_view* value = Lookup(
        values,
        absl::string_view(open + 1, static_cast<size_t>(close - open - 1)));
    if (value == nullptr || value->empty()) {
      lacks_value_ = true;
    } else {
      pieces_.push_back(*value);
    }
    p = close + 1;
  }
}

void ExpandedTemplate::AppendTo(std::string* out) const {
  // Sized first: one allocation instead of one per growth.
  size_t size = out->size();
  for (absl::string_view piece : pieces_) size += piece.size();
  out->reserve(size);
  for (absl::string_view piece : pieces_) {
    out->append(piece.data(), piece.size());
  }
}

void ExpandTemplate(absl::string_view text, TemplateValues values,
                    std::string* out) {
  ExpandedTemplate(text, values).AppendTo(out);
}

std::string LimitChars(absl::string_view text, size_t max_chars) {
  // No more bytes than the limit: no more characters either.
  if (text.size() <= max_chars) return std::string(text);
  size_t chars = 0;
  size_t cut = 0;  // byte offset after max_chars - 3 characters
  size_t i = 0;
  while (i < text.size()) {
    if (chars == max_chars - 3) cut = i;
    unsigned char c = static_cast<unsigned char>(text[i]);
    size_t len = c < 0x80         ? 1
                 : (c >> 5) == 6  ? 2
                 : (c >> 4) == 14 ? 3
                 : (c >> 3) == 30 ? 4
                                  : 1;
    i += len;
    ++chars;
    if (chars > max_chars) {
      std::string out(text.substr(0, cut));
      while (!out.empty() && out.back() == ' ') out.pop_back();
      out += "...";
      return out;
    }
  }
  return std::string(text);
}

}  // namespace needlecheck::engine
