// Faults of the alert ledger's disk and file, through the real needlecheckd
// on 127.0.0.1:0:
//   - a full disk: Screen keeps answering at full speed (without alert ids),
//     health checks and GetKnowledgeBase answer at once, feedback answers
//     UNAVAILABLE at once; once space returns, alert ids and feedback come
//     back and nothing acknowledged is lost;
//   - a damaged ledger file (garbage in a page in the middle), an empty file
//     and a file of random bytes: needlecheckd refuses to start, naming the
//     file and the problem, and leaves the file as it is; with
//     --ledger_recover it moves the file aside, says so and starts afresh.
//
// The full disk is real when this process may mount: the data folder is
// then a small tmpfs that the test fills with a filler file (and empties by
// deleting it). Where mounting is not permitted, needlecheckd runs with its
// test-only --testonly_ledger_fault_file, which makes every ledger write
// fail while that file exists. Each run prints which way it went
// ("[disk] ...") and records it as the test property "disk_fault"; a second
// test always takes the injected way, so that the fallback keeps working.
//
// Timing: the only bounds are the ones these faults are about (no call may
// take 1 s; the total must stay far below N x 2 s); every other wait is a
// bounded wait for an event.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/integration/ledger_client.h"
#include "tests/testing/scoped_temp_dir.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck {
namespace {

using ::grpc::health::v1::HealthCheckResponse;
using ::needlecheck::testing::AlertingRequest;
using ::needlecheck::testing::BinaryPath;
using ::needlecheck::testing::Feedback;
using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::LedgerClient;
using ::needlecheck::testing::ServerProcess;
using ::needlecheck::v1::RecordFeedbackResponse;
using ::needlecheck::v1::ScreenResponse;
using ::testing::HasSubstr;
using ::testing::Not;

// The bound the full-disk test is about: no call may take this long.
constexpr absl::Duration kPromptly = absl::Seconds(1);

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in),
                     std::istreambuf_iterator<char>());
}

bool WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  return static_cast<bool>(out);
}

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::string bytes(n, '\0');
  for (char& c : bytes) c = static_cast<char>(gen() & 0xff);
  return bytes;
}

// How many times `text` occurs in `haystack`.
int Occurrences(const std::string& haystack, const std::string& text) {
  int n = 0;
  for (size_t at = haystack.find(text); at != std::string::npos;
       at = haystack.find(text, at + text.size())) {
    ++n;
  }
  return n;
}

// The integer value of `key=` in the last line holding `event`, or -1.
int64_t LoggedValue(const std::string& output, const std::string& event,
                    const std::string& key) {
  const size_t line = output.rfind(event);
  if (line == std::string::npos) return -1;
  const size_t end = output.find('\n', line);
  const std::string text = output.substr(line, end - line);
  const size_t at = text.find(" " + key + "=");
  if (at == std::string::npos) return -1;
  const size_t from = at + key.size() + 2;
  int64_t value = -1;
  if (!absl::SimpleAtoi(text.substr(from, text.find(' ', from) - from),
                        &value)) {
    return -1;
  }
  return value;
}

// A full disk for the data folder. Real where this process may mount: a
// small tmpfs, filled by a filler file. Otherwise needlecheckd's test-only
// fault file, which fails every ledger write while it exists.
class DiskFault {
 public:
  // `allow_mount` false: always the injected fault.
  DiskFault(const std::string& root, bool allow_mount)
      : mount_point_(root + "/fs"), fault_file_(root + "/ledger_fault") {
    std::filesystem::create_directories(mount_point_);
    if (!allow_mount) {
      how_ = "injected (asked for): --testonly_ledger_fault_file";
    } else if (mount("tmpfs", mount_point_.c_str(), "tmpfs",
                     MS_NOSUID | MS_NODEV, "size=8m,mode=0700") == 0) {
      mounted_ = true;
      how_ = "real: a tmpfs of 8 MiB, filled with a filler file";
    } else {
      how_ = absl::StrCat("injected: mount not permitted (", strerror(errno),
                          "), so --testonly_ledger_fault_file");
    }
    std::cerr << "[disk] " << how_ << "\n";
    ::testing::Test::RecordProperty("disk_fault",
                                    mounted_ ? "real" : "injected");
  }
  ~DiskFault() {
    if (mounted_) umount2(mount_point_.c_str(), MNT_DETACH);
  }

  std::string data_dir() const { return mount_point_ + "/data"; }
  // Extra needlecheckd flags for this kind of fault.
  std::vector<std::string> Flags() const {
    if (mounted_) return {};
    return {"--testonly_ledger_fault_file=" + fault_file_};
  }

  // Makes the disk full. The tmpfs: writes the filler until ENOSPC.
  void Fill() {
    if (!mounted_) {
      ASSERT_TRUE(WriteBytes(fault_file_, "full\n"));
      return;
    }
    const std::string filler = mount_point_ + "/filler";
    const int fd = open(filler.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ASSERT_GE(fd, 0) << strerror(errno);
    const std::string chunk(64 * 1024, 'x');
    int64_t written = 0;
    // Bounded: the file system holds 8 MiB.
    for (int i = 0; i < 100000; ++i) {
      const ssize_t n = write(fd, chunk.data(), chunk.size());
      if (n <= 0) {
        EXPECT_EQ(errno, ENOSPC) << strerror(errno);
        break;
      }
      written += n;
    }
    close(fd);
    std::cerr << "[disk] filled: " << written << " bytes of filler\n";
  }

  // Gives the space back.
  void Free() {
    std::error_code ec;
    std::filesystem::remove(mounted_ ? mount_point_ + "/filler" : fault_file_,
                            ec);
    ASSERT_FALSE(ec) << ec.message();
  }

 private:
  const std::string mount_point_;
  const std::string fault_file_;
  bool mounted_ = false;
  std::string how_;
};

class LedgerFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    binary_ = BinaryPath("service/needlecheckd");
    ASSERT_FALSE(binary_.empty());
    ASSERT_FALSE(dir_.path().empty());
  }

  std::unique_ptr<ServerProcess> Start(const std::string& data_dir,
                                       std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {
        "--listen=127.0.0.1:0", "--data_dir=" + data_dir, "--drain_seconds=30"};
    args.insert(args.end(), extra.begin(), extra.end());
    absl::StatusOr<std::unique_ptr<ServerProcess>> process =
        ServerProcess::Start(binary_, args);
    EXPECT_THAT(process, IsOk());
    return process.ok() ? *std::move(process) : nullptr;
  }

  // Starts needlecheckd expecting it to refuse; returns its exit code and
  // (in *output) everything it wrote.
  int StartRefused(const std::string& data_dir, std::string* output) {
    absl::StatusOr<std::unique_ptr<ServerProcess>> process =
        ServerProcess::Spawn(binary_,
                             {"--listen=127.0.0.1:0", "--data_dir=" + data_dir},
                             ServerProcess::Options());
    EXPECT_THAT(process, IsOk());
    if (!process.ok()) return -1;
    absl::StatusOr<int> code = (*process)->WaitForExit(absl::Seconds(120));
    EXPECT_THAT(code, IsOk());
    // The reader thread may still be draining the pipe: wait for the line.
    EXPECT_TRUE((*process)->WaitForOutput("event=start_failed"));
    *output = (*process)->output();
    return code.ok() ? *code : -1;
  }

  int Stop(ServerProcess& server) {
    EXPECT_THAT(server.Signal(SIGTERM), IsOk());
    absl::StatusOr<int> code = server.WaitForExit(absl::Seconds(120));
    EXPECT_THAT(code, IsOk());
    return code.ok() ? *code : -1;
  }

  void FullDiskScenario(bool allow_mount);

  std::string binary_;
  ::needlecheck::testing::ScopedTempDir dir_;
};

// Timings of the calls made while the disk was full.
struct DegradedCalls {
  absl::Mutex mu;
  int ok ABSL_GUARDED_BY(mu) = 0;
  int with_alert_ids ABSL_GUARDED_BY(mu) = 0;
  int failed ABSL_GUARDED_BY(mu) = 0;
  absl::Duration slowest ABSL_GUARDED_BY(mu);
};

// The whole scenario; `allow_mount` false forces the injected fault.
void LedgerFaultTest::FullDiskScenario(bool allow_mount) {
  DiskFault disk(dir_.path(), allow_mount);  // outlives the server
  std::vector<std::string> flags = disk.Flags();
  flags.push_back("--ledger_flush_ms=0");  // each screening is written at once
  std::unique_ptr<ServerProcess> server = Start(disk.data_dir(), flags);
  ASSERT_NE(server, nullptr);
  std::string before_alert;  // committed before the disk filled up
  std::vector<std::string> queued_alerts;  // acknowledged as the disk filled
  {
    LedgerClient client(server->address());
    ScreenResponse screened;
    ASSERT_TRUE(client.Screen(AlertingRequest("before-1"), &screened).ok());
    ASSERT_GE(screened.alerts_size(), 2);
    before_alert = screened.alerts(1).alert_id();
    RecordFeedbackResponse recorded;
    ASSERT_TRUE(client
                    .RecordFeedback(Feedback(screened.alerts(0).alert_id(),
                                             false, "2026-12-01T09:00:00Z"),
                                    &recorded)
                    .ok());

    disk.Fill();
    // Screen until the writer reports a failed commit (bounded): the WAL
    // may still have room for a few commits.
    const size_t mark = server->output_size();
    bool write_failed = false;
    for (int i = 0; i < 400 && !write_failed; ++i) {
      ScreenResponse response;
      const grpc::Status status = client.Screen(
          AlertingRequest(absl::StrCat("filling-", i)), &response);
      ASSERT_TRUE(status.ok()) << status.error_message();
      for (const auto& alert : response.alerts()) {
        if (!alert.alert_id().empty())
          queued_alerts.push_back(alert.alert_id());
      }
      write_failed = server->WaitForOutput("event=ledger_write_failed", mark,
                                           absl::Milliseconds(50));
    }
    ASSERT_TRUE(write_failed) << "the ledger never failed a write";
  }

  // The disk is full. More Screen calls, from several threads, than the
  // writer's queue holds (10,000): each answers at once, without alert ids
  // (they could not be saved). Meanwhile health checks and GetKnowledgeBase
  // answer at once too.
  constexpr int kThreads = 8;
  constexpr int kCallsPerThread = 1300;
  constexpr int kCalls = kThreads * kCallsPerThread;
  DegradedCalls calls;
  std::atomic<int> screeners_done{0};
  absl::Duration slowest_probe;
  int probes = 0;
  const absl::Time start = absl::Now();
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        LedgerClient client(server->address(), absl::Seconds(30));
        for (int i = 0; i < kCallsPerThread; ++i) {
          ScreenResponse response;
          const absl::Time call_start = absl::Now();
          const grpc::Status status = client.Screen(
              AlertingRequest(absl::StrCat("full-", t, "-", i)), &response);
          const absl::Duration took = absl::Now() - call_start;
          absl::MutexLock lock(&calls.mu);
          calls.slowest = std::max(calls.slowest, took);
          if (!status.ok()) {
            ++calls.failed;
            continue;
          }
          ++calls.ok;
          for (const auto& alert : response.alerts()) {
            if (!alert.alert_id().empty()) {
              ++calls.with_alert_ids;
              break;
            }
          }
        }
        ++screeners_done;
      });
    }
    threads.emplace_back([&] {
      LedgerClient client(server->address(), absl::Seconds(30));
      // Bounded: the screeners finish long before.
      for (int i = 0; i < 100000 && screeners_done.load() < kThreads; ++i) {
        const absl::Time t0 = absl::Now();
        HealthCheckResponse health;
        const grpc::Status status = client.Health("", &health);
        needlecheck::v1::KnowledgeBase kb;
        const grpc::Status kb_status = client.GetKnowledgeBase(&kb);
        slowest_probe = std::max(slowest_probe, absl::Now() - t0);
        ++probes;
        EXPECT_TRUE(status.ok()) << status.error_message();
        EXPECT_EQ(health.status(), HealthCheckResponse::SERVING);
        EXPECT_TRUE(kb_status.ok()) << kb_status.error_message();
      }
    });
    for (std::thread& thread : threads) thread.join();
  }
  const absl::Duration total = absl::Now() - start;
  {
    absl::MutexLock lock(&calls.mu);
    std::cerr << "[disk full] " << kCalls << " Screen calls in " << total
              << ", slowest " << calls.slowest << "; " << probes
              << " health + knowledge-base probes, slowest " << slowest_probe
              << "\n";
    EXPECT_EQ(calls.ok, kCalls);
    EXPECT_EQ(calls.failed, 0);
    EXPECT_EQ(calls.with_alert_ids, 0);
    EXPECT_LT(calls.slowest, kPromptly);
    EXPECT_LT(slowest_probe, kPromptly);
    // Far below N x 2 s (before the fix, each call beyond the queue's
    // 10,000 waited 2 s).
    EXPECT_LT(total, absl::Seconds(60));
  }

  {
    LedgerClient client(server->address(), absl::Seconds(30));
    // Health and the knowledge base never wait for the disk.
    absl::Time t0 = absl::Now();
    HealthCheckResponse health;
    ASSERT_TRUE(client.Health("", &health).ok());
    EXPECT_EQ(health.status(), HealthCheckResponse::SERVING);
    ASSERT_TRUE(client.Health("needlecheck.v1.ScreeningService", &health).ok());
    EXPECT_EQ(health.status(), HealthCheckResponse::SERVING);
    EXPECT_LT(absl::Now() - t0, kPromptly);
    t0 = absl::Now();
    needlecheck::v1::KnowledgeBase kb;
    EXPECT_TRUE(client.GetKnowledgeBase(&kb).ok());
    EXPECT_LT(absl::Now() - t0, kPromptly);

    // Feedback cannot be made durable: UNAVAILABLE at once, for a committed
    // alert and for one still waiting for the disk.
    std::vector<std::string> targets = {before_alert};
    if (!queued_alerts.empty()) targets.push_back(queued_alerts.back());
    for (const std::string& id : targets) {
      t0 = absl::Now();
      RecordFeedbackResponse recorded;
      const grpc::Status status = client.RecordFeedback(
          Feedback(id, true, "2026-12-01T09:05:00Z"), &recorded);
      EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
          << status.error_message();
      EXPECT_LT(absl::Now() - t0, kPromptly);
    }
    t0 = absl::Now();
    needlecheck::v1::AlertStats stats;
    EXPECT_EQ(client.GetAlertStats({}, &stats).error_code(),
              grpc::StatusCode::UNAVAILABLE);
    EXPECT_LT(absl::Now() - t0, kPromptly);
  }
  // Logged once per interval, not once per call.
  const std::string during = server->output();
  EXPECT_GE(Occurrences(during, "event=ledger_record_failed"), 1);
  EXPECT_LE(Occurrences(during, "event=ledger_record_failed"), 5);
  EXPECT_LE(Occurrences(during, "event=ledger_write_failed"), 5);

  // Space returns: the writer commits what it kept, ids and feedback return.
  const size_t mark = server->output_size();
  disk.Free();
  ASSERT_TRUE(server->WaitForOutput("event=ledger_write_recovered", mark,
                                    absl::Seconds(60)));
  {
    LedgerClient client(server->address());
    ScreenResponse screened;
    ASSERT_TRUE(client.Screen(AlertingRequest("after-1"), &screened).ok());
    ASSERT_GE(screened.alerts_size(), 1);
    std::vector<std::string> targets = {screened.alerts(0).alert_id(),
                                        before_alert};
    targets.insert(targets.end(), queued_alerts.begin(), queued_alerts.end());
    for (const std::string& id : targets) {
      ASSERT_EQ(id.size(), 36u);
      RecordFeedbackResponse recorded;
      const grpc::Status status = client.RecordFeedback(
          Feedback(id, true, "2026-12-01T09:10:00Z"), &recorded);
      EXPECT_TRUE(status.ok()) << id << ": " << status.error_message();
    }
  }
  EXPECT_EQ(Stop(*server), 0);
  const std::string output = server->output();
  EXPECT_GE(LoggedValue(output, "event=ledger_closed", "screenings_refused"),
            kCalls);
  EXPECT_THAT(output, Not(HasSubstr("ledger_close_failed")));
  EXPECT_THAT(output, Not(HasSubstr(testing::kLedgerPatientSecret)));
}

// Prefers the real full file system; falls back to the injected fault where
// this process may not mount.
TEST_F(LedgerFaultTest, FullDiskKeepsScreeningFastAndRecovers) {
  FullDiskScenario(/*allow_mount=*/true);
}

// The fallback itself, so that it keeps working where mounting is allowed.
TEST_F(LedgerFaultTest, InjectedWriteFaultKeepsScreeningFastAndRecovers) {
  FullDiskScenario(/*allow_mount=*/false);
}

// A ledger with many rows, made by needlecheckd and filled up with SQLite.
class DamagedLedgerTest : public LedgerFaultTest {
 protected:
  std::string DataDir() const { return dir_.path() + "/data"; }
  std::string LedgerPath() const { return DataDir() + "/ledger.sqlite3"; }

  void MakeLedgerWithManyRows() {
    std::unique_ptr<ServerProcess> server = Start(DataDir());
    ASSERT_NE(server, nullptr);
    {
      LedgerClient client(server->address());
      ScreenResponse screened;
      ASSERT_TRUE(client.Screen(AlertingRequest("real-1"), &screened).ok());
    }
    ASSERT_EQ(Stop(*server), 0);
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(LedgerPath().c_str(), &db), SQLITE_OK);
    char* error = nullptr;
    const int rc = sqlite3_exec(
        db,
        "BEGIN; "
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n "
        "WHERE x < 20000) "
        "INSERT INTO screenings (request_id, screened_at_us, screened_day, "
        "patient_id, kb_version) SELECT 'bulk-' || x, 1764579600000000 + x, "
        "'2026-12-01', 'bulk-patient-' || x, 'test' FROM n; "
        "INSERT INTO alerts (alert_id, screening_id, rule_id, severity, "
        "issued_day) SELECT lower(hex(randomblob(16))), id, 'MN-CI-ECZEMA', "
        "1, screened_day FROM screenings; "
        "COMMIT",
        nullptr, nullptr, &error);
    EXPECT_EQ(rc, SQLITE_OK) << (error != nullptr ? error : "");
    sqlite3_free(error);
    sqlite3_close(db);  // the last connection checkpoints the WAL away
    ASSERT_FALSE(std::filesystem::exists(LedgerPath() + "-wal"));
  }

  // PRAGMA quick_check of a copy of `path` (the original stays untouched).
  std::string QuickCheckOfCopy(const std::string& path) {
    const std::string copy = dir_.path() + "/copy.sqlite3";
    std::filesystem::copy_file(
        path, copy, std::filesystem::copy_options::overwrite_existing);
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(copy.c_str(), &db, SQLITE_OPEN_READONLY, nullptr),
              SQLITE_OK);
    std::string result;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &stmt, nullptr) ==
        SQLITE_OK) {
      int rc;
      while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        absl::StrAppend(
            &result,
            reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "\n");
      }
      if (rc != SQLITE_DONE) absl::StrAppend(&result, sqlite3_errstr(rc));
    } else {
      result = sqlite3_errmsg(db);
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return result;
  }

  // Refused with one clear line naming the file and `problem`; the file is
  // left exactly as it was.
  void ExpectRefused(const std::string& problem) {
    const std::string before = ReadBytes(LedgerPath());
    std::string output;
    EXPECT_EQ(StartRefused(DataDir(), &output), 1);
    EXPECT_EQ(Occurrences(output, "event=start_failed"), 1) << output;
    const size_t line = output.find("event=start_failed");
    const std::string text =
        line == std::string::npos
            ? std::string()
            : output.substr(line, output.find('\n', line) - line);
    EXPECT_THAT(text, HasSubstr(LedgerPath()));
    EXPECT_THAT(text, HasSubstr(problem));
    EXPECT_THAT(text, HasSubstr("--ledger_recover"));
    EXPECT_THAT(output, Not(HasSubstr("listening on")));
    EXPECT_EQ(ReadBytes(LedgerPath()), before);
    std::cerr << "[refused] " << text << "\n";
  }

  // With --ledger_recover: the file is moved aside (bytes intact), the log
  // says where, and a new ledger serves alert ids and feedback.
  void ExpectRecovered() {
    const std::string damaged = ReadBytes(LedgerPath());
    std::unique_ptr<ServerProcess> server =
        Start(DataDir(), {"--ledger_recover"});
    ASSERT_NE(server, nullptr);
    EXPECT_EQ(Occurrences(server->output(), "event=ledger_recovered"), 1);
    std::vector<std::string> kept;
    for (const auto& entry : std::filesystem::directory_iterator(DataDir())) {
      const std::string name = entry.path().filename().string();
      if (absl::StartsWith(name, "ledger.sqlite3.damaged-") &&
          !absl::EndsWith(name, "-wal") && !absl::EndsWith(name, "-shm")) {
        kept.push_back(entry.path().string());
      }
    }
    ASSERT_EQ(kept.size(), 1u);
    EXPECT_EQ(ReadBytes(kept[0]), damaged);
    EXPECT_THAT(server->output(), HasSubstr(kept[0]));
    {
      LedgerClient client(server->address());
      ScreenResponse screened;
      ASSERT_TRUE(client.Screen(AlertingRequest("fresh-1"), &screened).ok());
      ASSERT_GE(screened.alerts_size(), 1);
      EXPECT_EQ(screened.alerts(0).alert_id().size(), 36u);
      RecordFeedbackResponse recorded;
      EXPECT_TRUE(client
                      .RecordFeedback(Feedback(screened.alerts(0).alert_id(),
                                               false, "2026-12-01T09:00:00Z"),
                                      &recorded)
                      .ok());
    }
    EXPECT_EQ(Stop(*server), 0);
    // The next start (without the flag) uses the new ledger.
    server = Start(DataDir());
    ASSERT_NE(server, nullptr);
    EXPECT_THAT(server->output(), Not(HasSubstr("ledger_recovered")));
    EXPECT_EQ(Stop(*server), 0);
  }
};

TEST_F(DamagedLedgerTest, DamagedPageIsRefusedAndRecoverable) {
  MakeLedgerWithManyRows();
  std::string file = ReadBytes(LedgerPath());
  constexpr size_t kPage = 4096;
  const size_t pages = file.size() / kPage;
  ASSERT_GE(pages, 100u) << "the ledger should have many pages";
  const size_t page = pages / 2;  // 0-based: page number page + 1
  file.replace(page * kPage, kPage, RandomBytes(kPage, 7));
  ASSERT_TRUE(WriteBytes(LedgerPath(), file));
  ASSERT_NE(QuickCheckOfCopy(LedgerPath()), "ok\n");  // truly damaged
  ExpectRefused("damaged");
  ExpectRecovered();
}

TEST_F(DamagedLedgerTest, EmptyFileIsRefusedAndRecoverable) {
  std::filesystem::create_directories(DataDir());
  ASSERT_TRUE(WriteBytes(LedgerPath(), ""));
  ExpectRefused("empty");
  EXPECT_EQ(std::filesystem::file_size(LedgerPath()), 0u);
  ExpectRecovered();
}

TEST_F(DamagedLedgerTest, RandomBytesAreRefusedAndRecoverable) {
  std::filesystem::create_directories(DataDir());
  ASSERT_TRUE(WriteBytes(LedgerPath(), RandomBytes(64 * 1024, 11)));
  ExpectRefused("not a SQLite database");
  ExpectRecovered();
}

}  // namespace
}  // namespace needlecheck
