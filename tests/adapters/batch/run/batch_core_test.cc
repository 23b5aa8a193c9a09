// The batch audit's parts below the tool: finding formats, the summary
// fold, the scratch store, the manifest and error lines.
#include <memory>
#include <string>
#include <vector>

#include "adapters/batch/findings/finding_lines.h"
#include "adapters/batch/report/summary_builder.h"
#include "adapters/batch/run/audit_merge.h"
#include "adapters/batch/run/audit_outputs.h"
#include "adapters/batch/run/audit_scratch.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "needlecheck/v1/audit.pb.h"
#include "tests/testing/scoped_temp_dir.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::batch {
namespace {

using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::ScopedTempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

FindingRecord Finding(const std::string& patient, const std::string& session,
                      const std::string& date, Verdict verdict) {
  FindingRecord f;
  f.patient_id = patient;
  f.session_id = session;
  f.session_date = date;
  f.verdict = verdict;
  f.knowledge_base_version = "2026.11.1";
  return f;
}

TEST(FindingRecordTest, JsonLineRoundTripsEveryField) {
  FindingRecord f =
      Finding("p\"1", "s1", "2026-03-01", Verdict::kTreatedDespiteWarning);
  f.areas = {"cheeks", "forehead"};
  f.needle_depth_mm = 0.75;
  f.anesthetic = "EMLA cream";
  f.performer = "Dr. Ana Ruiz";
  f.location = "North Clinic";
  f.days_since_previous_session = 41;
  f.alerts = {{"MN-ANTICOAGULANT", "warning", "On warfarin", "medication"},
              {"MN-SKIN-TYPE-MISSING", "info", "No skin type", "data quality"}};
  const std::string line = FindingToJsonLine(f);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_THAT(line, HasSubstr("\"verdict\":\"treated_despite_warning\""));
  EXPECT_THAT(line, HasSubstr("{\"rule_id\":\"MN-ANTICOAGULANT\",\"severity\":"
                              "\"warning\",\"category\":\"medication\","
                              "\"summary\":\"On warfarin\"}"));
  absl::StatusOr<FindingRecord> back = FindingFromJsonLine(line);
  ASSERT_THAT(back.status(), IsOk());
  EXPECT_EQ(FindingToJsonLine(*back), line);
  EXPECT_EQ(back->patient_id, "p\"1");
  EXPECT_EQ(back->days_since_previous_session, 41);
  EXPECT_DOUBLE_EQ(back->needle_depth_mm, 0.75);
  ASSERT_EQ(back->alerts.size(), 2u);
  EXPECT_EQ(back->alerts[1].severity, "info");
  EXPECT_EQ(back->alerts[1].category, "data quality");
}

TEST(FindingRecordTest, UnknownValuesAreNulls) {
  const FindingRecord f = Finding("p1", "s1", "2026-03-01", Verdict::kClear);
  const std::string line = FindingToJsonLine(f);
  EXPECT_THAT(line, HasSubstr("\"needle_depth_mm\":null"));
  EXPECT_THAT(line, HasSubstr("\"days_since_previous_session\":null"));
  EXPECT_THAT(line, HasSubstr("\"performer\":null"));
  absl::StatusOr<FindingRecord> back = FindingFromJsonLine(line);
  ASSERT_THAT(back.status(), IsOk());
  EXPECT_EQ(back->days_since_previous_session, -1);
  EXPECT_EQ(back->performer, "");
}

TEST(FindingRecordTest, BadLinesAreErrorsNamingTheProblem) {
  EXPECT_THAT(FindingFromJsonLine("{").status().message(),
              HasSubstr("malformed JSON"));
  EXPECT_THAT(FindingFromJsonLine("[]").status().message(),
              HasSubstr("not a JSON object"));
  EXPECT_THAT(
      FindingFromJsonLine(
          R"({"patient_id":"p","session_id":"s","session_date":"d","verdict":"bad","alerts":[]})")
          .status()
          .message(),
      HasSubstr("verdict"));
  EXPECT_THAT(
      FindingFromJsonLine(
          R"({"patient_id":"p","session_id":"s","session_date":"d","verdict":"clear"})")
          .status()
          .message(),
      HasSubstr("alerts"));
}

TEST(FindingRecordTest, FromProtoNamesAreasSeveritiesAndVerdict) {
  v1::AuditFinding finding;
  finding.set_patient_id("p1");
  finding.set_verdict(v1::AUDIT_VERDICT_INTERVAL_VIOLATION);
  finding.set_knowledge_base_version("kb1");
  v1::AuditedSession* session = finding.mutable_session();
  session->set_procedure_id("s2");
  session->set_date("2026-01-25");
  session->add_areas(v1::TREATMENT_AREA_FULL_FACE);
  session->set_days_since_previous_session(15);
  session->mutable_anesthetic()->add_codings()->set_display("Lidocaine");
  session->set_performer("Dr. X");
  v1::Alert* alert = finding.add_alerts();
  alert->set_rule_id("MN-FREQ-INTERVAL");
  alert->set_severity(v1::SEVERITY_CRITICAL);
  alert->set_summary("Too soon");
  const FindingRecord record = FindingFromProto(finding);
  EXPECT_EQ(record.verdict, Verdict::kIntervalViolation);
  EXPECT_THAT(record.areas, ElementsAre("full_face"));
  EXPECT_EQ(record.days_since_previous_session, 15);
  EXPECT_EQ(record.anesthetic, "Lidocaine");
  EXPECT_EQ(record.performer, "Dr. X");
  ASSERT_EQ(record.alerts.size(), 1u);
  EXPECT_EQ(record.alerts[0].severity, "critical");
}

TEST(FindingRecordTest, CsvQuotesAndDefusesFormulas) {
  FindingRecord f =
      Finding("=HYPERLINK(\"x\")", "s,1", "2026-03-01", Verdict::kClear);
  f.performer = "Ruiz, \"Ana\"";
  f.alerts = {{"MN-A", "critical", "", "contraindication"},
              {"MN-B", "info", "", "data quality"}};
  const std::string row = FindingToCsvRow(f);
  EXPECT_THAT(row, HasSubstr("\"'=HYPERLINK(\"\"x\"\")\""));
  EXPECT_THAT(row, HasSubstr("\"s,1\""));
  EXPECT_THAT(row, HasSubstr("\"Ruiz, \"\"Ana\"\"\""));
  EXPECT_THAT(row, HasSubstr(",clear,1,0,1,MN-A:critical;MN-B:info,"));
  EXPECT_EQ(row.substr(row.size() - 2), "\r\n");
  EXPECT_THAT(FindingsCsvHeader(), HasSubstr("patient_id,session_id"));
}

TEST(SummaryBuilderTest, CountsPatientsMonthsRulesAndIntervals) {
  SummaryBuilder builder;
  FindingRecord a1 = Finding("a", "a1", "2026-01-10", Verdict::kClear);
  a1.performer = "Dr. X";
  FindingRecord a2 =
      Finding("a", "a2", "2026-01-25", Verdict::kIntervalViolation);
  a2.days_since_previous_session = 15;
  a2.alerts = {{"MN-FREQ-INTERVAL", "critical", "Too soon", "frequency"}};
  a2.performer = "Dr. X";
  a2.location = "North";
  FindingRecord b1 = Finding("b", "b1", "2026-02-01", Verdict::kClear);
  b1.days_since_previous_session = 200;
  builder.Add(a1);
  builder.Add(a2);
  builder.Add(b1);
  InputCounts input;
  input.patients_audited = 3;
  const AuditSummary summary = builder.Finish(input);
  EXPECT_EQ(summary.patients, 3);
  EXPECT_EQ(summary.patients_with_sessions, 2);
  EXPECT_EQ(summary.patients_flagged, 1);
  EXPECT_EQ(summary.totals.sessions(), 3);
  EXPECT_EQ(summary.totals.flagged(), 1);
  EXPECT_EQ(summary.by_month.at("2026-01").sessions(), 2);
  EXPECT_EQ(summary.by_month.at("2026-02").sessions(), 1);
  EXPECT_EQ(summary.by_performer.at("Dr. X").sessions(), 2);
  EXPECT_EQ(summary.by_location.at("North").flagged(), 1);
  EXPECT_EQ(summary.by_rule.at("MN-FREQ-INTERVAL").critical, 1);
  EXPECT_EQ(summary.by_rule.at("MN-FREQ-INTERVAL").summary, "Too soon");
  EXPECT_EQ(summary.by_rule.at("MN-FREQ-INTERVAL").category, "frequency");
  EXPECT_EQ(summary.days_between_sessions.with_previous, 2);
  EXPECT_EQ(summary.days_between_sessions.under_28_days, 1);
  EXPECT_EQ(summary.days_between_sessions.buckets[2], 1);   // 14-20 days
  EXPECT_EQ(summary.days_between_sessions.buckets[26], 1);  // 182+
  ASSERT_EQ(summary.worst_cases.size(), 1u);
  EXPECT_EQ(summary.worst_cases[0].finding.session_id, "a2");
  EXPECT_THAT(summary.knowledge_base_versions, ElementsAre("2026.11.1"));
}

TEST(SummaryBuilderTest, WorstCasesAreTheWorstFiftyInOrder) {
  SummaryBuilder builder;
  for (int i = 0; i < 120; ++i) {
    FindingRecord f = Finding(absl::StrCat("p", 1000 + i), "s", "2026-01-01",
                              Verdict::kTreatedDespiteWarning);
    f.alerts = {{"MN-W", "warning", "", "medication"}};
    for (int c = 0; c < i % 4; ++c)
      f.alerts.push_back({"MN-C", "critical", "", "contraindication"});
    if (i % 4 > 0) f.verdict = Verdict::kTreatedDespiteCritical;
    builder.Add(f);
  }
  const AuditSummary summary = builder.Finish(InputCounts());
  ASSERT_EQ(summary.worst_cases.size(), 50u);
  EXPECT_EQ(summary.worst_cases.front().critical, 3);
  EXPECT_EQ(summary.worst_cases.front().finding.patient_id, "p1003");
  for (size_t i = 1; i < summary.worst_cases.size(); ++i) {
    EXPECT_FALSE(WorseCase(summary.worst_cases[i], summary.worst_cases[i - 1]));
  }
  // 30 patients have 3 critical alerts, 30 have 2: the 50 worst are those.
  EXPECT_EQ(summary.worst_cases.back().critical, 2);
}

class AuditScratchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto scratch = AuditScratch::Open(dir_.Path("scratch.sqlite3"), 16);
    ASSERT_THAT(scratch.status(), IsOk());
    scratch_ = *std::move(scratch);
    ASSERT_THAT(scratch_->RegisterFiles({"Condition.ndjson", "Patient.ndjson"}),
                IsOk());
  }
  ScopedTempDir dir_;
  std::unique_ptr<AuditScratch> scratch_;
};

TEST_F(AuditScratchTest, GroupsByPatientThenFileThenLine) {
  ASSERT_THAT(scratch_->Begin(), IsOk());
  ASSERT_THAT(scratch_->AddResource("b", 0, 2, "c-b-2"), IsOk());
  ASSERT_THAT(scratch_->AddResource("a", 0, 1, "c-a-1"), IsOk());
  ASSERT_THAT(scratch_->AddResource("b", 1, 1, "p-b"), IsOk());
  ASSERT_THAT(scratch_->AddResource("a", 1, 2, "p-a"), IsOk());
  ASSERT_THAT(scratch_->AddResource("b", 0, 1, "c-b-1"), IsOk());
  ASSERT_THAT(scratch_->Commit(), IsOk());
  ASSERT_THAT(scratch_->Group(), IsOk());
  ASSERT_THAT(scratch_->Group(), IsOk());  // idempotent
  absl::StatusOr<int64_t> count = scratch_->PatientCount();
  ASSERT_THAT(count.status(), IsOk());
  EXPECT_EQ(*count, 2);

  auto reader = scratch_->OpenReader("", 100);
  ASSERT_THAT(reader.status(), IsOk());
  PatientResources patient;
  absl::StatusOr<bool> more = (*reader)->Next(&patient);
  ASSERT_THAT(more.status(), IsOk());
  ASSERT_TRUE(*more);
  EXPECT_EQ(patient.patient_id, "a");
  ASSERT_EQ(patient.resources.size(), 2u);
  EXPECT_EQ(patient.resources[0].body, "c-a-1");
  EXPECT_EQ(patient.resources[1].body, "p-a");
  more = (*reader)->Next(&patient);
  ASSERT_TRUE(more.ok() && *more);
  EXPECT_EQ(patient.patient_id, "b");
  ASSERT_EQ(patient.resources.size(), 3u);
  EXPECT_EQ(patient.resources[0].body, "c-b-1");
  EXPECT_EQ(patient.resources[1].body, "c-b-2");
  EXPECT_EQ(patient.resources[2].body, "p-b");
  more = (*reader)->Next(&patient);
  ASSERT_TRUE(more.ok());
  EXPECT_FALSE(*more);

  // From a later row, with a cap: b only, two kept, one dropped.
  auto capped = scratch_->OpenReader("a", 2);
  ASSERT_THAT(capped.status(), IsOk());
  more = (*capped)->Next(&patient);
  ASSERT_TRUE(more.ok() && *more);
  EXPECT_EQ(patient.patient_id, "b");
  EXPECT_EQ(patient.resources.size(), 2u);
  EXPECT_EQ(patient.resources_dropped, 1);
}

TEST_F(AuditScratchTest, ProgressErrorsAndFilesPersist) {
  ASSERT_THAT(scratch_->Begin(), IsOk());
  FileProgress file;
  file.lines_done = 10;
  file.byte_offset = 321;
  file.counts.lines = 10;
  file.counts.malformed = 1;
  ASSERT_THAT(scratch_->SaveFile(1, file), IsOk());
  ASSERT_THAT(scratch_->AddError({1, 7, "malformed line: x"}), IsOk());
  ASSERT_THAT(scratch_->AddTypeCounts({{"Patient", 9}}), IsOk());
  ASSERT_THAT(scratch_->Commit(), IsOk());
  AuditProgress progress;
  progress.after_patient = "p5";
  progress.findings_bytes = 99;
  progress.patients_audited = 2;
  ASSERT_THAT(
      scratch_->SaveAuditProgress(progress, {{0, 3, "resource skipped"}}),
      IsOk());
  scratch_.reset();

  auto reopened = AuditScratch::Open(dir_.Path("scratch.sqlite3"), 16);
  ASSERT_THAT(reopened.status(), IsOk());
  EXPECT_THAT((*reopened)->RegisterFiles({"Other.ndjson"}).code(),
              absl::StatusCode::kFailedPrecondition);
  ASSERT_THAT(
      (*reopened)->RegisterFiles({"Condition.ndjson", "Patient.ndjson"}),
      IsOk());
  auto files = (*reopened)->Files();
  ASSERT_THAT(files.status(), IsOk());
  ASSERT_EQ(files->size(), 2u);
  EXPECT_EQ((*files)[1].lines_done, 10);
  EXPECT_EQ((*files)[1].byte_offset, 321);
  EXPECT_EQ((*files)[1].counts.malformed, 1);
  EXPECT_FALSE((*files)[1].complete);
  auto loaded = (*reopened)->LoadAuditProgress();
  ASSERT_THAT(loaded.status(), IsOk());
  EXPECT_EQ(loaded->after_patient, "p5");
  EXPECT_EQ(loaded->findings_bytes, 99);
  EXPECT_EQ(loaded->patients_audited, 2);
  auto types = (*reopened)->TypeCounts();
  ASSERT_THAT(types.status(), IsOk());
  EXPECT_EQ(types->at("Patient"), 9);
  std::vector<std::string> errors;
  ASSERT_THAT((*reopened)->ForEachError([&](const InputError& e) {
    errors.push_back(absl::StrCat(e.file, ":", e.line, " ", e.message));
    return absl::OkStatus();
  }),
              IsOk());
  EXPECT_THAT(errors,
              ElementsAre("0:3 resource skipped", "1:7 malformed line: x"));
}

TEST(AuditOutputsTest, ManifestAndErrorLinesRoundTrip) {
  AuditManifest manifest;
  manifest.files = {{"Patient.ndjson", 12}, {"Procedure.ndjson.gz", 34}};
  manifest.shard_index = 2;
  manifest.shard_count = 3;
  manifest.complete = true;
  auto back = ManifestFromJson(ManifestToJson(manifest));
  ASSERT_THAT(back.status(), IsOk());
  EXPECT_EQ(back->files.size(), 2u);
  EXPECT_EQ(back->files[1].bytes, 34u);
  EXPECT_EQ(back->shard_index, 2u);
  EXPECT_TRUE(back->complete);
  EXPECT_FALSE(ManifestFromJson("{}").ok());

  ErrorLine error{"Patient.ndjson", 3, "malformed line: x"};
  auto parsed = ErrorFromJsonLine(ErrorToJsonLine(error));
  ASSERT_THAT(parsed.status(), IsOk());
  EXPECT_EQ(parsed->file, "Patient.ndjson");
  EXPECT_EQ(parsed->line, 3);
  EXPECT_FALSE(ErrorFromJsonLine("{\"file\":1}").ok());
  EXPECT_TRUE(ErrorLineBefore({"A", 9, "z"}, {"B", 1, "a"}));
  EXPECT_TRUE(ErrorLineBefore({"A", 2, "z"}, {"A", 10, "a"}));
}

TEST(AuditMergeTest, InputCountsAdd) {
  InputCounts a, b, total;
  a.files["P.ndjson"] = {10, 8, 1, 1};
  b.files["P.ndjson"] = {5, 5, 0, 0};
  a.skipped_files["log.ndjson"] = "why";
  b.skipped_files["log.ndjson"] = "why";
  a.resources_by_type["Patient"] = 8;
  b.resources_by_type["Patient"] = 5;
  a.patients_audited = 3;
  b.patients_audited = 4;
  b.rejected_resources = 2;
  AddInputCounts(a, &total);
  AddInputCounts(b, &total);
  EXPECT_EQ(total.files["P.ndjson"].lines, 15);
  EXPECT_EQ(total.files["P.ndjson"].malformed, 1);
  EXPECT_EQ(total.skipped_files.size(), 1u);
  EXPECT_EQ(total.resources_by_type["Patient"], 13);
  EXPECT_EQ(total.patients_audited, 7);
  EXPECT_EQ(total.rejected_resources, 2);
}

TEST(AuditMergeTest, RefusesFoldersThatAreNotShardRuns) {
  ScopedTempDir dir;
  auto merged = MergeShardOutputs({dir.path()}, dir.Path("out"));
  EXPECT_EQ(merged.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(merged.status().message(), HasSubstr("not an audit output"));
}

}  // namespace
}  // namespace needlecheck::batch
