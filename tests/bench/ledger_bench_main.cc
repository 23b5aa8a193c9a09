// needlecheck-ledger-bench: how many screenings the SQLite alert ledger's
// writer commits per second, and what CPU each one costs it, without gRPC.
//
//   needlecheck-ledger-bench --data_dir=DIR [--screenings=300000]
//       [--alerts=4] [--report_every=100000] [--max_batch_screenings=N]
//
// Records `screenings` screenings (each with `alerts` alerts and, as
// needlecheckd's Screen does, one access record) into a new ledger at
// DIR/ledger.sqlite3 as fast as the ledger takes them: a screening refused
// because the queue is full is offered again after 1 ms (refusals are
// counted, not lost), so the rate is the writer's. Every `report_every`
// screenings it flushes and prints one line: screenings committed per
// second over that slice, and the CPU the ledger's own threads (all
// threads but the producer) spent per screening. The ledger grows as it
// goes (about 4 alert rows per screening), so later slices show the cost
// on a larger file. The default options of needlecheckd's ledger
// (SqliteLedgerOptions) are used. Output lines start with "LEDGER " for
// scripts. Exit code 0, or 1 when the ledger fails.
#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/ids/uuid.h"
#include "service/ledger/alert_ledger.h"
#include "service/ledger/sqlite_ledger.h"

ABSL_FLAG(std::string, data_dir, "",
          "Folder for the ledger file (must exist; the file must not).");
ABSL_FLAG(int64_t, screenings, 300000, "Screenings to record.");
ABSL_FLAG(int, alerts, 4, "Alerts per screening.");
ABSL_FLAG(int64_t, max_batch_screenings, 0,
          "SqliteLedgerOptions::max_batch_screenings (0: the default).");
ABSL_FLAG(int64_t, report_every, 100000,
          "Screenings per reported slice (each ends with a Flush).");

namespace needlecheck::bench {
namespace {

// CPU seconds of every thread of this process but the calling one.
double OtherThreadsCpuSeconds() {
  const int self = static_cast<int>(gettid());
  double total = 0;
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return 0;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] == '.' || std::atoi(e->d_name) == self) continue;
    std::ifstream stat(absl::StrCat("/proc/self/task/", e->d_name, "/stat"));
    std::string line;
    std::getline(stat, line);
    // Fields after the command (which may hold spaces): state is field 3,
    // utime and stime fields 14 and 15.
    const size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    std::string field;
    uint64_t utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 14) utime = std::stoull(field);
      if (i == 15) stime = std::stoull(field);
    }
    total += static_cast<double>(utime + stime) /
             static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  closedir(dir);
  return total;
}

ledger::ScreeningRecord MakeScreening(int64_t i, int alerts) {
  static const char* const kRules[] = {"isotretinoin-recent",
                                       "anticoagulant-active", "latex-allergy",
                                       "session-interval", "active-infection"};
  ledger::ScreeningRecord r;
  r.request_id = absl::StrFormat("req-%012d", i);
  r.screened_at = absl::Now();
  r.patient_id = absl::StrFormat("patient-%08d", i % 50000);
  r.knowledge_base_version = "2026.11.1";
  absl::StatusOr<std::vector<std::string>> alert_ids =
      ids::NewUuidV7s(static_cast<size_t>(alerts), r.screened_at);
  if (!alert_ids.ok()) return r;
  for (int a = 0; a < alerts; ++a) {
    r.alerts.push_back({std::move((*alert_ids)[static_cast<size_t>(a)]),
                        kRules[a % 5],
                        a == 0 ? needlecheck::v1::SEVERITY_CRITICAL
                               : needlecheck::v1::SEVERITY_WARNING});
  }
  return r;
}

ledger::AccessEntry MakeAccess(const ledger::ScreeningRecord& s) {
  ledger::AccessEntry e;
  e.at = s.screened_at;
  e.caller = "unauthenticated ipv4:127.0.0.1:40112";
  e.action = "Screen";
  e.patient_id = s.patient_id;
  e.outcome = "OK";
  e.detail = s.request_id;
  return e;
}

int Run() {
  ledger::SqliteLedgerOptions options;
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
  if (absl::GetFlag(FLAGS_max_batch_screenings) > 0) {
    options.max_batch_screenings =
        static_cast<size_t>(absl::GetFlag(FLAGS_max_batch_screenings));
  }
  absl::StatusOr<std::unique_ptr<ledger::AlertLedger>> opened =
      ledger::OpenSqliteLedger(options);
  if (!opened.ok()) {
    std::fprintf(stderr, "cannot open the ledger: %s\n",
                 opened.status().ToString().c_str());
    return 1;
  }
  ledger::AlertLedger& ledger = **opened;
  const int64_t n = absl::GetFlag(FLAGS_screenings);
  const int64_t slice = std::max<int64_t>(1, absl::GetFlag(FLAGS_report_every));
  const int alerts = absl::GetFlag(FLAGS_alerts);
  int64_t retries = 0;
  absl::Time slice_start = absl::Now();
  double cpu_start = OtherThreadsCpuSeconds();
  const absl::Time start = slice_start;
  const double cpu_first = cpu_start;
  for (int64_t i = 0; i < n; ++i) {
    ledger::ScreeningRecord s = MakeScreening(i, alerts);
    ledger::AccessEntry access = MakeAccess(s);
    while (true) {
      ledger::ScreeningRecord copy = s;
      absl::Status st = ledger.RecordScreening(std::move(copy));
      if (st.ok()) break;
      if (ledger.Counters().writes_failing) {
        std::fprintf(stderr, "ledger writes fail: %s\n", st.ToString().c_str());
        return 1;
      }
      ++retries;  // queue full: let the writer catch up
      absl::SleepFor(absl::Milliseconds(1));
    }
    while (!ledger.access_log()->RecordAccess(access).ok()) {
      absl::SleepFor(absl::Milliseconds(1));
    }
    if ((i + 1) % slice == 0 || i + 1 == n) {
      if (absl::Status st = ledger.Flush(); !st.ok()) {
        std::fprintf(stderr, "flush failed: %s\n", st.ToString().c_str());
        return 1;
      }
      const absl::Time now = absl::Now();
      const double cpu = OtherThreadsCpuSeconds();
      const int64_t done = (i + 1) % slice == 0 ? slice : (i + 1) % slice;
      std::printf(
          "LEDGER upto=%lld screenings_per_s=%.0f "
          "writer_cpu_us_per_screening=%.1f\n",
          static_cast<long long>(i + 1),
          static_cast<double>(done) / absl::ToDoubleSeconds(now - slice_start),
          (cpu - cpu_start) * 1e6 / static_cast<double>(done));
      std::fflush(stdout);
      slice_start = now;
      cpu_start = cpu;
    }
  }
  const absl::Time end = absl::Now();
  const double cpu_end = OtherThreadsCpuSeconds();
  std::printf(
      "LEDGER total screenings=%lld alerts_per_screening=%d "
      "screenings_per_s=%.0f writer_cpu_us_per_screening=%.1f "
      "queue_full_retries=%lld\n",
      static_cast<long long>(n), alerts,
      static_cast<double>(n) / absl::ToDoubleSeconds(end - start),
      (cpu_end - cpu_first) * 1e6 / static_cast<double>(n),
      static_cast<long long>(retries));
  if (absl::Status st = ledger.Close(); !st.ok()) {
    std::fprintf(stderr, "close failed: %s\n", st.ToString().c_str());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace needlecheck::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Measures the SQLite alert ledger's writer: needlecheck-ledger-bench "
      "--data_dir=DIR [--screenings=N] [--alerts=4]");
  absl::ParseCommandLine(argc, argv);
  if (absl::GetFlag(FLAGS_data_dir).empty()) {
    std::fprintf(stderr, "--data_dir is required\n");
    return 2;
  }
  return needlecheck::bench::Run();
}
