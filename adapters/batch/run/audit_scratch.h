// AuditScratch: the batch audit's working state on disk, one SQLite file:
// the export's resources grouped by patient, the reading and auditing
// progress, and the input problems found so far.
//
// Why an indexed SQLite scratch file (and not the whole export in RAM): an
// export of 1,000,000 patients is tens of GB; resources of one patient are
// spread over one file per resource type. Ingest appends every resource
// (patient id, file, line, JSON) to a table in file order; Group() then
// builds an index on (patient, file, line), which SQLite sorts with its
// external merge sort (sorted runs on disk, memory capped by the cache
// size), so memory stays bounded whatever the export size; the audit then
// reads one patient at a time in index order. Only the keys are sorted and
// written again, not the resources (an earlier version copied the whole
// table in patient order: twice the disk writes). The
// same file is the checkpoint that makes --resume exact: every batch of
// lines read, and every batch of patients audited, is committed together
// with its progress marker (WAL mode), so a kill loses at most the work since
// the last commit and never records work twice. SQLite is already a
// dependency of the project (the alert ledger), well kept in Debian, and
// needs no server.
//
// Disk: about the size of the (uncompressed) resource lines, plus the
// index; temporary sort files go where SQLITE_TMPDIR points.
//
// Contract
// - One writer (the owning thread); OpenReader() gives a second, read-only
//   connection for another thread (WAL lets it read while the owner writes).
// - Every method returns a Status naming the SQLite error; nothing throws.
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

struct sqlite3;
struct sqlite3_stmt;

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
  std::string body;  // the resource JSON
};

// All resources of one patient, in (file, line) order.
struct PatientResources {
  std::string patient_id;
  std::vector<StoredResource> resources;
  // Resources beyond the cap of GroupedReader (not in `resources`).
  int64_t resources_dropped = 0;
};

// Reads the grouped table patient by patient (its own connection).
class GroupedReader {
 public:
  ~GroupedReader();
  GroupedReader(const GroupedReader&) = delete;
  GroupedReader& operator=(const GroupedReader&) = delete;

  // The next patient in byte order of the id; false at the end. At most
  // `max_resources` resources are kept per patient.
  absl::StatusOr<bool> Next(PatientResources* patient);

 private:
  friend class AuditScratch;
  GroupedReader(sqlite3* db, sqlite3_stmt* select, size_t max_resources);
  sqlite3* db_;
  sqlite3_stmt* select_;
  size_t max_resources_;
  bool pending_ = false;  // select_ holds a row of the next patient
  bool done_ = false;
};

class AuditScratch {
 public:
  // Opens (creating if needed) the scratch file at `path`, with a page
  // cache of at most `cache_mib` MiB (also the sort's memory budget).
  static absl::StatusOr<std::unique_ptr<AuditScratch>> Open(
      const std::string& path, int cache_mib);
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

  // Ingest: Begin(), any number of AddResource/AddError/SaveFile, Commit().
  absl::Status Begin();
  absl::Status Commit();
  absl::Status AddResource(absl::string_view patient_id, int file, int64_t line,
                           absl::string_view body);
  absl::Status AddError(const InputError& error);
  absl::Status SaveFile(int file, const FileProgress& progress);
  // Adds `delta` to the per-resourceType counts.
  absl::Status AddTypeCounts(const std::map<std::string, int64_t>& delta);
  absl::StatusOr<std::map<std::string, int64_t>> TypeCounts();

  // Sorts the ingested resources by patient (see the top of this file) and
  // counts the patients. Idempotent: a second call does nothing.
  absl::Status Group();
  absl::StatusOr<int64_t> PatientCount();
  // Reads the patients whose id is after `after_patient` ("": all).
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
  AuditScratch(sqlite3* db, std::string path);
  absl::Status Exec(const char* sql);
  absl::Status Prepare(const char* sql, sqlite3_stmt** statement);

  sqlite3* db_;
  std::string path_;
  sqlite3_stmt* insert_resource_ = nullptr;
  sqlite3_stmt* insert_error_ = nullptr;
};

}  // namespace needlecheck::batch

#endif  // ADAPTERS_BATCH_RUN_AUDIT_SCRATCH_H_
