// Typed, path-tracking reads of FHIR JSON fields on a simdjson DOM tree.
// Internal to needlecheck_fhir.
//
// Every reader treats an absent member and a JSON null the same way ("not
// given") and returns INVALID_ARGUMENT for a wrong type, naming the resource
// (ResourceContext::label, e.g. "Condition/abc") and the JSON path from the
// resource root ("$.code.coding[1].code"). Fields nobody reads are never
// looked at, so they are not validated.
#ifndef ADAPTERS_FHIR_INTERNAL_JSON_READER_H_
#define ADAPTERS_FHIR_INTERNAL_JSON_READER_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "adapters/common/json_members.h"
#include "adapters/common/json_type_name.h"
#include "needlecheck/v1/record.pb.h"
#include "simdjson.h"

namespace needlecheck::fhir::internal {

using JsonElement = simdjson::dom::element;
using JsonObject = simdjson::dom::object;
using JsonArray = simdjson::dom::array;

// "a string", "a number", ... for error messages.
using ::needlecheck::adapters::JsonTypeName;  // adapters/common

// absl::string_view of a simdjson string_view.
using ::needlecheck::adapters::ToAbsl;  // adapters/common

// Bounded, quoted, control characters replaced: for the names in error
// messages (resource type, id, prefetch key). Field values are never
// quoted: errors name the JSON path and the problem, not the value.
std::string QuoteForError(absl::string_view s);

// Bounded, printable copy of an untrusted string for a label: `s` itself
// when short and printable, else QuoteForError(s) without its quotes.
std::string Printable(absl::string_view s);

// The member `key` of `obj`, or nullopt when absent or null.
std::optional<JsonElement> Member(const JsonObject& obj, absl::string_view key);

// A JSON path ("$.code.coding[1]"), written out only when a message names
// it: each step is a small value on the caller's stack pointing to the step
// before, so reading a field that is fine costs no string. A JsonPath must
// not outlive the path it was made from, nor a root text it views.
class JsonPath {
 public:
  // A root ("$", "$.prefetch.conditions[2]"); the text must outlive the path.
  JsonPath(const char* root) : text_(root) {}  // NOLINT: literals are paths
  JsonPath(absl::string_view root) : text_(root) {}   // NOLINT
  JsonPath(const std::string& root) : text_(root) {}  // NOLINT

  // This path + "." + key.
  JsonPath Member(absl::string_view key) const {
    return JsonPath(this, key, kNoIndex);
  }
  // This path + "." + key + "[" + index + "]" (key empty: no ".key").
  JsonPath Element(absl::string_view key, size_t index) const {
    return JsonPath(this, key, index);
  }
  // The index of an Element() step (0 for others).
  size_t index() const { return index_ == kNoIndex ? 0 : index_; }

  void AppendTo(std::string* out) const;
  std::string ToString() const;

 private:
  static constexpr size_t kNoIndex = ~size_t{0};
  JsonPath(const JsonPath* parent, absl::string_view key, size_t index)
      : parent_(parent), text_(key), index_(index) {}

  const JsonPath* parent_ = nullptr;
  absl::string_view text_;  // the root, or this step's key
  size_t index_ = kNoIndex;
};

// Where we are: the resource an error is about. Its label ("Condition/abc",
// or "Condition at <where>" without an id, or "resource at <where>" before
// the type is known) is written only for a message. The views and `where`
// must outlive the context.
class ResourceContext {
 public:
  explicit ResourceContext(const JsonPath& where) : where_(&where) {}
  ResourceContext(absl::string_view type, absl::string_view id,
                  const JsonPath& where)
      : type_(type), id_(id), where_(&where) {}
  std::string label() const;

  // INVALID_ARGUMENT "<label>: <path>: <what>".
  absl::Status Error(const JsonPath& path, absl::string_view what) const;
  // "<label>: <path>: expected <expected>, got <type of got>".
  absl::Status TypeError(const JsonPath& path, absl::string_view expected,
                         const JsonElement& got) const;

  // Each reader: `path` is the path of `obj`; the member's path is
  // path.Member(key). Not given -> the output is left as is (empty).
  absl::Status String(const JsonObject& obj, const JsonPath& path,
                      absl::string_view key, std::string* out) const;
  absl::Status Object(const JsonObject& obj, const JsonPath& path,
                      absl::string_view key,
                      std::optional<JsonObject>* out) const;
  absl::Status Array(const JsonObject& obj, const JsonPath& path,
                     absl::string_view key,
                     std::optional<JsonArray>* out) const;
  absl::Status Number(const JsonObject& obj, const JsonPath& path,
                      absl::string_view key, std::optional<double>* out) const;
  // A FHIR date/dateTime/instant string, checked (grammar and calendar).
  absl::Status Date(const JsonObject& obj, const JsonPath& path,
                    absl::string_view key, std::string* out) const;
  // A CodeableConcept: every coding (system, code, display) and text.
  // `*present` (optional) says whether the member was given.
  absl::Status Concept(const JsonObject& obj, const JsonPath& path,
                       absl::string_view key, needlecheck::v1::Concept* out,
                       bool* present = nullptr) const;
  // A CodeableConcept status (R4 clinicalStatus / verificationStatus): the
  // code of the first coding that has one, lower case. A plain string (the
  // STU3 shape) is a type error that says so.
  absl::Status StatusConcept(const JsonObject& obj, const JsonPath& path,
                             absl::string_view key, std::string* out) const;
  // Calls fn(element object, its path) for every object of the array member
  // `key` (absent: no calls). Non-object elements are type errors; null
  // elements are skipped.
  absl::Status ForEachObject(
      const JsonObject& obj, const JsonPath& path, absl::string_view key,
      absl::FunctionRef<absl::Status(const JsonObject&, const JsonPath&)> fn)
      const;
  // The `text` of every Annotation in the array member `key` (note[]).
  absl::Status AnnotationTexts(const JsonObject& obj, const JsonPath& path,
                               absl::string_view key,
                               std::vector<std::string>* out) const;
  // The array member `key` of CodeableConcepts.
  absl::Status Concepts(const JsonObject& obj, const JsonPath& path,
                        absl::string_view key,
                        std::vector<needlecheck::v1::Concept>* out) const;
  // The `reference` string of the Reference member `key` (may be empty).
  absl::Status Reference(const JsonObject& obj, const JsonPath& path,
                         absl::string_view key, std::string* out) const;
  // What the Reference member `key` names for a person reading it: its
  // `display`, else its `reference` (both may be empty).
  absl::Status ReferenceName(const JsonObject& obj, const JsonPath& path,
                             absl::string_view key, std::string* out) const;

 private:
  absl::Status ConceptFromObject(const JsonObject& cc, const JsonPath& path,
                                 needlecheck::v1::Concept* out) const;
  absl::string_view type_;  // empty: not known yet
  absl::string_view id_;
  const JsonPath* where_;
};

}  // namespace needlecheck::fhir::internal

#endif  // ADAPTERS_FHIR_INTERNAL_JSON_READER_H_
