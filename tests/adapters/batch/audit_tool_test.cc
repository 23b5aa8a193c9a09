// needlecheck-audit end to end: the real needlecheckd on loopback, the real
// tool as a child process, generated exports (needlecheck-synth) with
// planted findings, and the shared corpus.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "sqlite3.h"
#include "tests/testing/headless_chromium.h"
#include "tests/testing/read_file.h"
#include "tests/testing/scoped_temp_dir.h"
#include "tests/testing/server_process.h"
#include "tests/testing/shared_corpus.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/tls_test_certs.h"
#include "tests/tools/synth/synth.h"

namespace needlecheck {
namespace {

namespace fs = std::filesystem;
using ::needlecheck::testing::BinaryPath;
using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::ScopedTempDir;
using ::needlecheck::testing::ServerProcess;
using ::testing::HasSubstr;
using ::testing::Not;

using ::needlecheck::testing::ReadFile;

std::vector<nlohmann::json> ReadNdjson(const std::string& path) {
  std::vector<nlohmann::json> lines;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) lines.push_back(nlohmann::json::parse(line));
  }
  return lines;
}

// The files a run writes whose bytes a resumed or merged run must match.
const char* const kComparedFiles[] = {"findings.ndjson", "findings.csv",
                                      "summary.json", "report.html",
                                      "errors.ndjson"};

class AuditToolTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new ScopedTempDir();
    auto process = ServerProcess::Start(
        BinaryPath("service/needlecheckd"),
        {"--listen=127.0.0.1:0", "--data_dir=" + dir_->Path("data")});
    ASSERT_THAT(process, IsOk());
    server_ = process->release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete dir_;
    dir_ = nullptr;
  }

  // A generated export of `patients` patients in a new folder.
  std::string Synth(int64_t patients, uint64_t seed, bool gzip = false) {
    synth::SynthOptions options;
    options.out_dir = temp_.Path(
        absl::StrCat("export-", seed, "-", patients, gzip ? "-gz" : ""));
    options.patients = patients;
    options.seed = seed;
    options.gzip = gzip;
    auto summary = synth::WriteExport(options);
    EXPECT_THAT(summary.status(), IsOk());
    return options.out_dir;
  }

  // Starts needlecheck-audit with `args` (the service flag added) and
  // `env` ("NAME=value") on top of this process's environment.
  std::unique_ptr<ServerProcess> Spawn(std::vector<std::string> args,
                                       std::vector<std::string> env = {}) {
    args.push_back(absl::StrCat("--service=127.0.0.1:", server_->port()));
    ServerProcess::Options options;
    options.extra_env = std::move(env);
    auto process = ServerProcess::Spawn(
        BinaryPath("adapters/batch/needlecheck-audit"), args, options);
    EXPECT_THAT(process, IsOk());
    return process.ok() ? *std::move(process) : nullptr;
  }

  // Runs needlecheck-audit to the end; returns its exit code.
  int Run(std::vector<std::string> args, std::string* output = nullptr,
          std::vector<std::string> env = {}) {
    std::unique_ptr<ServerProcess> process =
        Spawn(std::move(args), std::move(env));
    if (process == nullptr) return -1;
    absl::StatusOr<int> code = process->WaitForExit(absl::Minutes(10));
    EXPECT_THAT(code, IsOk());
    if (output != nullptr) *output = process->output();
    return code.ok() ? *code : -1;
  }

  // Adds patient `id` with one completed microneedling session at a needle
  // depth of 4 mm, which needlecheckd rejects (INVALID_ARGUMENT), to a
  // generated export. Returns the Procedure's line in Procedure.ndjson.
  static int64_t AddRejectedPatient(const std::string& export_dir,
                                    const std::string& id) {
    std::ofstream(export_dir + "/Patient.ndjson", std::ios::app)
        << "{\"resourceType\":\"Patient\",\"id\":\"" << id
        << "\",\"birthDate\":\"1984-05-06\"}\n";
    int64_t line = 1;
    {
      std::ifstream in(export_dir + "/Procedure.ndjson");
      std::string text;
      while (std::getline(in, text)) ++line;
    }
    std::ofstream(export_dir + "/Procedure.ndjson", std::ios::app)
        << "{\"resourceType\":\"Procedure\",\"id\":\"" << id
        << "-mn1\",\"status\":\"completed\",\"subject\":{\"reference\":"
           "\"Patient/"
        << id
        << "\"},\"code\":{\"text\":\"Microneedling\"},"
           "\"performedDateTime\":\"2025-03-04\",\"bodySite\":[{\"text\":"
           "\"Cheeks\"}],\"extension\":[{\"url\":\"urn:needlecheck:fhir:"
           "needle-depth\",\"valueQuantity\":{\"value\":4,\"unit\":"
           "\"mm\"}}]}\n";
    return line;
  }

  // findings.ndjson of `out` holds exactly the planted findings of the
  // generated export, in patient order.
  static void ExpectPlantedFindings(const std::string& export_dir,
                                    const std::string& out) {
    std::map<std::string, nlohmann::json> expected;
    for (nlohmann::json& line :
         ReadNdjson(export_dir + "/expected_findings.ndjson")) {
      expected[line["session_id"].get<std::string>()] = line;
    }
    const std::vector<nlohmann::json> found =
        ReadNdjson(out + "/findings.ndjson");
    ASSERT_EQ(found.size(), expected.size());
    std::string previous_patient;
    for (const nlohmann::json& finding : found) {
      const std::string session = finding["session_id"].get<std::string>();
      ASSERT_EQ(expected.count(session), 1u) << session;
      const nlohmann::json& want = expected[session];
      EXPECT_EQ(finding["patient_id"], want["patient_id"]) << session;
      EXPECT_EQ(finding["session_date"], want["session_date"]) << session;
      EXPECT_EQ(finding["verdict"], want["verdict"]) << session;
      EXPECT_EQ(finding["days_since_previous_session"],
                want["days_since_previous_session"])
          << session;
      EXPECT_LE(previous_patient, finding["patient_id"].get<std::string>());
      previous_patient = finding["patient_id"].get<std::string>();
    }
  }

  // The names in the scratch folder of `out` (empty if there is none).
  static std::set<std::string> ScratchEntries(const std::string& out) {
    std::set<std::string> names;
    std::error_code error;
    for (fs::directory_iterator it(out + "/.needlecheck-audit", error), end;
         !error && it != end; it.increment(error)) {
      names.insert(it->path().filename().string());
    }
    return names;
  }

  void ExpectSameFiles(const std::string& a, const std::string& b) {
    for (const char* name : kComparedFiles) {
      const std::string left = ReadFile(a + "/" + name);
      const std::string right = ReadFile(b + "/" + name);
      EXPECT_FALSE(left.empty() && std::string(name) != "errors.ndjson")
          << name;
      EXPECT_TRUE(left == right)
          << name << " differs between " << a << " and " << b;
    }
  }

  static ScopedTempDir* dir_;
  static ServerProcess* server_;
  ScopedTempDir temp_;
};

ScopedTempDir* AuditToolTest::dir_ = nullptr;
ServerProcess* AuditToolTest::server_ = nullptr;

TEST_F(AuditToolTest, PlantedFindingsAreFoundExactly) {
  const std::string export_dir = Synth(420, 11);
  const std::string out = temp_.Path("out");
  ASSERT_EQ(Run({export_dir, "--out=" + out, "--progress=lines"}), 0);

  std::map<std::string, nlohmann::json> expected;
  for (nlohmann::json& line :
       ReadNdjson(export_dir + "/expected_findings.ndjson")) {
    expected[line["session_id"].get<std::string>()] = line;
  }
  const std::vector<nlohmann::json> found =
      ReadNdjson(out + "/findings.ndjson");
  ASSERT_EQ(found.size(), expected.size());
  std::string previous_patient;
  for (const nlohmann::json& finding : found) {
    const std::string session = finding["session_id"].get<std::string>();
    ASSERT_EQ(expected.count(session), 1u) << session;
    const nlohmann::json& want = expected[session];
    EXPECT_EQ(finding["patient_id"], want["patient_id"]) << session;
    EXPECT_EQ(finding["session_date"], want["session_date"]) << session;
    EXPECT_EQ(finding["verdict"], want["verdict"]) << session;
    EXPECT_EQ(finding["performer"], want["performer"]) << session;
    EXPECT_EQ(finding["location"], want["location"]) << session;
    EXPECT_EQ(finding["days_since_previous_session"],
              want["days_since_previous_session"])
        << session;
    ASSERT_TRUE(finding["alerts"].is_array());
    for (const nlohmann::json& alert : finding["alerts"]) {
      EXPECT_TRUE(alert["rule_id"].is_string());
      EXPECT_THAT(alert["severity"].get<std::string>(),
                  ::testing::AnyOf("critical", "warning", "info"));
    }
    // Patients in byte order of their ids.
    EXPECT_LE(previous_patient, finding["patient_id"].get<std::string>());
    previous_patient = finding["patient_id"].get<std::string>();
  }

  const nlohmann::json summary =
      nlohmann::json::parse(ReadFile(out + "/summary.json"));
  const nlohmann::json expected_summary =
      nlohmann::json::parse(ReadFile(export_dir + "/expected_summary.json"));
  EXPECT_EQ(summary["patients"]["audited"], 420);
  for (const auto& [verdict, count] : expected_summary["verdicts"].items()) {
    EXPECT_EQ(summary["sessions"]["by_verdict"][verdict], count) << verdict;
  }
  EXPECT_EQ(summary["input"]["malformed_lines"], 0);
  EXPECT_EQ(summary["input"]["rejected_resources"], 0);
  EXPECT_EQ(summary["input"]["rejected_patients"], 0);
  EXPECT_TRUE(
      summary["input"]["skipped_files"].contains("expected_findings.ndjson"));
  // The CSV has a header and a row per finding.
  const std::vector<std::string> rows = absl::StrSplit(
      ReadFile(out + "/findings.csv"), "\r\n", absl::SkipEmpty());
  EXPECT_EQ(rows.size(), found.size() + 1);
  EXPECT_THAT(rows[0], HasSubstr("patient_id,session_id,session_date,verdict"));
  // The report of a real run has the three charts (the browser test,
  // report_chromium_test, renders the same page structure).
  const std::string report = ReadFile(out + "/report.html");
  for (const char* id :
       {"chart-by-rule", "chart-by-month", "chart-days-between"}) {
    EXPECT_THAT(report, HasSubstr(absl::StrCat("<svg id=\"", id, "\""))) << id;
  }
  EXPECT_THAT(report, HasSubstr("The 50 most serious"));
  EXPECT_EQ(ReadFile(out + "/errors.ndjson"), "");
  // The scratch folder (patient data) is gone.
  EXPECT_FALSE(fs::exists(out + "/.needlecheck-audit"));
}

TEST_F(AuditToolTest, RealReportRendersInHeadlessChromium) {
  const std::string chromium = ::needlecheck::testing::FindChromium();
  REQUIRE_CHROMIUM(chromium);
  const std::string out = temp_.Path("browser");
  ASSERT_EQ(Run({Synth(300, 17), "--out=" + out, "--progress=none"}), 0);
  const ::needlecheck::testing::ChromiumRun run =
      ::needlecheck::testing::RunChromium(chromium, temp_, "report",
                                          {"--dump-dom"},
                                          "file://" + out + "/report.html");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(::needlecheck::testing::PageProblems(run.err),
              ::testing::IsEmpty());
  for (const char* id :
       {"chart-by-rule", "chart-by-month", "chart-days-between"}) {
    const std::string svg = ::needlecheck::testing::SvgById(run.out, id);
    ASSERT_FALSE(svg.empty()) << id;
    EXPECT_THAT(svg, HasSubstr("<rect ")) << id;
  }
  EXPECT_THAT(run.out, HasSubstr("The 50 most serious"));
}

TEST_F(AuditToolTest, GzipExportGivesTheSameOutput) {
  const std::string out_plain = temp_.Path("plain");
  const std::string out_gzip = temp_.Path("gzip");
  ASSERT_EQ(Run({Synth(150, 5), "--out=" + out_plain, "--progress=none"}), 0);
  ASSERT_EQ(Run({Synth(150, 5, true), "--out=" + out_gzip, "--progress=none"}),
            0);
  // The file names differ (.ndjson.gz) in the input section only.
  EXPECT_EQ(ReadFile(out_plain + "/findings.ndjson"),
            ReadFile(out_gzip + "/findings.ndjson"));
  EXPECT_EQ(ReadFile(out_plain + "/findings.csv"),
            ReadFile(out_gzip + "/findings.csv"));
}

// One patient per Audit message (the form older needlecheckd releases
// understand) and batches of patients give the same bytes, including a
// record needlecheckd rejects in the middle of a batch.
TEST_F(AuditToolTest, PatientsPerMessageDoesNotChangeTheOutput) {
  const std::string export_dir = Synth(400, 17);
  AddRejectedPatient(export_dir, "syn17-1x");
  const std::string out_one = temp_.Path("one");
  const std::string out_many = temp_.Path("many");
  ASSERT_EQ(Run({export_dir, "--out=" + out_one, "--progress=none",
                 "--patients_per_message=1"}),
            0);
  ASSERT_EQ(Run({export_dir, "--out=" + out_many, "--progress=none",
                 "--patients_per_message=128"}),
            0);
  ExpectSameFiles(out_one, out_many);
  EXPECT_NE(ReadFile(out_many + "/errors.ndjson").find("needlecheckd rejected"),
            std::string::npos);
}

// Kills the tool (SIGKILL) while it shows progress in a phase, resumes it,
// and expects the same files as an uninterrupted run.
TEST_F(AuditToolTest, ResumeAfterAKillGivesIdenticalOutput) {
  const std::string export_dir = Synth(3000, 21);
  // One record needlecheckd rejects, among the others.
  AddRejectedPatient(export_dir, "syn21-1x");
  const std::string reference = temp_.Path("reference");
  ASSERT_EQ(Run({export_dir, "--out=" + reference, "--progress=none"}), 0);

  // The reference has one spill partition (a small export); the killed
  // runs also with 13, whose findings runs are merged back into the same
  // bytes.
  for (const std::string phase : {"reading:", "auditing:"}) {
    for (const std::string partitions : {"0", "13"}) {
      SCOPED_TRACE(absl::StrCat(phase, " partitions ", partitions));
      const std::string out =
          temp_.Path(absl::StrCat("killed-", phase.size(), "-", partitions));
      std::unique_ptr<ServerProcess> process =
          Spawn({export_dir, "--out=" + out, "--progress=lines",
                 "--progress_interval=20ms", "--checkpoint_interval=20ms",
                 "--commit_lines=500", "--spill_partitions=" + partitions});
      ASSERT_NE(process, nullptr);
      // Kill as soon as the phase shows progress. (Waiting for a second
      // progress line raced with a fast machine: the tool had written every
      // line of the phase before the test looked, so the wait lasted until
      // the run had ended.)
      ASSERT_TRUE(process->WaitForOutput(phase, 0, absl::Minutes(5)))
          << process->output();
      ASSERT_THAT(process->Signal(SIGKILL), IsOk());
      absl::StatusOr<int> code = process->WaitForExit();
      ASSERT_THAT(code, IsOk());
      ASSERT_EQ(*code, 128 + SIGKILL) << "the run ended before the kill";
      ASSERT_TRUE(fs::exists(out + "/.needlecheck-audit"));

      // Without --resume the folder is refused; with it the run completes.
      std::string refused;
      EXPECT_EQ(Run({export_dir, "--out=" + out}, &refused), 2);
      EXPECT_THAT(refused, HasSubstr("--resume"));
      ASSERT_EQ(
          Run({export_dir, "--out=" + out, "--resume", "--progress=none"}), 0);
      ExpectSameFiles(reference, out);
      // A second --resume has nothing left to do and changes nothing.
      ASSERT_EQ(
          Run({export_dir, "--out=" + out, "--resume", "--progress=none"}), 0);
      ExpectSameFiles(reference, out);
    }
  }
}

TEST_F(AuditToolTest, ShardsMergeIntoTheSingleRun) {
  const std::string export_dir = Synth(600, 31);
  const std::string single = temp_.Path("single");
  ASSERT_EQ(Run({export_dir, "--out=" + single, "--progress=none"}), 0);
  std::vector<std::string> shards;
  int64_t patients = 0;
  for (int k = 1; k <= 3; ++k) {
    shards.push_back(temp_.Path(absl::StrCat("shard", k)));
    ASSERT_EQ(Run({export_dir, "--out=" + shards.back(),
                   absl::StrCat("--shard=", k, "/3"), "--progress=none"}),
              0);
    const nlohmann::json summary =
        nlohmann::json::parse(ReadFile(shards.back() + "/summary.json"));
    EXPECT_GT(summary["patients"]["audited"].get<int64_t>(), 100) << k;
    patients += summary["patients"]["audited"].get<int64_t>();
  }
  EXPECT_EQ(patients, 600);
  const std::string merged = temp_.Path("merged");
  ASSERT_EQ(Run({"merge", "--out=" + merged, shards[2], shards[0], shards[1]}),
            0);
  ExpectSameFiles(single, merged);

  // As pods of a Kubernetes Indexed Job: three processes at once, each with
  // its JOB_COMPLETION_INDEX and the pod command's --shard_count=3 --resume
  // (into a fresh folder: --resume starts the audit).
  std::vector<std::string> indexed;
  std::vector<std::unique_ptr<ServerProcess>> pods;
  for (int i = 0; i < 3; ++i) {
    indexed.push_back(temp_.Path(absl::StrCat("index", i)));
    pods.push_back(Spawn({export_dir, "--out=" + indexed.back(),
                          "--shard_count=3", "--resume", "--progress=none"},
                         {absl::StrCat("JOB_COMPLETION_INDEX=", i)}));
    ASSERT_NE(pods.back(), nullptr);
  }
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<int> code = pods[i]->WaitForExit(absl::Minutes(10));
    ASSERT_THAT(code, IsOk());
    ASSERT_EQ(*code, 0) << pods[i]->output();
    EXPECT_THAT(pods[i]->output(), HasSubstr("starting one"));
    // Index i is shard i+1: the same bytes as --shard (i+1)/3.
    ExpectSameFiles(shards[i], indexed[i]);
  }
  const std::string merged_indexed = temp_.Path("merged-indexed");
  ASSERT_EQ(Run({"merge", "--out=" + merged_indexed, indexed[1], indexed[2],
                 indexed[0]}),
            0);
  ExpectSameFiles(single, merged_indexed);
  // A retried pod whose attempt finished has nothing left to do.
  ASSERT_EQ(Run({export_dir, "--out=" + indexed[0], "--shard_count=3",
                 "--resume", "--progress=none"},
                nullptr, {"JOB_COMPLETION_INDEX=0"}),
            0);
  ExpectSameFiles(shards[0], indexed[0]);

  // A missing shard, or a shard given twice, is refused.
  std::string output;
  EXPECT_EQ(Run({"merge", "--out=" + temp_.Path("bad1"), shards[0], shards[1]},
                &output),
            2);
  EXPECT_THAT(output, HasSubstr("shard 3/3 is missing"));
  EXPECT_EQ(Run({"merge", "--out=" + temp_.Path("bad2"), shards[0], shards[0],
                 shards[1]},
                &output),
            2);
  EXPECT_THAT(output, HasSubstr("given twice"));
}

TEST_F(AuditToolTest, CorpusBulkSampleAuditsCleanly) {
  const std::string corpus =
      testing::SharedCorpusDir(NEEDLECHECK_SHARED_DIR, "fhir-r4-bulk-ndjson")
          .string();
  if (!fs::exists(corpus)) GTEST_SKIP() << "no shared corpus at " << corpus;
  const std::string out = temp_.Path("corpus");
  std::string output;
  ASSERT_EQ(Run({corpus, "--out=" + out, "--progress=lines"}, &output), 0)
      << output;
  const nlohmann::json summary =
      nlohmann::json::parse(ReadFile(out + "/summary.json"));
  int64_t patients = 0;
  {
    std::ifstream in(corpus + "/Patient.000.ndjson");
    std::string line;
    while (std::getline(in, line)) patients += line.empty() ? 0 : 1;
  }
  EXPECT_EQ(summary["patients"]["audited"], patients);
  EXPECT_EQ(summary["input"]["malformed_lines"], 0);
  EXPECT_EQ(summary["input"]["rejected_resources"], 0);
  EXPECT_EQ(summary["input"]["rejected_patients"], 0);
  EXPECT_TRUE(summary["input"]["skipped_files"].contains("log.ndjson"));
  EXPECT_EQ(ReadFile(out + "/errors.ndjson"), "");
  EXPECT_THAT(output, Not(HasSubstr("malformed")));
}

TEST_F(AuditToolTest, CorpusBundlesAudit) {
  const std::string corpus =
      testing::SharedCorpusDir(NEEDLECHECK_SHARED_DIR, "fhir-r4-bundles")
          .string();
  if (!fs::exists(corpus)) GTEST_SKIP() << "no shared corpus at " << corpus;
  const std::string out = temp_.Path("bundles");
  std::string output;
  ASSERT_EQ(Run({corpus, "--out=" + out, "--progress=none"}, &output), 0)
      << output;
  const nlohmann::json summary =
      nlohmann::json::parse(ReadFile(out + "/summary.json"));
  EXPECT_EQ(summary["input"]["malformed_lines"], 0);
  EXPECT_EQ(summary["input"]["rejected_patients"], 0);
  EXPECT_GE(summary["patients"]["audited"].get<int64_t>(), 20);
}

TEST_F(AuditToolTest, BadInputIsReportedWithFileAndLineAndSkipped) {
  ScopedTempDir input;
  const std::string export_dir = input.path();
  input.WriteFile(
      "Patient.ndjson",
      "{\"resourceType\":\"Patient\",\"id\":\"p1\"}\n"
      "{\"resourceType\":\"Patient\",\"id\":\"p2\"}\n"
      "{\"resourceType\":\"Patient\",\"id\":\"p3\",\"name\":[{\"family\":"
      "\"Secretname\"\n"  // line 3: truncated
      "\n"
      "[1,2,3]\n");  // line 5: not a resource
  input.WriteFile(
      "Condition.ndjson",
      // line 1: fine; line 2: no patient; line 3: a wrong type the FHIR
      // adapter rejects (the rest of p2's record is still audited)
      "{\"resourceType\":\"Condition\",\"id\":\"c1\",\"subject\":{"
      "\"reference\":\"Patient/p1\"},\"code\":{\"text\":\"eczema\"},"
      "\"clinicalStatus\":{\"coding\":[{\"code\":\"active\"}]}}\n"
      "{\"resourceType\":\"Condition\",\"id\":\"c2\",\"code\":{\"text\":"
      "\"acne\"}}\n"
      "{\"resourceType\":\"Condition\",\"id\":\"c3\",\"subject\":{"
      "\"reference\":\"Patient/p2\"},\"onsetDateTime\":\"2026-02-30\"}\n");
  input.WriteFile(
      "Procedure.ndjson",
      "{\"resourceType\":\"Procedure\",\"id\":\"s1\",\"status\":\"completed\","
      "\"subject\":{\"reference\":\"Patient/p1\"},\"code\":{\"text\":"
      "\"Microneedling\"},\"performedDateTime\":\"2026-03-01\"}\n");
  // No AllergyIntolerance, Observation ... files: fine.
  const std::string out = temp_.Path("bad");
  std::string output;
  ASSERT_EQ(Run({export_dir, "--out=" + out, "--progress=none"}, &output), 0)
      << output;
  const std::vector<nlohmann::json> errors = ReadNdjson(out + "/errors.ndjson");
  ASSERT_EQ(errors.size(), 3u) << ReadFile(out + "/errors.ndjson");
  EXPECT_EQ(errors[0]["file"], "Condition.ndjson");
  EXPECT_EQ(errors[0]["line"], 3);
  EXPECT_THAT(errors[0]["error"].get<std::string>(),
              HasSubstr("resource skipped"));
  EXPECT_EQ(errors[1]["file"], "Patient.ndjson");
  EXPECT_EQ(errors[1]["line"], 3);
  EXPECT_THAT(errors[1]["error"].get<std::string>(),
              HasSubstr("malformed line"));
  EXPECT_EQ(errors[2]["file"], "Patient.ndjson");
  EXPECT_EQ(errors[2]["line"], 5);
  // The log names file and line, never the content.
  EXPECT_THAT(output, HasSubstr("Patient.ndjson:3: malformed line"));
  EXPECT_THAT(output, Not(HasSubstr("Secretname")));

  const nlohmann::json summary =
      nlohmann::json::parse(ReadFile(out + "/summary.json"));
  EXPECT_EQ(summary["input"]["malformed_lines"], 2);
  EXPECT_EQ(summary["input"]["resources_without_patient"], 1);
  EXPECT_EQ(summary["input"]["rejected_resources"], 1);
  EXPECT_EQ(summary["input"]["files"]["Patient.ndjson"]["malformed"], 2);
  EXPECT_EQ(summary["patients"]["audited"], 2);
  const std::vector<nlohmann::json> findings =
      ReadNdjson(out + "/findings.ndjson");
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0]["patient_id"], "p1");
  EXPECT_EQ(findings[0]["verdict"], "treated_despite_critical");
}

// File names are bytes: one that is not UTF-8 is audited and listed with
// U+FFFD in its place (the input fingerprint and the list of files skipped
// while reading were dumped by nlohmann's strict writer, which threw and
// aborted the tool).
TEST_F(AuditToolTest, FileNamesThatAreNotUtf8AreAuditedAndListed) {
  ScopedTempDir input;
  input.WriteFile("Patient.ndjson",
                  "{\"resourceType\":\"Patient\",\"id\":\"p1\"}\n");
  input.WriteFile("Condition.caf\xff.ndjson",
                  "{\"resourceType\":\"Condition\",\"id\":\"c1\",\"subject\":"
                  "{\"reference\":\"Patient/p1\"},\"code\":{\"text\":"
                  "\"acne\"}}\n");
  input.WriteFile("x\xfd.json", "{\"a\":1}\n");  // skipped while reading
  const std::string out = temp_.Path("utf8");
  std::string output;
  ASSERT_EQ(Run({input.path(), "--out=" + out, "--progress=none"}, &output), 0)
      << output;
  const nlohmann::json summary =
      nlohmann::json::parse(ReadFile(out + "/summary.json"));
  EXPECT_EQ(summary["input"]["files"]["Condition.caf\xEF\xBF\xBD.ndjson"]
                   ["resources"],
            1);
  EXPECT_TRUE(summary["input"]["skipped_files"].contains("x\xEF\xBF\xBD.json"))
      << summary["input"]["skipped_files"].dump();
  EXPECT_EQ(summary["patients"]["audited"], 1);
}

TEST_F(AuditToolTest, UsageErrors) {
  std::string output;
  EXPECT_EQ(
      Run({temp_.Path("no-such-export"), "--out=" + temp_.Path("o1")}, &output),
      2);
  EXPECT_THAT(output, HasSubstr("no-such-export"));
  EXPECT_EQ(
      Run({Synth(3, 2), "--out=" + temp_.Path("o2"), "--shard=4/3"}, &output),
      2);
  EXPECT_THAT(output, HasSubstr("shard"));
  EXPECT_EQ(
      Run({Synth(3, 2), "--out=" + temp_.Path("o3"), "--spill_partitions=257"},
          &output),
      2);
  EXPECT_THAT(output, HasSubstr("--spill_partitions"));
  // --shard_count: the index must be there, a number below the count, and
  // --shard is not given as well; nothing is written.
  const std::string indexed_out = temp_.Path("o-indexed");
  struct IndexCase {
    std::vector<std::string> flags;
    std::vector<std::string> env;
    std::string message;
  };
  const IndexCase cases[] = {
      {{"--shard_count=3"}, {}, "JOB_COMPLETION_INDEX"},
      {{"--shard_count=3"},
       {"JOB_COMPLETION_INDEX=3"},
       "JOB_COMPLETION_INDEX=3: must be below"},
      {{"--shard_count=3"},
       {"JOB_COMPLETION_INDEX=one"},
       "JOB_COMPLETION_INDEX=\"one\""},
      {{"--shard_count=1025"},
       {"JOB_COMPLETION_INDEX=0"},
       "--shard_count=1025"},
      {{"--shard_count=3", "--shard=1/3"},
       {"JOB_COMPLETION_INDEX=0"},
       "--shard and --shard_count exclude"},
  };
  const std::string small_export = Synth(3, 2);
  for (const IndexCase& c : cases) {
    std::vector<std::string> args = {small_export, "--out=" + indexed_out};
    args.insert(args.end(), c.flags.begin(), c.flags.end());
    EXPECT_EQ(Run(args, &output, c.env), 2) << c.message;
    EXPECT_THAT(output, HasSubstr(c.message));
  }
  EXPECT_FALSE(fs::exists(indexed_out));
  // A finished audit is not overwritten by accident.
  const std::string export_dir = Synth(5, 3);
  ASSERT_EQ(Run({export_dir, "--out=" + temp_.Path("o3"), "--progress=none"}),
            0);
  EXPECT_EQ(Run({export_dir, "--out=" + temp_.Path("o3")}, &output), 2);
  EXPECT_THAT(output, HasSubstr("--overwrite"));
  EXPECT_EQ(Run({export_dir, "--out=" + temp_.Path("o3"), "--overwrite",
                 "--progress=none"}),
            0);
  // A folder another run is writing to (its lock held) is refused.
  const std::string busy = temp_.Path("o4");
  fs::create_directories(busy);
  const int fd =
      open((busy + "/.needlecheck-audit.lock").c_str(), O_RDWR | O_CREAT, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(flock(fd, LOCK_EX | LOCK_NB), 0);
  EXPECT_EQ(Run({export_dir, "--out=" + busy}, &output), 2);
  EXPECT_THAT(output, HasSubstr("another needlecheck-audit"));
  close(fd);
  EXPECT_EQ(Run({export_dir, "--out=" + busy, "--progress=none"}), 0);
}

TEST_F(AuditToolTest, NeedlecheckdRestartMidRunIsRetriedAndLosesNothing) {
  const std::string export_dir = Synth(2500, 41);
  const std::string reference = temp_.Path("restart-reference");
  ASSERT_EQ(Run({export_dir, "--out=" + reference, "--progress=none"}), 0);

  // A needlecheckd of this test's own, killed while the tool audits, then
  // started again on the same port: the tool retries (saying so) and ends
  // with the output of an uninterrupted run.
  auto own = ServerProcess::Start(
      BinaryPath("service/needlecheckd"),
      {"--listen=127.0.0.1:0", "--data_dir=" + temp_.Path("restart-data")});
  ASSERT_THAT(own, IsOk());
  const int port = (*own)->port();
  const std::string out = temp_.Path("restart");
  auto tool = ServerProcess::Spawn(
      BinaryPath("adapters/batch/needlecheck-audit"),
      {export_dir, "--out=" + out, absl::StrCat("--service=127.0.0.1:", port),
       "--progress=lines", "--progress_interval=20ms"},
      ServerProcess::Options());
  ASSERT_THAT(tool, IsOk());
  ASSERT_TRUE((*tool)->WaitForOutput("auditing:", 0, absl::Minutes(5)))
      << (*tool)->output();
  ASSERT_THAT((*own)->Signal(SIGKILL), IsOk());
  ASSERT_THAT((*own)->WaitForExit().status(), IsOk());
  ASSERT_TRUE((*tool)->WaitForOutput("retry 1 of", 0, absl::Minutes(1)))
      << (*tool)->output();
  auto again =
      ServerProcess::Start(BinaryPath("service/needlecheckd"),
                           {absl::StrCat("--listen=127.0.0.1:", port),
                            "--data_dir=" + temp_.Path("restart-data")});
  ASSERT_THAT(again, IsOk());
  absl::StatusOr<int> code = (*tool)->WaitForExit(absl::Minutes(2));
  ASSERT_THAT(code, IsOk());
  ASSERT_EQ(*code, 0) << (*tool)->output();
  ExpectSameFiles(reference, out);
}

TEST_F(AuditToolTest, UnreachableServiceFailsClearly) {
  auto process =
      ServerProcess::Spawn(BinaryPath("adapters/batch/needlecheck-audit"),
                           {Synth(3, 4), "--out=" + temp_.Path("o"),
                            "--service=127.0.0.1:1", "--connect_timeout=1s"},
                           ServerProcess::Options());
  ASSERT_THAT(process, IsOk());
  absl::StatusOr<int> code = (*process)->WaitForExit();
  ASSERT_THAT(code, IsOk());
  EXPECT_EQ(*code, 1) << (*process)->output();
  EXPECT_THAT((*process)->output(), HasSubstr("cannot reach needlecheckd"))
      << "exit code " << *code;
  EXPECT_FALSE(fs::exists(temp_.Path("o") + "/.needlecheck-audit"));
}

// A record needlecheckd rejects (INVALID_ARGUMENT: a needle depth of 4 mm)
// is one rejected patient, reported with its file, line, field and problem;
// every other patient is audited and the run succeeds. Shards merge into the
// single run's bytes.
TEST_F(AuditToolTest, RejectedRecordIsReportedAndEveryOtherPatientAudited) {
  const std::string export_dir = Synth(200, 51);
  const int64_t line = AddRejectedPatient(export_dir, "syn51-1x");
  const std::string out = temp_.Path("rejected");
  std::string output;
  ASSERT_EQ(Run({export_dir, "--out=" + out, "--progress=lines",
                 "--progress_interval=20ms"},
                &output),
            0)
      << output;
  ExpectPlantedFindings(export_dir, out);
  const std::vector<nlohmann::json> errors = ReadNdjson(out + "/errors.ndjson");
  ASSERT_EQ(errors.size(), 1u) << ReadFile(out + "/errors.ndjson");
  EXPECT_EQ(errors[0]["file"], "Procedure.ndjson");
  EXPECT_EQ(errors[0]["line"], line);
  const std::string error = errors[0]["error"].get<std::string>();
  EXPECT_THAT(error, HasSubstr("patient not audited: needlecheckd rejected"));
  EXPECT_THAT(error, HasSubstr("record.procedures[0].needle_depth_mm"));
  EXPECT_THAT(error, HasSubstr("needle depth out of range"));
  EXPECT_THAT(error, Not(HasSubstr("4 mm")));
  const nlohmann::json summary =
      nlohmann::json::parse(ReadFile(out + "/summary.json"));
  EXPECT_EQ(summary["patients"]["audited"], 200);
  EXPECT_EQ(summary["input"]["rejected_patients"], 1);
  EXPECT_FALSE(fs::exists(out + "/.needlecheck-audit"));
  // Not retried, and the log names no patient (nor a request id).
  EXPECT_THAT(output, Not(HasSubstr("retry")));
  EXPECT_THAT(output, Not(HasSubstr("CANCELLED")));
  EXPECT_THAT(output, Not(HasSubstr("syn51-")));
  EXPECT_THAT(output, Not(HasSubstr("request")));
  EXPECT_THAT(output, HasSubstr("1 patients not used"));

  std::vector<std::string> shards;
  for (int k = 1; k <= 2; ++k) {
    shards.push_back(temp_.Path(absl::StrCat("rejected-shard", k)));
    ASSERT_EQ(Run({export_dir, "--out=" + shards.back(),
                   absl::StrCat("--shard=", k, "/2"), "--progress=none"}),
              0);
  }
  const std::string merged = temp_.Path("rejected-merged");
  ASSERT_EQ(Run({"merge", "--out=" + merged, shards[1], shards[0]}), 0);
  ExpectSameFiles(out, merged);
}

// Starts the tool on `export_dir` against a needlecheckd of its own, kills
// that needlecheckd while the tool reads the export (the tool stopped
// meanwhile, so the kill comes before any audit) and returns the tool's
// exit code and output: the Audit calls fail after one retry.
int RunAgainstDyingNeedlecheckd(const ScopedTempDir& temp,
                                const std::string& export_dir,
                                const std::string& out,
                                std::vector<std::string> extra,
                                std::string* output) {
  auto own = ServerProcess::Start(
      BinaryPath("service/needlecheckd"),
      {"--listen=127.0.0.1:0", "--data_dir=" + temp.Path("dying-data")});
  EXPECT_THAT(own, IsOk());
  if (!own.ok()) return -1;
  std::vector<std::string> args = {
      export_dir,
      "--out=" + out,
      absl::StrCat("--service=127.0.0.1:", (*own)->port()),
      "--progress=lines",
      "--progress_interval=20ms",
      "--max_retries=1"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto tool =
      ServerProcess::Spawn(BinaryPath("adapters/batch/needlecheck-audit"), args,
                           ServerProcess::Options());
  EXPECT_THAT(tool, IsOk());
  if (!tool.ok()) return -1;
  EXPECT_TRUE((*tool)->WaitForOutput("reading", 0, absl::Minutes(2)))
      << (*tool)->output();
  EXPECT_THAT((*tool)->Signal(SIGSTOP), IsOk());
  EXPECT_THAT((*own)->Signal(SIGKILL), IsOk());
  EXPECT_THAT((*own)->WaitForExit().status(), IsOk());
  EXPECT_THAT((*tool)->Signal(SIGCONT), IsOk());
  absl::StatusOr<int> code = (*tool)->WaitForExit(absl::Minutes(5));
  EXPECT_THAT(code, IsOk());
  *output = (*tool)->output();
  return code.ok() ? *code : -1;
}

// A failure exit (needlecheckd gone for good) removes every file holding
// patient data: the scratch folder keeps only restart.json (the input
// fingerprint). --resume then reads the export again and gives the bytes of
// an uninterrupted run, the rejected record included.
TEST_F(AuditToolTest, FailureExitRemovesTheScratchAndResumeStartsOver) {
  const std::string export_dir = Synth(1500, 61);
  AddRejectedPatient(export_dir, "syn61-1x");
  const std::string reference = temp_.Path("failure-reference");
  ASSERT_EQ(Run({export_dir, "--out=" + reference, "--progress=none"}), 0);

  const std::string out = temp_.Path("failure");
  std::string output;
  ASSERT_EQ(RunAgainstDyingNeedlecheckd(temp_, export_dir, out, {}, &output), 1)
      << output;
  EXPECT_THAT(output, HasSubstr("the Audit call to needlecheckd failed"));
  EXPECT_THAT(output, HasSubstr("scratch folder (patient data) is removed"));
  EXPECT_THAT(output, Not(HasSubstr("syn61-")));
  EXPECT_EQ(ScratchEntries(out), std::set<std::string>{"restart.json"});
  EXPECT_THAT(ReadFile(out + "/.needlecheck-audit/restart.json"),
              Not(HasSubstr("syn61-")));
  for (const char* name : kComparedFiles) {
    EXPECT_FALSE(fs::exists(out + "/" + name)) << name;
  }
  // Still an unfinished audit: refused without --resume; resumed, complete.
  EXPECT_EQ(Run({export_dir, "--out=" + out}, &output), 2);
  EXPECT_THAT(output, HasSubstr("--resume"));
  ASSERT_EQ(
      Run({export_dir, "--out=" + out, "--resume", "--progress=none"}, &output),
      0)
      << output;
  EXPECT_THAT(output, HasSubstr("reading the export again"));
  ExpectSameFiles(reference, out);
  EXPECT_FALSE(fs::exists(out + "/.needlecheck-audit"));
  // Another export (or shard) is not resumed over it.
  EXPECT_EQ(RunAgainstDyingNeedlecheckd(temp_, export_dir,
                                        temp_.Path("failure2"), {}, &output),
            1);
  EXPECT_EQ(Run({Synth(5, 62), "--out=" + temp_.Path("failure2"), "--resume"},
                &output),
            2);
  EXPECT_THAT(output, HasSubstr("differ"));
}

// With --keep_scratch a failed run keeps its scratch folder and --resume
// goes on from its last checkpoint, to the same bytes.
TEST_F(AuditToolTest, FailureExitWithKeepScratchResumesFromTheCheckpoint) {
  const std::string export_dir = Synth(1500, 71);
  AddRejectedPatient(export_dir, "syn71-1x");
  const std::string reference = temp_.Path("keep-reference");
  ASSERT_EQ(Run({export_dir, "--out=" + reference, "--progress=none"}), 0);
  const std::string out = temp_.Path("keep");
  std::string output;
  ASSERT_EQ(RunAgainstDyingNeedlecheckd(temp_, export_dir, out,
                                        {"--keep_scratch"}, &output),
            1)
      << output;
  EXPECT_EQ(ScratchEntries(out).count("scratch.sqlite3"), 1u);
  ASSERT_EQ(Run({export_dir, "--out=" + out, "--resume", "--progress=lines"},
                &output),
            0)
      << output;
  EXPECT_THAT(output, Not(HasSubstr("reading the export again")));
  EXPECT_THAT(output, Not(HasSubstr("reading:")));
  ExpectSameFiles(reference, out);
  EXPECT_FALSE(fs::exists(out + "/.needlecheck-audit"));
}

// An unfinished audit whose spill files were written by the previous
// build (raw JSON resources; that build recorded no spill format) is not
// resumed: exit 2 naming --overwrite; with --overwrite the run completes to
// the reference bytes.
TEST_F(AuditToolTest, ResumeRefusesSpillFilesOfThePreviousFormat) {
  const std::string export_dir = Synth(300, 72);
  const std::string reference = temp_.Path("format-reference");
  ASSERT_EQ(Run({export_dir, "--out=" + reference, "--progress=none"}), 0);
  const std::string out = temp_.Path("format");
  std::string output;
  ASSERT_EQ(RunAgainstDyingNeedlecheckd(temp_, export_dir, out,
                                        {"--keep_scratch"}, &output),
            1)
      << output;
  const std::string scratch = out + "/.needlecheck-audit/scratch.sqlite3";
  ASSERT_TRUE(fs::exists(scratch));
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(scratch.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "DELETE FROM meta WHERE key = 'spill_format'",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  EXPECT_EQ(Run({export_dir, "--out=" + out, "--resume"}, &output), 2);
  EXPECT_THAT(output, HasSubstr("raw JSON"));
  EXPECT_THAT(output, HasSubstr("--overwrite"));
  ASSERT_EQ(Run({export_dir, "--out=" + out, "--overwrite", "--progress=none"},
                &output),
            0)
      << output;
  ExpectSameFiles(reference, out);
}

// SIGTERM or SIGINT (Ctrl-C) stops the run as a failure exit: 128 + the
// signal, no patient data left (or, with --keep_scratch, the scratch folder
// to resume from); --resume gives the bytes of an uninterrupted run.
TEST_F(AuditToolTest, StopSignalIsAFailureExitThatResumes) {
  const std::string export_dir = Synth(3000, 81);
  AddRejectedPatient(export_dir, "syn81-1x");
  const std::string reference = temp_.Path("signal-reference");
  ASSERT_EQ(Run({export_dir, "--out=" + reference, "--progress=none"}), 0);
  struct Case {
    int signal;
    const char* phase;
    bool keep_scratch;
  };
  for (const Case& c :
       {Case{SIGTERM, "auditing:", false}, Case{SIGINT, "reading:", true}}) {
    SCOPED_TRACE(c.signal);
    const std::string out = temp_.Path(absl::StrCat("signal-", c.signal));
    std::vector<std::string> args = {export_dir,
                                     "--out=" + out,
                                     "--progress=lines",
                                     "--progress_interval=20ms",
                                     "--checkpoint_interval=20ms",
                                     "--commit_lines=500"};
    if (c.keep_scratch) args.push_back("--keep_scratch");
    std::unique_ptr<ServerProcess> process = Spawn(args);
    ASSERT_NE(process, nullptr);
    ASSERT_TRUE(process->WaitForOutput(c.phase, 0, absl::Minutes(5)))
        << process->output();
    ASSERT_THAT(process->Signal(c.signal), IsOk());
    absl::StatusOr<int> code = process->WaitForExit(absl::Minutes(2));
    ASSERT_THAT(code, IsOk());
    ASSERT_EQ(*code, 128 + c.signal) << process->output();
    EXPECT_THAT(process->output(), HasSubstr("stopping"));
    EXPECT_THAT(process->output(), Not(HasSubstr("syn81-")));
    if (c.keep_scratch) {
      EXPECT_EQ(ScratchEntries(out).count("scratch.sqlite3"), 1u);
    } else {
      EXPECT_EQ(ScratchEntries(out), std::set<std::string>{"restart.json"});
    }
    std::string output;
    ASSERT_EQ(Run({export_dir, "--out=" + out, "--resume", "--progress=none"},
                  &output),
              0)
        << output;
    ExpectSameFiles(reference, out);
    EXPECT_FALSE(fs::exists(out + "/.needlecheck-audit"));
  }
}

// Values of invalid fields (a name, dates, a unit: canaries) never reach
// errors.ndjson, summary.json, report.html or the log; the errors name the
// file, the line, the field and the problem.
TEST_F(AuditToolTest, InvalidFieldValuesNeverReachOutputsOrLogs) {
  ScopedTempDir input;
  input.WriteFile(
      "Patient.ndjson",
      "{\"resourceType\":\"Patient\",\"id\":\"p1\",\"birthDate\":"
      "\"CANARY-PHI-1001\"}\n"
      "{\"resourceType\":\"Patient\",\"id\":\"p2\"}\n"
      "{\"resourceType\":\"Patient\",\"id\":\"p3\",\"name\":[{\"family\":"
      "\"CANARY-PHI-1002\"\n"  // line 3: truncated
      "{\"resourceType\":\"CANARY-PHI-1003\",\"id\":\"x\"}\n"
      "{\"resourceType\":\"Patient\",\"id\":\"CANARY PHI 1004\"}\n"
      "{\"resourceType\":\"Patient\",\"id\":\"p4\"}\n");
  input.WriteFile("Condition.ndjson",
                  "{\"resourceType\":\"Condition\",\"id\":\"c1\",\"subject\":{"
                  "\"reference\":\"Patient/p2\"},\"onsetDateTime\":"
                  "\"2020-CANARY-PHI-1005\"}\n"
                  "{\"resourceType\":\"Condition\",\"id\":\"c2\",\"subject\":{"
                  "\"reference\":\"Patient/CANARY PHI 1006\"}}\n"
                  // A resourceType that is a name: counted, not named.
                  "{\"resourceType\":\"CanaryPhiName\",\"id\":\"c3\","
                  "\"subject\":{\"reference\":\"Patient/p2\"}}\n");
  input.WriteFile(
      "Procedure.ndjson",
      // p2: a needle-depth unit that is none; p4: a depth needlecheckd
      // rejects, with a canary where a valid value may hold a name.
      "{\"resourceType\":\"Procedure\",\"id\":\"s1\",\"status\":"
      "\"completed\",\"subject\":{\"reference\":\"Patient/p2\"},\"code\":{"
      "\"text\":\"Microneedling\"},\"performedDateTime\":\"2026-03-01\","
      "\"extension\":[{\"url\":\"urn:needlecheck:fhir:needle-depth\","
      "\"valueQuantity\":{\"value\":1,\"unit\":\"CANARY-PHI-1007\"}}]}\n"
      "{\"resourceType\":\"Procedure\",\"id\":\"s2\",\"status\":"
      "\"completed\",\"subject\":{\"reference\":\"Patient/p4\"},\"code\":{"
      "\"text\":\"Microneedling\"},\"performedDateTime\":\"2026-03-01\","
      "\"performer\":[{\"actor\":{\"display\":\"CANARY-PHI-1008\"}}],"
      "\"extension\":[{\"url\":\"urn:needlecheck:fhir:needle-depth\","
      "\"valueQuantity\":{\"value\":4.25,\"unit\":\"mm\"}}]}\n");
  const std::string out = temp_.Path("canary");
  std::string output;
  ASSERT_EQ(Run({input.path(), "--out=" + out, "--progress=lines"}, &output), 0)
      << output;
  const std::string errors = ReadFile(out + "/errors.ndjson");
  for (const std::string& text :
       {errors, ReadFile(out + "/summary.json"), ReadFile(out + "/report.html"),
        ReadFile(out + "/findings.ndjson"), output}) {
    EXPECT_THAT(text, Not(HasSubstr("CANARY"))) << text;
    EXPECT_THAT(text, Not(HasSubstr("CanaryPhi"))) << text;
    EXPECT_THAT(text, Not(HasSubstr("4.25"))) << text;
  }
  EXPECT_THAT(errors, HasSubstr("$.birthDate"));
  EXPECT_THAT(errors, HasSubstr("$.onsetDateTime"));
  EXPECT_THAT(errors, HasSubstr("valueQuantity.unit"));
  EXPECT_THAT(errors, HasSubstr("record.procedures[0].needle_depth_mm"));
  const std::vector<nlohmann::json> lines = ReadNdjson(out + "/errors.ndjson");
  EXPECT_EQ(lines.size(), 8u) << errors;
  for (const nlohmann::json& line : lines) {
    EXPECT_TRUE(line["file"].is_string()) << line;
    EXPECT_GE(line["line"].get<int64_t>(), 1) << line;
  }
  const nlohmann::json summary =
      nlohmann::json::parse(ReadFile(out + "/summary.json"));
  EXPECT_EQ(summary["input"]["rejected_patients"], 1);
  EXPECT_EQ(summary["input"]["resources_by_type"]["(other resourceType)"], 1);
}

// needlecheckd requiring client certificates: the audit over mutual TLS
// (--tls_ca, --tls_cert, --tls_key) writes the same bytes as over
// plaintext. Without a client certificate the run fails (exit 1, no patient
// data left); a key that is not the certificate's is a usage error (exit 2)
// before anything is read.
TEST_F(AuditToolTest, MutualTlsAuditIsByteIdenticalToPlaintext) {
  const std::string certs_dir = temp_.Path("certs");
  fs::create_directories(certs_dir);
  absl::StatusOr<testing::TlsTestCerts> certs =
      testing::CreateTlsTestCerts(certs_dir);
  if (!certs.ok()) GTEST_SKIP() << certs.status();
  const std::string export_dir = Synth(300, 51);
  const std::string plain = temp_.Path("plain");
  ASSERT_EQ(Run({export_dir, "--out=" + plain, "--progress=none"}), 0);

  auto own = ServerProcess::Start(
      BinaryPath("service/needlecheckd"),
      {"--listen=127.0.0.1:0", "--data_dir=" + temp_.Path("tls-data"),
       "--tls_cert=" + certs->server_cert, "--tls_key=" + certs->server_key,
       "--tls_client_ca=" + certs->ca_cert});
  ASSERT_THAT(own, IsOk());
  const std::string service = absl::StrCat("--service=", (*own)->address());
  // Runs the tool against the TLS needlecheckd; its exit code and output.
  auto audit = [&](const std::string& out, std::vector<std::string> flags,
                   std::string* output) {
    flags.insert(flags.begin(),
                 {export_dir, "--out=" + out, service, "--progress=none",
                  "--connect_timeout=10s", "--max_retries=0"});
    auto tool =
        ServerProcess::Spawn(BinaryPath("adapters/batch/needlecheck-audit"),
                             flags, ServerProcess::Options());
    EXPECT_THAT(tool, IsOk());
    if (!tool.ok()) return -1;
    absl::StatusOr<int> code = (*tool)->WaitForExit(absl::Minutes(10));
    EXPECT_THAT(code, IsOk());
    *output = (*tool)->output();
    return code.ok() ? *code : -1;
  };
  const std::string ca = "--tls_ca=" + certs->ca_cert;
  std::string output;
  const std::string mutual = temp_.Path("mutual");
  ASSERT_EQ(audit(mutual,
                  {ca, "--tls_cert=" + certs->client_cert,
                   "--tls_key=" + certs->client_key},
                  &output),
            0)
      << output;
  ExpectSameFiles(plain, mutual);

  const std::string no_cert = temp_.Path("no-cert");
  EXPECT_EQ(audit(no_cert, {ca}, &output), 1) << output;
  EXPECT_FALSE(fs::exists(no_cert + "/.needlecheck-audit"));
  EXPECT_FALSE(fs::exists(no_cert + "/findings.ndjson"));

  const std::string bad_key = temp_.Path("bad-key");
  EXPECT_EQ(audit(bad_key,
                  {ca, "--tls_cert=" + certs->client_cert,
                   "--tls_key=" + certs->server_key},
                  &output),
            2);
  EXPECT_THAT(output, HasSubstr("--tls_key " + certs->server_key +
                                ": the key does not belong to the "
                                "certificate in --tls_cert"));
  EXPECT_FALSE(fs::exists(bad_key));
}

}  // namespace
}  // namespace needlecheck
