#include "common/files/bounded_file.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/scoped_temp_dir.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck {
namespace {

using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::ScopedTempDir;
using ::needlecheck::testing::StatusIs;
using ::testing::HasSubstr;

TEST(ReadRegularFileTest, ReadsAWholeFile) {
  ScopedTempDir dir;
  const std::string content(200 * 1024, 'k');
  const std::string path = dir.WriteFile("kb.textproto", content);
  absl::StatusOr<std::string> read = ReadRegularFile(path, content.size());
  ASSERT_THAT(read, IsOk());
  EXPECT_EQ(*read, content);
  EXPECT_THAT(ReadRegularFile(dir.WriteFile("empty", ""), 0), IsOk());
}

TEST(ReadRegularFileTest, FollowsASymlinkToARegularFile) {
  ScopedTempDir dir;
  const std::string path = dir.WriteFile("real", "abc");
  ASSERT_EQ(symlink(path.c_str(), dir.Path("link").c_str()), 0);
  absl::StatusOr<std::string> read = ReadRegularFile(dir.Path("link"), 10);
  ASSERT_THAT(read, IsOk());
  EXPECT_EQ(*read, "abc");
}

TEST(ReadRegularFileTest, LargerThanTheCapIsResourceExhausted) {
  ScopedTempDir dir;
  const std::string path = dir.WriteFile("big", std::string(1001, 'x'));
  EXPECT_THAT(ReadRegularFile(path, 1000),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("larger than 1000 bytes")));
  // A sparse file far larger than memory is refused by its size, unread.
  const std::string sparse = dir.WriteFile("sparse", "");
  ASSERT_EQ(truncate(sparse.c_str(), int64_t{64} << 30), 0);
  EXPECT_THAT(ReadRegularFile(sparse, 16 << 20),
              StatusIs(absl::StatusCode::kResourceExhausted));
}

TEST(ReadRegularFileTest, DevZeroIsNotRead) {
  EXPECT_THAT(ReadRegularFile("/dev/zero", 1 << 20),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("not a regular file (a character device)")));
}

TEST(ReadRegularFileTest, AFifoWithoutAWriterDoesNotBlock) {
  ScopedTempDir dir;
  const std::string fifo = dir.Path("fifo");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_THAT(
      ReadRegularFile(fifo, 1 << 20),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("(a FIFO)")));
}

TEST(ReadRegularFileTest, DirectoryAndSocketAreRefused) {
  ScopedTempDir dir;
  EXPECT_THAT(ReadRegularFile(dir.path(), 1 << 20),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("(a directory)")));
  // A bound Unix socket cannot be opened at all (ENXIO): not read either.
  const std::string socket_path = dir.Path("s");
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  ASSERT_LT(socket_path.size(), sizeof(addr.sun_path));
  std::strcpy(addr.sun_path, socket_path.c_str());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  EXPECT_FALSE(ReadRegularFile(socket_path, 1 << 20).ok());
  close(fd);
}

TEST(ReadRegularFileTest, MissingIsNotFound) {
  EXPECT_THAT(ReadRegularFile("/nonexistent/kb.textproto", 10),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("/nonexistent/kb.textproto")));
}

}  // namespace
}  // namespace needlecheck
