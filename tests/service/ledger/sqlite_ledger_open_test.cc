// Opening the SQLite alert ledger: only a missing file becomes a new ledger
// (made under a temporary name and renamed into place); an empty file, a
// damaged page and an orphaned write-ahead log are refused with DATA_LOSS
// and left as they are; the integrity check is bounded in time; and
// MoveDamagedLedgerAside() keeps the damaged files under a dated name.
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/ledger/sqlite_ledger.h"
#include "tests/testing/scoped_temp_dir.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::ledger {
namespace {

using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in),
                     std::istreambuf_iterator<char>());
}

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

class SqliteLedgerOpenTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(dir_.path().empty()); }

  SqliteLedgerOptions Options() const {
    SqliteLedgerOptions options;
    options.data_dir = dir_.path();
    return options;
  }
  std::string FilePath() const { return dir_.Path(kLedgerFileName); }

  // A closed ledger with `screenings` rows (and one alert each).
  void MakeLedger(int screenings) {
    {
      absl::StatusOr<std::unique_ptr<AlertLedger>> ledger =
          OpenSqliteLedger(Options());
      ASSERT_THAT(ledger, IsOk());
      ASSERT_THAT((*ledger)->Close(), IsOk());
    }
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(FilePath().c_str(), &db), SQLITE_OK);
    const std::string sql = absl::StrCat(
        "BEGIN; WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM "
        "n WHERE x < ",
        screenings,
        ") INSERT INTO screenings (request_id, screened_at_us, screened_day, "
        "patient_id, kb_version) SELECT 'r' || x, x, '2026-11-23', 'p' || x, "
        "'v' FROM n; INSERT INTO alerts (alert_id, screening_id, rule_id, "
        "severity, issued_day) SELECT lower(hex(randomblob(16))), id, 'R', 1, "
        "screened_day FROM screenings; COMMIT");
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr),
              SQLITE_OK)
        << sqlite3_errmsg(db);
    sqlite3_close(db);
  }

  ::needlecheck::testing::ScopedTempDir dir_;
};

TEST_F(SqliteLedgerOpenTest, AMissingFileBecomesANewCheckedLedger) {
  LedgerOpenReport report;
  absl::StatusOr<std::unique_ptr<AlertLedger>> ledger =
      OpenSqliteLedger(Options(), &report);
  ASSERT_THAT(ledger, IsOk());
  EXPECT_TRUE(report.created);
  EXPECT_EQ(report.integrity_check, LedgerOpenReport::Check::kPassed);
  EXPECT_FALSE(std::filesystem::exists(FilePath() + ".new"));
  ASSERT_THAT((*ledger)->Close(), IsOk());
  ledger = OpenSqliteLedger(Options(), &report);
  ASSERT_THAT(ledger, IsOk());
  EXPECT_FALSE(report.created);
}

TEST_F(SqliteLedgerOpenTest, LeftoversOfAnInterruptedCreationAreReplaced) {
  WriteBytes(FilePath() + ".new", "half made");
  WriteBytes(FilePath() + ".new-wal", "junk");
  ASSERT_THAT(OpenSqliteLedger(Options()), IsOk());
  EXPECT_FALSE(std::filesystem::exists(FilePath() + ".new"));
  EXPECT_FALSE(std::filesystem::exists(FilePath() + ".new-wal"));
}

TEST_F(SqliteLedgerOpenTest, AnEmptyFileIsRefusedAndLeftAlone) {
  WriteBytes(FilePath(), "");
  WriteBytes(FilePath() + "-wal", "the log SQLite would delete");
  EXPECT_THAT(OpenSqliteLedger(Options()),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr(FilePath()), HasSubstr("empty"))));
  EXPECT_EQ(std::filesystem::file_size(FilePath()), 0u);
  EXPECT_EQ(ReadBytes(FilePath() + "-wal"), "the log SQLite would delete");
}

TEST_F(SqliteLedgerOpenTest, AWriteAheadLogWithoutItsFileIsRefused) {
  WriteBytes(FilePath() + "-wal", "frames of a ledger that is gone");
  EXPECT_THAT(OpenSqliteLedger(Options()),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr(FilePath()), HasSubstr("-wal"))));
  EXPECT_FALSE(std::filesystem::exists(FilePath()));
}

TEST_F(SqliteLedgerOpenTest, ADamagedPageIsRefusedAndLeftAlone) {
  MakeLedger(5000);
  std::string bytes = ReadBytes(FilePath());
  const size_t pages = bytes.size() / 4096;
  ASSERT_GE(pages, 20u);
  std::mt19937 gen(3);
  for (size_t i = 0; i < 4096; ++i) {
    bytes[(pages / 2) * 4096 + i] = static_cast<char>(gen() & 0xff);
  }
  WriteBytes(FilePath(), bytes);
  EXPECT_THAT(OpenSqliteLedger(Options()),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr(FilePath()), HasSubstr("damaged"),
                             HasSubstr("quick_check"))));
  EXPECT_EQ(ReadBytes(FilePath()), bytes);
}

TEST_F(SqliteLedgerOpenTest, RandomBytesAreNotADatabase) {
  std::mt19937 gen(5);
  std::string bytes(16384, '\0');
  for (char& c : bytes) c = static_cast<char>(gen() & 0xff);
  WriteBytes(FilePath(), bytes);
  EXPECT_THAT(OpenSqliteLedger(Options()),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr(FilePath()),
                             HasSubstr("not a SQLite database"))));
  EXPECT_EQ(ReadBytes(FilePath()), bytes);
}

// A check cut short by its time limit opens the ledger and says so.
TEST_F(SqliteLedgerOpenTest, TheIntegrityCheckIsBoundedInTime) {
  MakeLedger(100000);
  SqliteLedgerOptions options = Options();
  options.integrity_check_time_limit = absl::Microseconds(1);
  LedgerOpenReport report;
  absl::StatusOr<std::unique_ptr<AlertLedger>> ledger =
      OpenSqliteLedger(options, &report);
  ASSERT_THAT(ledger, IsOk());
  EXPECT_EQ(report.integrity_check, LedgerOpenReport::Check::kIncomplete);
  // The connection is usable after the interrupt.
  EXPECT_THAT((*ledger)->GetAlertStats({}), IsOk());
  ASSERT_THAT((*ledger)->Close(), IsOk());

  options.integrity_check_time_limit = absl::ZeroDuration();
  ledger = OpenSqliteLedger(options, &report);
  ASSERT_THAT(ledger, IsOk());
  EXPECT_EQ(report.integrity_check, LedgerOpenReport::Check::kSkipped);
}

TEST_F(SqliteLedgerOpenTest, MoveDamagedLedgerAsideKeepsEveryFile) {
  WriteBytes(FilePath(), "main");
  WriteBytes(FilePath() + "-wal", "wal");
  WriteBytes(FilePath() + "-shm", "shm");
  const absl::Time now = absl::FromCivil(
      absl::CivilSecond(2026, 12, 6, 9, 30, 5), absl::UTCTimeZone());
  absl::StatusOr<std::string> moved = MoveDamagedLedgerAside(FilePath(), now);
  ASSERT_THAT(moved, IsOk());
  EXPECT_EQ(*moved, FilePath() + ".damaged-20261206T093005Z");
  EXPECT_EQ(ReadBytes(*moved), "main");
  EXPECT_EQ(ReadBytes(*moved + "-wal"), "wal");
  EXPECT_EQ(ReadBytes(*moved + "-shm"), "shm");
  EXPECT_FALSE(std::filesystem::exists(FilePath()));
  EXPECT_FALSE(std::filesystem::exists(FilePath() + "-wal"));

  // The same second again: a new name, nothing overwritten.
  WriteBytes(FilePath(), "second");
  moved = MoveDamagedLedgerAside(FilePath(), now);
  ASSERT_THAT(moved, IsOk());
  EXPECT_EQ(*moved, FilePath() + ".damaged-20261206T093005Z-2");
  EXPECT_EQ(ReadBytes(*moved), "second");
  EXPECT_EQ(ReadBytes(FilePath() + ".damaged-20261206T093005Z"), "main");

  EXPECT_THAT(MoveDamagedLedgerAside(FilePath(), now),
              StatusIs(absl::StatusCode::kNotFound));
  // And a new ledger can start there.
  EXPECT_THAT(OpenSqliteLedger(Options()), IsOk());
}

}  // namespace
}  // namespace needlecheck::ledger
