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
#include "tests/testing/headless_chromium.h"
#include "tests/testing/read_file.h"
#include "tests/testing/scoped_temp_dir.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"
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

  // Starts needlecheck-audit with `args` (the service flag added).
  std::unique_ptr<ServerProcess> Spawn(std::vector<std::string> args) {
    args.push_back(absl::StrCat("--service=127.0.0.1:", server_->port()));
    auto process =
        ServerProcess::Spawn(BinaryPath("adapters/batch/needlecheck-audit"),
                             args, ServerProcess::Options());
    EXPECT_THAT(process, IsOk());
    return process.ok() ? *std::move(process) : nullptr;
  }

  // Runs needlecheck-audit to the end; returns its exit code.
  int Run(std::vector<std::string> args, std::string* output = nullptr) {
    std::unique_ptr<ServerProcess> process = Spawn(std::move(args));
    if (process == nullptr) return -1;
    absl::StatusOr<int> code = process->WaitForExit(absl::Minutes(10));
    EXPECT_THAT(code, IsOk());
    if (output != nullptr) *output = process->output();
    return code.ok() ? *code : -1;
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

// Kills the tool (SIGKILL) while it shows progress in a phase, resumes it,
// and expects the same files as an uninterrupted run.
TEST_F(AuditToolTest, ResumeAfterAKillGivesIdenticalOutput) {
  const std::string export_dir = Synth(3000, 21);
  const std::string reference = temp_.Path("reference");
  ASSERT_EQ(Run({export_dir, "--out=" + reference, "--progress=none"}), 0);

  for (const std::string phase : {"reading:", "auditing:"}) {
    SCOPED_TRACE(phase);
    const std::string out = temp_.Path(absl::StrCat("killed-", phase.size()));
    std::unique_ptr<ServerProcess> process =
        Spawn({export_dir, "--out=" + out, "--progress=lines",
               "--progress_interval=20ms", "--checkpoint_interval=20ms",
               "--commit_lines=500"});
    ASSERT_NE(process, nullptr);
    // Wait for the phase to show progress past its start, then kill.
    ASSERT_TRUE(process->WaitForOutput(phase, 0, absl::Minutes(5)))
        << process->output();
    const size_t seen = process->output_size();
    process->WaitForOutput(phase, seen, absl::Seconds(30));
    ASSERT_THAT(process->Signal(SIGKILL), IsOk());
    absl::StatusOr<int> code = process->WaitForExit();
    ASSERT_THAT(code, IsOk());
    ASSERT_EQ(*code, 128 + SIGKILL) << "the run ended before the kill";
    ASSERT_TRUE(fs::exists(out + "/.needlecheck-audit"));

    // Without --resume the folder is refused; with it the run completes.
    std::string refused;
    EXPECT_EQ(Run({export_dir, "--out=" + out}, &refused), 2);
    EXPECT_THAT(refused, HasSubstr("--resume"));
    ASSERT_EQ(Run({export_dir, "--out=" + out, "--resume", "--progress=none"}),
              0);
    ExpectSameFiles(reference, out);
    // A second --resume has nothing left to do and changes nothing.
    ASSERT_EQ(Run({export_dir, "--out=" + out, "--resume", "--progress=none"}),
              0);
    ExpectSameFiles(reference, out);
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
      std::string(NEEDLECHECK_SHARED_DIR) + "/corpus/fhir-r4-bulk-ndjson";
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
      std::string(NEEDLECHECK_SHARED_DIR) + "/corpus/fhir-r4-bundles";
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
}

}  // namespace
}  // namespace needlecheck
