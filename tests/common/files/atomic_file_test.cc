#include "common/files/atomic_file.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/scoped_temp_dir.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::files {
namespace {

using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::ScopedTempDir;
using ::needlecheck::testing::StatusIs;
using ::testing::HasSubstr;

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

TEST(WriteFileAtomicallyTest, WritesAndReplacesWholeFiles) {
  ScopedTempDir dir;
  const std::string path = dir.Path("out.json");
  ASSERT_THAT(WriteFileAtomically(path, "first"), IsOk());
  EXPECT_EQ(Read(path), "first");
  ASSERT_THAT(WriteFileAtomically(path, "second, longer"), IsOk());
  EXPECT_EQ(Read(path), "second, longer");
  ASSERT_THAT(WriteFileAtomically(path, ""), IsOk());
  EXPECT_EQ(Read(path), "");
  EXPECT_FALSE(Exists(path + ".tmp"));
}

TEST(WriteFileAtomicallyTest, AMissingFolderIsUnavailableAndNamesTheFile) {
  ScopedTempDir dir;
  const std::string path = dir.Path("missing/out.json");
  EXPECT_THAT(WriteFileAtomically(path, "x"),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("missing/out.json.tmp")));
}

TEST(SyncFolderOfTest, SyncsTheFolderOfAPathAndNamesAMissingOne) {
  ScopedTempDir dir;
  EXPECT_THAT(SyncFolderOf(dir.Path("not-yet-there.json")), IsOk());
  EXPECT_THAT(SyncFolderOf(dir.path() + "/"), IsOk());
  EXPECT_THAT(SyncFolderOf("relative-name"), IsOk());  // the working folder
  EXPECT_THAT(
      SyncFolderOf(dir.Path("missing/out.json")),
      StatusIs(absl::StatusCode::kUnavailable, HasSubstr(dir.Path("missing"))));
}

TEST(WriteFileAtomicallyTest, AFailedRenameLeavesTheTargetAndNoTemporary) {
  ScopedTempDir dir;
  // A non-empty folder where the file should go: rename() must fail.
  const std::string path = dir.Path("taken");
  ASSERT_EQ(mkdir(path.c_str(), 0700), 0);
  dir.WriteFile("taken/keep", "kept");
  EXPECT_THAT(
      WriteFileAtomically(path, "x"),
      StatusIs(absl::StatusCode::kUnavailable, HasSubstr("cannot rename")));
  EXPECT_EQ(Read(path + "/keep"), "kept");
  EXPECT_FALSE(Exists(path + ".tmp"));
}

TEST(AtomicFileWriterTest, StreamsAndAppearsOnlyOnCommit) {
  ScopedTempDir dir;
  const std::string path = dir.Path("findings.ndjson");
  dir.WriteFile("findings.ndjson", "old\n");
  absl::StatusOr<AtomicFileWriter> out = AtomicFileWriter::Create(path);
  ASSERT_THAT(out, IsOk());
  ASSERT_THAT(out->Append("a\n"), IsOk());
  ASSERT_THAT(out->Append("b\n"), IsOk());
  EXPECT_EQ(Read(path), "old\n");  // not yet
  ASSERT_THAT(out->Commit(), IsOk());
  EXPECT_EQ(Read(path), "a\nb\n");
  EXPECT_THAT(out->Append("c\n"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(out->Commit(), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(AtomicFileWriterTest, AbandonedWriterRemovesItsTemporaryAndKeepsTheOld) {
  ScopedTempDir dir;
  const std::string path = dir.Path("report.html");
  dir.WriteFile("report.html", "old");
  {
    absl::StatusOr<AtomicFileWriter> out = AtomicFileWriter::Create(path);
    ASSERT_THAT(out, IsOk());
    ASSERT_THAT(out->Append("partial"), IsOk());
    EXPECT_TRUE(Exists(path + ".tmp"));
  }
  EXPECT_EQ(Read(path), "old");
  EXPECT_FALSE(Exists(path + ".tmp"));
}

}  // namespace
}  // namespace needlecheck::files
