#include "service/engine/alert_text.h"

namespace needlecheck::engine {
namespace {

const absl::string_view* Lookup(TemplateValues values, absl::string_view name) {
  for (const auto& [key, value] : values) {
    if (key == name) return &value;
  }
  return nullptr;
}

// Calls fn(piece) for each piece of the expansion of `text`, in order.
template <typename Fn>
void ForEachPiece(absl::string_view text, TemplateValues values, Fn&& fn) {
  size_t i = 0;
  while (i < text.size()) {
    const size_t open = text.find('{', i);
    const size_t close =
        open == absl::string_view::npos ? open : text.find('}', open);
    if (close == absl::string_view::npos) {
      fn(text.substr(i));
      return;
    }
    fn(text.substr(i, open - i));
    const absl::string_view* value =
        Lookup(values, text.substr(open + 1, close - open - 1));
    if (value != nullptr) fn(*value);
    i = close + 1;
  }
}

}  // namespace

void ExpandTemplate(absl::string_view text, TemplateValues values,
                    std::string* out) {
  // Sized first: one allocation instead of one per growth.
  size_t size = out->size();
  ForEachPiece(text, values, [&](absl::string_view p) { size += p.size(); });
  out->reserve(size);
  ForEachPiece(text, values,
               [&](absl::string_view p) { out->append(p.data(), p.size()); });
}

bool TemplateLacksValue(absl::string_view text, TemplateValues values) {
  size_t i = 0;
  while ((i = text.find('{', i)) != absl::string_view::npos) {
    size_t close = text.find('}', i);
    if (close == absl::string_view::npos) return false;
    const absl::string_view* value =
        Lookup(values, text.substr(i + 1, close - i - 1));
    if (value == nullptr || value->empty()) return true;
    i = close + 1;
  }
  return false;
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
