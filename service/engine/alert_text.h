// Text helpers for alerts: template expansion and the 140-character
// summary limit. Internal to the engine; pure.
#ifndef SERVICE_ENGINE_ALERT_TEXT_H_
#define SERVICE_ENGINE_ALERT_TEXT_H_

#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace needlecheck::engine {

// A template placeholder's name and value. Of several values with one name,
// the first counts.
using TemplateValue = std::pair<absl::string_view, absl::string_view>;
using TemplateValues = absl::Span<const TemplateValue>;

// Appends `text` to `out` with each {name} replaced by its value; unknown
// names expand to an empty string (the knowledge base validator rejects them
// at load).
void ExpandTemplate(absl::string_view text, TemplateValues values,
                    std::string* out);

// True when `text` uses {name} and `values` has no non-empty value for it.
bool TemplateLacksValue(absl::string_view text, TemplateValues values);

// Shortens UTF-8 `text` to at most `max_chars` code points, ending with
// "..." when shortened, without splitting a character.
std::string LimitChars(absl::string_view text, size_t max_chars);

}  // namespace needlecheck::engine

#endif  // SERVICE_ENGINE_ALERT_TEXT_H_
