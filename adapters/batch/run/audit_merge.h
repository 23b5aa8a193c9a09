// MergeShardOutputs: `needlecheck-audit merge`: combines the output folders
// of the n shard runs of one export (`--shard 1/n` ... `--shard n/n`) into
// the output a single run gives.
//
// Contract
// - Every shard folder must hold a complete run (audit.json complete) of
//   the same export files (names and sizes) with the same shard count, and
//   together exactly the shards 1..n; otherwise FAILED_PRECONDITION says
//   which folder is wrong and why.
// - findings.ndjson: a k-way merge by patient id (each shard's file is in
//   patient-id byte order and a patient lives in one shard), so it is
//   byte-identical to a single run's; errors.ndjson likewise by file, line,
//   message; the input counts are summed (each input line was counted by
//   exactly one shard); findings.csv, summary.json and report.html are then
//   written from those exactly as a single run writes them. Only audit.json
//   differs (it records merged_from = n).
// - Memory: one line per shard.
#ifndef ADAPTERS_BATCH_RUN_AUDIT_MERGE_H_
#define ADAPTERS_BATCH_RUN_AUDIT_MERGE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "adapters/batch/report/audit_summary.h"

namespace needlecheck::batch {

absl::StatusOr<AuditSummary> MergeShardOutputs(
    const std::vector<std::string>& shard_dirs, const std::string& out_dir);

// Adds `shard` to `total` (every counter; skipped files united).
void AddInputCounts(const InputCounts& shard, InputCounts* total);

}  // namespace needlecheck::batch

#endif  // ADAPTERS_BATCH_RUN_AUDIT_MERGE_H_
