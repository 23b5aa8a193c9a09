// The members of a simdjson object as nlohmann's parser saw them (the batch
// audit's files were read with nlohmann before): of a key given twice, the
// last value counts, at the place of the first. simdjson keeps every
// repetition and at_key() finds the first; readers whose accept/reject
// behaviour must stay nlohmann's look members up through these instead.
//
// Also ToAbsl(): a simdjson string (a std::string_view) as the
// absl::string_view the rest of the code takes.
//
// Pure; thread-safe. The elements point into the parser's document and live
// as long as it does.
#ifndef ADAPTERS_COMMON_JSON_MEMBERS_H_
#define ADAPTERS_COMMON_JSON_MEMBERS_H_

#include <optional>
#include <string_view>
#include <vector>

#include "absl/strings/string_view.h"
#include "simdjson.h"

namespace needlecheck::adapters {

// The same bytes as an absl::string_view (a distinct type in this build).
inline absl::string_view ToAbsl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

// `text` parsed by `parser` (its copy of the text lives in it), a UTF-8 byte
// order mark at the start skipped as nlohmann's parser skipped it.
simdjson::simdjson_result<simdjson::dom::element> ParseJson(
    simdjson::dom::parser& parser, std::string_view text);

// The top-level object of ParseJson(parser, text); nullopt when `text` is
// not JSON or not an object.
std::optional<simdjson::dom::object> ParseObject(simdjson::dom::parser& parser,
                                                 std::string_view text);

struct JsonMember {
  std::string_view key;
  simdjson::dom::element value;
};

// The members of `object` in order, each key once (with its last value).
std::vector<JsonMember> UniqueMembers(simdjson::dom::object object);

// The last value of `key` in `object`, or nullopt when there is none.
std::optional<simdjson::dom::element> LastMember(simdjson::dom::object object,
                                                 std::string_view key);

// The type as nlohmann's type_name() names it: "object", "array", "string",
// "number", "boolean" or "null".
const char* NlohmannTypeName(simdjson::dom::element value);

}  // namespace needlecheck::adapters

#endif  // ADAPTERS_COMMON_JSON_MEMBERS_H_
