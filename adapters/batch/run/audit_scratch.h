// AuditScratch: the batch audit's working state on disk: the export's
// resources in spill files hash-partitioned by patient (spill_store.h), and
// one small SQLite file with the reading and auditing progress, the length
// of every spill file, and the input problems found so far.
//
// Why spill files (and not the whole export in RAM, nor an SQLite table of
// resources): an export of 1,000,000 patients is tens of GB, and a
// patient's resources are spread over one file per resource type. Each
// resource is appended to its patient's partition file while reading (one
// buffered write, no B-tree insert); while auditing, one partition at a
// time is grouped by patient in memory (or, when larger than the memory
// budget, sorted externally in runs), so memory is flat in the number of
// patients. Patients are audited in (partition, id) order; the findings are
// put back in patient-id order at the end (findings_runs.h).
//
// The SQLite file is the checkpoint that makes --resume exact: every batch
// of lines read is committed together with the file positions and the
// spill files' lengths (a reopened scratch truncates them to those), and
// every batch of patients audited with its progress marker (WAL mode), so
// a kill loses at most the work since the last commit and never records
// work twice. A spill file found shorter than committed, or damaged, is
// DATA_LOSS with what to do.
//
// Disk: about the size of the (uncompressed) resource lines; a partition
// sorted externally writes its runs beside it once more.
//
// Contract
// - One writer (the owning thread); OpenReader() gives a reader of the
//   grouped patients for another thread (its own file descriptors).
// - Every method returns a Status (SQLite's through common/sqlite, the
//   spill files' naming the file); nothing throws.
// - Holds patient data (the resource lines): it lives in the output folder,
//   is never logged, and is deleted when the audit completes.
#ifndef ADAPTERS_BATCH_RUN_AUDIT_SCRATCH_H_
#define ADAPTERS_BATCH_RUN_AUDIT_SCRATCH_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "adapters/batch/report/audit_summary.h"
#include "adapters/batch/run/spill_store.h"
#include "common/sqlite/sqlite_db.h"

namespace needlecheck::batch {

// Reading progress of one input file.
struct FileProgress {
  std::string name;
  int64_t lines_done = 0;   // lines (or bundle entries) fully handled
  int64_t byte_offset = 0;  // where line lines_done + 1 starts (plain files)
  bool complete = false;
  InputFileCounts counts;
};

// Auditing progress: every patient up to after_patient (in byte order of
// the id; "" = none yet) is audited, and their findings are the first
// findings_bytes of the findings file.
struct AuditProgress {
  std::string after_patient;
  int64_t findings_bytes = 0;
  int64_t patients_audited = 0;
  int64_t rejected_patients = 0;
  int64_t rejected_resources = 0;
  // Resources of the patients audited or rejected (the progress shown).
  int64_t resources_done = 0;
};

// One input problem: a malformed line, a rejected resource, a rejected
// patient record. `file` is the file's index in RegisterFiles order.
struct InputError {
  int file = 0;
  int64_t line = 0;
  std::string message;
};

// One resource of a patient, as stored.
struct StoredResource {
  int file = 0;
  int64_t line = 0;
  // The resource as the FHIR adapter mapped it when it was routed
  // (adapters/fhir/resource_fragment.h), not its JSON.
  std::string body;
};

// All resources of one patient, in (file, line) order.
struct PatientResources {
  std::string patient_id;
  std::vector<StoredResource> resources;
  // Resources beyond the cap of GroupedReader (not in `resources`).
  int64_t resources_dropped = 0;
};

// Reads the grouped patients one by one, in audit order (spill_store.h).
class GroupedReader {
 public:
  ~GroupedReader();
  GroupedReader(const GroupedReader&) = delete;
  GroupedReader& operator=(const GroupedReader&) = delete;

  // The next patient; false at the end. At most `max_resources` resources
  // are kept per patient.
  absl::StatusOr<bool> Next(PatientResources* patient);

 private:
  friend class AuditScratch;
  GroupedReader(std::unique_ptr<SpillReader> spill, size_t max_resources);
  std::unique_ptr<SpillReader> spill_;
  size_t max_resources_;
  SpillRecord pending_;  // the first resource of the next patient
  bool has_pending_ = false;
  bool done_ = false;
};

class AuditScratch {
 public:
  // Opens (creating if needed) the scratch file at `path`, its spill files
  // in the folder `path` + "-spill". `memory_mib`: the memory budget for
  // grouping a partition (and, a quarter of it, the spill write buffers).
  // UNAVAILABLE "scratch file <path>: cannot use WAL mode there ..." where
  // SQLite cannot keep the file in WAL mode (a network file system), as a
  // kill must not lose committed progress.
  static absl::StatusOr<std::unique_ptr<AuditScratch>> Open(
      const std::string& path, int memory_mib);
  ~AuditScratch();
  AuditScratch(const AuditScratch&) = delete;
  AuditScratch& operator=(const AuditScratch&) = delete;

  // Small key-value facts about the run (input fingerprint, phase).
  absl::StatusOr<std::optional<std::string>> GetMeta(absl::string_view key);
  absl::Status SetMeta(absl::string_view key, absl::string_view value);

  // The input files, in order (their index is the file id). The first call
  // records them; later calls (on resume) must name the same files.
  absl::Status RegisterFiles(const std::vector<std::string>& names);
  absl::StatusOr<std::vector<FileProgress>> Files();

  // Sets up the spill files: on a new audit, `partitions` of them (at most
  // kMaxSpillPartitions), or with 0 enough for about `input_bytes` of
  // resources (the count is recorded); on a resumed one, those recorded,
  // each file truncated to its committed length. Before Begin().
  // FAILED_PRECONDITION (naming --overwrite) when the recorded spill files
  // hold another format than this build's (fhir::kFragmentFormat, kept in
  // the meta table): an audit begun by another version.
  absl::Status OpenSpill(int64_t input_bytes, uint32_t partitions = 0);
  uint32_t partitions() const {
    return static_cast<uint32_t>(committed_sizes_.size());
  }

  // Ingest: Begin(), any number of AddResource/AddError/SaveFile, Commit()
  // (which hands the spill buffers to the kernel first).
  absl::Status Begin();
  absl::Status Commit();
  absl::Status AddResource(absl::string_view patient_id, int file, int64_t line,
                           absl::string_view body);
  absl::Status AddError(const InputError& error);
  absl::Status SaveFile(int file, const FileProgress& progress);
  // Adds `delta` to the per-resourceType counts.
  absl::Status AddTypeCounts(const std::map<std::string, int64_t>& delta);
  absl::StatusOr<std::map<std::string, int64_t>> TypeCounts();

  // Ends the reading phase: the spill files are complete (recorded as meta
  // "grouped"). Idempotent.
  absl::Status FinishIngest();
  // Reads the patients after `after_patient` in audit order ("": all).
  absl::StatusOr<std::unique_ptr<GroupedReader>> OpenReader(
      const std::string& after_patient, size_t max_resources);

  // Auditing progress, saved with the errors found since the last save in
  // one transaction.
  absl::StatusOr<AuditProgress> LoadAuditProgress();
  absl::Status SaveAuditProgress(const AuditProgress& progress,
                                 const std::vector<InputError>& errors);

  // Calls `visit` on every error, ordered by file, line, message (streamed:
  // a garbage export may have millions); stops at the first error `visit`
  // returns.
  absl::Status ForEachError(
      const std::function<absl::Status(const InputError&)>& visit);

  const std::string& path() const { return path_; }

 private:
  AuditScratch(std::unique_ptr<sqlite::Connection> db, std::string path,
               size_t memory_bytes);
  absl::Status SaveSpillSizes();

  std::unique_ptr<sqlite::Connection> db_;
  std::string path_;
  std::string spill_dir_;
  size_t memory_bytes_;
  std::unique_ptr<SpillWriter> spill_;
  std::vector<int64_t> committed_sizes_;  // of the spill files
  std::optional<sqlite::Statement> insert_error_;
};

}  // namespace needlecheck::batch

#endif  // ADAPTERS_BATCH_RUN_AUDIT_SCRATCH_H_
