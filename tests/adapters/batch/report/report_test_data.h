// AuditSummary fixtures for the report tests (summary.json, report.html,
// the headless-Chromium test). Test-only; deterministic (no clock, no
// random: every count comes from a formula).
#ifndef TESTS_ADAPTERS_BATCH_REPORT_REPORT_TEST_DATA_H_
#define TESTS_ADAPTERS_BATCH_REPORT_REPORT_TEST_DATA_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "adapters/batch/report/audit_summary.h"

namespace needlecheck::batch::testing {

inline constexpr char kHostilePatientId[] = "<script>alert(1)</script>";
inline constexpr char kHostilePerformer[] =
    "Dr. \"Eve\" <img src=x onerror=alert(2)> & Co";

// How many times `needle` occurs in `text`, without overlaps.
inline size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = text.find(needle); pos != std::string::npos;
       pos = text.find(needle, pos + needle.size())) {
    ++n;
  }
  return n;
}

inline VerdictCounts MakeCounts(int64_t interval, int64_t critical,
                                int64_t warning, int64_t clear) {
  VerdictCounts counts;
  counts.by_verdict = {interval, critical, warning, clear};
  return counts;
}

inline void Add(VerdictCounts& to, const VerdictCounts& counts) {
  for (int i = 0; i < kNumVerdicts; ++i) {
    to.by_verdict[i] += counts.by_verdict[i];
  }
}

// What a real run over a mid-sized clinic group looks like: 7 rules, 14
// months (one without sessions), a histogram, 4 performers, 2 locations,
// 50 worst cases (one with a hostile patient id and performer name), and
// input with a malformed line and a skipped file.
inline AuditSummary RealisticSummary() {
  AuditSummary s;
  s.knowledge_base_versions = {"2026.11.1"};
  s.patients = 412;
  s.patients_with_sessions = 388;
  s.patients_flagged = 97;

  struct Rule {
    const char* id;
    const char* summary;
    int64_t critical, warning, info;
  };
  const Rule rules[] = {
      {"MN-FREQ-INTERVAL",
       "Only {days} days since the last session on this area ({last_date}); "
       "wait until {earliest_date}",
       48, 0, 0},
      {"MN-CI-ECZEMA",
       "Active eczema/dermatitis: microneedling is not recommended", 23, 0, 0},
      {"MN-ALLERGY-ANESTHETIC",
       "Numbing-cream allergy: {allergen}; planned: {planned}", 14, 0, 0},
      {"MN-ANTICOAGULANT", "Takes {labels}: expect more bruising and bleeding",
       0, 31, 0},
      {"MN-EYE-DEPTH",
       "Periorbital needle depth {depth} mm is above the {max_depth} mm "
       "limit for the under-eye area",
       6, 12, 0},
      {"MN-SKIN-TYPE-MISSING",
       "No Fitzpatrick skin type recorded: assess skin type (PIH risk)", 0, 0,
       140},
      {"MN-HSV-HISTORY",
       "History of cold sores (HSV) with a perioral/full-face plan: consider "
       "antiviral prophylaxis",
       0, 9, 4},
  };
  for (const Rule& rule : rules) {
    RuleCounts& c = s.by_rule[rule.id];
    c.summary = rule.summary;
    c.critical = rule.critical;
    c.warning = rule.warning;
    c.info = rule.info;
    c.sessions = rule.critical + rule.warning + rule.info;
  }

  // 2024-11 .. 2025-12, 2025-08 without sessions (a clinic closure).
  for (int i = 0; i < 14; ++i) {
    const int year = 2024 + (10 + i) / 12;
    const int month = (10 + i) % 12 + 1;
    if (year == 2025 && month == 8) continue;
    const VerdictCounts counts =
        MakeCounts(2 + i % 5, 1 + (i * 7) % 4, 3 + i % 3, 40 + (i * 13) % 25);
    s.by_month[absl::StrFormat("%04d-%02d", year, month)] = counts;
    Add(s.totals, counts);
  }

  const std::pair<const char*, VerdictCounts> performers[] = {
      {"Alex Moreau, RN", MakeCounts(18, 10, 12, 220)},
      {"Dr. Priya Natarajan", MakeCounts(4, 6, 10, 180)},
      {kHostilePerformer, MakeCounts(21, 3, 7, 95)},
      {"Sam Okafor", MakeCounts(0, 1, 2, 151)},
  };
  for (const auto& [name, counts] : performers) s.by_performer[name] = counts;
  s.by_location["Clinic North (Leeds)"] = MakeCounts(25, 12, 18, 370);
  s.by_location["Clinic South (Bristol)"] = MakeCounts(18, 8, 13, 276);

  IntervalHistogram& h = s.days_between_sessions;
  const int64_t buckets[IntervalHistogram::kBuckets] = {
      2, 7, 14, 25, 88, 121, 97, 64, 41, 30, 22, 17, 14, 12,
      9, 8, 6,  5,  4,  4,   3,  3,  2,  2,  1,  1,  19};
  for (int i = 0; i < IntervalHistogram::kBuckets; ++i) {
    h.buckets[i] = buckets[i];
    h.with_previous += buckets[i];
    if (i < 4) h.under_28_days += buckets[i];
  }

  const char* areas[] = {"cheeks", "forehead", "periorbital", "neck",
                         "perioral"};
  for (int i = 0; i < AuditSummary::kWorstCases; ++i) {
    WorstCase w;
    FindingRecord& f = w.finding;
    f.patient_id =
        i == 3 ? kHostilePatientId : absl::StrFormat("pat-%05d", 1000 + i * 37);
    f.session_id = absl::StrFormat("proc-%06d", 50000 + i * 211);
    f.session_date =
        absl::StrFormat("2025-%02d-%02d", 1 + i % 12, 1 + (i * 5) % 28);
    f.verdict = i < 20   ? Verdict::kIntervalViolation
                : i < 40 ? Verdict::kTreatedDespiteCritical
                         : Verdict::kTreatedDespiteWarning;
    f.areas = {areas[i % 5]};
    if (i % 3 == 0) f.areas.push_back(areas[(i + 2) % 5]);
    f.needle_depth_mm = 0.5 + (i % 4) * 0.25;
    f.performer = i % 7 == 0 ? "" : performers[i % 4].first;
    f.location = i % 2 == 0 ? "Clinic North (Leeds)" : "Clinic South (Bristol)";
    f.days_since_previous_session = i < 20 ? 7 + i : (i % 5 == 0 ? -1 : 60 + i);
    if (f.verdict == Verdict::kIntervalViolation) {
      f.alerts.push_back(
          {"MN-FREQ-INTERVAL", "critical",
           absl::StrCat("Only ", f.days_since_previous_session,
                        " days since the last session on this area"),
           "frequency"});
      ++w.critical;
    }
    if (i % 2 == 0 || f.verdict == Verdict::kTreatedDespiteCritical) {
      f.alerts.push_back({"MN-CI-ECZEMA", "critical",
                          "Active eczema/dermatitis: microneedling is not "
                          "recommended",
                          "contraindication"});
      ++w.critical;
    }
    if (i % 3 != 1) {
      f.alerts.push_back({"MN-ANTICOAGULANT", "warning",
                          "Takes warfarin: expect more bruising and "
                          "bleeding",
                          "medication"});
      ++w.warning;
    }
    f.alerts.push_back({"MN-SKIN-TYPE-MISSING", "info",
                        "No Fitzpatrick skin type recorded: assess skin type "
                        "(PIH risk)",
                        "data quality"});
    f.knowledge_base_version = "2026.11.1";
    s.worst_cases.push_back(std::move(w));
  }

  InputCounts& in = s.input;
  in.files["AllergyIntolerance.ndjson"] = {220, 219, 1, 0};
  in.files["Condition.ndjson.gz"] = {1310, 1302, 0, 8};
  in.files["Patient.ndjson"] = {412, 412, 0, 0};
  in.files["Procedure.ndjson"] = {1207, 1207, 0, 0};
  in.skipped_files["export-log.txt"] =
      "not a FHIR resource file (name does not start with a resource type)";
  in.resources_by_type = {{"AllergyIntolerance", 219},
                          {"Condition", 1302},
                          {"Patient", 412},
                          {"Procedure", 1207}};
  in.rejected_resources = 3;
  in.rejected_patients = 1;
  return s;
}

}  // namespace needlecheck::batch::testing

#endif  // TESTS_ADAPTERS_BATCH_REPORT_REPORT_TEST_DATA_H_
