#include "adapters/fhir/internal/collector.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "adapters/fhir/internal/json_reader.h"
#include "adapters/fhir/vocabulary.h"
#include "common/calendar/fhir_date.h"
#include "common/status/status_macros.h"

namespace needlecheck::fhir::internal {
namespace {

namespace v1 = ::needlecheck::v1;

template <typename T>
void Append(std::vector<T>* to, std::vector<T>* from) {
  to->insert(to->end(), std::make_move_iterator(from->begin()),
             std::make_move_iterator(from->end()));
}

// Every text of a CodeableConcept, one entry each: its text, then each
// coding display not equal to one already taken.
void AddConceptTexts(const v1::Concept& c,
                     google::protobuf::RepeatedPtrField<std::string>* out) {
  std::vector<std::string> seen;
  auto add = [&](const std::string& s) {
    if (s.empty()) return;
    for (const std::string& t : seen) {
      if (t == s) return;
    }
    seen.push_back(s);
    *out->Add() = s;
  };
  add(c.text());
  for (const v1::Coding& coding : c.codings()) add(coding.display());
}

std::string FormatNumber(double d) {
  if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15) {
    return absl::StrFormat("%.0f", d);
  }
  return absl::StrFormat("%g", d);
}

// Deeper than this is a data error, not a microneedling depth (devices go to
// about 3.5 mm; the engine checks the planned range itself).
constexpr double kMaxNeedleDepthMm = 100;

// Reads the needle depth of a Procedure or ServiceRequest: the extension
// first, else the first of `texts` that states one. 0: not stated.
absl::Status ReadNeedleDepth(const ResourceContext& ctx, const JsonObject& res,
                             const std::vector<std::string>& texts,
                             double* depth_mm) {
  *depth_mm = 0;
  bool found = false;
  RETURN_IF_ERROR(ctx.ForEachObject(
      res, "$", "extension",
      [&](const JsonObject& ext, const JsonPath& path) -> absl::Status {
        std::string url;
        RETURN_IF_ERROR(ctx.String(ext, path, "url", &url));
        if (url != kNeedleDepthExtensionUrl || found) return absl::OkStatus();
        std::optional<JsonObject> q;
        RETURN_IF_ERROR(ctx.Object(ext, path, "valueQuantity", &q));
        if (!q) {
          return ctx.Error(path,
                           "the needle-depth extension needs a valueQuantity");
        }
        const JsonPath qpath = path.Member("valueQuantity");
        std::optional<double> value;
        RETURN_IF_ERROR(ctx.Number(*q, qpath, "value", &value));
        if (!value) return ctx.Error(qpath, "the needle depth has no value");
        if (!std::isfinite(*value) || *value <= 0) {
          return ctx.Error(qpath.Member("value"),
                           "the needle depth must be greater than 0");
        }
        std::string code, unit;
        RETURN_IF_ERROR(ctx.String(*q, qpath, "code", &code));
        RETURN_IF_ERROR(ctx.String(*q, qpath, "unit", &unit));
        const bool use_code = !code.empty();
        std::optional<double> per = MillimetresPerUnit(use_code ? code : unit);
        if (!per) {
          return ctx.Error(qpath.Member(use_code ? "code" : "unit"),
                           "the unit is not a needle-depth unit (mm, cm or "
                           "um)");
        }
        const double mm = *value * *per;
        if (!std::isfinite(mm) || mm > kMaxNeedleDepthMm) {
          return ctx.Error(qpath.Member("value"),
                           absl::StrCat("the needle depth is not plausible "
                                        "(at most ",
                                        kMaxNeedleDepthMm, " mm)"));
        }
        *depth_mm = mm;
        found = true;
        return absl::OkStatus();
      }));
  if (found) return absl::OkStatus();
  for (const std::string& t : texts) {
    if (std::optional<double> d = NeedleDepthFromText(t)) {
      *depth_mm = *d;
      return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

// One AreaPlan per area the bodySites name; one UNSPECIFIED if none.
std::vector<v1::AreaPlan> AreaPlans(const std::vector<v1::Concept>& sites,
                                    double depth_mm) {
  std::vector<v1::AreaPlan> plans;
  auto add = [&](v1::TreatmentArea a) {
    for (const v1::AreaPlan& p : plans) {
      if (p.area() == a) return;
    }
    v1::AreaPlan p;
    p.set_area(a);
    p.set_needle_depth_mm(depth_mm);
    plans.push_back(std::move(p));
  };
  for (const v1::Concept& site : sites) {
    for (v1::TreatmentArea a : AreasFromBodySite(site)) add(a);
  }
  if (plans.empty()) add(v1::TREATMENT_AREA_UNSPECIFIED);
  return plans;
}

// A MedicationAdministration.status (FHIR R4: in-progress, not-done,
// on-hold, completed, entered-in-error, stopped, unknown) as a Medication
// status (record.proto), so that the engine reads it as it reads a
// MedicationStatement: "not-done" (never given) becomes "not-taken", which
// no rule counts, like "entered-in-error"; "in-progress" becomes "active";
// the others are the same code in both. An unknown code is kept as sent.
std::string AdministrationStatus(const std::string& status) {
  if (status == "not-done") return "not-taken";
  if (status == "in-progress") return "active";
  return status;
}

class ResourceMapper {
 public:
  ResourceMapper(const ResourceContext& ctx, const JsonObject& res,
                 Collected* out)
      : ctx_(ctx), res_(res), out_(out) {}

  absl::Status Patient(absl::string_view id, absl::string_view full_url) {
    Collected::PatientEntry p;
    p.id = std::string(id);
    p.full_url = std::string(full_url);
    RETURN_IF_ERROR(ctx_.Date(res_, "$", "birthDate", &p.birth_date));
    out_->patients.push_back(std::move(p));
    return absl::OkStatus();
  }

  absl::Status Condition(absl::string_view id) {
    Collected::Item<v1::Condition> item(out_->arena);
    v1::Condition& c = *item.value;
    c.set_id(std::string(id));
    RETURN_IF_ERROR(ctx_.Concept(res_, "$", "code", c.mutable_code()));
    RETURN_IF_ERROR(ctx_.StatusConcept(res_, "$", "clinicalStatus",
                                       c.mutable_clinical_status()));
    RETURN_IF_ERROR(ctx_.StatusConcept(res_, "$", "verificationStatus",
                                       c.mutable_verification_status()));
    RETURN_IF_ERROR(ctx_.Date(res_, "$", "onsetDateTime", c.mutable_onset()));
    if (c.onset().empty()) {
      RETURN_IF_ERROR(PeriodDate("onsetPeriod", "start", c.mutable_onset()));
    }
    RETURN_IF_ERROR(
        ctx_.Date(res_, "$", "abatementDateTime", c.mutable_abatement()));
    if (c.abatement().empty()) {
      RETURN_IF_ERROR(
          PeriodDate("abatementPeriod", "end", c.mutable_abatement()));
    }
    if (c.abatement().empty()) {
      RETURN_IF_ERROR(
          PeriodDate("abatementPeriod", "start", c.mutable_abatement()));
    }
    RETURN_IF_ERROR(ctx_.Reference(res_, "$", "subject", &item.subject));
    out_->conditions.push_back(std::move(item));
    return absl::OkStatus();
  }

  absl::Status Allergy(absl::string_view id) {
    Collected::AllergyItem item(out_->arena);
    v1::Allergy& a = *item.value;
    a.set_id(std::string(id));
    RETURN_IF_ERROR(ctx_.Concept(res_, "$", "code", a.mutable_substance()));
    RETURN_IF_ERROR(ctx_.StatusConcept(res_, "$", "clinicalStatus",
                                       a.mutable_clinical_status()));
    RETURN_IF_ERROR(ctx_.StatusConcept(res_, "$", "verificationStatus",
                                       a.mutable_verification_status()));
    RETURN_IF_ERROR(
        ctx_.Date(res_, "$", "recordedDate", a.mutable_recorded_date()));
    if (a.recorded_date().empty()) {
      RETURN_IF_ERROR(
          ctx_.Date(res_, "$", "onsetDateTime", a.mutable_recorded_date()));
    }
    if (a.recorded_date().empty()) {
      RETURN_IF_ERROR(
          PeriodDate("onsetPeriod", "start", a.mutable_recorded_date()));
    }
    std::vector<std::string> notes;
    RETURN_IF_ERROR(ctx_.AnnotationTexts(res_, "$", "note", &notes));
    for (std::string& n : notes) *a.add_notes() = std::move(n);
    RETURN_IF_ERROR(ctx_.ForEachObject(
        res_, "$", "reaction",
        [&](const JsonObject& r, const JsonPath& path) -> absl::Status {
          v1::Concept substance;
          RETURN_IF_ERROR(ctx_.Concept(r, path, "substance", &substance));
          std::vector<v1::Concept> manifestations;
          RETURN_IF_ERROR(
              ctx_.Concepts(r, path, "manifestation", &manifestations));
          std::string description;
          RETURN_IF_ERROR(ctx_.String(r, path, "description", &description));
          if (!description.empty()) *a.add_reactions() = description;
          for (const v1::Concept& m : manifestations) {
            AddConceptTexts(m, a.mutable_reactions());
          }
          AddConceptTexts(substance, a.mutable_reactions());
          return absl::OkStatus();
        }));
    RETURN_IF_ERROR(ctx_.Reference(res_, "$", "patient", &item.subject));
    item.no_known_allergy = IsNoKnownAllergy(a.substance());
    out_->allergies.push_back(std::move(item));
    return absl::OkStatus();
  }

  absl::Status MedicationStatement(absl::string_view id) {
    Collected::Item<v1::Medication> item(out_->arena);
    v1::Medication& m = *item.value;
    m.set_id(std::string(id));
    RETURN_IF_ERROR(MedicationConcept(m.mutable_code()));
    RETURN_IF_ERROR(ctx_.String(res_, "$", "status", m.mutable_status()));
    RETURN_IF_ERROR(PeriodDate("effectivePeriod", "start", m.mutable_start()));
    RETURN_IF_ERROR(PeriodDate("effectivePeriod", "end", m.mutable_end()));
    std::string effective;
    RETURN_IF_ERROR(ctx_.Date(res_, "$", "effectiveDateTime", &effective));
    if (m.start().empty()) m.set_start(effective);
    RETURN_IF_ERROR(ctx_.Reference(res_, "$", "subject", &item.subject));
    out_->medications.push_back(std::move(item));
    return absl::OkStatus();
  }

  // A dose given (or not): one Medication whose period is the
  // administration's. status: the MedicationAdministration code mapped to
  // the record's Medication status (AdministrationStatus).
  absl::Status MedicationAdministration(absl::string_view id) {
    Collected::Item<v1::Medication> item(out_->arena);
    v1::Medication& m = *item.value;
    m.set_id(std::string(id));
    RETURN_IF_ERROR(MedicationConcept(m.mutable_code()));
    std::string status;
    RETURN_IF_ERROR(ctx_.String(res_, "$", "status", &status));
    m.set_status(AdministrationStatus(status));
    RETURN_IF_ERROR(PeriodDate("effectivePeriod", "start", m.mutable_start()));
    RETURN_IF_ERROR(PeriodDate("effectivePeriod", "end", m.mutable_end()));
    // effectiveDateTime: given at that instant, so it both starts and ends
    // then (the day it names is the day it was given).
    std::string effective;
    RETURN_IF_ERROR(ctx_.Date(res_, "$", "effectiveDateTime", &effective));
    if (!effective.empty()) {
      m.set_start(effective);
      m.set_end(effective);
    }
    RETURN_IF_ERROR(ctx_.Reference(res_, "$", "subject", &item.subject));
    out_->medications.push_back(std::move(item));
    return absl::OkStatus();
  }

  absl::Status MedicationRequest(absl::string_view id) {
    Collected::Item<v1::Medication> item(out_->arena);
    v1::Medication& m = *item.value;
    m.set_id(std::string(id));
    RETURN_IF_ERROR(MedicationConcept(m.mutable_code()));
    RETURN_IF_ERROR(ctx_.String(res_, "$", "status", m.mutable_status()));
    std::string authored;
    RETURN_IF_ERROR(ctx_.Date(res_, "$", "authoredOn", &authored));
    std::optional<JsonObject> dispense;
    RETURN_IF_ERROR(ctx_.Object(res_, "$", "dispenseRequest", &dispense));
    if (dispense) {
      std::optional<JsonObject> validity;
      RETURN_IF_ERROR(ctx_.Object(*dispense, "$.dispenseRequest",
                                  "validityPeriod", &validity));
      if (validity) {
        const char* path = "$.dispenseRequest.validityPeriod";
        RETURN_IF_ERROR(ctx_.Date(*validity, path, "start", m.mutable_start()));
        RETURN_IF_ERROR(ctx_.Date(*validity, path, "end", m.mutable_end()));
      }
    }
    if (m.start().empty()) m.set_start(authored);
    RETURN_IF_ERROR(ctx_.Reference(res_, "$", "subject", &item.subject));
    if (IsTopicalAnesthetic(m.code())) {
      Collected::AnestheticItem an;
      an.source = ctx_.label();
      an.status = m.status();
      an.concept = m.code();
      an.subject = item.subject;
      out_->anesthetics.push_back(std::move(an));
    }
    out_->medications.push_back(std::move(item));
    return absl::OkStatus();
  }

  absl::Status Procedure(absl::string_view id) {
    Collected::Item<v1::Procedure> item(out_->arena);
    v1::Procedure& p = *item.value;
    p.set_id(std::string(id));
    RETURN_IF_ERROR(ctx_.Concept(res_, "$", "code", p.mutable_code()));
    RETURN_IF_ERROR(ctx_.String(res_, "$", "status", p.mutable_status()));
    std::string date_field = "performedDateTime";
    RETURN_IF_ERROR(
        ctx_.Date(res_, "$", "performedDateTime", p.mutable_performed()));
    if (p.performed().empty()) {
      date_field = "performedPeriod.start";
      RETURN_IF_ERROR(
          PeriodDate("performedPeriod", "start", p.mutable_performed()));
    }
    std::vector<v1::Concept> sites;
    RETURN_IF_ERROR(ctx_.Concepts(res_, "$", "bodySite", &sites));
    for (const v1::Concept& site : sites) {
      for (v1::TreatmentArea a : AreasFromBodySite(site)) {
        bool dup = false;
        for (int x : p.areas()) dup = dup || x == a;
        if (!dup) p.add_areas(a);
      }
    }
    // usedCode: what was used, e.g. the topical anesthetic (audits read it).
    std::vector<v1::Concept> used;
    RETURN_IF_ERROR(ctx_.Concepts(res_, "$", "usedCode", &used));
    for (v1::Concept& u : used) *p.add_used() = std::move(u);
    RETURN_IF_ERROR(Performer(p.mutable_performer()));
    RETURN_IF_ERROR(
        ctx_.ReferenceName(res_, "$", "location", p.mutable_location()));
    std::vector<std::string> notes;
    RETURN_IF_ERROR(ctx_.AnnotationTexts(res_, "$", "note", &notes));
    double depth = 0;
    RETURN_IF_ERROR(ReadNeedleDepth(ctx_, res_, notes, &depth));
    p.set_needle_depth_mm(depth);
    RETURN_IF_ERROR(ctx_.Reference(res_, "$", "subject", &item.subject));
    if (ConceptMentionsMicroneedling(p.code())) {
      Collected::OrderItem order;
      order.source = ctx_.label();
      order.type = "Procedure";
      order.status = p.status();
      order.date = p.performed();
      order.date_field = p.performed().empty() ? "" : date_field;
      order.areas = AreaPlans(sites, depth);
      order.subject = item.subject;
      out_->orders.push_back(std::move(order));
    }
    out_->procedures.push_back(std::move(item));
    return absl::OkStatus();
  }

  absl::Status ServiceRequest() {
    Collected::OrderItem order;
    v1::Concept code;
    RETURN_IF_ERROR(ctx_.Concept(res_, "$", "code", &code));
    RETURN_IF_ERROR(ctx_.String(res_, "$", "status", &order.status));
    order.date_field = "occurrenceDateTime";
    RETURN_IF_ERROR(ctx_.Date(res_, "$", "occurrenceDateTime", &order.date));
    if (order.date.empty()) {
      order.date_field = "occurrencePeriod.start";
      RETURN_IF_ERROR(PeriodDate("occurrencePeriod", "start", &order.date));
    }
    if (order.date.empty()) order.date_field.clear();
    std::vector<v1::Concept> sites;
    RETURN_IF_ERROR(ctx_.Concepts(res_, "$", "bodySite", &sites));
    std::vector<v1::Concept> details;
    RETURN_IF_ERROR(ctx_.Concepts(res_, "$", "orderDetail", &details));
    std::vector<std::string> texts;
    for (const v1::Concept& d : details) {
      if (!d.text().empty()) texts.push_back(d.text());
      for (const v1::Coding& c : d.codings()) {
        if (!c.display().empty()) texts.push_back(c.display());
      }
    }
    RETURN_IF_ERROR(ctx_.AnnotationTexts(res_, "$", "note", &texts));
    std::string instruction;
    RETURN_IF_ERROR(ctx_.String(res_, "$", "patientInstruction", &instruction));
    if (!instruction.empty()) texts.push_back(std::move(instruction));
    double depth = 0;
    RETURN_IF_ERROR(ReadNeedleDepth(ctx_, res_, texts, &depth));
    RETURN_IF_ERROR(ctx_.Reference(res_, "$", "subject", &order.subject));
    if (ConceptMentionsMicroneedling(code)) {
      order.source = ctx_.label();
      order.type = "ServiceRequest";
      order.areas = AreaPlans(sites, depth);
      out_->orders.push_back(std::move(order));
    }
    return absl::OkStatus();
  }

  absl::Status Observation(absl::string_view id) {
    Collected::ObservationItem item(out_->arena);
    v1::Observation& o = *item.value;
    o.set_id(std::string(id));
    std::string status;
    RETURN_IF_ERROR(ctx_.String(res_, "$", "status", &status));
    RETURN_IF_ERROR(ctx_.Concept(res_, "$", "code", o.mutable_code()));
    bool has_concept = false;
    RETURN_IF_ERROR(ctx_.Concept(res_, "$", "valueCodeableConcept",
                                 o.mutable_value(), &has_concept));
    std::optional<double> number;
    if (!has_concept) {
      RETURN_IF_ERROR(ctx_.String(res_, "$", "valueString",
                                  o.mutable_value()->mutable_text()));
    }
    if (o.value().text().empty() && !has_concept) {
      if (std::optional<JsonElement> vi = Member(res_, "valueInteger")) {
        int64_t i = 0;
        if (vi->get_int64().get(i) != simdjson::SUCCESS) {
          return ctx_.TypeError("$.valueInteger", "an integer", *vi);
        }
        number = static_cast<double>(i);
        o.mutable_value()->set_text(absl::StrCat(i));
      }
    }
    if (o.value().text().empty() && !has_concept) {
      std::optional<JsonObject> q;
      RETURN_IF_ERROR(ctx_.Object(res_, "$", "valueQuantity", &q));
      if (q) {
        std::optional<double> value;
        RETURN_IF_ERROR(ctx_.Number(*q, "$.valueQuantity", "value", &value));
        std::string unit;
        RETURN_IF_ERROR(ctx_.String(*q, "$.valueQuantity", "unit", &unit));
        if (value) {
          number = *value;
          std::string text = FormatNumber(*value);
          if (!unit.empty()) absl::StrAppend(&text, " ", unit);
          o.mutable_value()->set_text(std::move(text));
        }
      }
    }
    if (o.value().text().empty() && !has_concept) {
      if (std::optional<JsonElement> vb = Member(res_, "valueBoolean")) {
        bool b = false;
        if (vb->get_bool().get(b) != simdjson::SUCCESS) {
          return ctx_.TypeError("$.valueBoolean", "a boolean", *vb);
        }
        o.mutable_value()->set_text(b ? "true" : "false");
      }
    }
    RETURN_IF_ERROR(
        ctx_.Date(res_, "$", "effectiveDateTime", o.mutable_effective()));
    if (o.effective().empty()) {
      RETURN_IF_ERROR(
          PeriodDate("effectivePeriod", "start", o.mutable_effective()));
    }
    if (o.effective().empty()) {
      RETURN_IF_ERROR(ctx_.Date(res_, "$", "issued", o.mutable_effective()));
    }
    RETURN_IF_ERROR(ctx_.Reference(res_, "$", "subject", &item.subject));
    if (status == "entered-in-error" || status == "cancelled") {
      return absl::OkStatus();
    }
    if (IsFitzpatrickObservation(o.code())) {
      if (number) {
        const double n = *number;
        if (n >= 1 && n <= 6 && n == std::floor(n)) {
          item.fitzpatrick = static_cast<int>(n);
        }
      } else {
        item.fitzpatrick = FitzpatrickFromValue(o.value());
      }
    }
    if (!o.effective().empty()) {
      absl::StatusOr<FhirDate> d = ParseFhirDate(o.effective(), kFhirJsonDates);
      item.dated = d.ok();
      if (d.ok()) item.day = d->first_day;
    }
    out_->observations.push_back(std::move(item));
    return absl::OkStatus();
  }

  absl::Status Appointment() {
    PlannedAppointment ap;
    ap.source = ctx_.label();
    RETURN_IF_ERROR(ctx_.String(res_, "$", "status", &ap.status));
    RETURN_IF_ERROR(ctx_.Date(res_, "$", "start", &ap.start));
    std::vector<v1::Concept> concepts;
    RETURN_IF_ERROR(ctx_.Concepts(res_, "$", "serviceType", &concepts));
    RETURN_IF_ERROR(ctx_.Concepts(res_, "$", "specialty", &concepts));
    RETURN_IF_ERROR(ctx_.Concepts(res_, "$", "reasonCode", &concepts));
    concepts.emplace_back();
    RETURN_IF_ERROR(
        ctx_.Concept(res_, "$", "appointmentType", &concepts.back()));
    std::string description;
    RETURN_IF_ERROR(ctx_.String(res_, "$", "description", &description));
    for (const v1::Concept& c : concepts) {
      ap.microneedling = ap.microneedling || ConceptMentionsMicroneedling(c);
    }
    ap.microneedling = ap.microneedling || MentionsMicroneedling(description);
    out_->appointments.push_back(std::move(ap));
    return absl::OkStatus();
  }

 private:
  // The date `field` of the Period member `period` (e.g. onsetPeriod.start).
  absl::Status PeriodDate(absl::string_view period, absl::string_view field,
                          std::string* out) {
    std::optional<JsonObject> p;
    RETURN_IF_ERROR(ctx_.Object(res_, "$", period, &p));
    if (!p) return absl::OkStatus();
    return ctx_.Date(*p, JsonPath("$").Member(period), field, out);
  }

  // Who performed it: performer[].actor (display, else reference) of the
  // first performer whose actor names someone, in practice performer[0].
  // Every performer is type-checked.
  absl::Status Performer(std::string* out) {
    auto read_actor = [&](const JsonObject& performer,
                          const JsonPath& path) -> absl::Status {
      std::string actor;
      RETURN_IF_ERROR(ctx_.ReferenceName(performer, path, "actor", &actor));
      if (out->empty()) *out = std::move(actor);
      return absl::OkStatus();
    };
    return ctx_.ForEachObject(res_, "$", "performer", read_actor);
  }

  // medicationCodeableConcept, else medicationReference.display as text.
  absl::Status MedicationConcept(v1::Concept* out) {
    bool present = false;
    RETURN_IF_ERROR(
        ctx_.Concept(res_, "$", "medicationCodeableConcept", out, &present));
    if (present) return absl::OkStatus();
    std::optional<JsonObject> ref;
    RETURN_IF_ERROR(ctx_.Object(res_, "$", "medicationReference", &ref));
    if (!ref) return absl::OkStatus();
    return ctx_.String(*ref, "$.medicationReference", "display",
                       out->mutable_text());
  }

  const ResourceContext& ctx_;
  const JsonObject& res_;
  Collected* out_;
};

absl::Status CollectResource(const JsonObject& res, const JsonPath& where,
                             absl::string_view full_url, const Limits& limits,
                             Collected* out);

absl::Status CollectBundle(const ResourceContext& ctx, const JsonObject& bundle,
                           const JsonPath& where, const Limits& limits,
                           Collected* out) {
  return ctx.ForEachObject(
      bundle, "$", "entry",
      [&](const JsonObject& entry, const JsonPath& path) -> absl::Status {
        std::string_view full_url;
        if (std::optional<JsonElement> e = Member(entry, "fullUrl");
            e && e->get_string().get(full_url) != simdjson::SUCCESS) {
          return ctx.TypeError(path.Member("fullUrl"), "a string", *e);
        }
        std::optional<JsonObject> res;
        RETURN_IF_ERROR(ctx.Object(entry, path, "resource", &res));
        if (!res) return absl::OkStatus();  // e.g. a batch-response error
        // "<where>.entry[3].resource"
        const JsonPath entry_where = where.Element("entry", path.index());
        return CollectResource(*res, entry_where.Member("resource"),
                               ToAbsl(full_url), limits, out);
      });
}

absl::Status CollectResource(const JsonObject& res, const JsonPath& where,
                             absl::string_view full_url, const Limits& limits,
                             Collected* out) {
  std::string_view type_view, id_view;
  {
    const ResourceContext anon(where);
    std::optional<JsonElement> t = Member(res, "resourceType");
    if (!t) return anon.Error("$.resourceType", "missing");
    if (t->get_string().get(type_view) != simdjson::SUCCESS) {
      return anon.TypeError("$.resourceType", "a string", *t);
    }
    if (type_view.empty()) return anon.Error("$.resourceType", "empty");
    std::optional<JsonElement> i = Member(res, "id");
    if (i && i->get_string().get(id_view) != simdjson::SUCCESS) {
      return ResourceContext(ToAbsl(type_view), "", where)
          .TypeError(JsonPath("$").Member("id"), "a string", *i);
    }
  }
  const absl::string_view type = ToAbsl(type_view);
  const absl::string_view id = ToAbsl(id_view);
  const ResourceContext ctx(type, id, where);
  if (type == "Bundle") return CollectBundle(ctx, res, where, limits, out);

  ++out->stats.resources;
  if (static_cast<size_t>(out->stats.resources) > limits.max_resources) {
    return TooManyResources(limits.max_resources);
  }
  // Type names come from untrusted input; cap what the stats map may hold.
  const std::string stat_type =
      type.size() <= 64 ? Printable(type) : "(long resourceType)";
  ++out->stats.by_type[stat_type];

  ResourceMapper m(ctx, res, out);
  if (type == "Patient") return m.Patient(id, full_url);
  if (type == "Condition") return m.Condition(id);
  if (type == "AllergyIntolerance") return m.Allergy(id);
  if (type == "MedicationStatement") return m.MedicationStatement(id);
  if (type == "MedicationRequest") return m.MedicationRequest(id);
  if (type == "MedicationAdministration") {
    return m.MedicationAdministration(id);
  }
  if (type == "Procedure") return m.Procedure(id);
  if (type == "Observation") return m.Observation(id);
  if (type == "ServiceRequest") return m.ServiceRequest();
  if (type == "Appointment") return m.Appointment();
  ++out->stats.skipped_by_type[stat_type];
  return absl::OkStatus();
}

}  // namespace

absl::Status TooManyResources(size_t limit) {
  return absl::ResourceExhaustedError(absl::StrCat(
      "more than ", limit, " FHIR resources (ExtractOptions::max_resources)"));
}

void Collected::MergeFrom(Collected&& o) {
  Append(&patients, &o.patients);
  Append(&conditions, &o.conditions);
  Append(&allergies, &o.allergies);
  Append(&medications, &o.medications);
  Append(&procedures, &o.procedures);
  Append(&observations, &o.observations);
  Append(&orders, &o.orders);
  Append(&anesthetics, &o.anesthetics);
  Append(&appointments, &o.appointments);
  stats.resources += o.stats.resources;
  for (const auto& [k, v] : o.stats.by_type) stats.by_type[k] += v;
  for (const auto& [k, v] : o.stats.skipped_by_type) {
    stats.skipped_by_type[k] += v;
  }
  stats.other_patient += o.stats.other_patient;
  stats.null_prefetch += o.stats.null_prefetch;
  o.Clear();
}

absl::Status ParseJson(absl::string_view json, const Limits& limits,
                       simdjson::dom::parser* parser, JsonElement* root) {
  if (json.size() > limits.max_input_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "JSON input of ", json.size(), " bytes exceeds the limit of ",
        limits.max_input_bytes, " bytes"));
  }
  // Capacity: at least a page, so small documents do not reallocate.
  const size_t capacity = std::max<size_t>(json.size(), 4096);
  if (parser->capacity() < capacity ||
      parser->max_depth() != limits.max_depth) {
    if (simdjson::error_code e = parser->allocate(capacity, limits.max_depth);
        e != simdjson::SUCCESS) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "cannot allocate the JSON parser: ", simdjson::error_message(e)));
    }
  }
  // simdjson copies the input; a null data() (empty view) is not allowed.
  const char* data = json.data() != nullptr ? json.data() : "";
  simdjson::error_code e = parser->parse(data, json.size()).get(*root);
  if (e == simdjson::DEPTH_ERROR) {
    return absl::InvalidArgumentError(
        absl::StrCat("JSON nests deeper than ", limits.max_depth, " levels"));
  }
  if (e != simdjson::SUCCESS) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed JSON: ", simdjson::error_message(e)));
  }
  return absl::OkStatus();
}

absl::Status CollectResources(const JsonElement& element, const JsonPath& path,
                              bool allow_array, const Limits& limits,
                              Collected* out) {
  JsonObject obj;
  if (element.get_object().get(obj) == simdjson::SUCCESS) {
    return CollectResource(obj, path, "", limits, out);
  }
  JsonArray arr;
  if (allow_array && element.get_array().get(arr) == simdjson::SUCCESS) {
    size_t i = 0;
    for (JsonElement item : arr) {
      const JsonPath item_path = path.Element("", i++);
      if (item.is_null()) continue;
      JsonObject o;
      if (item.get_object().get(o) != simdjson::SUCCESS) {
        return absl::InvalidArgumentError(absl::StrCat(
            item_path.ToString(), ": expected a FHIR resource object, got ",
            JsonTypeName(item)));
      }
      RETURN_IF_ERROR(CollectResource(o, item_path, "", limits, out));
    }
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat(path.ToString(), ": expected a FHIR resource or Bundle",
                   allow_array ? " (or an array of resources)" : "", ", got ",
                   JsonTypeName(element)));
}

absl::Status CollectDocument(absl::string_view json, DocumentShape shape,
                             const Limits& limits,
                             simdjson::dom::parser* parser, Collected* out) {
  if (shape == DocumentShape::kNdjsonLine &&
      absl::StripAsciiWhitespace(json).empty()) {
    return absl::OkStatus();
  }
  JsonElement root;
  RETURN_IF_ERROR(ParseJson(json, limits, parser, &root));
  return CollectParsed(root, shape, limits, out);
}

absl::Status CollectParsed(const JsonElement& root, DocumentShape shape,
                           const Limits& limits, Collected* out) {
  JsonObject obj;
  if (root.get_object().get(obj) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError(absl::StrCat(
        "$: expected a JSON object (a FHIR resource, Bundle",
        shape == DocumentShape::kAny ? ", prefetch object or CDS Hooks request"
                                     : "",
        "), got ", JsonTypeName(root)));
  }
  if (Member(obj, "resourceType") || shape == DocumentShape::kNdjsonLine) {
    return CollectResource(obj, "$", "", limits, out);
  }
  // A CDS Hooks request: read its prefetch. Otherwise a prefetch object.
  std::string prefix = "$";
  if (Member(obj, "hook") || Member(obj, "hookInstance") ||
      Member(obj, "context") || Member(obj, "prefetch")) {
    std::optional<JsonElement> prefetch = Member(obj, "prefetch");
    if (!prefetch) return absl::OkStatus();
    if (prefetch->get_object().get(obj) != simdjson::SUCCESS) {
      return absl::InvalidArgumentError(absl::StrCat(
          "$.prefetch: expected an object, got ", JsonTypeName(*prefetch)));
    }
    prefix = "$.prefetch";
  }
  for (auto field : obj) {
    const std::string path =
        absl::StrCat(prefix, ".", Printable(ToAbsl(field.key)));
    if (field.value.is_null()) {
      ++out->stats.null_prefetch;
      continue;
    }
    RETURN_IF_ERROR(CollectResources(field.value, path,
                                     /*allow_array=*/false, limits, out));
  }
  return absl::OkStatus();
}

}  // namespace needlecheck::fhir::internal
