#include "adapters/common/json_writer.h"

#include <charconv>
#include <cmath>

#include "adapters/common/json_string.h"

namespace needlecheck::adapters {

void JsonWriter::BeforeValue() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!first_.empty()) {
    if (!first_.back()) out_.push_back(',');
    first_.back() = false;
    if (indent_ >= 0) NewLine(first_.size());
  }
}

void JsonWriter::NewLine(size_t level) {
  out_.push_back('\n');
  out_.append(level * static_cast<size_t>(indent_), ' ');
}

void JsonWriter::End(char close) {
  const bool empty = first_.back();
  first_.pop_back();
  if (indent_ >= 0 && !empty) NewLine(first_.size());
  out_.push_back(close);
}

void JsonWriter::BeginObject() {
  BeforeValue();
  out_.push_back('{');
  first_.push_back(true);
}

void JsonWriter::EndObject() { End('}'); }

void JsonWriter::BeginArray() {
  BeforeValue();
  out_.push_back('[');
  first_.push_back(true);
}

void JsonWriter::EndArray() { End(']'); }

void JsonWriter::Key(absl::string_view key) {
  BeforeValue();
  AppendJsonString(key, &out_);
  out_.push_back(':');
  if (indent_ >= 0) out_.push_back(' ');
  after_key_ = true;
}

void JsonWriter::String(absl::string_view value) {
  BeforeValue();
  AppendJsonString(value, &out_);
}

void JsonWriter::Bool(bool value) {
  BeforeValue();
  out_.append(value ? "true" : "false");
}

void JsonWriter::Int(int64_t value) {
  BeforeValue();
  char buffer[24];
  out_.append(buffer, std::to_chars(buffer, buffer + sizeof buffer, value).ptr);
}

void JsonWriter::Uint(uint64_t value) {
  BeforeValue();
  char buffer[24];
  out_.append(buffer, std::to_chars(buffer, buffer + sizeof buffer, value).ptr);
}

void JsonWriter::Double(double value) {
  BeforeValue();
  AppendJsonDouble(value, &out_);
}

void AppendJsonDouble(double value, std::string* out) {
  if (!std::isfinite(value)) {
    out->append("null");
    return;
  }
  char buffer[64];
  const char* end =
      simdjson::internal::to_chars(buffer, buffer + sizeof buffer, value);
  out->append(buffer, static_cast<size_t>(end - buffer));
}

void JsonWriter::Null() {
  BeforeValue();
  out_.append("null");
}

void JsonWriter::Raw(absl::string_view json) {
  BeforeValue();
  out_.append(json.data(), json.size());
}

void JsonWriter::Element(const simdjson::dom::element& value) {
  BeforeValue();
  out_.append(simdjson::minify(value));
}

}  // namespace needlecheck::adapters
