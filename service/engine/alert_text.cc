#include "service/engine/alert_text.h"

namespace needlecheck::engine {
namespace {

const std::string* Lookup(const TemplateValues& values,
                          absl::string_view name) {
  for (const auto& [key, value] : values) {
    if (key == name) return &value;
  }
  return nullptr;
}

}  // namespace

std::string ExpandTemplate(absl::string_view text,
                           const TemplateValues& values) {
  std::string out;
  out.reserve(text.size() + 64);
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '{') {
      size_t close = text.find('}', i);
      if (close != absl::string_view::npos) {
        const std::string* value =
            Lookup(values, text.substr(i + 1, close - i - 1));
        if (value != nullptr) out += *value;
        i = close + 1;
        continue;
      }
    }
    out += text[i++];
  }
  return out;
}

bool TemplateLacksValue(absl::string_view text, const TemplateValues& values) {
  size_t i = 0;
  while ((i = text.find('{', i)) != absl::string_view::npos) {
    size_t close = text.find('}', i);
    if (close == absl::string_view::npos) return false;
    const std::string* value =
        Lookup(values, text.substr(i + 1, close - i - 1));
    if (value == nullptr || value->empty()) return true;
    i = close + 1;
  }
  return false;
}

std::string LimitChars(absl::string_view text, size_t max_chars) {
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
