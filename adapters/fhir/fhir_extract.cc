#include "adapters/fhir/fhir_extract.h"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "adapters/fhir/internal/collector.h"
#include "adapters/fhir/patient_reference.h"
#include "common/calendar/fhir_date.h"
#include "common/status/status_macros.h"
#include "simdjson.h"

namespace needlecheck::fhir {
namespace {

namespace v1 = ::needlecheck::v1;
using internal::Collected;

// The Patient id a reference names: the fullUrl of a Patient entry, else
// by the one patient-reference rule (patient_reference.h) that the batch
// router uses too. nullopt when it names no patient we can tell (another
// resource type, a contained "#ref", an unknown urn:uuid).
std::optional<std::string> ReferencedPatient(
    absl::string_view ref, const std::map<std::string, std::string>& by_url) {
  if (ref.empty()) return std::nullopt;
  if (auto it = by_url.find(std::string(ref)); it != by_url.end()) {
    return it->second;
  }
  const PatientReference parsed = ParsePatientReference(ref);
  if (parsed.form != ReferenceForm::kPatient || parsed.patient_id.empty()) {
    return std::nullopt;
  }
  return std::string(parsed.patient_id);
}

// The extract of `c`, its record built in `*record_out` (cleared first)
// when not null, else in FhirExtract::record.
absl::StatusOr<FhirExtract> Finish(Collected c, const ExtractOptions& options,
                                   v1::PatientRecord* record_out) {
  std::optional<int32_t> as_of_day;
  if (!options.as_of_date.empty()) {
    absl::StatusOr<FhirDate> d =
        ParseFhirDate(options.as_of_date, kFhirJsonDates);
    if (!d.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("ExtractOptions::as_of_date: ", d.status().message()));
    }
    as_of_day = d->first_day;
  }

  // fullUrl -> Patient.id, and the distinct Patient ids in input order.
  std::map<std::string, std::string> patient_by_url;
  std::vector<std::string> patient_ids;
  for (const Collected::PatientEntry& p : c.patients) {
    if (!p.full_url.empty()) patient_by_url[p.full_url] = p.id;
    if (std::find(patient_ids.begin(), patient_ids.end(), p.id) ==
        patient_ids.end()) {
      patient_ids.push_back(p.id);
    }
  }

  FhirExtract out;
  std::string chosen;
  if (!options.patient_id.empty()) {
    chosen = options.patient_id;
    if (!patient_ids.empty() &&
        std::find(patient_ids.begin(), patient_ids.end(), chosen) ==
            patient_ids.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("ExtractOptions::patient_id is not among the ",
                       patient_ids.size(), " Patient resources of the input"));
    }
  } else if (patient_ids.size() == 1) {
    chosen = patient_ids[0];
  } else if (patient_ids.size() > 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the input holds ", patient_ids.size(),
        " Patient resources; set ExtractOptions::patient_id to pick one"));
  } else {
    // No Patient resource: the one patient the references name, if any.
    std::set<std::string> named;
    auto note = [&](const std::string& subject) {
      if (auto id = ReferencedPatient(subject, patient_by_url)) {
        named.insert(*id);
      }
    };
    for (const auto& x : c.conditions) note(x.subject);
    for (const auto& x : c.allergies) note(x.subject);
    for (const auto& x : c.medications) note(x.subject);
    for (const auto& x : c.procedures) note(x.subject);
    for (const auto& x : c.observations) note(x.subject);
    for (const auto& x : c.orders) note(x.subject);
    if (named.size() > 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the input's resources refer to ", named.size(),
          " different patients; set ExtractOptions::patient_id to pick one"));
    }
    if (named.size() == 1) chosen = *named.begin();
  }

  v1::PatientRecord& record = record_out != nullptr ? *record_out : out.record;
  record.Clear();
  record.set_patient_id(chosen);
  for (const Collected::PatientEntry& p : c.patients) {
    if (p.id == chosen && !p.birth_date.empty()) {
      record.set_birth_date(p.birth_date);
      break;
    }
  }
  out.stats = std::move(c.stats);
  // Resources of another patient are left out.
  auto mine = [&](const std::string& subject) {
    if (chosen.empty()) return true;
    std::optional<std::string> id = ReferencedPatient(subject, patient_by_url);
    if (!id || *id == chosen) return true;
    ++out.stats.other_patient;
    return false;
  };

  for (auto& x : c.conditions) {
    if (mine(x.subject))
      record.mutable_conditions()->AddAllocated(x.value.release());
  }
  for (auto& x : c.allergies) {
    if (!mine(x.subject)) continue;
    const std::string& vs = x.value->verification_status();
    if (x.no_known_allergy && vs != "refuted" && vs != "entered-in-error") {
      record.set_no_known_allergies(true);
    }
    record.mutable_allergies()->AddAllocated(x.value.release());
  }
  for (auto& x : c.medications) {
    if (mine(x.subject))
      record.mutable_medications()->AddAllocated(x.value.release());
  }
  for (auto& x : c.procedures) {
    if (mine(x.subject))
      record.mutable_procedures()->AddAllocated(x.value.release());
  }
  // Fitzpatrick: the latest clear value on or before as_of_date; undated
  // values count only when no dated one does.
  const Collected::ObservationItem* best = nullptr;
  for (auto& x : c.observations) {
    if (!mine(x.subject)) {
      x.fitzpatrick = -1;  // not this patient's
      continue;
    }
    if (x.fitzpatrick <= 0) continue;
    if (x.dated && as_of_day && x.day > *as_of_day) continue;
    if (best == nullptr || (x.dated && !best->dated) ||
        (x.dated == best->dated && x.day >= best->day)) {
      best = &x;
    }
  }
  if (best != nullptr) record.set_fitzpatrick_skin_type(best->fitzpatrick);
  for (auto& x : c.observations) {
    if (x.fitzpatrick >= 0)
      record.mutable_observations()->AddAllocated(x.value.release());
  }

  // Planned-session candidates (outside a hook context: drafts only).
  for (auto& o : c.orders) {
    if (!mine(o.subject)) continue;
    const bool planned = (o.type == "ServiceRequest" && o.status == "draft") ||
                         (o.type == "Procedure" && o.status == "preparation");
    if (!planned) continue;
    PlannedArea pa;
    pa.source = std::move(o.source);
    pa.date = std::move(o.date);
    pa.areas = std::move(o.areas);
    out.planned.areas.push_back(std::move(pa));
  }
  for (auto& a : c.anesthetics) {
    if (!mine(a.subject) || a.status != "draft") continue;
    out.planned.anesthetics.push_back(
        PlannedAnesthetic{std::move(a.source), std::move(a.concept)});
  }
  out.planned.appointments = std::move(c.appointments);
  return out;
}

internal::Limits LimitsOf(const ExtractOptions& options, size_t used) {
  internal::Limits limits;
  limits.max_input_bytes = options.max_input_bytes;
  limits.max_depth = options.max_depth;
  limits.max_resources =
      options.max_resources > used ? options.max_resources - used : 0;
  return limits;
}

}  // namespace

class FhirRecordBuilder::Impl {
 public:
  explicit Impl(ExtractOptions options) : options_(std::move(options)) {}

  absl::Status Add(absl::string_view json, internal::DocumentShape shape) {
    Collected one;
    one.arena = options_.arena;
    RETURN_IF_ERROR(internal::CollectDocument(
        json, shape,
        LimitsOf(options_, static_cast<size_t>(all_.stats.resources)), &parser_,
        &one));
    all_.MergeFrom(std::move(one));
    return absl::OkStatus();
  }

  absl::Status Add(const JsonDocument& document) {
    RETURN_IF_ERROR(document.status());
    Collected one;
    one.arena = options_.arena;
    RETURN_IF_ERROR(internal::CollectParsed(
        document.root(), internal::DocumentShape::kAny,
        LimitsOf(options_, static_cast<size_t>(all_.stats.resources)), &one));
    all_.MergeFrom(std::move(one));
    return absl::OkStatus();
  }

  absl::Status AddFragment(absl::string_view fragment) {
    // Straight into the builder's lists (no per-resource Collected).
    return internal::AddFragmentTo(
        fragment,
        LimitsOf(options_, static_cast<size_t>(all_.stats.resources))
            .max_resources,
        &all_);
  }

  absl::StatusOr<FhirExtract> Finish(v1::PatientRecord* record) {
    Collected c = std::move(all_);
    all_.Clear();
    return fhir::Finish(std::move(c), options_, record);
  }

  void Restart(ExtractOptions options) {
    options_ = std::move(options);
    all_.Clear();
  }

 private:
  ExtractOptions options_;
  simdjson::dom::parser parser_;
  Collected all_;
};

FhirRecordBuilder::FhirRecordBuilder(ExtractOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
FhirRecordBuilder::~FhirRecordBuilder() = default;
FhirRecordBuilder::FhirRecordBuilder(FhirRecordBuilder&&) noexcept = default;
FhirRecordBuilder& FhirRecordBuilder::operator=(FhirRecordBuilder&&) noexcept =
    default;

absl::Status FhirRecordBuilder::AddJson(absl::string_view json) {
  return impl_->Add(json, internal::DocumentShape::kAny);
}

absl::Status FhirRecordBuilder::AddDocument(const JsonDocument& document) {
  return impl_->Add(document);
}

absl::Status FhirRecordBuilder::AddNdjsonLine(absl::string_view line) {
  return impl_->Add(line, internal::DocumentShape::kNdjsonLine);
}

absl::Status FhirRecordBuilder::AddFragment(absl::string_view fragment) {
  return impl_->AddFragment(fragment);
}

absl::Status FhirRecordBuilder::AddNdjson(absl::string_view ndjson) {
  size_t line_no = 0;
  for (absl::string_view line : absl::StrSplit(ndjson, '\n')) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    absl::Status st = AddNdjsonLine(line);
    if (!st.ok()) {
      return absl::Status(st.code(),
                          absl::StrCat("line ", line_no, ": ", st.message()));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<FhirExtract> FhirRecordBuilder::Finish() {
  return impl_->Finish(nullptr);
}

absl::StatusOr<FhirExtract> FhirRecordBuilder::Finish(
    v1::PatientRecord* record) {
  return impl_->Finish(record);
}

void FhirRecordBuilder::Restart(ExtractOptions options) {
  impl_->Restart(std::move(options));
}

absl::StatusOr<FhirExtract> ExtractFromJson(absl::string_view json,
                                            const ExtractOptions& options) {
  FhirRecordBuilder builder(options);
  RETURN_IF_ERROR(builder.AddJson(json));
  return builder.Finish();
}

absl::StatusOr<FhirExtract> ExtractFromNdjsonLine(
    absl::string_view line, const ExtractOptions& options) {
  FhirRecordBuilder builder(options);
  RETURN_IF_ERROR(builder.AddNdjsonLine(line));
  return builder.Finish();
}

}  // namespace needlecheck::fhir
