#include "tests/tools/synth/synth.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "adapters/fhir/fhir_extract.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace needlecheck::synth {
namespace {

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    out.emplace_back(line);
  }
  return out;
}

const char* const kAllFiles[] = {"Patient.ndjson",
                                 "Condition.ndjson",
                                 "AllergyIntolerance.ndjson",
                                 "MedicationRequest.ndjson",
                                 "Procedure.ndjson",
                                 "Observation.ndjson",
                                 "expected_findings.ndjson",
                                 "expected_summary.json"};

std::filesystem::path Generate(const std::string& name, int64_t patients,
                               uint64_t seed) {
  SynthOptions options;
  options.out_dir =
      (std::filesystem::path(::testing::TempDir()) / ("synth_" + name))
          .string();
  options.patients = patients;
  options.seed = seed;
  absl::StatusOr<SynthSummary> summary = WriteExport(options);
  EXPECT_TRUE(summary.ok()) << summary.status();
  return options.out_dir;
}

TEST(SynthTest, SameSeedGivesIdenticalBytes) {
  std::filesystem::path a = Generate("same_a", 120, 7);
  std::filesystem::path b = Generate("same_b", 120, 7);
  for (const char* file : kAllFiles) {
    EXPECT_EQ(ReadFile(a / file), ReadFile(b / file)) << file;
  }
}

TEST(SynthTest, DifferentSeedGivesDifferentBytes) {
  std::filesystem::path a = Generate("diff_a", 120, 7);
  std::filesystem::path b = Generate("diff_b", 120, 8);
  EXPECT_NE(ReadFile(a / "Procedure.ndjson"), ReadFile(b / "Procedure.ndjson"));
  EXPECT_NE(ReadFile(a / "expected_findings.ndjson"),
            ReadFile(b / "expected_findings.ndjson"));
}

TEST(SynthTest, EveryResourceLineReadsWithTheFhirAdapter) {
  std::filesystem::path dir = Generate("fhir", 200, 42);
  std::set<std::string> ids;
  std::set<std::string> patients;
  for (int t = 0; t < kNumResourceTypes; ++t) {
    const std::string file = absl::StrCat(kResourceTypes[t], ".ndjson");
    int n = 0;
    for (const std::string& line : Lines(ReadFile(dir / file))) {
      ++n;
      absl::StatusOr<fhir::FhirExtract> extract =
          fhir::ExtractFromNdjsonLine(line, fhir::ExtractOptions());
      ASSERT_TRUE(extract.ok())
          << file << ":" << n << ": " << extract.status() << "\n"
          << line;
      nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
      ASSERT_FALSE(j.is_discarded()) << line;
      EXPECT_EQ(j["resourceType"], kResourceTypes[t]);
      EXPECT_TRUE(ids.insert(j["id"].get<std::string>()).second)
          << "duplicate id " << j["id"];
      EXPECT_FALSE(extract->record.patient_id().empty()) << line;
      const needlecheck::v1::PatientRecord& record = extract->record;
      if (t == 4) {
        ASSERT_EQ(record.procedures_size(), 1) << line;
        const auto& procedure = record.procedures(0);
        EXPECT_EQ(procedure.areas_size() > 0, j.contains("bodySite")) << line;
        if (j.contains("extension")) {
          EXPECT_DOUBLE_EQ(
              procedure.needle_depth_mm(),
              j["extension"][0]["valueQuantity"]["value"].get<double>());
        } else {
          EXPECT_EQ(procedure.needle_depth_mm(), 0) << line;
        }
      }
      if (t == 5) {
        EXPECT_TRUE(record.fitzpatrick_skin_type() == 2 ||
                    record.fitzpatrick_skin_type() == 5)
            << line;
      }
      if (t == 2) {
        ASSERT_EQ(record.allergies_size(), 1) << line;
      }
      if (t == 0) {
        patients.insert(extract->record.patient_id());
      } else {
        EXPECT_TRUE(patients.count(extract->record.patient_id())) << line;
      }
    }
    if (t == 0 || t == 2 || t == 4 || t == 5) {
      EXPECT_GT(n, 0) << file;
    }
  }
  EXPECT_EQ(patients.size(), 200u);
}

TEST(SynthTest, FindingsMatchSummaryAndEveryScenarioAppears) {
  std::filesystem::path dir = Generate("summary", 200, 3);
  nlohmann::json summary =
      nlohmann::json::parse(ReadFile(dir / "expected_summary.json"));
  std::map<std::string, int64_t> verdicts;
  std::map<std::string, std::set<std::string>> scenario_verdicts;
  std::set<std::string> procedure_ids;
  for (const std::string& line : Lines(ReadFile(dir / "Procedure.ndjson"))) {
    nlohmann::json j = nlohmann::json::parse(line);
    procedure_ids.insert(j["id"].get<std::string>());
  }
  int64_t sessions = 0;
  for (const std::string& line :
       Lines(ReadFile(dir / "expected_findings.ndjson"))) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << line;
    ++sessions;
    ++verdicts[j["verdict"].get<std::string>()];
    scenario_verdicts[j["scenario"].get<std::string>()].insert(
        j["verdict"].get<std::string>());
    EXPECT_TRUE(procedure_ids.count(j["session_id"].get<std::string>()));
    EXPECT_EQ(j["session_date"].get<std::string>().size(), 10u);
  }
  EXPECT_EQ(summary["sessions"].get<int64_t>(), sessions);
  EXPECT_EQ(summary["patients"].get<int64_t>(), 200);
  for (const auto& [verdict, count] : verdicts) {
    EXPECT_EQ(summary["verdicts"][verdict].get<int64_t>(), count) << verdict;
  }
  for (const char* verdict : {"interval_violation", "treated_despite_critical",
                              "treated_despite_warning", "clear"}) {
    EXPECT_GT(verdicts[verdict], 0) << verdict;
  }
  for (const std::string& scenario : ScenarioNames()) {
    EXPECT_GT(summary["scenarios"][scenario].get<int64_t>(), 0) << scenario;
    EXPECT_TRUE(scenario_verdicts.count(scenario)) << scenario;
  }
  using ::testing::ElementsAre;
  EXPECT_THAT(scenario_verdicts["clean"], ElementsAre("clear"));
  EXPECT_THAT(scenario_verdicts["interval_violation"],
              ElementsAre("clear", "interval_violation"));
  EXPECT_THAT(scenario_verdicts["non_overlapping_pair"], ElementsAre("clear"));
  EXPECT_THAT(scenario_verdicts["same_day_pair"], ElementsAre("clear"));
  EXPECT_THAT(scenario_verdicts["eczema_active"],
              ElementsAre("treated_despite_critical"));
  EXPECT_THAT(scenario_verdicts["eczema_resolved"], ElementsAre("clear"));
  EXPECT_THAT(scenario_verdicts["allergy_after"], ElementsAre("clear"));
  EXPECT_THAT(scenario_verdicts["anesthetic_allergy"],
              ElementsAre("treated_despite_critical"));
  EXPECT_THAT(scenario_verdicts["warfarin_active"],
              ElementsAre("treated_despite_warning"));
  EXPECT_THAT(scenario_verdicts["warfarin_stopped"], ElementsAre("clear"));
  EXPECT_THAT(scenario_verdicts["negated_allergy"], ElementsAre("clear"));
  EXPECT_THAT(scenario_verdicts["eye_depth"],
              ElementsAre("treated_despite_warning"));
  EXPECT_THAT(scenario_verdicts["fitzpatrick_v"],
              ElementsAre("treated_despite_warning"));
  EXPECT_THAT(scenario_verdicts["interval_and_warfarin"],
              ElementsAre("interval_violation", "treated_despite_warning"));
}

TEST(SynthTest, RejectsTooShortRange) {
  SynthOptions options;
  options.out_dir = ::testing::TempDir();
  options.start = absl::CivilDay(2024, 1, 1);
  options.end = absl::CivilDay(2024, 6, 1);
  EXPECT_FALSE(WriteExport(options).ok());
}

}  // namespace
}  // namespace needlecheck::synth
