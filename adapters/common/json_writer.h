// A small JSON text writer for the adapters' answers (CDS Hooks cards,
// discovery, OperationOutcome): compact, members in the order written, no DOM.
// The output is what nlohmann::ordered_json::dump(-1, ' ', false,
// error_handler_t::replace) gives for the same values: `"` `\` and the
// control characters escaped (\b \t \n \f \r, others \u00XX in lower case),
// other characters written as UTF-8, invalid UTF-8 replaced by U+FFFD.
//
// Example:
//   JsonWriter w;
//   w.BeginObject();
//   w.Key("cards");
//   w.BeginArray();
//   w.EndArray();
//   w.EndObject();
//   std::string body = std::move(w).Text();  // {"cards":[]}
//
// JsonWriter(2) pretty-prints instead, as nlohmann's dump(2, ' ', ...):
// each member and element on its own line indented by 2 per level, ": "
// after keys, empty containers as {} and [], no trailing newline.
// Element() and Raw() values are written compact in either mode.
//
// The caller nests Begin/End correctly and writes a Key before each member
// value; the writer only places the commas (and, pretty, the line breaks).
// Not thread-safe.
#ifndef ADAPTERS_COMMON_JSON_WRITER_H_
#define ADAPTERS_COMMON_JSON_WRITER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "adapters/common/json_string.h"  // AppendJsonString: one string
#include "simdjson.h"

namespace needlecheck::adapters {

class JsonWriter {
 public:
  JsonWriter() = default;
  // indent < 0: compact; otherwise pretty with `indent` spaces per level.
  explicit JsonWriter(int indent) : indent_(indent) {}

  void BeginObject();
  void EndObject();
  void BeginArray();
  void EndArray();
  void Key(absl::string_view key);
  void String(absl::string_view value);
  void Bool(bool value);
  void Int(int64_t value);
  void Uint(uint64_t value);
  // As AppendJsonDouble below.
  void Double(double value);
  void Null();
  // A value of a parsed document, written as simdjson::minify writes it.
  void Element(const simdjson::dom::element& value);
  // A value already written as JSON text (e.g. by another JsonWriter).
  void Raw(absl::string_view json);

  std::string Text() && { return std::move(out_); }

 private:
  // A comma before a value that is not the first of its container (and not
  // a member value, which follows its key).
  void BeforeValue();

  // Pretty: a line break and the indent of the current nesting level.
  void NewLine(size_t level);
  // Closes a container with `close`.
  void End(char close);

  std::string out_;
  std::vector<bool> first_;  // per open container: nothing written yet
  bool after_key_ = false;
  int indent_ = -1;
};

// Appends `value` as nlohmann's dump writes a double: the shortest text that
// reads back to the same double (Grisu2, the algorithm and layout simdjson
// took from nlohmann), e.g. 1.0, 0.1, 1e+20, -0.0; null when not finite.
void AppendJsonDouble(double value, std::string* out);

}  // namespace needlecheck::adapters

#endif  // ADAPTERS_COMMON_JSON_WRITER_H_
