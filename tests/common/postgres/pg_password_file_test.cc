// ReadPasswordFile: the one reader of a database password file (the alert
// ledger's --ledger_password_file and the HL7 v2 state store's
// --state_password_file): one trailing line end stripped, bounded, never
// blocking on what is not a regular file, the content never in an error.
#include <sys/stat.h>

#include <string>

#include "absl/status/status.h"
#include "common/postgres/pg_conn.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/scoped_temp_dir.h"

namespace needlecheck::postgres {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(ReadPasswordFileTest, StripsOneTrailingLineEnd) {
  testing::ScopedTempDir dir;
  absl::StatusOr<std::string> unix_end =
      ReadPasswordFile(dir.WriteFile("a", "s3cret\n"));
  ASSERT_TRUE(unix_end.ok()) << unix_end.status();
  EXPECT_EQ(*unix_end, "s3cret");
  absl::StatusOr<std::string> dos_end =
      ReadPasswordFile(dir.WriteFile("b", "s3cret\r\n"));
  ASSERT_TRUE(dos_end.ok()) << dos_end.status();
  EXPECT_EQ(*dos_end, "s3cret");
  absl::StatusOr<std::string> bare = ReadPasswordFile(dir.WriteFile("c", "pw"));
  ASSERT_TRUE(bare.ok()) << bare.status();
  EXPECT_EQ(*bare, "pw");
  absl::StatusOr<std::string> two =
      ReadPasswordFile(dir.WriteFile("d", "pw\n\n"));
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_EQ(*two, "pw\n");
}

TEST(ReadPasswordFileTest, AnEmptyFileIsInvalid) {
  testing::ScopedTempDir dir;
  for (const char* content : {"", "\n", "\r\n"}) {
    const std::string path = dir.WriteFile("empty", content);
    const absl::Status status = ReadPasswordFile(path).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(status.message(), HasSubstr("empty"));
    EXPECT_THAT(status.message(), HasSubstr(path));
  }
}

TEST(ReadPasswordFileTest, AMissingFileIsNotFound) {
  testing::ScopedTempDir dir;
  const absl::Status status = ReadPasswordFile(dir.Path("absent")).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr(dir.Path("absent")));
}

TEST(ReadPasswordFileTest, ALargeFileIsRefusedWithoutItsContent) {
  testing::ScopedTempDir dir;
  const std::string content = "hunter2-" + std::string(5000, 'x');
  const absl::Status status =
      ReadPasswordFile(dir.WriteFile("big", content)).status();
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("4096"));
  EXPECT_THAT(status.message(), Not(HasSubstr("hunter2")));
}

TEST(ReadPasswordFileTest, AFifoIsRefusedAtOnceInsteadOfBlocking) {
  testing::ScopedTempDir dir;
  const std::string fifo = dir.Path("fifo");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  // No writer ever opens it: an open() without O_NONBLOCK waits for ever.
  const absl::Status status = ReadPasswordFile(fifo).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("not a regular file"));
}

TEST(ReadPasswordFileTest, AFolderIsNotARegularFile) {
  testing::ScopedTempDir dir;
  const absl::Status status = ReadPasswordFile(dir.path()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("not a regular file"));
}

}  // namespace
}  // namespace needlecheck::postgres
