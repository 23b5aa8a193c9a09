// needlecheck-synth: a deterministic generator of FHIR R4 Bulk Data exports
// with microneedling sessions and KNOWN, deliberately planted findings, for
// the batch audit's tests and benchmarks (issue 4, item 3).
//
// Output folder (one FHIR R4 resource per line; references "Patient/<id>"):
//   Patient.ndjson, Condition.ndjson, AllergyIntolerance.ndjson,
//   MedicationRequest.ndjson, Procedure.ndjson, Observation.ndjson,
//   MedicationAdministration.ndjson (every file written, empty or not);
//   with SynthOptions::gzip (--gzip) each is <Type>.ndjson.gz instead
//   (gzip, zlib; no .ndjson beside it). The expected_* files stay plain:
//   expected_findings.ndjson  one line per microneedling session (completed
//                             Procedure): {"patient_id", "session_id",
//                             "session_date", "verdict", "scenario",
//                             "areas", "performer", "location",
//                             "days_since_previous_session"} (performer
//                             and location: the displays; days: to the
//                             latest previous session on an overlapping
//                             area as the interval rule sees it, null when
//                             none)
//   expected_summary.json     totals, counts per verdict, scenario and
//                             resource type, and per performer and per
//                             location (display -> {"sessions": N,
//                             "verdicts": {each verdict: N}}).
//
// Every session Procedure carries a performer (performer[0].actor, one of
// five practitioners "Practitioner/prac-1".."prac-5" with a display such as
// "Dr. Ana Ruiz") and a location (one of three clinics, e.g.
// {"reference": "Location/clinic-north", "display": "North Clinic"}; the
// patient's usual clinic for about 80% of sessions), drawn from the
// patient's RNG stream. A session that used EMLA records it either in
// Procedure.usedCode (text "EMLA cream") or, for about 40% of them, as a
// MedicationAdministration instead (status completed, effectiveDateTime on
// the session's day, subject Patient/<id>, medicationCodeableConcept text
// "EMLA cream" or SNOMED CT 346553009 lidocaine + prilocaine: the code
// terminology.md verifies; no RxNorm code for the mixture is verified). The
// audit takes a topical anesthetic given on the session's day as the
// session's anesthetic, so the verdicts do not depend on which form is used.
//
// Verdict of a session: the FIRST that applies of
//   interval_violation        a previous completed microneedling session,
//                             strictly before the session's day, on an
//                             overlapping area (equal areas; full face vs a
//                             face sub-area; a missing bodySite overlaps
//                             everything), fewer than 28 days before;
//   treated_despite_critical  a CRITICAL rule fires as of the session date;
//   treated_despite_warning   a WARNING rule fires;
//   clear                     nothing above INFO.
//
// How the verdicts stay exactly right: every patient gets ONE scenario (the
// first kNumScenarios patients get each scenario once, in order, the rest a
// seeded pick), and everything outside the planted fact is clean: an allergy
// entry (the "No known allergies" statement or the scenario's allergy) and a
// Fitzpatrick skin-type Observation (LOINC 66555-4, type II = SNOMED
// 403222003 unless the scenario says otherwise) recorded before the first
// session, so only INFO rules can fire besides the planted one (INFO never
// changes a verdict). Sessions are >= 42 days apart unless the scenario
// plants a shorter gap. Periorbital sessions outside the eye-depth scenario
// have depth 0.5 mm or none (INFO MN-EYE-DEPTH-MISSING only).
//
// Scenarios and expected verdicts (per session):
//   clean                 1-3 sessions >= 42 days apart on one area; NKA;
//                         Fitzpatrick II; sometimes a not-done microneedling
//                         Procedure 14 days before a session (not a
//                         session, no finding)          -> all clear
//   interval_violation    two sessions 10-27 days apart on overlapping areas
//                         (same area, full face vs a sub-area, or one
//                         without bodySite)  -> first clear, second
//                                               interval_violation
//   non_overlapping_pair  Back then a face area 10-27 days later -> clear
//   same_day_pair         two sessions on the same day, same area -> clear
//   eczema_active         Condition SNOMED 24079001, clinicalStatus active,
//                         onset before the first session
//                                        -> all treated_despite_critical
//   eczema_resolved       the same condition, clinicalStatus resolved,
//                         abatementDateTime before the first session
//                                        -> all clear
//   allergy_after         NKA before; lidocaine allergy (RxNorm 6387, note
//                         "rash after lidocaine cream") recorded AFTER the
//                         last session; sessions used "EMLA cream"
//                                        -> all clear
//   anesthetic_allergy    lidocaine allergy (coded RxNorm 6387 or text
//                         "Lidocaine", note "rash after lidocaine cream")
//                         recorded before; sessions used "EMLA cream"
//                                        -> all treated_despite_critical
//   warfarin_active       MedicationRequest active, RxNorm 855332, authoredOn
//                         before the first session
//                                        -> all treated_despite_warning
//   warfarin_stopped      the same, status stopped, validityPeriod ending
//                         before the first session  -> all clear
//   negated_allergy       allergy entry "Pollen" with note "denies allergy to
//                         lidocaine"; sessions used "EMLA cream" -> all clear
//   eye_depth             "Periorbital region" at 1.0 mm
//                                        -> all treated_despite_warning
//   fitzpatrick_v         Fitzpatrick V (SNOMED 403235007)
//                                        -> all treated_despite_warning
//   interval_and_warfarin the interval pair plus active warfarin (the order
//                         of verdicts)  -> first treated_despite_warning,
//                                          second interval_violation
//
// Determinism: each patient is generated from its own RNG stream seeded by
// (seed, patient index) with a portable generator (splitmix64; no
// std::*_distribution), so the bytes depend only on the options. Ids:
// "syn<seed>-<index>" for patients, "<patient id>-<kind><n>" for the rest.
// Memory: one patient at a time; output is streamed. zlib's gzip header
// holds no time or file name, so --gzip output is deterministic too.
#ifndef TESTS_TOOLS_SYNTH_SYNTH_H_
#define TESTS_TOOLS_SYNTH_SYNTH_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"

namespace needlecheck::synth {

struct SynthOptions {
  std::string out_dir;
  int64_t patients = 100;
  uint64_t seed = 1;
  absl::CivilDay start = absl::CivilDay(2024, 1, 1);
  absl::CivilDay end = absl::CivilDay(2026, 10, 31);
  // Write every resource file as <Type>.ndjson.gz (gzip) instead of
  // <Type>.ndjson. Default false.
  bool gzip = false;
};

// The resource files, in the order of GeneratedPatient::lines.
inline constexpr const char* kResourceTypes[] = {
    "Patient",   "Condition",   "AllergyIntolerance",      "MedicationRequest",
    "Procedure", "Observation", "MedicationAdministration"};
inline constexpr int kNumResourceTypes = 7;

// The file resource type `type` (an index in kResourceTypes) is written
// to: "<Type>.ndjson", or "<Type>.ndjson.gz" with options.gzip.
std::string ResourceFileName(const SynthOptions& options, int type);

// Scenario names (see the table above), index = scenario number.
std::vector<std::string> ScenarioNames();

struct ExpectedFinding {
  std::string patient_id;
  std::string session_id;
  std::string session_date;  // YYYY-MM-DD
  std::string verdict;
  std::string performer;  // the practitioner's display
  std::string location;   // the clinic's display
  // Days since the latest previous session on an overlapping area; -1:
  // none.
  int64_t days_since_previous_session = -1;
};

// Sessions of one performer or one location.
struct SessionCounts {
  int64_t sessions = 0;
  std::map<std::string, int64_t> verdicts;
};

// One patient: the NDJSON lines (no trailing newline) per resource type and
// the expected findings line(s).
struct GeneratedPatient {
  std::string patient_id;
  std::string scenario;
  std::vector<std::string> lines[kNumResourceTypes];
  std::vector<ExpectedFinding> findings;
  std::vector<std::string> finding_lines;
};

struct SynthSummary {
  int64_t patients = 0;
  int64_t sessions = 0;
  std::map<std::string, int64_t> verdicts;
  std::map<std::string, int64_t> scenarios;
  std::map<std::string, int64_t> resources;
  std::map<std::string, SessionCounts> performers;  // by display
  std::map<std::string, SessionCounts> locations;   // by display
};

// Checks the options (patients >= 0, end - start >= 365 days).
absl::Status ValidateOptions(const SynthOptions& options);

// Generates patient `index` (0-based). Pure function of options and index.
GeneratedPatient GeneratePatient(const SynthOptions& options, int64_t index);

// Writes the whole export to options.out_dir (created if missing).
absl::StatusOr<SynthSummary> WriteExport(const SynthOptions& options);

// The expected_summary.json text for a summary.
std::string SummaryJson(const SynthOptions& options,
                        const SynthSummary& summary);

}  // namespace needlecheck::synth

#endif  // TESTS_TOOLS_SYNTH_SYNTH_H_
