// Reading the public corpus (../shared/corpus) end to end:
// - the Bulk Data NDJSON sample: the layout skips log.ndjson; every line of
//   every resource file routes, to a Patient of the export, with the type of
//   its file; counts per type match an independent count (std::getline and
//   a substring search, neither the line reader nor simdjson); gzip copies
//   give the same grouping;
// - the 23 Synthea bundles: every entry is yielded and routes; every entry
//   that names a patient names its bundle's Patient.id (from the Patient
//   entry, not the file name); only Organization and Practitioner have
//   none; the minified JSON routes again to the same patient.
// Skips when the shared folder is absent.
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "adapters/batch/export/bundle_splitter.h"
#include "adapters/batch/export/export_layout.h"
#include "adapters/batch/export/line_reader.h"
#include "adapters/batch/export/resource_route.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/read_file.h"
#include "tests/testing/scoped_temp_dir.h"
#include "tests/testing/shared_corpus.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::batch {
namespace {

using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::ScopedTempDir;
using ::testing::ElementsAre;
using ::testing::Key;

std::string CorpusDir(const char* name) {
  return testing::SharedCorpusDir(NEEDLECHECK_SHARED_DIR, name).string();
}

#define SKIP_WITHOUT(dir)                              \
  if (!std::filesystem::is_directory(dir)) {           \
    GTEST_SKIP() << "corpus folder absent: " << (dir); \
  }

using ::needlecheck::testing::ReadFile;

// Independent count: resourceType per non-blank line, by substring search.
std::map<std::string, int64_t> IndependentCounts(const std::string& path) {
  std::map<std::string, int64_t> counts;
  std::ifstream in(path, std::ios::binary);
  std::string line;
  const std::string key = "\"resourceType\":\"";
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const size_t at = line.find(key);
    if (at == std::string::npos) {
      ++counts["?"];
      continue;
    }
    const size_t start = at + key.size();
    ++counts[line.substr(start, line.find('"', start) - start)];
  }
  return counts;
}

struct BulkRead {
  std::map<std::string, int64_t> by_type;
  std::map<std::string, int64_t> by_patient;
  int64_t errors = 0;
};

// Reads every resource file of `dir` as needlecheck-audit would.
BulkRead ReadBulk(const std::string& dir) {
  BulkRead out;
  absl::StatusOr<ExportLayout> layout = ListExportFiles(dir);
  EXPECT_THAT(layout, IsOk());
  if (!layout.ok()) return out;
  ResourceRouter router;
  RouteResult route;
  for (const ExportFile& file : layout->files) {
    EXPECT_EQ(file.kind, ExportFile::Kind::kNdjson) << file.name;
    absl::StatusOr<std::unique_ptr<NdjsonLineReader>> reader =
        NdjsonLineReader::Open(file.path);
    EXPECT_THAT(reader, IsOk());
    if (!reader.ok()) continue;
    NdjsonLine line;
    for (;;) {
      absl::StatusOr<bool> more = (*reader)->Next(&line);
      EXPECT_THAT(more, IsOk()) << file.name;
      if (!more.ok() || !*more) break;
      absl::Status s = router.RoutePadded(line.text, &route);
      if (!s.ok()) {
        ADD_FAILURE() << file.name << ":" << line.number << ": " << s;
        ++out.errors;
        continue;
      }
      EXPECT_EQ(route.resource_type, file.resource_type)
          << file.name << ":" << line.number;
      EXPECT_FALSE(route.patient_id.empty())
          << file.name << ":" << line.number << " "
          << PatientLinkName(route.link);
      ++out.by_type[route.resource_type];
      ++out.by_patient[route.patient_id];
    }
  }
  return out;
}

void GzipFile(const std::string& from, const std::string& to) {
  const std::string data = ReadFile(from);
  gzFile f = gzopen(to.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, data.data(), static_cast<unsigned>(data.size())),
            static_cast<int>(data.size()));
  ASSERT_EQ(gzclose(f), Z_OK);
}

TEST(ExportCorpusTest, BulkNdjsonSample) {
  const std::string dir = CorpusDir("fhir-r4-bulk-ndjson");
  SKIP_WITHOUT(dir);
  absl::StatusOr<ExportLayout> layout = ListExportFiles(dir);
  ASSERT_THAT(layout, IsOk());
  std::vector<std::string> names;
  for (const ExportFile& f : layout->files) names.push_back(f.name);
  EXPECT_THAT(names, ElementsAre("AllergyIntolerance.000.ndjson",
                                 "Condition.000.ndjson", "Device.000.ndjson",
                                 "Immunization.000.ndjson",
                                 "MedicationRequest.000.ndjson",
                                 "Patient.000.ndjson", "Procedure.000.ndjson"));
  EXPECT_THAT(layout->skipped, ElementsAre(Key("log.ndjson")));

  std::map<std::string, int64_t> expected;
  for (const ExportFile& f : layout->files) {
    for (const auto& [type, n] : IndependentCounts(f.path)) expected[type] += n;
  }
  EXPECT_EQ(expected.count("?"), 0u);
  EXPECT_EQ(expected["Patient"], 13);      // the corpus README
  EXPECT_EQ(expected["Procedure"], 2056);  // wc -l

  const BulkRead read = ReadBulk(dir);
  EXPECT_EQ(read.errors, 0);
  EXPECT_EQ(read.by_type, expected);
  // Every resource belongs to one of the 13 Patients of the export.
  EXPECT_EQ(read.by_patient.size(), 13u);
  int64_t total = 0;
  for (const auto& [type, n] : expected) total += n;
  int64_t grouped = 0;
  for (const auto& [patient, n] : read.by_patient) {
    EXPECT_GE(n, 1) << patient;
    grouped += n;
  }
  EXPECT_EQ(grouped, total);

  // The same export gzip-compressed (plus the log, still skipped).
  ScopedTempDir gz;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    GzipFile(entry.path().string(),
             gz.Path(entry.path().filename().string() + ".gz"));
  }
  absl::StatusOr<ExportLayout> gz_layout = ListExportFiles(gz.path());
  ASSERT_THAT(gz_layout, IsOk());
  EXPECT_THAT(gz_layout->skipped, ElementsAre(Key("log.ndjson.gz")));
  const BulkRead gz_read = ReadBulk(gz.path());
  EXPECT_EQ(gz_read.by_type, read.by_type);
  EXPECT_EQ(gz_read.by_patient, read.by_patient);
}

size_t CountSubstr(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t at = s.find(what); at != std::string::npos;
       at = s.find(what, at + what.size())) {
    ++n;
  }
  return n;
}

TEST(ExportCorpusTest, SyntheaBundles) {
  const std::string dir = CorpusDir("fhir-r4-bundles");
  SKIP_WITHOUT(dir);
  absl::StatusOr<ExportLayout> layout = ListExportFiles(dir);
  ASSERT_THAT(layout, IsOk());
  ASSERT_EQ(layout->files.size(), 23u);
  EXPECT_TRUE(layout->skipped.empty());

  ResourceRouter router;
  int64_t all_entries = 0;
  for (const ExportFile& file : layout->files) {
    SCOPED_TRACE(file.name);
    EXPECT_EQ(file.kind, ExportFile::Kind::kBundle);
    std::vector<BundleEntry> entries;
    absl::StatusOr<BundleStats> stats =
        SplitBundleFile(file.path, BundleOptions(), [&](const BundleEntry& e) {
          entries.push_back(e);
          return absl::OkStatus();
        });
    ASSERT_THAT(stats, IsOk());
    EXPECT_EQ(stats->errors, 0);
    EXPECT_EQ(stats->without_resource, 0);
    // Every Synthea entry has a fullUrl: an independent entry count.
    const std::string raw = ReadFile(file.path);
    EXPECT_EQ(entries.size(), CountSubstr(raw, "\"fullUrl\""));
    all_entries += static_cast<int64_t>(entries.size());

    std::string patient;
    std::string patient_url;
    for (const BundleEntry& e : entries) {
      if (e.route.resource_type == "Patient") {
        EXPECT_TRUE(patient.empty()) << "two Patients";
        patient = e.route.id;
      }
    }
    ASSERT_FALSE(patient.empty());
    // Synthea: fullUrl is urn:uuid:<Patient.id>.
    UrnPatientMap urns;
    urns[absl::StrCat("urn:uuid:", patient)] = patient;

    for (const BundleEntry& e : entries) {
      ASSERT_THAT(e.status, IsOk()) << e.path;
      if (e.route.patient_id.empty()) {
        EXPECT_THAT(e.route.resource_type,
                    ::testing::AnyOf("Organization", "Practitioner"))
            << e.path;
        EXPECT_EQ(e.route.link, PatientLink::kNone) << e.path;
        continue;
      }
      EXPECT_EQ(e.route.patient_id, patient) << e.path;
      // The minified resource routes again to the same patient.
      RouteResult again;
      ASSERT_THAT(router.Route(e.json, &again, &urns), IsOk()) << e.path;
      EXPECT_EQ(again.patient_id, patient) << e.path;
      EXPECT_EQ(again.resource_type, e.route.resource_type);
      EXPECT_EQ(again.id, e.route.id);
    }
  }
  // The corpus README's "resources" column adds up to this.
  EXPECT_EQ(all_entries, 4773);
}

}  // namespace
}  // namespace needlecheck::batch
