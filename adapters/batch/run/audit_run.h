// RunAudit: one batch audit of a FHIR Bulk Data export (issue 4), start to
// finish or resumed: read the export into the scratch file (grouped by
// patient), audit every patient through needlecheckd's Audit RPC, write the
// output folder (audit_outputs.h).
//
// Phases, each checkpointed in the scratch file (audit_scratch.h) under
// OUT/.needlecheck-audit/ so that --resume redoes nothing already committed
// and duplicates nothing:
//   1. reading: every resource file, line by line (bundles entry by entry);
//      each resource is routed to its patient (resource_route.h) and, when
//      the patient is in this run's shard, appended to the spill file of
//      its patient's partition (audit_scratch.h); a malformed line is
//      counted, written to errors.ndjson with its file and line number and
//      skipped; a resource without a patient reference is counted. NDJSON
//      lines are routed and mapped in chunks on two threads
//      (chunk_router.h) and stored in line order.
//      Committed every `commit_lines` lines (or every second) with the
//      file's position and the spill files' lengths.
//   2. auditing: one spill partition at a time grouped by patient in
//      memory (a partition larger than the memory budget: sorted in runs
//      on disk), its patients in id order through the Audit RPC
//      (patient_audit_stream.h); findings appended to a part file, one
//      frame per patient; every `checkpoint_interval` the part file is
//      synced and its length committed with the position, so a resumed run
//      truncates it to the committed length and goes on from there.
//   3. merging: the part file's runs (one per partition) merged into
//      patient-id order (findings_runs.h), the order findings.ndjson always
//      had.
//   4. writing: findings.ndjson, findings.csv, summary.json, report.html,
//      errors.ndjson, audit.json; the scratch folder is then removed.
//
// A record needlecheckd rejects is one rejected patient (counted, and in
// errors.ndjson with the field and the problem, never the value): the run
// goes on and ends with success.
//
// A run that fails (an error returned once the scratch file is this
// audit's: needlecheckd unreachable after the retries, disk full, ...)
// removes what holds patient data, unless `keep_scratch`: the scratch file,
// the findings part file and any output file it had begun. It leaves
// OUT/.needlecheck-audit/restart.json, the input fingerprint alone, so that
// --resume knows the audit: it checks the input is the same and reads the
// export again from the start (the output is the same bytes). With
// `keep_scratch` the scratch folder stays and --resume goes on from the last
// checkpoint. A stop on request (`stop`: the tool sets it on SIGINT or
// SIGTERM) is such a failure. A kill (SIGKILL, a crash, a second Ctrl-C)
// gives the process no chance to clean up: the scratch folder stays and
// --resume goes on from it; delete the output folder to abandon such an
// audit. Errors found before the scratch file is this audit's (bad shard,
// folder locked or holding another audit, a resumed audit of other input)
// touch nothing.
//
// Sharding: --shard k/n keeps the patients whose ShardOf(patient id) is k
// (shard.h); a line that names no patient (malformed, or without patient
// reference) is counted by the shard ShardOf("<file>:<line>") names, so all
// counters add up over shards (audit_merge.h).
//
// Only one run writes to an output folder at a time (an flock on
// OUT/.needlecheck-audit.lock; a second run gets FAILED_PRECONDITION).
//
// Contract: never logs patient data: `log` gets counts, file names, line
// numbers and messages that carry no field values (nor patient ids, nor
// request ids, which are positions in a stream); errors.ndjson gets file,
// line, field path and problem, never a field's value.
#ifndef ADAPTERS_BATCH_RUN_AUDIT_RUN_H_
#define ADAPTERS_BATCH_RUN_AUDIT_RUN_H_

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "adapters/batch/report/audit_summary.h"
#include "adapters/batch/run/patient_audit_stream.h"
#include "adapters/batch/run/progress_meter.h"
#include "needlecheck/v1/screening.grpc.pb.h"

namespace needlecheck::batch {

struct AuditRunOptions {
  std::string export_dir;
  std::string out_dir;
  // Continue the unfinished audit in out_dir (FAILED_PRECONDITION if it is
  // of other input), rewrite the reports of a finished one, or start a new
  // one when out_dir holds no audit (so a retried Kubernetes Job pod, whose
  // first attempt may not have begun one, always passes it); without it, an
  // unfinished or finished audit in out_dir is FAILED_PRECONDITION unless
  // `overwrite`.
  bool resume = false;
  bool overwrite = false;
  // 1-based shard index and count (1/1: everything).
  uint32_t shard_index = 1;
  uint32_t shard_count = 1;
  // Memory for grouping by patient (spill partitions, their write
  // buffers), in MiB (audit_scratch.h).
  int scratch_cache_mib = 64;
  // Spill partitions of a new audit, 1 to kMaxSpillPartitions; 0 (the
  // default): chosen from the export's size and scratch_cache_mib. A
  // resumed audit keeps the count it began with.
  uint32_t spill_partitions = 0;
  int64_t commit_lines = 100000;
  absl::Duration checkpoint_interval = absl::Seconds(2);
  // Keep the scratch folder (patient data) when the run ends, after
  // success or failure (for debugging, or to resume a failed run from its
  // last checkpoint rather than from the start).
  bool keep_scratch = false;
  // How many malformed-line reports go to `log` (the rest: errors.ndjson).
  int max_logged_errors = 20;
  AuditStreamOptions stream;
  // Set (by another thread, e.g. on SIGINT or SIGTERM) to stop the run: it
  // stops at the next line, patient or retry wait and fails with CANCELLED, a
  // failure exit like any other (see above). Null: never.
  const std::atomic<bool>* stop = nullptr;
  ProgressStyle progress = ProgressStyle::kAuto;
  absl::Duration progress_interval = absl::Seconds(10);
};

// The scratch folder of an audit writing to `out_dir` (where the tool
// points SQLITE_TMPDIR, so any temporary file of SQLite's stays beside the
// scratch file).
std::string ScratchFolder(const std::string& out_dir);

// Runs (or resumes) the audit; `stub` reaches needlecheckd. Progress and
// problems go to `log` (stderr in the tool).
absl::StatusOr<AuditSummary> RunAudit(
    const AuditRunOptions& options,
    needlecheck::v1::ScreeningService::StubInterface& stub, std::FILE* log);

}  // namespace needlecheck::batch

#endif  // ADAPTERS_BATCH_RUN_AUDIT_RUN_H_
