// The findings of an audit in (partition, patient id) order put back in
// patient-id order: the order of findings.ndjson (audit_merge.h relies on
// it, and a run must give the bytes it always gave).
//
// While auditing, each patient's findings lines go to one part file as a
// frame (the patient id, then the lines); the patients of one spill
// partition come in id order, so the part file is a sequence of sorted
// runs, one per partition. MergeFindingsRuns finds the runs (where the
// partition changes) and merges them by patient id.
//
// Contract: pure file work; memory: one read buffer per run (at most
// kMaxSpillPartitions, 64 KiB each). A frame that does not parse, or a run out
// of id order: DATA_LOSS naming the part file and the byte offset.
#ifndef ADAPTERS_BATCH_RUN_FINDINGS_RUNS_H_
#define ADAPTERS_BATCH_RUN_FINDINGS_RUNS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace needlecheck::batch {

// Appends the frame of one patient's findings lines (`lines`: whole lines,
// each ending with '\n') to `out`.
void AppendFindingsFrame(absl::string_view patient_id, absl::string_view lines,
                         std::string* out);

// Writes the lines of the first `bytes` of the part file `part_path`, in
// patient-id order, to `out_path` (atomically: a temporary file renamed).
// `partitions`: the spill partition count of the audit.
absl::Status MergeFindingsRuns(const std::string& part_path, int64_t bytes,
                               uint32_t partitions,
                               const std::string& out_path);

}  // namespace needlecheck::batch

#endif  // ADAPTERS_BATCH_RUN_FINDINGS_RUNS_H_
