#include "adapters/batch/export/resource_route.h"

#include <algorithm>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "adapters/batch/export/internal/route_object.h"
#include "adapters/batch/export/line_reader.h"
#include "adapters/common/json_members.h"
#include "adapters/common/json_type_name.h"
#include "adapters/fhir/patient_reference.h"
#include "adapters/fhir/resource_fragment.h"
#include "simdjson.h"

namespace needlecheck::batch {

static_assert(NdjsonLineReader::kPadding >= simdjson::SIMDJSON_PADDING,
              "the line reader must pad its lines for simdjson");

namespace {

using adapters::ToAbsl;
using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

using fhir::IsResourceTypeName;

// The patient members, in priority order.
constexpr const char* kPatientFields[] = {"subject", "patient", "beneficiary",
                                          "individual"};
constexpr int kNumPatientFields = 4;

// Reads one reference string into out->patient_id / out->link, by the
// FHIR adapter's rule (patient_reference.h), so that the extractor reads
// the same patient from it. Errors only for a Patient reference with an
// invalid id.
absl::Status ParseReference(absl::string_view ref, const char* field,
                            const UrnPatientMap* urns, RouteResult* out) {
  out->field = field;
  out->patient_id.clear();
  const fhir::PatientReference parsed = fhir::ParsePatientReference(ref);
  switch (parsed.form) {
    case fhir::ReferenceForm::kContained:
      out->link = PatientLink::kContained;
      return absl::OkStatus();
    case fhir::ReferenceForm::kUrn:
      if (urns != nullptr) {
        auto it = urns->find(ref);
        if (it != urns->end()) {
          out->patient_id = it->second;
          out->link = PatientLink::kUrn;
          return absl::OkStatus();
        }
      }
      out->link = PatientLink::kUnresolvedUrn;
      return absl::OkStatus();
    case fhir::ReferenceForm::kOtherType:
      out->link = PatientLink::kOtherType;
      return absl::OkStatus();
    case fhir::ReferenceForm::kUnrecognized:
      out->link = PatientLink::kUnrecognized;
      return absl::OkStatus();
    case fhir::ReferenceForm::kPatient:
      break;
  }
  if (!IsFhirId(parsed.patient_id)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".reference names a Patient with an invalid id"));
  }
  out->patient_id.assign(parsed.patient_id.data(), parsed.patient_id.size());
  out->link = PatientLink::kReference;
  return absl::OkStatus();
}

// One Reference object (the value of a patient member).
absl::Status RouteReferenceObject(const object& ref_obj, const char* field,
                                  const UrnPatientMap* urns, RouteResult* out) {
  element reference;
  if (ref_obj["reference"].get(reference) != simdjson::SUCCESS ||
      reference.is_null()) {
    out->field = field;
    out->patient_id.clear();
    out->link = PatientLink::kNoReference;
    return absl::OkStatus();
  }
  std::string_view ref;
  if (reference.get_string().get(ref) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".reference is not a string"));
  }
  return ParseReference(ToAbsl(ref), field, urns, out);
}

// A patient member: a Reference, or an array of them (the first naming a
// Patient wins; otherwise the first element's result).
absl::Status RoutePatientMember(const element& value, const char* field,
                                const UrnPatientMap* urns, RouteResult* out) {
  object obj;
  if (value.get_object().get(obj) == simdjson::SUCCESS) {
    return RouteReferenceObject(obj, field, urns, out);
  }
  array arr;
  if (value.get_array().get(arr) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError(absl::StrCat(field, " is not an object"));
  }
  bool first = true;
  RouteResult first_result;
  for (element item : arr) {
    object item_obj;
    if (item.get_object().get(item_obj) != simdjson::SUCCESS) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, "[] is not an object"));
    }
    RouteResult r;
    if (absl::Status s = RouteReferenceObject(item_obj, field, urns, &r);
        !s.ok()) {
      return s;
    }
    if (!r.patient_id.empty()) {
      out->patient_id = std::move(r.patient_id);
      out->link = r.link;
      out->field = r.field;
      return absl::OkStatus();
    }
    if (first) {
      first_result = std::move(r);
      first = false;
    }
  }
  out->patient_id.clear();
  out->field = field;
  out->link = first ? PatientLink::kNoReference : first_result.link;
  return absl::OkStatus();
}

// Appointment.participant[].actor: the first actor naming a Patient.
// Lenient (an extension of the documented members): odd shapes are ignored.
void RouteAppointment(const element& participants, const UrnPatientMap* urns,
                      RouteResult* out) {
  array arr;
  if (participants.get_array().get(arr) != simdjson::SUCCESS) return;
  for (element p : arr) {
    element actor;
    if (p["actor"].get(actor) != simdjson::SUCCESS) continue;
    object actor_obj;
    if (actor.get_object().get(actor_obj) != simdjson::SUCCESS) continue;
    RouteResult r;
    if (!RouteReferenceObject(actor_obj, "participant.actor", urns, &r).ok()) {
      continue;
    }
    if (!r.patient_id.empty()) {
      out->patient_id = std::move(r.patient_id);
      out->link = r.link;
      out->field = "participant.actor";
      return;
    }
  }
}

}  // namespace

namespace internal {

const char* SimdjsonErrorName(simdjson::error_code error) {
  switch (error) {
    case simdjson::SUCCESS:
      return "SUCCESS";
    case simdjson::CAPACITY:
      return "CAPACITY";
    case simdjson::MEMALLOC:
      return "MEMALLOC";
    case simdjson::TAPE_ERROR:
      return "TAPE_ERROR";
    case simdjson::DEPTH_ERROR:
      return "DEPTH_ERROR";
    case simdjson::STRING_ERROR:
      return "STRING_ERROR";
    case simdjson::T_ATOM_ERROR:
      return "T_ATOM_ERROR";
    case simdjson::F_ATOM_ERROR:
      return "F_ATOM_ERROR";
    case simdjson::N_ATOM_ERROR:
      return "N_ATOM_ERROR";
    case simdjson::NUMBER_ERROR:
      return "NUMBER_ERROR";
    case simdjson::UTF8_ERROR:
      return "UTF8_ERROR";
    case simdjson::UNINITIALIZED:
      return "UNINITIALIZED";
    case simdjson::EMPTY:
      return "EMPTY";
    case simdjson::UNESCAPED_CHARS:
      return "UNESCAPED_CHARS";
    case simdjson::UNCLOSED_STRING:
      return "UNCLOSED_STRING";
    case simdjson::UNSUPPORTED_ARCHITECTURE:
      return "UNSUPPORTED_ARCHITECTURE";
    case simdjson::INCORRECT_TYPE:
      return "INCORRECT_TYPE";
    case simdjson::NUMBER_OUT_OF_RANGE:
      return "NUMBER_OUT_OF_RANGE";
    case simdjson::INDEX_OUT_OF_BOUNDS:
      return "INDEX_OUT_OF_BOUNDS";
    case simdjson::NO_SUCH_FIELD:
      return "NO_SUCH_FIELD";
    case simdjson::IO_ERROR:
      return "IO_ERROR";
    case simdjson::INVALID_JSON_POINTER:
      return "INVALID_JSON_POINTER";
    case simdjson::INVALID_URI_FRAGMENT:
      return "INVALID_URI_FRAGMENT";
    case simdjson::UNEXPECTED_ERROR:
      return "UNEXPECTED_ERROR";
    case simdjson::PARSER_IN_USE:
      return "PARSER_IN_USE";
    case simdjson::OUT_OF_ORDER_ITERATION:
      return "OUT_OF_ORDER_ITERATION";
    case simdjson::INSUFFICIENT_PADDING:
      return "INSUFFICIENT_PADDING";
    case simdjson::INCOMPLETE_ARRAY_OR_OBJECT:
      return "INCOMPLETE_ARRAY_OR_OBJECT";
    case simdjson::SCALAR_DOCUMENT_AS_VALUE:
      return "SCALAR_DOCUMENT_AS_VALUE";
    case simdjson::OUT_OF_BOUNDS:
      return "OUT_OF_BOUNDS";
    case simdjson::TRAILING_CONTENT:
      return "TRAILING_CONTENT";
    default:
      return "UNKNOWN_ERROR";
  }
}

absl::Status ParseJson(simdjson::dom::parser* parser, absl::string_view json,
                       bool padded, size_t max_bytes, size_t max_depth,
                       simdjson::dom::element* root) {
  if (json.size() > max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("larger than ", max_bytes, " bytes"));
  }
  bool blank = true;
  for (char c : json) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
      blank = false;
      break;
    }
  }
  if (blank) return absl::InvalidArgumentError("empty (no JSON)");
  // At least a page, so that small lines never reallocate.
  const size_t capacity = std::max<size_t>(json.size(), 4096);
  if (parser->capacity() < capacity || parser->max_depth() != max_depth) {
    // Grow geometrically: a file of slowly growing lines reallocates
    // O(log n) times, not once per line.
    const size_t grown =
        std::max(capacity, std::min(max_bytes, parser->capacity() * 2));
    if (simdjson::error_code e = parser->allocate(grown, max_depth);
        e != simdjson::SUCCESS) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "cannot allocate the JSON parser (", SimdjsonErrorName(e), ")"));
    }
  }
  const simdjson::error_code e =
      parser->parse(json.data(), json.size(), /*realloc_if_needed=*/!padded)
          .get(*root);
  if (e == simdjson::DEPTH_ERROR) {
    return absl::InvalidArgumentError(
        absl::StrCat("nesting deeper than ", max_depth, " levels"));
  }
  if (e == simdjson::MEMALLOC) {
    return absl::ResourceExhaustedError("out of memory parsing JSON");
  }
  if (e != simdjson::SUCCESS) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed JSON (", SimdjsonErrorName(e), ")"));
  }
  return absl::OkStatus();
}

absl::Status RouteElement(const simdjson::dom::element& root,
                          const UrnPatientMap* urns, RouteResult* out) {
  object obj;
  if (root.get_object().get(obj) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError(absl::StrCat(
        "top level is not an object (", adapters::JsonTypeName(root), ")"));
  }
  // One pass over the members; the first occurrence of a key counts.
  bool have_type = false;
  element type_value;
  bool have_id = false;
  element id_value;
  element fields[kNumPatientFields];
  bool have_field[kNumPatientFields] = {false, false, false, false};
  bool have_participant = false;
  element participant;
  for (const simdjson::dom::key_value_pair kv : obj) {
    const std::string_view key = kv.key;
    if (key == "resourceType") {
      if (!have_type) type_value = kv.value;
      have_type = true;
    } else if (key == "id") {
      if (!have_id) id_value = kv.value;
      have_id = true;
    } else if (key == "participant") {
      if (!have_participant) participant = kv.value;
      have_participant = true;
    } else {
      for (int i = 0; i < kNumPatientFields; ++i) {
        if (!have_field[i] && key == kPatientFields[i]) {
          fields[i] = kv.value;
          have_field[i] = true;
        }
      }
    }
  }
  if (!have_type) return absl::InvalidArgumentError("no resourceType");
  std::string_view type;
  if (type_value.get_string().get(type) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("resourceType is not a string");
  }
  if (!IsResourceTypeName(ToAbsl(type))) {
    return absl::InvalidArgumentError(
        "resourceType is not a resource type name");
  }
  out->resource_type.assign(type.data(), type.size());
  out->id.clear();
  if (have_id && !id_value.is_null()) {
    std::string_view id;
    if (id_value.get_string().get(id) != simdjson::SUCCESS) {
      return absl::InvalidArgumentError("id is not a string");
    }
    if (!IsFhirId(ToAbsl(id))) {
      return absl::InvalidArgumentError("id is not a valid FHIR id");
    }
    out->id.assign(id.data(), id.size());
  }
  out->patient_id.clear();
  out->link = PatientLink::kNone;
  out->field = "";
  if (out->resource_type == "Patient") {
    if (out->id.empty())
      return absl::InvalidArgumentError("Patient without id");
    out->patient_id = out->id;
    out->link = PatientLink::kSelf;
    out->field = "id";
    return absl::OkStatus();
  }
  for (int i = 0; i < kNumPatientFields; ++i) {
    if (have_field[i] && !fields[i].is_null()) {
      return RoutePatientMember(fields[i], kPatientFields[i], urns, out);
    }
  }
  if (have_participant && out->resource_type == "Appointment") {
    RouteAppointment(participant, urns, out);
  }
  return absl::OkStatus();
}

}  // namespace internal

const char* PatientLinkName(PatientLink link) {
  switch (link) {
    case PatientLink::kSelf:
      return "self";
    case PatientLink::kReference:
      return "reference";
    case PatientLink::kUrn:
      return "urn";
    case PatientLink::kNone:
      return "none";
    case PatientLink::kNoReference:
      return "no-reference";
    case PatientLink::kOtherType:
      return "other-type";
    case PatientLink::kContained:
      return "contained";
    case PatientLink::kUnresolvedUrn:
      return "unresolved-urn";
    case PatientLink::kUnrecognized:
      return "unrecognized";
  }
  return "unknown";
}

class ResourceRouter::Impl {
 public:
  explicit Impl(const RouteOptions& options) : options_(options) {}

  absl::Status Route(absl::string_view json, bool padded,
                     const UrnPatientMap* urns, RouteResult* out) {
    ++parses_;
    if (absl::Status s =
            internal::ParseJson(&parser_, json, padded, options_.max_bytes,
                                options_.max_depth, &root_);
        !s.ok()) {
      return s;
    }
    return internal::RouteElement(root_, urns, out);
  }

  int64_t parses() const { return parses_; }

  void MapRouted(std::string* fragment) const {
    fhir::MapResourceFragment(root_, fragment);
  }

 private:
  RouteOptions options_;
  simdjson::dom::parser parser_;
  element root_;  // of the last parse
  int64_t parses_ = 0;
};

ResourceRouter::ResourceRouter(const RouteOptions& options)
    : impl_(std::make_unique<Impl>(options)) {}
ResourceRouter::~ResourceRouter() = default;
ResourceRouter::ResourceRouter(ResourceRouter&&) noexcept = default;
ResourceRouter& ResourceRouter::operator=(ResourceRouter&&) noexcept = default;

absl::Status ResourceRouter::Route(absl::string_view json, RouteResult* out,
                                   const UrnPatientMap* urns) {
  return impl_->Route(json, /*padded=*/false, urns, out);
}

absl::Status ResourceRouter::RoutePadded(absl::string_view json,
                                         RouteResult* out,
                                         const UrnPatientMap* urns) {
  return impl_->Route(json, /*padded=*/true, urns, out);
}

void ResourceRouter::MapRouted(std::string* fragment) const {
  impl_->MapRouted(fragment);
}

int64_t ResourceRouter::parses() const { return impl_->parses(); }

absl::StatusOr<RouteResult> RouteResource(absl::string_view json,
                                          const RouteOptions& options,
                                          const UrnPatientMap* urns) {
  ResourceRouter router(options);
  RouteResult result;
  if (absl::Status s = router.Route(json, &result, urns); !s.ok()) return s;
  return result;
}

}  // namespace needlecheck::batch
