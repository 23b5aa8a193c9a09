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
// The caller nests Begin/End correctly and writes a Key before each member
// value; the writer only places the commas. Not thread-safe.
#ifndef ADAPTERS_COMMON_JSON_WRITER_H_
#define ADAPTERS_COMMON_JSON_WRITER_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "adapters/common/json_string.h"  // AppendJsonString: one string
#include "simdjson.h"

namespace needlecheck::adapters {

class JsonWriter {
 public:
  void BeginObject();
  void EndObject();
  void BeginArray();
  void EndArray();
  void Key(absl::string_view key);
  void String(absl::string_view value);
  void Bool(bool value);
  // A value of a parsed document, written as simdjson::minify writes it.
  void Element(const simdjson::dom::element& value);
  // A value already written as JSON text (e.g. by another JsonWriter).
  void Raw(absl::string_view json);

  std::string Text() && { return std::move(out_); }

 private:
  // A comma before a value that is not the first of its container (and not
  // a member value, which follows its key).
  void BeforeValue();

  std::string out_;
  std::vector<bool> first_;  // per open container: nothing written yet
  bool after_key_ = false;
};

}  // namespace needlecheck::adapters

#endif  // ADAPTERS_COMMON_JSON_WRITER_H_
