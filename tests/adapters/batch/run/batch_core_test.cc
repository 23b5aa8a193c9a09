// The parts of the audit run below the tool: the scratch store, the
// manifest and error lines, and the merge of shard runs.
#include <memory>
#include <string>
#include <vector>

#include "adapters/batch/run/audit_merge.h"
#include "adapters/batch/run/audit_outputs.h"
#include "adapters/batch/run/audit_scratch.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "sqlite3.h"
#include "tests/testing/scoped_temp_dir.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::batch {
namespace {

using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::ScopedTempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class AuditScratchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto scratch = AuditScratch::Open(dir_.Path("scratch.sqlite3"), 16);
    ASSERT_THAT(scratch.status(), IsOk());
    scratch_ = *std::move(scratch);
    ASSERT_THAT(scratch_->RegisterFiles({"Condition.ndjson", "Patient.ndjson"}),
                IsOk());
    ASSERT_THAT(scratch_->OpenSpill(1000), IsOk());
    ASSERT_EQ(scratch_->partitions(), 1u);
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
  ASSERT_THAT(scratch_->FinishIngest(), IsOk());
  ASSERT_THAT(scratch_->FinishIngest(), IsOk());  // idempotent

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

// A resumed audit whose spill files were written in another format (raw
// JSON, before the format was recorded; or fragments of another encoding)
// is refused, naming --overwrite, instead of decoding garbage.
TEST_F(AuditScratchTest, RefusesSpillFilesOfAnotherFormat) {
  const std::string path = dir_.Path("scratch.sqlite3");
  scratch_.reset();
  auto reopen = [&]() -> absl::Status {
    auto scratch = AuditScratch::Open(path, 16);
    if (!scratch.ok()) return scratch.status();
    if (absl::Status s =
            (*scratch)->RegisterFiles({"Condition.ndjson", "Patient.ndjson"});
        !s.ok()) {
      return s;
    }
    return (*scratch)->OpenSpill(1000);
  };
  // This build's format: resumes.
  ASSERT_THAT(reopen(), IsOk());

  // The previous version recorded no format.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "DELETE FROM meta WHERE key = 'spill_format'",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  absl::Status refused = reopen();
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.message(), HasSubstr("--overwrite"));
  EXPECT_THAT(refused.message(), HasSubstr("raw JSON"));

  // Another encoding.
  {
    auto scratch = AuditScratch::Open(path, 16);
    ASSERT_THAT(scratch.status(), IsOk());
    ASSERT_THAT((*scratch)->SetMeta("spill_format", "fhir-fragment-0"), IsOk());
  }
  refused = reopen();
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.message(), HasSubstr("--overwrite"));
  EXPECT_THAT(refused.message(), HasSubstr("another format"));
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

// audit.json and errors.ndjson lines are the bytes nlohmann wrote them as
// (the writer of earlier versions; the oracle here).
TEST(AuditOutputsTest, ManifestIsNlohmannsPrettyDump) {
  using Json = nlohmann::ordered_json;
  AuditManifest empty;
  AuditManifest full;
  full.files = {{"Patient.ndjson", 0},
                {"bad \xff name\t\"q\"", 18446744073709551615u},
                {"caf\xc3\xa9.ndjson.gz", 34}};
  full.shard_index = 4294967295u;
  full.shard_count = 3;
  full.merged_from = 2;
  full.complete = true;
  for (const AuditManifest& manifest : {empty, full}) {
    Json json;
    json["schema"] = "needlecheck.audit.run/1";
    Json files = Json::array();
    for (const ExportFileFacts& file : manifest.files) {
      files.push_back({{"name", file.name}, {"bytes", file.bytes}});
    }
    json["export_files"] = std::move(files);
    json["shard"] = {{"index", manifest.shard_index},
                     {"count", manifest.shard_count}};
    json["merged_from"] = manifest.merged_from;
    json["complete"] = manifest.complete;
    EXPECT_EQ(ManifestToJson(manifest),
              json.dump(2, ' ', false, Json::error_handler_t::replace) + "\n");
  }
}

TEST(AuditOutputsTest, ErrorLineIsNlohmannsDump) {
  using Json = nlohmann::ordered_json;
  for (const ErrorLine& error :
       {ErrorLine{"", 0, ""}, ErrorLine{"P.ndjson", -7, "a\x01\\b"},
        ErrorLine{"bad\xc3", 9223372036854775807, "x\xed\xa0\x80y"}}) {
    Json line;
    line["file"] = error.file;
    line["line"] = error.line;
    line["error"] = error.error;
    EXPECT_EQ(ErrorToJsonLine(error),
              line.dump(-1, ' ', false, Json::error_handler_t::replace));
  }
}

// What the manifest reader accepts and the reason it gives otherwise (as
// when nlohmann read it).
TEST(AuditOutputsTest, ManifestReaderBranches) {
  const std::string head = R"({"schema": "needlecheck.audit.run/1", )";
  const std::string files = R"("export_files": [{"name": "a", "bytes": 5}], )";
  const std::string shard = R"("shard": {"index": 1, "count": 2}, )";
  const std::string tail = R"("complete": true})";
  const auto reason = [](const std::string& text) {
    absl::StatusOr<AuditManifest> m = ManifestFromJson(text);
    return m.ok() ? std::string("ok") : std::string(m.status().message());
  };
  EXPECT_EQ(reason(head + files + shard + tail), "ok");
  EXPECT_EQ(reason("\xEF\xBB\xBF" + head + files + shard + tail), "ok");
  EXPECT_EQ(reason("{"), "not an audit.json manifest: not JSON");
  EXPECT_EQ(reason("[1]"), "not an audit.json manifest: not JSON");
  EXPECT_EQ(reason(head + files + shard + tail + "x"),
            "not an audit.json manifest: not JSON");
  EXPECT_EQ(reason(R"({"schema": "needlecheck.audit.run/2"})"),
            "not an audit.json manifest: schema is not "
            "needlecheck.audit.run/1");
  EXPECT_EQ(reason(head + shard + tail),
            "not an audit.json manifest: export_files missing");
  EXPECT_EQ(reason(head + R"("export_files": {}, )" + shard + tail),
            "not an audit.json manifest: export_files missing");
  for (const char* entry :
       {"1", R"({"name": 1, "bytes": 5})", R"({"name": "a", "bytes": -5})",
        R"({"name": "a", "bytes": 1.5})", R"({"name": "a"})"}) {
    EXPECT_EQ(
        reason(head + "\"export_files\": [" + entry + "], " + shard + tail),
        "not an audit.json manifest: export_files holds a bad entry")
        << entry;
  }
  for (const char* bad_shard :
       {"", R"("shard": 1, )", R"("shard": {"index": 1}, )",
        R"("shard": {"index": -1, "count": 2}, )",
        R"("shard": {"index": 1, "count": 2.0}, )"}) {
    EXPECT_EQ(reason(head + files + bad_shard + tail),
              "not an audit.json manifest: shard missing")
        << bad_shard;
  }
  EXPECT_EQ(reason(head + files + shard + "\"x\": 1}"),
            "not an audit.json manifest: complete missing");
  EXPECT_EQ(reason(head + files + shard + R"("complete": 1})"),
            "not an audit.json manifest: complete missing");

  // A repeated key: its last value. merged_from of another type: 0. 32-bit
  // fields: the low bits of a larger integer.
  absl::StatusOr<AuditManifest> m = ManifestFromJson(
      head + files +
      R"("shard": {"index": -1, "index": 4294967298, "count": 2},
         "merged_from": "3", "complete": 1, "complete": false})");
  ASSERT_THAT(m.status(), IsOk());
  EXPECT_EQ(m->shard_index, 2u);
  EXPECT_EQ(m->merged_from, 0u);
  EXPECT_FALSE(m->complete);
  ASSERT_EQ(m->files.size(), 1u);
  EXPECT_EQ(m->files[0].name, "a");
  EXPECT_EQ(m->files[0].bytes, 5u);
}

// nlohmann's value() threw a type_error (the tool aborted) on a schema that
// is not a string; it is now the schema answer.
TEST(AuditOutputsTest, ManifestSchemaOfAnotherTypeIsRefused) {
  absl::StatusOr<AuditManifest> m = ManifestFromJson(R"({"schema": 1})");
  EXPECT_EQ(m.status().message(),
            "not an audit.json manifest: schema is not "
            "needlecheck.audit.run/1");
}

TEST(AuditOutputsTest, ErrorLineReaderBranches) {
  const std::string bad =
      "not an errors.ndjson line ({\"file\", \"line\", \"error\"})";
  for (const char* text : {"", "[]", R"({"file": "a", "line": 1})",
                           R"({"file": "a", "line": 1.5, "error": "e"})",
                           R"({"file": "a", "line": "1", "error": "e"})",
                           R"({"file": null, "line": 1, "error": "e"})",
                           R"({"file": "a", "line": 1, "error": 2})",
                           R"({"file": "a", "line": 1, "error": "e"} {})"}) {
    EXPECT_EQ(ErrorFromJsonLine(text).status().message(), bad) << text;
  }
  EXPECT_THAT(ErrorFromJsonLine("\xEF\xBB\xBF{\"file\": \"a\", \"line\": 1, "
                                "\"error\": \"e\"}")
                  .status(),
              IsOk());
  absl::StatusOr<ErrorLine> error = ErrorFromJsonLine(
      R"({"file": 1, "file": "b", "line": -3, "error": "e", "x": []})");
  ASSERT_THAT(error.status(), IsOk());
  EXPECT_EQ(error->file, "b");
  EXPECT_EQ(error->line, -3);
  // Above INT64_MAX: wrapped, as nlohmann's get<int64_t>() gave it.
  error = ErrorFromJsonLine(
      R"({"file": "a", "line": 18446744073709551615, "error": "e"})");
  ASSERT_THAT(error.status(), IsOk());
  EXPECT_EQ(error->line, -1);
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
