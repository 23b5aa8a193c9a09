// The spill store under the audit's grouping by patient: partitions,
// in-memory and external grouping, resume after a kill mid-read and
// mid-audit, damaged and truncated spill files, a full disk; and the merge
// of the findings runs back into patient-id order.
#include "adapters/batch/run/spill_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "adapters/batch/run/audit_scratch.h"
#include "adapters/batch/run/findings_runs.h"
#include "common/sqlite/sqlite_db.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/scoped_temp_dir.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::batch {
namespace {

using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::ScopedTempDir;
using ::needlecheck::testing::StatusIs;
using ::testing::HasSubstr;

// Resource r of patient p: its body names both (and is padded, so a few
// hundred patients make partitions of some size).
std::string Body(int patient, int resource) {
  return absl::StrCat("{\"p\":", patient, ",\"r\":", resource, ",\"pad\":\"",
                      std::string(64 + (patient * 7 + resource) % 50, 'x'),
                      "\"}");
}
std::string Id(int patient) { return absl::StrCat("patient-", patient); }

// Adds `patients` patients with 1-4 resources each, interleaved as an
// export's files interleave them (file = resource index, line = patient).
void AddPatients(AuditScratch& scratch, int first, int patients) {
  for (int r = 0; r < 4; ++r) {
    for (int p = first; p < first + patients; ++p) {
      if (r > p % 4) continue;
      ASSERT_THAT(scratch.AddResource(Id(p), r, p + 1, Body(p, r)), IsOk());
    }
  }
}

// The whole reading phase: patients [first, first + patients), committed,
// then the ingest finished.
void IngestPatients(AuditScratch& scratch, int first, int patients) {
  ASSERT_THAT(scratch.Begin(), IsOk());
  AddPatients(scratch, first, patients);
  ASSERT_THAT(scratch.Commit(), IsOk());
  ASSERT_THAT(scratch.FinishIngest(), IsOk());
}

// Reads every patient of `scratch` after `after`: id -> bodies, and the
// ids in the order read.
struct ReadBack {
  std::map<std::string, std::vector<std::string>> bodies;
  std::vector<std::string> order;
};
ReadBack ReadAll(AuditScratch& scratch, const std::string& after = "") {
  ReadBack out;
  auto reader = scratch.OpenReader(after, 1000);
  EXPECT_THAT(reader.status(), IsOk());
  if (!reader.ok()) return out;
  PatientResources patient;
  while (true) {
    absl::StatusOr<bool> more = (*reader)->Next(&patient);
    EXPECT_THAT(more.status(), IsOk());
    if (!more.ok() || !*more) break;
    EXPECT_EQ(out.bodies.count(patient.patient_id), 0u)
        << patient.patient_id << " read twice";
    out.order.push_back(patient.patient_id);
    for (size_t i = 0; i < patient.resources.size(); ++i) {
      if (i > 0) {
        EXPECT_LT(patient.resources[i - 1].file, patient.resources[i].file);
      }
      out.bodies[patient.patient_id].push_back(patient.resources[i].body);
    }
  }
  return out;
}

// Checks `read` holds patients [0, patients) with all their resources, in
// (partition, id) order.
void ExpectAllPatients(const ReadBack& read, int patients,
                       uint32_t partitions) {
  ASSERT_EQ(read.bodies.size(), static_cast<size_t>(patients));
  for (int p = 0; p < patients; ++p) {
    const auto it = read.bodies.find(Id(p));
    ASSERT_NE(it, read.bodies.end()) << p;
    ASSERT_EQ(it->second.size(), static_cast<size_t>(p % 4 + 1)) << p;
    for (int r = 0; r <= p % 4; ++r) EXPECT_EQ(it->second[r], Body(p, r));
  }
  for (size_t i = 1; i < read.order.size(); ++i) {
    const uint32_t a = SpillPartitionOf(read.order[i - 1], partitions);
    const uint32_t b = SpillPartitionOf(read.order[i], partitions);
    EXPECT_TRUE(a < b || (a == b && read.order[i - 1] < read.order[i]))
        << read.order[i - 1] << " then " << read.order[i];
  }
}

class SpillStoreTest : public ::testing::Test {
 protected:
  // A scratch with `memory_mib` of memory sized for `input_bytes`.
  std::unique_ptr<AuditScratch> Open(int memory_mib, int64_t input_bytes) {
    auto scratch = AuditScratch::Open(dir_.Path("scratch.sqlite3"), memory_mib);
    EXPECT_THAT(scratch.status(), IsOk());
    if (!scratch.ok()) return nullptr;
    EXPECT_THAT((*scratch)->RegisterFiles({"a", "b", "c", "d"}), IsOk());
    EXPECT_THAT((*scratch)->OpenSpill(input_bytes), IsOk());
    return *std::move(scratch);
  }
  std::string SpillDir() const { return dir_.Path("scratch.sqlite3-spill"); }
  ScopedTempDir dir_;
};

// A scratch file SQLite cannot keep in WAL mode (here an in-memory one; on
// disk, a network file system) is refused, not silently used in another
// journal mode.
TEST(AuditScratchTest, ScratchWithoutWalIsRefused) {
  absl::StatusOr<std::unique_ptr<AuditScratch>> scratch =
      AuditScratch::Open(":memory:", 1);
  EXPECT_THAT(scratch.status(),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("scratch file :memory:: cannot use WAL mode "
                                 "there (journal_mode is memory)")));
}

TEST_F(SpillStoreTest, EveryPatientOnceInPartitionThenIdOrder) {
  // 1 MiB of memory for about 3 MiB of input: several partitions.
  std::unique_ptr<AuditScratch> scratch = Open(1, 3 << 20);
  ASSERT_NE(scratch, nullptr);
  EXPECT_GT(scratch->partitions(), 4u);
  IngestPatients(*scratch, 0, 500);
  ExpectAllPatients(ReadAll(*scratch), 500, scratch->partitions());
}

TEST_F(SpillStoreTest, PartitionLargerThanMemoryIsSortedInRuns) {
  // One partition for 3 MiB of resources with 1 MiB of memory: grouped by
  // an external sort (runs of half a MiB), with the same result.
  std::unique_ptr<AuditScratch> scratch = Open(1, 0);
  ASSERT_NE(scratch, nullptr);
  ASSERT_EQ(scratch->partitions(), 1u);
  IngestPatients(*scratch, 0, 12000);
  struct stat st {};
  ASSERT_EQ(stat(SpillFilePath(SpillDir(), 0).c_str(), &st), 0);
  ASSERT_GT(st.st_size, 2 << 20);
  ExpectAllPatients(ReadAll(*scratch), 12000, 1);
  // The runs are gone with the reader.
  EXPECT_NE(
      access(absl::StrCat(SpillFilePath(SpillDir(), 0), ".run0").c_str(), F_OK),
      0);
}

TEST_F(SpillStoreTest, KillMidReadKeepsOnlyWhatWasCommitted) {
  {
    std::unique_ptr<AuditScratch> scratch = Open(1, 3 << 20);
    ASSERT_NE(scratch, nullptr);
    ASSERT_THAT(scratch->Begin(), IsOk());
    AddPatients(*scratch, 0, 300);
    ASSERT_THAT(scratch->Commit(), IsOk());
    ASSERT_THAT(scratch->Begin(), IsOk());
    // Read but not committed: in the spill files' buffers and, flushed by
    // a larger write, partly in the files. The process dies here.
    AddPatients(*scratch, 300, 5000);
  }
  // The resumed run: the uncommitted resources are gone; it reads them
  // again.
  std::unique_ptr<AuditScratch> scratch = Open(1, 3 << 20);
  ASSERT_NE(scratch, nullptr);
  IngestPatients(*scratch, 300, 200);
  ExpectAllPatients(ReadAll(*scratch), 500, scratch->partitions());
}

TEST_F(SpillStoreTest, ResumeMidAuditGoesOnAfterTheLastPatient) {
  std::unique_ptr<AuditScratch> scratch = Open(1, 3 << 20);
  ASSERT_NE(scratch, nullptr);
  IngestPatients(*scratch, 0, 500);
  const ReadBack all = ReadAll(*scratch);
  ASSERT_EQ(all.order.size(), 500u);
  // Killed after patient 237 (of the audit order): a reopened scratch goes
  // on with patient 238, to the end, in the same order.
  scratch.reset();
  scratch = Open(1, 3 << 20);
  ASSERT_NE(scratch, nullptr);
  const ReadBack rest = ReadAll(*scratch, all.order[237]);
  EXPECT_EQ(rest.order,
            std::vector<std::string>(all.order.begin() + 238, all.order.end()));
}

TEST_F(SpillStoreTest, TruncatedSpillFileIsDataLoss) {
  {
    std::unique_ptr<AuditScratch> scratch = Open(1, 0);
    ASSERT_NE(scratch, nullptr);
    IngestPatients(*scratch, 0, 100);
  }
  ASSERT_EQ(truncate(SpillFilePath(SpillDir(), 0).c_str(), 100), 0);
  auto scratch = AuditScratch::Open(dir_.Path("scratch.sqlite3"), 1);
  ASSERT_THAT(scratch.status(), IsOk());
  EXPECT_THAT((*scratch)->OpenSpill(0),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("shorter than its committed length")));
}

TEST_F(SpillStoreTest, DamagedSpillFileIsDataLossWithItsOffset) {
  std::unique_ptr<AuditScratch> scratch = Open(1, 0);
  ASSERT_NE(scratch, nullptr);
  IngestPatients(*scratch, 0, 100);
  // Overwrite the first record's header.
  {
    std::fstream file(SpillFilePath(SpillDir(), 0),
                      std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(0);
    file.write("\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7f", 12);
  }
  auto reader = scratch->OpenReader("", 100);
  ASSERT_THAT(reader.status(), IsOk());
  PatientResources patient;
  EXPECT_THAT(
      (*reader)->Next(&patient).status(),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("is damaged at byte 0")));
}

TEST_F(SpillStoreTest, RecordOfAnotherPartitionIsDataLoss) {
  std::unique_ptr<AuditScratch> scratch = Open(1, 3 << 20);
  ASSERT_NE(scratch, nullptr);
  ASSERT_GT(scratch->partitions(), 1u);
  IngestPatients(*scratch, 0, 100);
  // Partition 1's file replaced by partition 0's records: whatever its
  // committed length, reading it ends in DATA_LOSS.
  const std::string p0 = SpillFilePath(SpillDir(), 0);
  const std::string p1 = SpillFilePath(SpillDir(), 1);
  ASSERT_EQ(std::rename(p0.c_str(), p1.c_str()), 0);
  ASSERT_EQ(symlink(p1.c_str(), p0.c_str()), 0);
  auto reader = scratch->OpenReader("", 100);
  ASSERT_THAT(reader.status(), IsOk());
  PatientResources patient;
  absl::Status status;
  for (int i = 0; i < 1000 && status.ok(); ++i) {
    absl::StatusOr<bool> more = (*reader)->Next(&patient);
    status = more.status();
    if (status.ok() && !*more) break;
  }
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kDataLoss));
}

TEST_F(SpillStoreTest, FullDiskIsUnavailableNamingTheFile) {
  // The first partition's file is /dev/full: every write fails with ENOSPC.
  ASSERT_EQ(mkdir(SpillDir().c_str(), 0700), 0);
  ASSERT_EQ(symlink("/dev/full", SpillFilePath(SpillDir(), 0).c_str()), 0);
  std::unique_ptr<AuditScratch> scratch = Open(1, 0);
  ASSERT_NE(scratch, nullptr);
  ASSERT_THAT(scratch->Begin(), IsOk());
  absl::Status status;
  for (int p = 0; p < 100000 && status.ok(); ++p) {
    status = scratch->AddResource(Id(p), 0, p, Body(p, 0));
  }
  if (status.ok()) status = scratch->Commit();
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kUnavailable,
                               HasSubstr("No space left on device")));
}

TEST_F(SpillStoreTest, ScratchOfTheSqliteTableVersionIsRefused) {
  // What the version that kept resources in an SQLite table left after a
  // kill mid-read: no spill files, a file half read, a table of resources.
  {
    auto old = sqlite::Connection::Open(dir_.Path("scratch.sqlite3"), false,
                                        true, absl::Seconds(10));
    ASSERT_THAT(old.status(), IsOk());
    ASSERT_THAT(
        (*old)->Exec("CREATE TABLE staged(patient TEXT NOT NULL, file INTEGER "
                     "NOT NULL, line INTEGER NOT NULL, body BLOB NOT NULL);"
                     "INSERT INTO staged VALUES('p', 0, 1, '{}');"),
        IsOk());
  }
  auto scratch = AuditScratch::Open(dir_.Path("scratch.sqlite3"), 16);
  ASSERT_THAT(scratch.status(), IsOk());
  ASSERT_THAT((*scratch)->RegisterFiles({"a"}), IsOk());
  EXPECT_THAT((*scratch)->OpenSpill(0),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("--overwrite")));
}

TEST(FindingsRunsTest, RunsMergeBackIntoPatientIdOrder) {
  ScopedTempDir dir;
  constexpr uint32_t kPartitions = 7;
  // Patients in audit order: by partition, then id.
  std::vector<std::string> ids;
  for (int p = 0; p < 300; ++p) ids.push_back(Id(p));
  std::sort(ids.begin(), ids.end(),
            [](const std::string& a, const std::string& b) {
              const uint32_t pa = SpillPartitionOf(a, kPartitions);
              const uint32_t pb = SpillPartitionOf(b, kPartitions);
              return pa != pb ? pa < pb : a < b;
            });
  std::string frames;
  for (const std::string& id : ids) {
    if (id.back() == '3') continue;  // patients without findings
    AppendFindingsFrame(id, absl::StrCat(id, " 1\n", id, " 2\n"), &frames);
  }
  const std::string part = dir.WriteFile("frames", frames);
  const std::string out = dir.Path("merged");
  ASSERT_THAT(MergeFindingsRuns(part, static_cast<int64_t>(frames.size()),
                                kPartitions, out),
              IsOk());
  std::sort(ids.begin(), ids.end());
  std::string expected;
  for (const std::string& id : ids) {
    if (id.back() == '3') continue;
    absl::StrAppend(&expected, id, " 1\n", id, " 2\n");
  }
  std::ifstream in(out, std::ios::binary);
  const std::string merged((std::istreambuf_iterator<char>(in)),
                           std::istreambuf_iterator<char>());
  EXPECT_EQ(merged, expected);

  // Cut short: DATA_LOSS.
  EXPECT_THAT(MergeFindingsRuns(part, static_cast<int64_t>(frames.size()) - 3,
                                kPartitions, dir.Path("cut")),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("cut short")));
}

}  // namespace
}  // namespace needlecheck::batch
