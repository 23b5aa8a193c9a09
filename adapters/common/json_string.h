// One JSON string, written as nlohmann::ordered_json::dump(-1, ' ', false,
// error_handler_t::replace) writes it: quoted; `"` `\` and the control
// characters escaped (\b \t \n \f \r, others \u00XX in lower case); other
// characters as UTF-8; invalid UTF-8 replaced by U+FFFD, one replacement
// for each bad sequence (its valid prefix, or the bad lead byte), the byte
// that broke a sequence read again. For writers of JSON text without a DOM
// whose output must stay byte-identical to what nlohmann gave.
//
// Pure; thread-safe.
#ifndef ADAPTERS_COMMON_JSON_STRING_H_
#define ADAPTERS_COMMON_JSON_STRING_H_

#include <string>

#include "absl/strings/string_view.h"

namespace needlecheck::adapters {

// Appends `value` as a JSON string (quoted, escaped as above) to `out`.
void AppendJsonString(absl::string_view value, std::string* out);

}  // namespace needlecheck::adapters

#endif  // ADAPTERS_COMMON_JSON_STRING_H_
