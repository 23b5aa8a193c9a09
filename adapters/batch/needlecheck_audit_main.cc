// needlecheck-audit: batch audits of past microneedling sessions (issue 4).
//
//   needlecheck-audit EXPORT_DIR --out DIR [--service HOST:PORT]
//       [--resume | --overwrite] [--shard k/n | --shard_count=n]
//       [--progress auto|bar|lines|none]
//       [--tls_ca PEM [--tls_cert PEM --tls_key PEM]] [--tls_server_name NAME]
//   needlecheck-audit merge --out DIR SHARD_DIR...
//
// EXPORT_DIR is a FHIR Bulk Data export folder (one NDJSON file per
// resource type, plain or .ndjson.gz) or a folder of bundles. See
// audit_run.h for the phases and audit_outputs.h for the output files.
//
// Exit status: 0 done (input problems, if any, are counted in summary.json
// and listed in errors.ndjson); 2 bad usage or input that cannot be audited
// at all (no such folder, an output folder holding another audit, shards
// that do not belong together, a bad --tls_* flag or file); 1 anything else
// (needlecheckd unreachable, disk full, ...), after which --resume continues. A
// run that fails (exit 1 or 2 after it began reading the export, or 128 + the
// signal after a SIGINT or SIGTERM) removes its scratch folder, which holds
// patient data, unless --keep_scratch (audit_run.h).
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "adapters/batch/export/shard.h"
#include "adapters/batch/run/audit_merge.h"
#include "adapters/batch/run/audit_run.h"
#include "adapters/batch/run/spill_store.h"
#include "adapters/common/client_tls_flags.h"
#include "adapters/common/grpc_client_channel.h"
#include "grpcpp/grpcpp.h"
#include "needlecheck/v1/screening.grpc.pb.h"

ABSL_FLAG(std::string, out, "",
          "Output folder (created if missing): findings.ndjson, findings.csv, "
          "summary.json, report.html, errors.ndjson, audit.json.");
ABSL_FLAG(std::string, service, "127.0.0.1:50051",
          "needlecheckd to audit with, HOST:PORT (plaintext gRPC unless "
          "--tls_ca). Several replicas: dns:///HOST:PORT (every address of "
          "the name) or ipv4:ADDR:PORT,ADDR:PORT,...; calls are spread "
          "round-robin. With TLS, a list needs --tls_server_name.");
NEEDLECHECK_CLIENT_TLS_FLAGS(, service);
ABSL_FLAG(bool, resume, false,
          "Continue the unfinished audit in --out (after a kill or an "
          "error) without redoing or duplicating work; start one when --out "
          "holds no audit yet (so a retried job can always pass it).");
ABSL_FLAG(bool, overwrite, false,
          "Discard an audit (finished or not) already in --out and start "
          "over.");
ABSL_FLAG(std::string, shard, "",
          "Audit only shard k of n (k/n): the patients whose stable hash of "
          "the patient id falls in it. Combine shard outputs with "
          "`needlecheck-audit merge`. Default: every patient (1/1).");
ABSL_FLAG(int64_t, shard_count, 0,
          "In a Kubernetes Indexed Job: audit shard i+1 of this many, i being "
          "the pod's 0-based JOB_COMPLETION_INDEX (the same patients as "
          "--shard (i+1)/n). Excludes --shard. 0: not given.");
ABSL_FLAG(std::string, progress, "auto",
          "auto (a bar on a terminal, periodic lines otherwise), bar, lines "
          "or none.");
ABSL_FLAG(absl::Duration, progress_interval, absl::Seconds(10),
          "How often a progress line is printed when not on a terminal.");
ABSL_FLAG(int, scratch_memory_mib, 64,
          "Memory for grouping the resources by patient, MiB: one spill "
          "partition is grouped at a time in at most this (a larger one is "
          "sorted in runs on disk), and a quarter of it buffers the spill "
          "writes. Peak memory does not grow with the export beyond this.");
ABSL_FLAG(int, spill_partitions, 0,
          "How many spill files (partitions by patient) the reading phase "
          "writes, 1 to 256; 0: chosen from the export's size and "
          "--scratch_memory_mib. A resumed audit keeps the count it began "
          "with.");
ABSL_FLAG(absl::Duration, checkpoint_interval, absl::Seconds(2),
          "How often progress is committed (the most a kill can lose).");
ABSL_FLAG(int64_t, commit_lines, 100000,
          "Input lines read per scratch-file commit (at least one commit a "
          "second regardless).");
ABSL_FLAG(absl::Duration, connect_timeout, absl::Seconds(10),
          "How long to wait for needlecheckd to accept the connection.");
ABSL_FLAG(bool, keep_scratch, false,
          "Keep the scratch folder (patient data!) when the run ends, done or "
          "failed; debugging only. Without it a failed run removes it and "
          "--resume reads the export again; with it --resume goes on from "
          "the failed run's last checkpoint.");
ABSL_FLAG(int, max_retries, 5,
          "How many times in a row a failed Audit call to needlecheckd "
          "(unreachable, restarting) is retried, waiting 1 s, 2 s, 4 s, ... "
          "in between, before the run fails.");
ABSL_FLAG(int, patients_per_message, 64,
          "Patients per Audit message to needlecheckd (1..128). 1 sends one "
          "patient per message, the form needlecheckd releases without "
          "batched Audit requests understand.");

namespace {

using needlecheck::batch::AuditRunOptions;
using needlecheck::batch::AuditSummary;
using needlecheck::batch::ProgressStyle;
using needlecheck::batch::Verdict;

// Set by the signal watcher on the first SIGINT or SIGTERM.
std::atomic<bool> stop_requested{false};
std::atomic<int> stop_signal{0};

// SIGINT and SIGTERM, blocked in every thread (call before any thread
// starts, gRPC's included), are taken by one thread: the first asks the run
// to stop (it then removes its patient data, unless --keep_scratch, and
// exits 128 + the signal); a second ends the process at once, leaving the
// scratch folder for --resume.
void WatchStopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::thread([signals] {
    int signal = 0;
    while (sigwait(&signals, &signal) == 0) {
      if (stop_signal.exchange(signal) != 0) _exit(128 + signal);
      absl::FPrintF(stderr,
                    "\nneedlecheck-audit: stopping (signal %d); a second one "
                    "stops at once and leaves the scratch folder\n",
                    signal);
      stop_requested.store(true);
    }
  }).detach();
}

int ExitCodeFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kNotFound:
      return 2;
    default:
      return 1;
  }
}

int Fail(const absl::Status& status) {
  absl::FPrintF(stderr, "needlecheck-audit: %s\n", status.message());
  return ExitCodeFor(status);
}

void PrintSummary(const AuditSummary& summary, const std::string& out_dir) {
  const auto& v = summary.totals.by_verdict;
  int64_t malformed = 0;
  for (const auto& [name, counts] : summary.input.files) {
    malformed += counts.malformed;
  }
  absl::FPrintF(
      stderr,
      "needlecheck-audit: %d patients, %d sessions: %d interval violations, "
      "%d treated despite a critical alert, %d despite a warning, %d clear\n",
      summary.patients, summary.totals.sessions(),
      v[static_cast<int>(Verdict::kIntervalViolation)],
      v[static_cast<int>(Verdict::kTreatedDespiteCritical)],
      v[static_cast<int>(Verdict::kTreatedDespiteWarning)],
      v[static_cast<int>(Verdict::kClear)]);
  if (malformed > 0 || summary.input.rejected_resources > 0 ||
      summary.input.rejected_patients > 0) {
    absl::FPrintF(stderr,
                  "needlecheck-audit: input problems: %d malformed lines, %d "
                  "resources and %d patients not used (see %s/errors.ndjson)\n",
                  malformed, summary.input.rejected_resources,
                  summary.input.rejected_patients, out_dir);
  }
  absl::FPrintF(stderr, "needlecheck-audit: report: %s/report.html\n", out_dir);
}

int Merge(const std::vector<char*>& args) {
  const std::string out = absl::GetFlag(FLAGS_out);
  if (out.empty() || args.size() < 3) {
    absl::FPrintF(stderr,
                  "usage: needlecheck-audit merge --out DIR SHARD_DIR...\n");
    return 2;
  }
  std::vector<std::string> shards(args.begin() + 2, args.end());
  absl::StatusOr<AuditSummary> summary =
      needlecheck::batch::MergeShardOutputs(shards, out);
  if (!summary.ok()) return Fail(summary.status());
  PrintSummary(*summary, out);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Audits every past microneedling session of a FHIR Bulk Data export.\n"
      "  needlecheck-audit EXPORT_DIR --out DIR [--service HOST:PORT] "
      "[--resume] [--shard k/n | --shard_count=n]\n"
      "      [--tls_ca PEM [--tls_cert PEM --tls_key PEM]] (TLS to "
      "needlecheckd)\n"
      "  needlecheck-audit merge --out DIR SHARD_DIR...");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  // Abseil's deadlock detection (on in this Debian build) checks every lock
  // against a global graph: a debugging aid that costs throughput here.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  if (args.size() >= 2 && std::string(args[1]) == "merge") return Merge(args);
  WatchStopSignals();
  if (args.size() != 2 || absl::GetFlag(FLAGS_out).empty()) {
    absl::FPrintF(stderr,
                  "usage: needlecheck-audit EXPORT_DIR --out DIR "
                  "[--service HOST:PORT] [--resume] [--shard k/n | "
                  "--shard_count=n]\n"
                  "       needlecheck-audit merge --out DIR SHARD_DIR...\n");
    return 2;
  }
  if (absl::GetFlag(FLAGS_resume) && absl::GetFlag(FLAGS_overwrite)) {
    return Fail(absl::InvalidArgumentError(
        "--resume and --overwrite exclude each other"));
  }
  AuditRunOptions options;
  options.export_dir = args[1];
  options.out_dir = absl::GetFlag(FLAGS_out);
  options.resume = absl::GetFlag(FLAGS_resume);
  options.overwrite = absl::GetFlag(FLAGS_overwrite);
  absl::StatusOr<needlecheck::batch::ShardSpec> shard =
      needlecheck::batch::ResolveShard(
          absl::GetFlag(FLAGS_shard), absl::GetFlag(FLAGS_shard_count),
          std::getenv(needlecheck::batch::kJobCompletionIndexEnv));
  if (!shard.ok()) return Fail(shard.status());
  options.shard_index = shard->index;
  options.shard_count = shard->count;
  const std::string progress = absl::GetFlag(FLAGS_progress);
  if (progress == "auto") {
    options.progress = ProgressStyle::kAuto;
  } else if (progress == "bar") {
    options.progress = ProgressStyle::kBar;
  } else if (progress == "lines") {
    options.progress = ProgressStyle::kLines;
  } else if (progress == "none") {
    options.progress = ProgressStyle::kNone;
  } else {
    return Fail(absl::InvalidArgumentError(
        "--progress must be auto, bar, lines or none"));
  }
  options.progress_interval = absl::GetFlag(FLAGS_progress_interval);
  options.scratch_cache_mib = absl::GetFlag(FLAGS_scratch_memory_mib);
  if (options.scratch_cache_mib < 16) {
    return Fail(
        absl::InvalidArgumentError("--scratch_memory_mib must be >= 16"));
  }
  const int spill_partitions = absl::GetFlag(FLAGS_spill_partitions);
  if (spill_partitions < 0 ||
      spill_partitions >
          static_cast<int>(needlecheck::batch::kMaxSpillPartitions)) {
    return Fail(absl::InvalidArgumentError(
        "--spill_partitions must be between 0 (automatic) and 256"));
  }
  options.spill_partitions = static_cast<uint32_t>(spill_partitions);
  options.checkpoint_interval = absl::GetFlag(FLAGS_checkpoint_interval);
  options.commit_lines = absl::GetFlag(FLAGS_commit_lines);
  if (options.commit_lines < 1) {
    return Fail(absl::InvalidArgumentError("--commit_lines must be >= 1"));
  }
  options.keep_scratch = absl::GetFlag(FLAGS_keep_scratch);
  options.stop = &stop_requested;
  options.stream.max_retries = absl::GetFlag(FLAGS_max_retries);
  if (options.stream.max_retries < 0) {
    return Fail(absl::InvalidArgumentError("--max_retries must be >= 0"));
  }
  const int per_message = absl::GetFlag(FLAGS_patients_per_message);
  if (per_message < 1 || per_message > 128) {
    return Fail(absl::InvalidArgumentError(
        "--patients_per_message must be between 1 and 128"));
  }
  options.stream.patients_per_message = static_cast<size_t>(per_message);

  // SQLite's sort files go beside the scratch file, not to a small /tmp.
  if (std::getenv("SQLITE_TMPDIR") == nullptr) {
    setenv("SQLITE_TMPDIR",
           needlecheck::batch::ScratchFolder(options.out_dir).c_str(), 1);
  }

  const std::string target = absl::GetFlag(FLAGS_service);
  const needlecheck::grpc_client::ClientTlsOptions tls =
      NEEDLECHECK_CLIENT_TLS_FROM_FLAGS();
  absl::StatusOr<needlecheck::grpc_client::ClientChannelSecurity> security =
      needlecheck::grpc_client::LoadClientChannelSecurity(tls, "");
  if (!security.ok()) return Fail(security.status());  // INVALID_ARGUMENT: 2
  if (absl::Status s = needlecheck::grpc_client::CheckClientTarget(
          target, *security, "--service");
      !s.ok()) {
    return Fail(s);
  }
  grpc::ChannelArguments channel_args;
  channel_args.SetMaxReceiveMessageSize(-1);
  channel_args.SetMaxSendMessageSize(-1);
  std::shared_ptr<grpc::Channel> channel =
      needlecheck::grpc_client::NewClientChannel(target, *security,
                                                 channel_args);
  if (!channel->WaitForConnected(absl::ToChronoTime(
          absl::Now() + absl::GetFlag(FLAGS_connect_timeout)))) {
    return Fail(absl::UnavailableError(absl::StrCat(
        "cannot reach needlecheckd at ", target, " (--service) within ",
        absl::FormatDuration(absl::GetFlag(FLAGS_connect_timeout)), ": ",
        needlecheck::grpc_client::ConnectionHint(*security, target,
                                                 "--service"))));
  }
  if (stop_requested.load()) return 128 + stop_signal.load();
  std::unique_ptr<needlecheck::v1::ScreeningService::Stub> stub =
      needlecheck::v1::ScreeningService::NewStub(channel);
  absl::StatusOr<AuditSummary> summary =
      needlecheck::batch::RunAudit(options, *stub, stderr);
  if (!summary.ok() && stop_requested.load()) {
    Fail(summary.status());
    return 128 + stop_signal.load();
  }
  if (!summary.ok()) return Fail(summary.status());
  PrintSummary(*summary, options.out_dir);
  return 0;
}
