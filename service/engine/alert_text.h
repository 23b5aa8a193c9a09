// Text helpers for alerts: template expansion and the 140-character
// summary limit. Internal to the engine; pure.
#ifndef SERVICE_ENGINE_ALERT_TEXT_H_
#define SERVICE_ENGINE_ALERT_TEXT_H_

#include <string>
#include <utility>

#include "absl/container/inlined_vector.h"
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

// A template split once into its expansion's pieces, for a caller that
// first asks whether it lacks a value, then writes it.
class ExpandedTemplate {
 public:
  // `text` and `values` must outlive the ExpandedTemplate.
  ExpandedTemplate(absl::string_view text, TemplateValues values);

  // True when `text` uses {name} and `values` has no non-empty value for it.
  bool lacks_value() const { return lacks_value_; }
  // Appends the expansion (ExpandTemplate's) to `out`.
  void AppendTo(std::string* out) const;

 private:
  // A template has a few placeholders, so its pieces stay inline.
  absl::InlinedVector<absl::string_view, 24> pieces_;
  bool lacks_value_ = false;
};

// Shortens UTF-8 `text` to at most `max_chars` code points, ending with
// "..." when shortened, without splitting a character.
std::string LimitChars(absl::string_view text, size_t max_chars);

}  // namespace needlecheck::engine

#endif  // SERVICE_ENGINE_ALERT_TEXT_H_
