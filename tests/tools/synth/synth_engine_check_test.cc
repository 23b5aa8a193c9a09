// Cross-check: the expected verdicts of a generated export equal what the
// audit engine (service/engine/audit.h) finds, session by session, reading
// the export through the FHIR adapter exactly as a batch reader would:
// every resource type (MedicationAdministration included), and once from
// the files written with --gzip. Performer, location and the days since
// the previous session are checked too.
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "adapters/fhir/fhir_extract.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "service/engine/audit.h"
#include "service/kb/knowledge_base.h"
#include "tests/tools/synth/synth.h"

namespace needlecheck::synth {
namespace {

std::string VerdictName(needlecheck::v1::AuditVerdict v) {
  switch (v) {
    case needlecheck::v1::AUDIT_VERDICT_INTERVAL_VIOLATION:
      return "interval_violation";
    case needlecheck::v1::AUDIT_VERDICT_TREATED_DESPITE_CRITICAL:
      return "treated_despite_critical";
    case needlecheck::v1::AUDIT_VERDICT_TREATED_DESPITE_WARNING:
      return "treated_despite_warning";
    case needlecheck::v1::AUDIT_VERDICT_CLEAR:
      return "clear";
    default:
      return "unspecified";
  }
}

// The day of a dateTime as written ("2026-02-01T09:15:00+01:00" ->
// "2026-02-01").
std::string DayOf(const std::string& date_time) {
  return date_time.substr(0, 10);
}

int DaysOf(const needlecheck::v1::AuditedSession& s) {
  return s.has_days_since_previous_session() ? s.days_since_previous_session()
                                             : -1;
}

TEST(SynthEngineCheckTest, ExpectedVerdictsEqualTheAuditEngine) {
  auto kb = kb::LoadBundledKnowledgeBase();
  ASSERT_TRUE(kb.ok()) << kb.status();
  SynthOptions options;
  options.patients = 400;
  options.seed = 11;
  int64_t sessions = 0;
  int64_t administrations = 0;
  int64_t administered_sessions = 0;
  std::map<std::string, int64_t> mismatches;
  for (int64_t i = 0; i < options.patients; ++i) {
    GeneratedPatient p = GeneratePatient(options, i);
    fhir::FhirRecordBuilder builder{fhir::ExtractOptions()};
    for (int t = 0; t < kNumResourceTypes; ++t) {
      for (const std::string& line : p.lines[t]) {
        ASSERT_TRUE(builder.AddNdjsonLine(line).ok()) << line;
      }
    }
    // Days on which EMLA was given as a MedicationAdministration.
    std::set<std::string> administered_days;
    for (const std::string& line : p.lines[6]) {
      ASSERT_EQ(std::string(kResourceTypes[6]), "MedicationAdministration");
      nlohmann::json j = nlohmann::json::parse(line);
      administered_days.insert(DayOf(j["effectiveDateTime"]));
      ++administrations;
    }
    absl::StatusOr<fhir::FhirExtract> extract = builder.Finish();
    ASSERT_TRUE(extract.ok()) << extract.status();
    std::vector<needlecheck::v1::AuditFinding> findings =
        engine::AuditRecord(**kb, extract->record);
    std::map<std::string, const needlecheck::v1::AuditFinding*> actual;
    std::map<std::string, std::string> rules;
    for (const auto& f : findings) {
      actual[f.session().procedure_id()] = &f;
      for (const auto& a : f.alerts()) {
        absl::StrAppend(&rules[f.session().procedure_id()], a.rule_id(), ":",
                        a.severity(), " ");
      }
    }
    EXPECT_EQ(actual.size(), p.findings.size()) << p.patient_id;
    for (const ExpectedFinding& e : p.findings) {
      ++sessions;
      auto it = actual.find(e.session_id);
      if (it == actual.end()) {
        ADD_FAILURE() << "no finding for " << e.session_id;
        ++mismatches[p.scenario];
        continue;
      }
      const needlecheck::v1::AuditFinding& f = *it->second;
      const std::string verdict = VerdictName(f.verdict());
      EXPECT_EQ(verdict, e.verdict) << p.scenario << " " << e.session_id
                                    << " alerts: " << rules[e.session_id];
      if (verdict != e.verdict) ++mismatches[p.scenario];
      EXPECT_EQ(f.session().performer(), e.performer) << e.session_id;
      EXPECT_EQ(f.session().location(), e.location) << e.session_id;
      EXPECT_EQ(DaysOf(f.session()), e.days_since_previous_session)
          << p.scenario << " " << e.session_id;
      if (administered_days.count(e.session_date)) {
        // The anesthetic came from the MedicationAdministration.
        EXPECT_FALSE(f.session().anesthetic().text().empty()) << e.session_id;
        ++administered_sessions;
      }
    }
  }
  EXPECT_GT(sessions, 0);
  EXPECT_GT(administrations, 0);
  EXPECT_EQ(administered_sessions, administrations);
  for (const auto& [scenario, n] : mismatches) {
    ADD_FAILURE() << scenario << ": " << n << " mismatches";
  }
}

// Every line of a gzip file.
std::vector<std::string> GzipLines(const std::filesystem::path& path) {
  std::vector<std::string> lines;
  gzFile in = gzopen(path.c_str(), "rb");
  if (in == nullptr) return lines;
  std::string all;
  char buffer[1 << 14];
  int n = 0;
  while ((n = gzread(in, buffer, sizeof(buffer))) > 0) all.append(buffer, n);
  gzclose(in);
  for (absl::string_view line : absl::StrSplit(all, '\n', absl::SkipEmpty())) {
    lines.emplace_back(line);
  }
  return lines;
}

// The patient a resource line belongs to.
std::string PatientOf(const nlohmann::json& j) {
  if (j["resourceType"] == "Patient") return j["id"].get<std::string>();
  for (const char* key : {"subject", "patient"}) {
    if (j.contains(key)) {
      std::string ref = j[key]["reference"].get<std::string>();
      return ref.substr(ref.find('/') + 1);
    }
  }
  return "";
}

TEST(SynthEngineCheckTest, GzipExportFilesAuditToTheExpectedFindings) {
  auto kb = kb::LoadBundledKnowledgeBase();
  ASSERT_TRUE(kb.ok()) << kb.status();
  SynthOptions options;
  options.patients = 150;
  options.seed = 23;
  options.gzip = true;
  options.out_dir =
      (std::filesystem::path(::testing::TempDir()) / "synth_engine_gzip")
          .string();
  std::filesystem::remove_all(options.out_dir);
  ASSERT_TRUE(WriteExport(options).ok());
  const std::filesystem::path dir(options.out_dir);

  // Group every line of every file by patient, as a batch reader would.
  std::map<std::string, std::vector<std::string>> by_patient;
  std::map<std::string, int64_t> lines_per_type;
  for (int t = 0; t < kNumResourceTypes; ++t) {
    const std::filesystem::path path = dir / ResourceFileName(options, t);
    ASSERT_TRUE(std::filesystem::exists(path)) << path;
    for (std::string& line : GzipLines(path)) {
      nlohmann::json j = nlohmann::json::parse(line);
      ++lines_per_type[kResourceTypes[t]];
      by_patient[PatientOf(j)].push_back(std::move(line));
    }
  }
  EXPECT_GT(lines_per_type["MedicationAdministration"], 0);
  EXPECT_EQ(by_patient.size(), 150u);

  std::map<std::string, nlohmann::json> actual;  // by session id
  for (const auto& [patient, lines] : by_patient) {
    fhir::FhirRecordBuilder builder{fhir::ExtractOptions()};
    for (const std::string& line : lines) {
      ASSERT_TRUE(builder.AddNdjsonLine(line).ok()) << line;
    }
    absl::StatusOr<fhir::FhirExtract> extract = builder.Finish();
    ASSERT_TRUE(extract.ok()) << extract.status();
    EXPECT_EQ(extract->record.patient_id(), patient);
    for (const auto& f : engine::AuditRecord(**kb, extract->record)) {
      nlohmann::json j;
      j["patient_id"] = f.patient_id();
      j["session_date"] = f.session().date();
      j["verdict"] = VerdictName(f.verdict());
      j["performer"] = f.session().performer();
      j["location"] = f.session().location();
      j["days"] = DaysOf(f.session());
      actual[f.session().procedure_id()] = j;
    }
  }
  std::ifstream findings(dir / "expected_findings.ndjson");
  std::string line;
  int64_t n = 0;
  while (std::getline(findings, line)) {
    if (line.empty()) continue;
    ++n;
    nlohmann::json e = nlohmann::json::parse(line);
    const std::string id = e["session_id"].get<std::string>();
    ASSERT_TRUE(actual.count(id)) << id;
    const nlohmann::json& a = actual[id];
    EXPECT_EQ(a["patient_id"], e["patient_id"]) << id;
    EXPECT_EQ(a["session_date"], e["session_date"]) << id;
    EXPECT_EQ(a["verdict"], e["verdict"]) << id << " " << e["scenario"];
    EXPECT_EQ(a["performer"], e["performer"]) << id;
    EXPECT_EQ(a["location"], e["location"]) << id;
    EXPECT_EQ(a["days"], e["days_since_previous_session"].is_null()
                             ? nlohmann::json(-1)
                             : e["days_since_previous_session"])
        << id;
  }
  EXPECT_EQ(n, static_cast<int64_t>(actual.size()));
  EXPECT_GT(n, 0);
}

}  // namespace
}  // namespace needlecheck::synth
