// ListExportFiles: which files of an export folder are read, and how.
#include "adapters/batch/export/export_layout.h"

#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/scoped_temp_dir.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::batch {
namespace {

using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::ScopedTempDir;
using ::needlecheck::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Key;

std::vector<std::string> Names(const ExportLayout& layout) {
  std::vector<std::string> names;
  for (const ExportFile& f : layout.files) names.push_back(f.name);
  return names;
}

const ExportFile* Find(const ExportLayout& layout, const std::string& name) {
  for (const ExportFile& f : layout.files) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

TEST(ExportLayoutTest, ClassifiesAMixedFolder) {
  ScopedTempDir dir;
  ASSERT_FALSE(dir.path().empty());
  dir.WriteFile("Patient.000.ndjson", "{}\n");
  dir.WriteFile("Condition.ndjson.gz", "not really gzip");
  dir.WriteFile("log.ndjson", "{}\n");
  dir.WriteFile("notes.txt", "hello");
  dir.WriteFile("Aleta_Wintheiser_58c297c4.json", "{}");
  ASSERT_EQ(mkdir(dir.Path("sub").c_str(), 0755), 0);
  dir.WriteFile("sub/Observation.ndjson", "{}\n");

  absl::StatusOr<ExportLayout> layout = ListExportFiles(dir.path());
  ASSERT_THAT(layout, IsOk());
  EXPECT_THAT(Names(*layout),
              ElementsAre("Aleta_Wintheiser_58c297c4.json",
                          "Condition.ndjson.gz", "Patient.000.ndjson"));

  const ExportFile* bundle = Find(*layout, "Aleta_Wintheiser_58c297c4.json");
  ASSERT_NE(bundle, nullptr);
  EXPECT_EQ(bundle->kind, ExportFile::Kind::kBundle);
  EXPECT_FALSE(bundle->gzip);
  EXPECT_EQ(bundle->resource_type, "");  // a person's name is no type
  EXPECT_EQ(bundle->path, dir.Path("Aleta_Wintheiser_58c297c4.json"));
  EXPECT_EQ(bundle->size_bytes, 2u);

  const ExportFile* condition = Find(*layout, "Condition.ndjson.gz");
  ASSERT_NE(condition, nullptr);
  EXPECT_EQ(condition->kind, ExportFile::Kind::kNdjson);
  EXPECT_TRUE(condition->gzip);
  EXPECT_EQ(condition->resource_type, "Condition");
  EXPECT_EQ(condition->size_bytes, 15u);

  const ExportFile* patient = Find(*layout, "Patient.000.ndjson");
  ASSERT_NE(patient, nullptr);
  EXPECT_EQ(patient->kind, ExportFile::Kind::kNdjson);
  EXPECT_FALSE(patient->gzip);
  EXPECT_EQ(patient->resource_type, "Patient");
  EXPECT_EQ(patient->path, dir.Path("Patient.000.ndjson"));

  EXPECT_THAT(layout->skipped,
              ElementsAre(Key("log.ndjson"), Key("notes.txt"), Key("sub")));
  EXPECT_THAT(layout->skipped.at("log.ndjson"),
              HasSubstr("without a FHIR resource type"));
  EXPECT_THAT(layout->skipped.at("notes.txt"), HasSubstr("not an export file"));
  EXPECT_THAT(layout->skipped.at("sub"), HasSubstr("sub-folder"));
}

TEST(ExportLayoutTest, NamesAndExtensions) {
  ScopedTempDir dir;
  for (const char* name :
       {"1.Condition.ndjson", "Condition_2.ndjson", "MedicationRequest.jsonl",
        "Observation.jsonl.gz", "Procedure.NDJSON",
        "export-Immunization.ndjson", "Bundle.000.json.gz",
        "expected_findings.ndjson", ".hidden.ndjson", "Permission.ndjson",
        "Device.ndjson.bak", "Patient.ndjson.zip"}) {
    dir.WriteFile(name, "x");
  }
  absl::StatusOr<ExportLayout> layout = ListExportFiles(dir.path() + "/");
  ASSERT_THAT(layout, IsOk());
  // Byte order: digits < upper case < lower case.
  EXPECT_THAT(Names(*layout),
              ElementsAre("1.Condition.ndjson", "Bundle.000.json.gz",
                          "Condition_2.ndjson", "MedicationRequest.jsonl",
                          "Observation.jsonl.gz", "Permission.ndjson",
                          "Procedure.NDJSON", "export-Immunization.ndjson"));
  auto type = [&](const char* name) {
    return Find(*layout, name)->resource_type;
  };
  EXPECT_EQ(type("1.Condition.ndjson"), "Condition");
  EXPECT_EQ(type("Condition_2.ndjson"), "Condition");
  EXPECT_EQ(type("MedicationRequest.jsonl"), "MedicationRequest");
  EXPECT_EQ(type("Observation.jsonl.gz"), "Observation");
  EXPECT_TRUE(Find(*layout, "Observation.jsonl.gz")->gzip);
  EXPECT_EQ(type("Procedure.NDJSON"), "Procedure");
  EXPECT_EQ(type("export-Immunization.ndjson"), "Immunization");
  EXPECT_EQ(type("Bundle.000.json.gz"), "Bundle");
  EXPECT_EQ(Find(*layout, "Bundle.000.json.gz")->kind,
            ExportFile::Kind::kBundle);
  // Not an R4 type, but shaped like one (e.g. an R5 type).
  EXPECT_EQ(type("Permission.ndjson"), "Permission");
  // The path joins without a double slash.
  EXPECT_EQ(Find(*layout, "Permission.ndjson")->path,
            dir.Path("Permission.ndjson"));

  EXPECT_THAT(
      layout->skipped,
      ElementsAre(Key(".hidden.ndjson"), Key("Device.ndjson.bak"),
                  Key("Patient.ndjson.zip"), Key("expected_findings.ndjson")));
  EXPECT_EQ(layout->skipped.at(".hidden.ndjson"), "hidden file");
}

TEST(ExportLayoutTest, ResourceTypeFromFileName) {
  EXPECT_EQ(ResourceTypeFromFileName("Condition.000.ndjson", false),
            "Condition");
  EXPECT_EQ(ResourceTypeFromFileName("Condition.ndjson.gz", false),
            "Condition");
  EXPECT_EQ(ResourceTypeFromFileName("Condition_2.ndjson", false), "Condition");
  EXPECT_EQ(ResourceTypeFromFileName("1.Condition.ndjson", false), "Condition");
  // A known type wins over an earlier look-alike token.
  EXPECT_EQ(ResourceTypeFromFileName("FHIR_Export.Patient.ndjson", false),
            "Patient");
  EXPECT_EQ(ResourceTypeFromFileName("Export.ndjson", false), "Export");
  EXPECT_EQ(ResourceTypeFromFileName("Export.ndjson", true), "");
  EXPECT_EQ(ResourceTypeFromFileName("log.ndjson", false), "");
  EXPECT_EQ(ResourceTypeFromFileName("expected_findings.ndjson", false), "");
  EXPECT_EQ(ResourceTypeFromFileName("ALLCAPS.ndjson", false), "");
  EXPECT_EQ(ResourceTypeFromFileName("Patient1.ndjson", false), "Patient");
  EXPECT_EQ(ResourceTypeFromFileName("", false), "");
  EXPECT_TRUE(IsR4ResourceType("AllergyIntolerance"));
  EXPECT_TRUE(IsR4ResourceType("VisionPrescription"));
  EXPECT_FALSE(IsR4ResourceType("Resource"));
  EXPECT_FALSE(IsR4ResourceType("patient"));
}

TEST(ExportLayoutTest, EmptyFolderIsFine) {
  ScopedTempDir dir;
  absl::StatusOr<ExportLayout> layout = ListExportFiles(dir.path());
  ASSERT_THAT(layout, IsOk());
  EXPECT_THAT(layout->files, IsEmpty());
  EXPECT_THAT(layout->skipped, IsEmpty());
}

TEST(ExportLayoutTest, SymlinksAreFollowedAndDanglingOnesSkipped) {
  ScopedTempDir dir;
  const std::string target = dir.WriteFile("data.bin", "{}\n");
  ASSERT_EQ(symlink(target.c_str(), dir.Path("Patient.ndjson").c_str()), 0);
  ASSERT_EQ(
      symlink(dir.Path("gone").c_str(), dir.Path("Condition.ndjson").c_str()),
      0);
  absl::StatusOr<ExportLayout> layout = ListExportFiles(dir.path());
  ASSERT_THAT(layout, IsOk());
  EXPECT_THAT(Names(*layout), ElementsAre("Patient.ndjson"));
  EXPECT_EQ(layout->files[0].size_bytes, 3u);
  EXPECT_THAT(layout->skipped.at("Condition.ndjson"), HasSubstr("cannot stat"));
}

TEST(ExportLayoutTest, ErrorsNameThePath) {
  ScopedTempDir dir;
  const std::string missing = dir.Path("no-such-export");
  EXPECT_THAT(ListExportFiles(missing),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr(missing)));
  const std::string file = dir.WriteFile("Patient.ndjson", "{}\n");
  EXPECT_THAT(ListExportFiles(file),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(file + ": not a folder")));
  EXPECT_THAT(ListExportFiles(""),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ExportLayoutTest, UnreadableFolder) {
  if (geteuid() == 0) GTEST_SKIP() << "root reads any folder";
  ScopedTempDir dir;
  const std::string locked = dir.Path("locked");
  ASSERT_EQ(mkdir(locked.c_str(), 0000), 0);
  EXPECT_THAT(ListExportFiles(locked),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr(locked)));
  chmod(locked.c_str(), 0755);  // so that ScopedTempDir can remove it
}

}  // namespace
}  // namespace needlecheck::batch
