// Knowledge-base paths that are not regular files, against the real
// needlecheckd on 127.0.0.1:0: a symlink to /dev/zero (endless bytes), a
// FIFO (a read that never ends), a sparse file far past the size cap, at
// start-up and on SIGHUP. The server must refuse them without reading,
// keep serving the knowledge base it has, and still drain and exit 0 on
// SIGTERM.
//
// Every wait is bounded and generous; the memory bound is loose.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "needlecheck/v1/screening.grpc.pb.h"
#include "tests/testing/read_file.h"
#include "tests/testing/scoped_temp_dir.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck {
namespace {

using ::needlecheck::testing::BinaryPath;
using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::ReadFile;
using ::needlecheck::testing::ServerProcess;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kBundledVersion[] = "2026.11.1";

std::string KbWithVersion(const std::string& version) {
  return absl::StrReplaceAll(
      ReadFile(NEEDLECHECK_BUNDLED_KB_PATH),
      {{absl::StrCat("version: \"", kBundledVersion, "\""),
        absl::StrCat("version: \"", version, "\"")}});
}

// The resident set size of process `pid`, in KiB (-1 if unknown).
int64_t RssKib(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) != 0) continue;
    std::vector<absl::string_view> parts =
        absl::StrSplit(line, ' ', absl::SkipEmpty());
    int64_t kib = -1;
    if (parts.size() >= 2 && absl::SimpleAtoi(parts[1], &kib)) return kib;
  }
  return -1;
}

class KbReloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    kb_path_ = dir_.WriteFile("kb.textproto", KbWithVersion("2026.11.1-old"));
    ASSERT_FALSE(kb_path_.empty());
  }

  std::vector<std::string> Args() const {
    return {"--listen=127.0.0.1:0", "--data_dir=" + dir_.Path("data"),
            "--knowledge_base=" + kb_path_,
            absl::StrCat("--drain_seconds=", kDrainSeconds)};
  }

  void StartServer() {
    auto process =
        ServerProcess::Start(BinaryPath("service/needlecheckd"), Args());
    ASSERT_THAT(process, IsOk());
    server_ = *std::move(process);
    stub_ = v1::ScreeningService::NewStub(grpc::CreateChannel(
        server_->address(), grpc::InsecureChannelCredentials()));
  }

  std::string KbVersion() {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(60));
    v1::KnowledgeBase kb;
    const grpc::Status status =
        stub_->GetKnowledgeBase(&context, v1::GetKnowledgeBaseRequest(), &kb);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return kb.version();
  }

  // Puts `target` in place of the knowledge-base file, as a symlink
  // swapped in with a rename (as a deployment would).
  void ReplaceKbWithSymlinkTo(const std::string& target) {
    const std::string tmp = dir_.Path("kb.link");
    ASSERT_EQ(symlink(target.c_str(), tmp.c_str()), 0);
    ASSERT_EQ(std::rename(tmp.c_str(), kb_path_.c_str()), 0);
  }

  // SIGHUP, then the reload's outcome must be logged as a failure naming
  // `why`; the old knowledge base keeps serving.
  void ReloadFails(const std::string& why) {
    const size_t mark = server_->output_size();
    ASSERT_THAT(server_->Signal(SIGHUP), IsOk());
    ASSERT_TRUE(server_->WaitForOutput("event=kb_reload_failed", mark))
        << server_->output().substr(mark);
    EXPECT_THAT(server_->output().substr(mark), HasSubstr(why));
    EXPECT_EQ(KbVersion(), "2026.11.1-old");
  }

  // SIGTERM: drains and exits 0, well within a generous bound (a blocked
  // reload must not keep it from handling the signal).
  void StopExitsZero() {
    stub_.reset();
    ASSERT_THAT(server_->Signal(SIGTERM), IsOk());
    absl::StatusOr<int> code =
        server_->WaitForExit(absl::Seconds(kDrainSeconds + 55));
    ASSERT_THAT(code, IsOk()) << "needlecheckd did not exit on SIGTERM";
    EXPECT_EQ(*code, 0);
  }

  static constexpr int kDrainSeconds = 5;
  ::needlecheck::testing::ScopedTempDir dir_;
  std::string kb_path_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<v1::ScreeningService::Stub> stub_;
};

TEST_F(KbReloadTest, SymlinkToDevZeroIsRefusedOnReload) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  EXPECT_EQ(KbVersion(), "2026.11.1-old");
  const int64_t rss_before = RssKib(server_->pid());
  ReplaceKbWithSymlinkTo("/dev/zero");
  ReloadFails("not a regular file");
  // Nothing was read from /dev/zero.
  EXPECT_LT(RssKib(server_->pid()) - rss_before, 64 * 1024) << "KiB";
  StopExitsZero();
}

TEST_F(KbReloadTest, FifoIsRefusedOnReloadAndSigtermStillWorks) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  const std::string fifo = dir_.Path("kb.fifo");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  ReplaceKbWithSymlinkTo(fifo);
  ReloadFails("not a regular file (a FIFO)");
  // A second reload of a good file works again.
  ASSERT_EQ(std::remove(kb_path_.c_str()), 0);
  ASSERT_FALSE(
      dir_.WriteFile("kb.textproto", KbWithVersion("2026.11.1-new")).empty());
  const size_t mark = server_->output_size();
  ASSERT_THAT(server_->Signal(SIGHUP), IsOk());
  ASSERT_TRUE(server_->WaitForOutput("event=kb_reloaded", mark));
  EXPECT_EQ(KbVersion(), "2026.11.1-new");
  StopExitsZero();
}

TEST_F(KbReloadTest, FileOverTheSizeCapIsRefusedOnReload) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  // A sparse 1 GiB file: costs no disk, would cost 1 GiB of memory to read.
  const std::string big = dir_.Path("big.textproto");
  ASSERT_EQ(
      truncate(dir_.WriteFile("big.textproto", "").c_str(), int64_t{1} << 30),
      0);
  ReplaceKbWithSymlinkTo(big);
  ReloadFails("is larger than 16777216 bytes");
  StopExitsZero();
}

TEST_F(KbReloadTest, NonRegularFilesAreRefusedAtStartUp) {
  const std::string fifo = dir_.Path("start.fifo");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  for (const std::string& path : {std::string("/dev/zero"), fifo}) {
    SCOPED_TRACE(path);
    auto process = ServerProcess::Spawn(
        BinaryPath("service/needlecheckd"),
        {"--listen=127.0.0.1:0", "--data_dir=" + dir_.Path("data"),
         "--knowledge_base=" + path},
        ServerProcess::Options());
    ASSERT_THAT(process, IsOk());
    absl::StatusOr<int> code = (*process)->WaitForExit(absl::Seconds(60));
    ASSERT_THAT(code, IsOk()) << "needlecheckd did not exit";
    EXPECT_EQ(*code, 1);
    EXPECT_THAT((*process)->output(), HasSubstr("event=start_failed"));
    EXPECT_THAT((*process)->output(), HasSubstr("is not a regular file"));
    EXPECT_THAT((*process)->output(), Not(HasSubstr("listening on")));
  }
}

}  // namespace
}  // namespace needlecheck
