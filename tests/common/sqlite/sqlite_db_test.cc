// Connection::UseWal: the WAL switch every SQLite store makes at open, and
// its refusal where SQLite keeps another journal mode.
#include "common/sqlite/sqlite_db.h"

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/scoped_temp_dir.h"

namespace needlecheck::sqlite {
namespace {

using ::testing::HasSubstr;

TEST(UseWalTest, SwitchesAFileToWriteAheadLogging) {
  testing::ScopedTempDir dir;
  absl::StatusOr<std::unique_ptr<Connection>> db =
      Connection::Open(dir.Path("store.sqlite3"), /*read_only=*/false,
                       /*create=*/true, absl::Seconds(5));
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_TRUE((*db)->UseWal().ok());
  absl::StatusOr<std::string> mode = (*db)->PragmaText("journal_mode");
  ASSERT_TRUE(mode.ok()) << mode.status();
  EXPECT_EQ(*mode, "wal");
  EXPECT_TRUE((*db)->UseWal().ok());  // again: nothing to change
}

TEST(UseWalTest, IsUnavailableWhereSqliteKeepsAnotherMode) {
  // An in-memory database has no file to keep a write-ahead log beside.
  absl::StatusOr<std::unique_ptr<Connection>> db = Connection::Open(
      ":memory:", /*read_only=*/false, /*create=*/true, absl::Seconds(5));
  ASSERT_TRUE(db.ok()) << db.status();
  const absl::Status status = (*db)->UseWal();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(status.message(),
              HasSubstr("cannot use WAL mode there (journal_mode is memory)"));
}

}  // namespace
}  // namespace needlecheck::sqlite
