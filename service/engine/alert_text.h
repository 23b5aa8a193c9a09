// Text helpers for alerts: template expansion and the 140-character
// summary limit. Internal to the engine; pure.
#ifndef SERVICE_ENGINE_ALERT_TEXT_H_
#define SERVICE_ENGINE_ALERT_TEXT_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace needlecheck::engine {

using TemplateValues = std::vector<std::pair<absl::string_view, std::string>>;

// Replaces each {name} in `text` with its value; unknown names expand to an
// empty string (the knowledge base validator rejects them at load).
std::string ExpandTemplate(absl::string_view text,
                           const TemplateValues& values);

// True when `text` uses {name} and `values` has no non-empty value for it.
bool TemplateLacksValue(absl::string_view text, const TemplateValues& values);

// Shortens UTF-8 `text` to at most `max_chars` code points, ending with
// "..." when shortened, without splitting a character.
std::string LimitChars(absl::string_view text, size_t max_chars);

}  // namespace needlecheck::engine

#endif  // SERVICE_ENGINE_ALERT_TEXT_H_
