#include "tests/tools/synth/synth.h"

#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
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
                                 "MedicationAdministration.ndjson",
                                 "expected_findings.ndjson",
                                 "expected_summary.json"};

constexpr int kProcedure = 4;
constexpr int kObservation = 5;
constexpr int kAdministration = 6;

std::filesystem::path Generate(const std::string& name, int64_t patients,
                               uint64_t seed, bool gzip = false) {
  SynthOptions options;
  options.out_dir =
      (std::filesystem::path(::testing::TempDir()) / ("synth_" + name))
          .string();
  options.patients = patients;
  options.seed = seed;
  options.gzip = gzip;
  std::filesystem::remove_all(options.out_dir);
  absl::StatusOr<SynthSummary> summary = WriteExport(options);
  EXPECT_TRUE(summary.ok()) << summary.status();
  return options.out_dir;
}

// The decompressed content of a gzip file; nullopt when it is not one.
std::optional<std::string> Gunzip(const std::filesystem::path& path) {
  gzFile in = gzopen(path.c_str(), "rb");
  if (in == nullptr) return std::nullopt;
  // gzread passes plain files through: insist on the gzip magic.
  const std::string raw = ReadFile(path);
  if (raw.size() < 2 || static_cast<unsigned char>(raw[0]) != 0x1f ||
      static_cast<unsigned char>(raw[1]) != 0x8b) {
    gzclose(in);
    return std::nullopt;
  }
  std::string out;
  char buffer[1 << 14];
  int n = 0;
  while ((n = gzread(in, buffer, sizeof(buffer))) > 0) out.append(buffer, n);
  const bool ok = n == 0 && gzclose(in) == Z_OK;
  if (!ok) return std::nullopt;
  return out;
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
      if (t == kProcedure) {
        ASSERT_EQ(record.procedures_size(), 1) << line;
        const auto& procedure = record.procedures(0);
        EXPECT_EQ(procedure.areas_size() > 0, j.contains("bodySite")) << line;
        if (procedure.status() == "completed" &&
            procedure.code().text() != "Chemical peel") {
          // A session: who and where, as displays.
          EXPECT_EQ(procedure.performer(),
                    j["performer"][0]["actor"]["display"].get<std::string>());
          EXPECT_EQ(procedure.location(),
                    j["location"]["display"].get<std::string>());
          EXPECT_FALSE(procedure.performer().empty()) << line;
          EXPECT_FALSE(procedure.location().empty()) << line;
        }
        if (j.contains("extension")) {
          EXPECT_DOUBLE_EQ(
              procedure.needle_depth_mm(),
              j["extension"][0]["valueQuantity"]["value"].get<double>());
        } else {
          EXPECT_EQ(procedure.needle_depth_mm(), 0) << line;
        }
      }
      if (t == kAdministration) {
        ASSERT_EQ(record.medications_size(), 1) << line;
        const auto& m = record.medications(0);
        EXPECT_EQ(m.status(), "completed");
        // effectiveDateTime: given that day.
        EXPECT_EQ(m.start(), j["effectiveDateTime"].get<std::string>());
        EXPECT_EQ(m.end(), m.start());
        EXPECT_TRUE(m.code().text() == "EMLA cream" ||
                    (m.code().codings_size() == 1 &&
                     m.code().codings(0).code() == "346553009"))
            << line;
      }
      if (t == kObservation) {
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
    if (t == 0 || t == 2 || t == kProcedure || t == kObservation ||
        t == kAdministration) {
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

TEST(SynthTest, GzipOutputRoundTrips) {
  std::filesystem::path plain = Generate("gz_plain", 150, 5);
  std::filesystem::path gz = Generate("gz_gzip", 150, 5, /*gzip=*/true);
  std::filesystem::path gz2 = Generate("gz_gzip2", 150, 5, /*gzip=*/true);
  SynthOptions gzip_options;
  gzip_options.gzip = true;
  for (int t = 0; t < kNumResourceTypes; ++t) {
    const std::string name = absl::StrCat(kResourceTypes[t], ".ndjson");
    EXPECT_EQ(ResourceFileName(SynthOptions(), t), name);
    EXPECT_EQ(ResourceFileName(gzip_options, t), name + ".gz");
    EXPECT_FALSE(std::filesystem::exists(gz / name)) << name;
    ASSERT_TRUE(std::filesystem::exists(gz / (name + ".gz"))) << name;
    std::optional<std::string> content = Gunzip(gz / (name + ".gz"));
    ASSERT_TRUE(content.has_value()) << name << " is not gzip";
    EXPECT_EQ(*content, ReadFile(plain / name)) << name;
    // Deterministic bytes (no time in the gzip header).
    EXPECT_EQ(ReadFile(gz / (name + ".gz")), ReadFile(gz2 / (name + ".gz")))
        << name;
  }
  EXPECT_LT(std::filesystem::file_size(gz / "Procedure.ndjson.gz"),
            std::filesystem::file_size(plain / "Procedure.ndjson"));
  // The expected files stay plain and equal.
  for (const char* file :
       {"expected_findings.ndjson", "expected_summary.json"}) {
    EXPECT_EQ(ReadFile(gz / file), ReadFile(plain / file)) << file;
    EXPECT_FALSE(std::filesystem::exists(gz / (std::string(file) + ".gz")));
  }
}

TEST(SynthTest, SomeAnestheticsAreMedicationAdministrationsOnTheSessionDay) {
  std::filesystem::path dir = Generate("madm", 200, 9);
  // Session procedures by (patient, day).
  std::map<std::pair<std::string, std::string>, std::vector<nlohmann::json>>
      sessions;
  int used_code = 0;
  for (const std::string& line : Lines(ReadFile(dir / "Procedure.ndjson"))) {
    nlohmann::json j = nlohmann::json::parse(line);
    if (j["status"] != "completed" || j["code"]["text"] == "Chemical peel") {
      continue;
    }
    if (j.contains("usedCode")) ++used_code;
    sessions[{j["subject"]["reference"].get<std::string>(),
              j["performedDateTime"].get<std::string>().substr(0, 10)}]
        .push_back(j);
  }
  int administrations = 0;
  for (const std::string& line :
       Lines(ReadFile(dir / "MedicationAdministration.ndjson"))) {
    nlohmann::json j = nlohmann::json::parse(line);
    ++administrations;
    EXPECT_EQ(j["status"], "completed");
    const std::string subject = j["subject"]["reference"].get<std::string>();
    EXPECT_EQ(subject.rfind("Patient/", 0), 0u) << line;
    const std::string day =
        j["effectiveDateTime"].get<std::string>().substr(0, 10);
    auto it = sessions.find({subject, day});
    ASSERT_NE(it, sessions.end()) << "no session that day: " << line;
    // The anesthetic is recorded once: here, not in the session's usedCode.
    for (const nlohmann::json& session : it->second) {
      EXPECT_FALSE(session.contains("usedCode")) << session.dump();
    }
  }
  EXPECT_GT(administrations, 0);
  EXPECT_GT(used_code, 0);  // both forms appear
  nlohmann::json summary =
      nlohmann::json::parse(ReadFile(dir / "expected_summary.json"));
  EXPECT_EQ(summary["resources"]["MedicationAdministration"].get<int64_t>(),
            administrations);
}

TEST(SynthTest, EverySessionHasAPerformerAndALocation) {
  std::filesystem::path dir = Generate("performers", 200, 4);
  std::map<std::string, nlohmann::json> procedures;
  for (const std::string& line : Lines(ReadFile(dir / "Procedure.ndjson"))) {
    nlohmann::json j = nlohmann::json::parse(line);
    procedures[j["id"].get<std::string>()] = j;
  }
  std::map<std::string, int64_t> performers, locations;
  std::map<std::string, std::map<std::string, int64_t>> performer_verdicts;
  int64_t sessions = 0;
  for (const std::string& line :
       Lines(ReadFile(dir / "expected_findings.ndjson"))) {
    nlohmann::json f = nlohmann::json::parse(line);
    ++sessions;
    const nlohmann::json& p = procedures.at(f["session_id"].get<std::string>());
    const nlohmann::json& actor = p["performer"][0]["actor"];
    EXPECT_EQ(
        actor["reference"].get<std::string>().rfind("Practitioner/prac-", 0),
        0u);
    EXPECT_EQ(p["location"]["reference"].get<std::string>().rfind(
                  "Location/clinic-", 0),
              0u);
    EXPECT_EQ(f["performer"], actor["display"]);
    EXPECT_EQ(f["location"], p["location"]["display"]);
    ++performers[f["performer"].get<std::string>()];
    ++locations[f["location"].get<std::string>()];
    ++performer_verdicts[f["performer"].get<std::string>()]
                        [f["verdict"].get<std::string>()];
    // Existing keys are kept.
    for (const char* key : {"patient_id", "session_id", "session_date",
                            "verdict", "scenario", "areas"}) {
      EXPECT_TRUE(f.contains(key)) << key;
    }
    if (f["verdict"] == "interval_violation") {
      ASSERT_TRUE(f["days_since_previous_session"].is_number()) << line;
      EXPECT_LT(f["days_since_previous_session"].get<int>(), 28) << line;
      EXPECT_GT(f["days_since_previous_session"].get<int>(), 0) << line;
    }
  }
  EXPECT_EQ(performers.size(), 5u);
  EXPECT_EQ(locations.size(), 3u);
  EXPECT_EQ(performers.count("Dr. Ana Ruiz"), 1u);
  EXPECT_EQ(locations.count("North Clinic"), 1u);
  nlohmann::json summary =
      nlohmann::json::parse(ReadFile(dir / "expected_summary.json"));
  ASSERT_EQ(summary["performers"].size(), performers.size());
  ASSERT_EQ(summary["locations"].size(), locations.size());
  int64_t total = 0;
  for (const auto& [name, n] : performers) {
    EXPECT_EQ(summary["performers"][name]["sessions"].get<int64_t>(), n);
    total += n;
    for (const auto& [verdict, count] : performer_verdicts[name]) {
      EXPECT_EQ(summary["performers"][name]["verdicts"][verdict].get<int64_t>(),
                count)
          << name << " " << verdict;
    }
  }
  EXPECT_EQ(total, sessions);
  for (const auto& [name, n] : locations) {
    EXPECT_EQ(summary["locations"][name]["sessions"].get<int64_t>(), n);
  }
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
