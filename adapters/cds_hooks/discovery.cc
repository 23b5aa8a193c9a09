#include "adapters/cds_hooks/discovery.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_join.h"
#include "adapters/common/json_writer.h"

namespace needlecheck::cds_hooks {

namespace {

constexpr char kSafetyDescription[] =
    "Checks a planned microneedling session (from the appointment being "
    "booked or the orders being selected or signed) against the patient's "
    "record: skin contraindications, topical-anesthetic and product "
    "allergies, medicines that affect bleeding or healing, pregnancy, "
    "Fitzpatrick skin type, needle depth near the eyes, and the 28-day "
    "spacing between sessions.";
constexpr char kReadinessDescription[] =
    "Shows a patient's standing contraindications to microneedling and, "
    "when the last session was fewer than 28 days ago, the earliest date "
    "the next session is allowed.";

}  // namespace

const std::vector<CdsServiceEntry>& CdsServiceEntries() {
  static const auto* const kEntries = new std::vector<CdsServiceEntry>{
      {kSafetyServiceId, "appointment-book", "Microneedling safety check",
       kSafetyDescription},
      {kSafetyServiceId, "order-select", "Microneedling safety check",
       kSafetyDescription},
      {kSafetyServiceId, "order-sign", "Microneedling safety check",
       kSafetyDescription},
      {kReadinessServiceId, "patient-view", "Microneedling readiness",
       kReadinessDescription},
  };
  return *kEntries;
}

const std::vector<PrefetchTemplate>& PrefetchTemplates() {
  static const auto* const kTemplates = new std::vector<PrefetchTemplate>{
      {"patient", "Patient/{{context.patientId}}"},
      {"conditions", "Condition?patient={{context.patientId}}"},
      {"allergies", "AllergyIntolerance?patient={{context.patientId}}"},
      {"medicationRequests", "MedicationRequest?patient={{context.patientId}}"},
      {"medicationStatements",
       "MedicationStatement?patient={{context.patientId}}"},
      {"procedures", "Procedure?patient={{context.patientId}}"},
      // Fitzpatrick skin type, pregnancy status, hCG pregnancy test.
      {"observations",
       "Observation?patient={{context.patientId}}&code=http://loinc.org|"
       "66555-4,http://loinc.org|82810-3,http://loinc.org|2106-3"},
  };
  return *kTemplates;
}

bool IsKnownServiceId(absl::string_view id) {
  for (const CdsServiceEntry& e : CdsServiceEntries()) {
    if (e.id == id) return true;
  }
  return false;
}

const CdsServiceEntry* FindServiceEntry(absl::string_view id,
                                        absl::string_view hook) {
  for (const CdsServiceEntry& e : CdsServiceEntries()) {
    if (e.id == id && e.hook == hook) return &e;
  }
  return nullptr;
}

std::string HooksOf(absl::string_view id) {
  std::vector<std::string> hooks;
  for (const CdsServiceEntry& e : CdsServiceEntries()) {
    if (e.id == id) hooks.push_back(e.hook);
  }
  return absl::StrJoin(hooks, ", ");
}

std::string DiscoveryJson() {
  adapters::JsonWriter prefetch;
  prefetch.BeginObject();
  for (const PrefetchTemplate& t : PrefetchTemplates()) {
    prefetch.Key(t.key);
    prefetch.String(t.query);
  }
  prefetch.EndObject();
  const std::string prefetch_json = std::move(prefetch).Text();
  adapters::JsonWriter w;
  w.BeginObject();
  w.Key("services");
  w.BeginArray();
  for (const CdsServiceEntry& e : CdsServiceEntries()) {
    w.BeginObject();
    w.Key("hook");
    w.String(e.hook);
    w.Key("title");
    w.String(e.title);
    w.Key("description");
    w.String(e.description);
    w.Key("id");
    w.String(e.id);
    w.Key("prefetch");
    w.Raw(prefetch_json);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::move(w).Text();
}

}  // namespace needlecheck::cds_hooks
