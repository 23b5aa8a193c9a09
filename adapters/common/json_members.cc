#include "adapters/common/json_members.h"

#include <unordered_map>

namespace needlecheck::adapters {

simdjson::simdjson_result<simdjson::dom::element> ParseJson(
    simdjson::dom::parser& parser, std::string_view text) {
  constexpr std::string_view kBom = "\xEF\xBB\xBF";
  if (text.substr(0, kBom.size()) == kBom) text.remove_prefix(kBom.size());
  return parser.parse(text.data(), text.size());
}

std::optional<simdjson::dom::object> ParseObject(simdjson::dom::parser& parser,
                                                 std::string_view text) {
  simdjson::dom::element root;
  simdjson::dom::object object;
  if (ParseJson(parser, text).get(root) != simdjson::SUCCESS ||
      root.get_object().get(object) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  return object;
}

std::vector<JsonMember> UniqueMembers(simdjson::dom::object object) {
  std::vector<JsonMember> members;
  std::unordered_map<std::string_view, size_t> index;
  for (simdjson::dom::key_value_pair field : object) {
    auto [it, added] = index.emplace(field.key, members.size());
    if (added) {
      members.push_back({field.key, field.value});
    } else {
      members[it->second].value = field.value;
    }
  }
  return members;
}

std::optional<simdjson::dom::element> LastMember(simdjson::dom::object object,
                                                 std::string_view key) {
  std::optional<simdjson::dom::element> found;
  for (simdjson::dom::key_value_pair field : object) {
    if (field.key == key) found = field.value;
  }
  return found;
}

const char* NlohmannTypeName(simdjson::dom::element value) {
  switch (value.type()) {
    case simdjson::dom::element_type::ARRAY:
      return "array";
    case simdjson::dom::element_type::OBJECT:
      return "object";
    case simdjson::dom::element_type::INT64:
    case simdjson::dom::element_type::UINT64:
    case simdjson::dom::element_type::DOUBLE:
      return "number";
    case simdjson::dom::element_type::STRING:
      return "string";
    case simdjson::dom::element_type::BOOL:
      return "boolean";
    case simdjson::dom::element_type::NULL_VALUE:
      return "null";
  }
  return "null";
}

}  // namespace needlecheck::adapters
