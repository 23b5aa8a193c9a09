#include "adapters/fhir/fhir_extract.h"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
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

// The extract of `c`, its record built in `*record_out` (cleared first)
// when not null, else in FhirExtract::record.
absl::StatusOr<FhirExtract> Finish(Collected c, const ExtractOptions& options,
                                   v1::PatientRecord* record_out) {
  absl::StatusOr<std::optional<int32_t>> as_of_day = internal::AsOfDay(options);
  if (!as_of_day.ok()) return as_of_day.status();
  std::map<std::string, std::string> patient_by_url;
  absl::StatusOr<std::string> choice = internal::ChoosePatient(
      c.patients,
      [&c](absl::FunctionRef<void(absl::string_view)> note) {
        internal::ForEachSubject(c, note);
      },
      options, &patient_by_url);
  if (!choice.ok()) return choice.status();
  const std::string chosen = *std::move(choice);

  FhirExtract out;
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
    if (internal::BelongsToChosen(subject, chosen, patient_by_url)) {
      return true;
    }
    ++out.stats.other_patient;
    return false;
  };

  for (auto& x : c.conditions) {
    if (mine(x.subject))
      record.mutable_conditions()->AddAllocated(x.value.release());
  }
  for (auto& x : c.allergies) {
    if (!mine(x.subject)) continue;
    if (x.no_known_allergy &&
        internal::CountsAsNoKnownAllergy(x.value->verification_status())) {
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
  internal::FitzpatrickChoice fitzpatrick(*as_of_day);
  for (auto& x : c.observations) {
    if (!mine(x.subject)) {
      x.fitzpatrick = -1;  // not this patient's
      continue;
    }
    fitzpatrick.Offer(x.fitzpatrick, x.dated, x.day);
  }
  if (fitzpatrick.value() > 0) {
    record.set_fitzpatrick_skin_type(fitzpatrick.value());
  }
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

namespace internal {

std::optional<absl::string_view> ReferencedPatient(
    absl::string_view ref, const std::map<std::string, std::string>& by_url) {
  if (ref.empty()) return std::nullopt;
  if (!by_url.empty()) {
    if (auto it = by_url.find(std::string(ref)); it != by_url.end()) {
      return absl::string_view(it->second);
    }
  }
  const PatientReference parsed = ParsePatientReference(ref);
  if (parsed.form != ReferenceForm::kPatient || parsed.patient_id.empty()) {
    return std::nullopt;
  }
  return parsed.patient_id;
}

bool BelongsToChosen(absl::string_view subject, absl::string_view chosen,
                     const std::map<std::string, std::string>& by_url) {
  if (chosen.empty()) return true;
  std::optional<absl::string_view> id = ReferencedPatient(subject, by_url);
  return !id || *id == chosen;
}

absl::StatusOr<std::optional<int32_t>> AsOfDay(const ExtractOptions& options) {
  if (options.as_of_date.empty()) return std::optional<int32_t>();
  absl::StatusOr<FhirDate> d =
      ParseFhirDate(options.as_of_date, kFhirJsonDates);
  if (!d.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("ExtractOptions::as_of_date: ", d.status().message()));
  }
  return std::optional<int32_t>(d->first_day);
}

void FitzpatrickChoice::Offer(int fitzpatrick, bool dated, int32_t day) {
  if (fitzpatrick <= 0) return;
  if (dated && as_of_day_ && day > *as_of_day_) return;
  if (value_ == 0 || (dated && !dated_) || (dated == dated_ && day >= day_)) {
    value_ = fitzpatrick;
    dated_ = dated;
    day_ = day;
  }
}

bool CountsAsNoKnownAllergy(absl::string_view verification_status) {
  return verification_status != "refuted" &&
         verification_status != "entered-in-error";
}

absl::StatusOr<std::string> ChoosePatient(
    const std::vector<Collected::PatientEntry>& patients,
    absl::FunctionRef<void(absl::FunctionRef<void(absl::string_view)>)>
        for_each_subject,
    const ExtractOptions& options, std::map<std::string, std::string>* by_url) {
  // fullUrl -> Patient.id, and the distinct Patient ids in input order.
  std::vector<absl::string_view> patient_ids;
  for (const Collected::PatientEntry& p : patients) {
    if (!p.full_url.empty()) (*by_url)[p.full_url] = p.id;
    if (std::find(patient_ids.begin(), patient_ids.end(), p.id) ==
        patient_ids.end()) {
      patient_ids.push_back(p.id);
    }
  }
  if (!options.patient_id.empty()) {
    if (!patient_ids.empty() &&
        std::find(patient_ids.begin(), patient_ids.end(),
                  absl::string_view(options.patient_id)) == patient_ids.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("ExtractOptions::patient_id is not among the ",
                       patient_ids.size(), " Patient resources of the input"));
    }
    return options.patient_id;
  }
  if (patient_ids.size() == 1) return std::string(patient_ids[0]);
  if (patient_ids.size() > 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the input holds ", patient_ids.size(),
        " Patient resources; set ExtractOptions::patient_id to pick one"));
  }
  // No Patient resource: the one patient the references name, if any.
  std::set<std::string, std::less<>> named;
  for_each_subject([&](absl::string_view subject) {
    if (std::optional<absl::string_view> id =
            ReferencedPatient(subject, *by_url)) {
      named.emplace(*id);
    }
  });
  if (named.size() > 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the input's resources refer to ", named.size(),
        " different patients; set ExtractOptions::patient_id to pick one"));
  }
  return named.empty() ? std::string() : *named.begin();
}

}  // namespace internal

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
