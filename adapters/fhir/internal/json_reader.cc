#include "adapters/fhir/internal/json_reader.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/calendar/fhir_date.h"

namespace needlecheck::fhir::internal {

std::string QuoteForError(absl::string_view s) {
  std::string out = "\"";
  size_t n = 0;
  for (char c : s) {
    if (++n > 60) {
      out += "...";
      break;
    }
    const unsigned char u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7f || c == '"' || c == '\\') ? '?' : c;
  }
  out += '"';
  return out;
}

std::string Printable(absl::string_view s) {
  // Fast path: short and printable (every id and type in practice).
  if (s.size() <= 60 && std::all_of(s.begin(), s.end(), [](char c) {
        const unsigned char u = static_cast<unsigned char>(c);
        return u >= 0x20 && u != 0x7f && c != '"' && c != '\\';
      })) {
    return std::string(s);
  }
  std::string q = QuoteForError(s);
  return q.substr(1, q.size() - 2);
}

std::optional<JsonElement> Member(const JsonObject& obj,
                                  absl::string_view key) {
  JsonElement e;
  if (obj.at_key(std::string_view(key.data(), key.size())).get(e) !=
      simdjson::SUCCESS) {
    return std::nullopt;
  }
  if (e.is_null()) return std::nullopt;
  return e;
}

void JsonPath::AppendTo(std::string* out) const {
  if (parent_ == nullptr) {
    out->append(text_.data(), text_.size());
    return;
  }
  parent_->AppendTo(out);
  if (!text_.empty()) absl::StrAppend(out, ".", text_);
  if (index_ != kNoIndex) absl::StrAppend(out, "[", index_, "]");
}

std::string JsonPath::ToString() const {
  std::string out;
  AppendTo(&out);
  return out;
}

std::string ResourceContext::label() const {
  if (type_.empty()) return absl::StrCat("resource at ", where_->ToString());
  if (!id_.empty()) {
    return absl::StrCat(Printable(type_), "/", Printable(id_));
  }
  return absl::StrCat(Printable(type_), " at ", where_->ToString());
}

absl::Status ResourceContext::Error(const JsonPath& path,
                                    absl::string_view what) const {
  return absl::InvalidArgumentError(
      absl::StrCat(label(), ": ", path.ToString(), ": ", what));
}

absl::Status ResourceContext::TypeError(const JsonPath& path,
                                        absl::string_view expected,
                                        const JsonElement& got) const {
  return Error(
      path, absl::StrCat("expected ", expected, ", got ", JsonTypeName(got)));
}

namespace {

// Member `key` of `obj` through `read` (true when the element has the
// wanted type; it stores the value). Absent or null: OK, nothing read.
// Another type: the context's TypeError naming `expected`.
template <typename Read>
absl::Status ReadMember(const ResourceContext& ctx, const JsonObject& obj,
                        const JsonPath& path, absl::string_view key,
                        absl::string_view expected, Read read) {
  std::optional<JsonElement> e = Member(obj, key);
  if (!e || read(*e)) return absl::OkStatus();
  return ctx.TypeError(path.Member(key), expected, *e);
}

// ReadMember for a member whose simdjson value `get` reads as is (an
// object, an array) into `*out`.
template <typename T, typename Get>
absl::Status ReadValue(const ResourceContext& ctx, const JsonObject& obj,
                       const JsonPath& path, absl::string_view key,
                       absl::string_view expected, Get get,
                       std::optional<T>* out) {
  return ReadMember(ctx, obj, path, key, expected, [&](JsonElement e) {
    T value;
    if (get(e).get(value) != simdjson::SUCCESS) return false;
    *out = value;
    return true;
  });
}

}  // namespace

absl::Status ResourceContext::String(const JsonObject& obj,
                                     const JsonPath& path,
                                     absl::string_view key,
                                     std::string* out) const {
  return ReadMember(*this, obj, path, key, "a string", [out](JsonElement e) {
    std::string_view s;
    if (e.get_string().get(s) != simdjson::SUCCESS) return false;
    out->assign(s.data(), s.size());
    return true;
  });
}

absl::Status ResourceContext::Object(const JsonObject& obj,
                                     const JsonPath& path,
                                     absl::string_view key,
                                     std::optional<JsonObject>* out) const {
  return ReadValue(
      *this, obj, path, key, "an object",
      [](JsonElement e) { return e.get_object(); }, out);
}

absl::Status ResourceContext::Array(const JsonObject& obj, const JsonPath& path,
                                    absl::string_view key,
                                    std::optional<JsonArray>* out) const {
  return ReadValue(
      *this, obj, path, key, "an array",
      [](JsonElement e) { return e.get_array(); }, out);
}

absl::Status ResourceContext::Number(const JsonObject& obj,
                                     const JsonPath& path,
                                     absl::string_view key,
                                     std::optional<double>* out) const {
  return ReadMember(*this, obj, path, key, "a number", [out](JsonElement e) {
    double d = 0;
    if (!e.is_number() || e.get_double().get(d) != simdjson::SUCCESS) {
      return false;
    }
    *out = d;
    return true;
  });
}

absl::Status ResourceContext::Date(const JsonObject& obj, const JsonPath& path,
                                   absl::string_view key,
                                   std::string* out) const {
  std::string s;
  if (absl::Status st = String(obj, path, key, &s); !st.ok()) return st;
  if (s.empty() && !Member(obj, key)) return absl::OkStatus();
  if (absl::StatusOr<FhirDate> date = ParseFhirDate(s, kFhirJsonDates);
      !date.ok()) {
    return Error(path.Member(key), date.status().message());
  }
  *out = std::move(s);
  return absl::OkStatus();
}

absl::Status ResourceContext::ConceptFromObject(
    const JsonObject& cc, const JsonPath& path,
    needlecheck::v1::Concept* out) const {
  absl::Status st = ForEachObject(
      cc, path, "coding",
      [&](const JsonObject& coding, const JsonPath& cpath) -> absl::Status {
        needlecheck::v1::Coding* c = out->add_codings();
        if (absl::Status s =
                String(coding, cpath, "system", c->mutable_system());
            !s.ok()) {
          return s;
        }
        if (absl::Status s = String(coding, cpath, "code", c->mutable_code());
            !s.ok()) {
          return s;
        }
        return String(coding, cpath, "display", c->mutable_display());
      });
  if (!st.ok()) return st;
  return String(cc, path, "text", out->mutable_text());
}

absl::Status ResourceContext::Concept(const JsonObject& obj,
                                      const JsonPath& path,
                                      absl::string_view key,
                                      needlecheck::v1::Concept* out,
                                      bool* present) const {
  if (present != nullptr) *present = false;
  std::optional<JsonObject> cc;
  if (absl::Status st = Object(obj, path, key, &cc); !st.ok()) return st;
  if (!cc) return absl::OkStatus();
  if (present != nullptr) *present = true;
  return ConceptFromObject(*cc, path.Member(key), out);
}

absl::Status ResourceContext::StatusConcept(const JsonObject& obj,
                                            const JsonPath& path,
                                            absl::string_view key,
                                            std::string* out) const {
  std::optional<JsonElement> e = Member(obj, key);
  if (!e) return absl::OkStatus();
  if (e->is_string()) {
    return Error(path.Member(key),
                 "expected a CodeableConcept object (FHIR R4), got a string "
                 "(the FHIR STU3 shape)");
  }
  needlecheck::v1::Concept c;
  if (absl::Status st = Concept(obj, path, key, &c); !st.ok()) return st;
  for (const needlecheck::v1::Coding& coding : c.codings()) {
    if (!coding.code().empty()) {
      *out = absl::AsciiStrToLower(coding.code());
      return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

absl::Status ResourceContext::ForEachObject(
    const JsonObject& obj, const JsonPath& path, absl::string_view key,
    absl::FunctionRef<absl::Status(const JsonObject&, const JsonPath&)> fn)
    const {
  std::optional<JsonArray> arr;
  if (absl::Status st = Array(obj, path, key, &arr); !st.ok()) return st;
  if (!arr) return absl::OkStatus();
  size_t i = 0;
  for (JsonElement item : *arr) {
    const JsonPath item_path = path.Element(key, i++);
    if (item.is_null()) continue;
    JsonObject o;
    if (item.get_object().get(o) != simdjson::SUCCESS) {
      return TypeError(item_path, "an object", item);
    }
    if (absl::Status st = fn(o, item_path); !st.ok()) return st;
  }
  return absl::OkStatus();
}

absl::Status ResourceContext::AnnotationTexts(
    const JsonObject& obj, const JsonPath& path, absl::string_view key,
    std::vector<std::string>* out) const {
  return ForEachObject(
      obj, path, key,
      [&](const JsonObject& note, const JsonPath& npath) -> absl::Status {
        std::string text;
        if (absl::Status st = String(note, npath, "text", &text); !st.ok()) {
          return st;
        }
        if (!text.empty()) out->push_back(std::move(text));
        return absl::OkStatus();
      });
}

absl::Status ResourceContext::Concepts(
    const JsonObject& obj, const JsonPath& path, absl::string_view key,
    std::vector<needlecheck::v1::Concept>* out) const {
  return ForEachObject(
      obj, path, key,
      [&](const JsonObject& cc, const JsonPath& cpath) -> absl::Status {
        out->emplace_back();
        return ConceptFromObject(cc, cpath, &out->back());
      });
}

absl::Status ResourceContext::Reference(const JsonObject& obj,
                                        const JsonPath& path,
                                        absl::string_view key,
                                        std::string* out) const {
  std::optional<JsonObject> ref;
  if (absl::Status st = Object(obj, path, key, &ref); !st.ok()) return st;
  if (!ref) return absl::OkStatus();
  return String(*ref, path.Member(key), "reference", out);
}

absl::Status ResourceContext::ReferenceName(const JsonObject& obj,
                                            const JsonPath& path,
                                            absl::string_view key,
                                            std::string* out) const {
  std::optional<JsonObject> ref;
  if (absl::Status st = Object(obj, path, key, &ref); !st.ok()) return st;
  if (!ref) return absl::OkStatus();
  const JsonPath ref_path = path.Member(key);
  std::string display, reference;
  if (absl::Status st = String(*ref, ref_path, "display", &display); !st.ok()) {
    return st;
  }
  if (absl::Status st = String(*ref, ref_path, "reference", &reference);
      !st.ok()) {
    return st;
  }
  *out = !display.empty() ? std::move(display) : std::move(reference);
  return absl::OkStatus();
}

}  // namespace needlecheck::fhir::internal
