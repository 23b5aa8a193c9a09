#include "adapters/batch/run/audit_scratch.h"

#include <algorithm>
#include <utility>

#include "absl/memory/memory.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "adapters/fhir/resource_fragment.h"
#include "common/status/status_macros.h"

namespace needlecheck::batch {
namespace {

// meta key: the format of the spill files' resource bodies.
constexpr char kSpillFormatKey[] = "spill_format";

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files(
  id INTEGER PRIMARY KEY, name TEXT NOT NULL,
  lines_done INTEGER NOT NULL DEFAULT 0, byte_offset INTEGER NOT NULL DEFAULT 0,
  complete INTEGER NOT NULL DEFAULT 0, lines INTEGER NOT NULL DEFAULT 0,
  resources INTEGER NOT NULL DEFAULT 0, malformed INTEGER NOT NULL DEFAULT 0,
  without_patient INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS type_counts(type TEXT PRIMARY KEY,
                                       n INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS spill_files(id INTEGER PRIMARY KEY,
                                       bytes INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS errors(file INTEGER NOT NULL, line INTEGER NOT NULL,
                                  message TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit_progress(
  id INTEGER PRIMARY KEY CHECK (id = 1), after_patient TEXT NOT NULL,
  findings_bytes INTEGER NOT NULL, patients INTEGER NOT NULL,
  rejected_patients INTEGER NOT NULL, rejected_resources INTEGER NOT NULL,
  resources_done INTEGER NOT NULL DEFAULT 0);
)sql";

}  // namespace

GroupedReader::GroupedReader(std::unique_ptr<SpillReader> spill,
                             size_t max_resources)
    : spill_(std::move(spill)), max_resources_(max_resources) {}

GroupedReader::~GroupedReader() = default;

absl::StatusOr<bool> GroupedReader::Next(PatientResources* patient) {
  // Storage of the previous patient is kept for reuse (its strings keep
  // their capacity).
  size_t kept = 0;
  patient->patient_id.clear();
  patient->resources_dropped = 0;
  bool have = false;
  const auto take = [&](const SpillRecord& record) {
    if (kept < max_resources_) {
      if (kept == patient->resources.size()) patient->resources.emplace_back();
      StoredResource& resource = patient->resources[kept++];
      resource.file = record.file;
      resource.line = record.line;
      resource.body.assign(record.body.data(), record.body.size());
    } else {
      ++patient->resources_dropped;
    }
  };
  if (has_pending_) {
    have = true;
    has_pending_ = false;
    patient->patient_id.assign(pending_.patient_id.data(),
                               pending_.patient_id.size());
    take(pending_);
  }
  while (!done_) {
    absl::StatusOr<bool> more = spill_->Next(&pending_);
    if (!more.ok()) return more.status();
    if (!*more) {
      done_ = true;
      break;
    }
    if (have && pending_.patient_id != patient->patient_id) {
      has_pending_ = true;
      break;
    }
    if (!have) {
      have = true;
      patient->patient_id.assign(pending_.patient_id.data(),
                                 pending_.patient_id.size());
    }
    take(pending_);
  }
  patient->resources.resize(kept);
  return have;
}

AuditScratch::AuditScratch(std::unique_ptr<sqlite::Connection> db,
                           std::string path, size_t memory_bytes)
    : db_(std::move(db)),
      path_(std::move(path)),
      spill_dir_(absl::StrCat(path_, "-spill")),
      memory_bytes_(memory_bytes) {}

AuditScratch::~AuditScratch() = default;

absl::StatusOr<std::unique_ptr<AuditScratch>> AuditScratch::Open(
    const std::string& path, int memory_mib) {
  absl::StatusOr<std::unique_ptr<sqlite::Connection>> db =
      sqlite::Connection::Open(path, /*read_only=*/false, /*create=*/true,
                               absl::Seconds(10));
  if (!db.ok()) {
    return absl::Status(
        db.status().code(),
        absl::StrCat("scratch file ", path, ": ", db.status().message()));
  }
  auto scratch = absl::WrapUnique(
      new AuditScratch(*std::move(db), path,
                       static_cast<size_t>(std::max(memory_mib, 1)) << 20));
  // WAL: a commit is atomic and survives a kill of this process; NORMAL
  // sync is enough for a scratch file (an OS crash at worst loses the last
  // commits, which --resume redoes).
  if (absl::Status status = scratch->db_->UseWal(); !status.ok()) {
    return absl::Status(status.code(), absl::StrCat("scratch file ", path, ": ",
                                                    status.message()));
  }
  if (absl::Status status = scratch->db_->Exec("PRAGMA synchronous=NORMAL;");
      !status.ok()) {
    return status;
  }
  if (absl::Status status = scratch->db_->Exec(kSchema); !status.ok()) {
    return status;
  }
  return scratch;
}

absl::Status AuditScratch::OpenSpill(int64_t input_bytes, uint32_t partitions) {
  absl::StatusOr<sqlite::Statement> select = db_->Prepare(
      "SELECT id, bytes FROM spill_files ORDER BY id", "read spill files");
  if (!select.ok()) return select.status();
  committed_sizes_.clear();
  while (true) {
    absl::StatusOr<bool> row = select->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    if (select->ColumnInt(0) != static_cast<int64_t>(committed_sizes_.size())) {
      return absl::DataLossError("scratch file: the spill file list has gaps");
    }
    committed_sizes_.push_back(select->ColumnInt(1));
  }
  if (!committed_sizes_.empty()) {
    // The spill files hold resources mapped by the FHIR adapter; files of
    // another format (raw JSON before it was recorded, or fragments of
    // another encoding) would not decode.
    absl::StatusOr<std::optional<std::string>> format =
        GetMeta(kSpillFormatKey);
    if (!format.ok()) return format.status();
    if (!format->has_value() || **format != fhir::kFragmentFormat) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the unfinished audit in this folder was begun by another "
          "needlecheck-audit version (its spill files hold ",
          format->has_value() ? "another format" : "raw JSON resources",
          ", this version stores mapped resources, format ",
          fhir::kFragmentFormat, "): pass --overwrite to start it over"));
    }
  } else {
    // No spill files yet, but reading begun: a scratch file of a version
    // that kept the resources in an SQLite table. Its resources are not
    // in spill files; going on would audit none of them.
    absl::StatusOr<sqlite::Statement> begun = db_->Prepare(
        "SELECT EXISTS(SELECT 1 FROM files WHERE lines_done > 0 OR "
        "complete != 0) OR EXISTS(SELECT 1 FROM meta WHERE key = 'grouped') "
        "OR EXISTS(SELECT 1 FROM sqlite_master WHERE name = 'staged')",
        "check the scratch's format");
    if (!begun.ok()) return begun.status();
    absl::StatusOr<bool> row = begun->Step();
    if (!row.ok()) return row.status();
    if (*row && begun->ColumnInt(0) != 0) {
      return absl::FailedPreconditionError(
          "the unfinished audit in this folder was begun by an older "
          "needlecheck-audit (its resources are in an SQLite table, not in "
          "spill files): pass --overwrite to start it over");
    }
    // A partition of about a quarter of the memory budget sorts in memory
    // with room to spare; a larger one (a skewed export, compressed input
    // underestimated) is sorted in runs.
    const int64_t target = std::max<int64_t>(1, memory_bytes_ / 4);
    const int64_t wanted =
        partitions > 0 ? partitions : (input_bytes + target - 1) / target;
    partitions = static_cast<uint32_t>(
        std::clamp<int64_t>(wanted, 1, kMaxSpillPartitions));
    absl::Status status = sqlite::InTransaction(*db_, [&]() -> absl::Status {
      RETURN_IF_ERROR(SetMeta(kSpillFormatKey, fhir::kFragmentFormat));
      absl::StatusOr<sqlite::Statement> insert = db_->Prepare(
          "INSERT INTO spill_files(id, bytes) VALUES(?1, 0)", "add spill file");
      if (!insert.ok()) return insert.status();
      for (uint32_t i = 0; i < partitions; ++i) {
        insert->Reset();
        insert->BindInt(1, i);
        if (absl::Status s = insert->Run(); !s.ok()) return s;
      }
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
    committed_sizes_.assign(partitions, 0);
  }
  const size_t buffer_bytes = std::clamp<size_t>(
      memory_bytes_ / 4 / committed_sizes_.size(), 4096, size_t{1} << 20);
  absl::StatusOr<std::unique_ptr<SpillWriter>> writer =
      SpillWriter::Open(spill_dir_, committed_sizes_, buffer_bytes);
  if (!writer.ok()) return writer.status();
  spill_ = *std::move(writer);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> AuditScratch::GetMeta(
    absl::string_view key) {
  absl::StatusOr<sqlite::Statement> select =
      db_->Prepare("SELECT value FROM meta WHERE key = ?1", "read meta");
  if (!select.ok()) return select.status();
  select->BindText(1, key);
  absl::StatusOr<bool> row = select->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(select->ColumnText(0));
}

absl::Status AuditScratch::SetMeta(absl::string_view key,
                                   absl::string_view value) {
  absl::StatusOr<sqlite::Statement> upsert = db_->Prepare(
      "INSERT INTO meta(key, value) VALUES(?1, ?2) "
      "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
      "write meta");
  if (!upsert.ok()) return upsert.status();
  upsert->BindText(1, key).BindText(2, value);
  return upsert->Run();
}

absl::Status AuditScratch::RegisterFiles(
    const std::vector<std::string>& names) {
  absl::StatusOr<std::vector<FileProgress>> existing = Files();
  if (!existing.ok()) return existing.status();
  if (!existing->empty()) {
    bool same = existing->size() == names.size();
    for (size_t i = 0; same && i < names.size(); ++i) {
      same = (*existing)[i].name == names[i];
    }
    if (!same) {
      return absl::FailedPreconditionError(
          "the export's files are not those of the audit being resumed");
    }
    return absl::OkStatus();
  }
  absl::StatusOr<sqlite::Statement> insert = db_->Prepare(
      "INSERT INTO files(id, name) VALUES(?1, ?2)", "register files");
  if (!insert.ok()) return insert.status();
  for (size_t i = 0; i < names.size(); ++i) {
    insert->Reset();
    insert->BindInt(1, static_cast<int64_t>(i)).BindText(2, names[i]);
    if (absl::Status status = insert->Run(); !status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<FileProgress>> AuditScratch::Files() {
  absl::StatusOr<sqlite::Statement> select = db_->Prepare(
      "SELECT name, lines_done, byte_offset, complete, lines, resources, "
      "malformed, without_patient FROM files ORDER BY id",
      "read files");
  if (!select.ok()) return select.status();
  std::vector<FileProgress> files;
  while (true) {
    absl::StatusOr<bool> row = select->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    const sqlite::Statement& s = *select;
    FileProgress file;
    file.name = s.ColumnText(0);
    file.lines_done = s.ColumnInt(1);
    file.byte_offset = s.ColumnInt(2);
    file.complete = s.ColumnInt(3) != 0;
    file.counts.lines = s.ColumnInt(4);
    file.counts.resources = s.ColumnInt(5);
    file.counts.malformed = s.ColumnInt(6);
    file.counts.without_patient = s.ColumnInt(7);
    files.push_back(std::move(file));
  }
  return files;
}

absl::Status AuditScratch::Begin() { return db_->Exec("BEGIN IMMEDIATE"); }

absl::Status AuditScratch::Commit() {
  absl::Status status = SaveSpillSizes();
  if (status.ok()) status = db_->Exec("COMMIT");
  if (!status.ok()) db_->Exec("ROLLBACK").IgnoreError();  // report the first
  return status;
}

absl::Status AuditScratch::SaveSpillSizes() {
  if (spill_ == nullptr) return absl::OkStatus();
  // The bytes reach the kernel before their lengths are committed: a kill
  // after the commit finds them all.
  if (absl::Status status = spill_->Flush(); !status.ok()) return status;
  const std::vector<int64_t>& sizes = spill_->sizes();
  absl::StatusOr<sqlite::Statement> update = db_->Prepare(
      "UPDATE spill_files SET bytes = ?2 WHERE id = ?1", "save spill sizes");
  if (!update.ok()) return update.status();
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] == committed_sizes_[i]) continue;
    update->Reset();
    update->BindInt(1, static_cast<int64_t>(i)).BindInt(2, sizes[i]);
    if (absl::Status status = update->Run(); !status.ok()) return status;
  }
  // Counted as committed now; should the COMMIT fail, the run fails and a
  // resumed one truncates to the lengths in the file.
  committed_sizes_ = sizes;
  return absl::OkStatus();
}

absl::Status AuditScratch::AddResource(absl::string_view patient_id, int file,
                                       int64_t line, absl::string_view body) {
  if (spill_ == nullptr) {
    return absl::FailedPreconditionError(
        "scratch: resources added before OpenSpill() or after FinishIngest()");
  }
  return spill_->Append(patient_id, file, line, body);
}

absl::Status AuditScratch::AddError(const InputError& error) {
  if (!insert_error_.has_value()) {
    absl::StatusOr<sqlite::Statement> insert = db_->Prepare(
        "INSERT INTO errors(file, line, message) VALUES(?1, ?2, ?3)",
        "store an error");
    if (!insert.ok()) return insert.status();
    insert_error_.emplace(*std::move(insert));
  }
  insert_error_->Reset();
  insert_error_->BindInt(1, error.file)
      .BindInt(2, error.line)
      .BindText(3, error.message);
  return insert_error_->Run();
}

absl::Status AuditScratch::SaveFile(int file, const FileProgress& progress) {
  absl::StatusOr<sqlite::Statement> update = db_->Prepare(
      "UPDATE files SET lines_done=?2, byte_offset=?3, complete=?4, lines=?5, "
      "resources=?6, malformed=?7, without_patient=?8 WHERE id=?1",
      "save file progress");
  if (!update.ok()) return update.status();
  update->BindInt(1, file)
      .BindInt(2, progress.lines_done)
      .BindInt(3, progress.byte_offset)
      .BindInt(4, progress.complete ? 1 : 0)
      .BindInt(5, progress.counts.lines)
      .BindInt(6, progress.counts.resources)
      .BindInt(7, progress.counts.malformed)
      .BindInt(8, progress.counts.without_patient);
  return update->Run();
}

absl::Status AuditScratch::AddTypeCounts(
    const std::map<std::string, int64_t>& delta) {
  absl::StatusOr<sqlite::Statement> upsert = db_->Prepare(
      "INSERT INTO type_counts(type, n) VALUES(?1, ?2) "
      "ON CONFLICT(type) DO UPDATE SET n = n + excluded.n",
      "save type counts");
  if (!upsert.ok()) return upsert.status();
  for (const auto& [type, n] : delta) {
    upsert->Reset();
    upsert->BindText(1, type).BindInt(2, n);
    if (absl::Status status = upsert->Run(); !status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::map<std::string, int64_t>> AuditScratch::TypeCounts() {
  absl::StatusOr<sqlite::Statement> select = db_->Prepare(
      "SELECT type, n FROM type_counts ORDER BY type", "read type counts");
  if (!select.ok()) return select.status();
  std::map<std::string, int64_t> counts;
  while (true) {
    absl::StatusOr<bool> row = select->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    counts[select->ColumnText(0)] = select->ColumnInt(1);
  }
  return counts;
}

absl::Status AuditScratch::FinishIngest() {
  absl::StatusOr<std::optional<std::string>> grouped = GetMeta("grouped");
  if (!grouped.ok()) return grouped.status();
  if (grouped->has_value()) return absl::OkStatus();
  if (spill_ != nullptr) {
    absl::Status status = sqlite::InTransaction(*db_, [&]() -> absl::Status {
      if (absl::Status s = SaveSpillSizes(); !s.ok()) return s;
      return SetMeta("grouped", "1");
    });
    if (!status.ok()) return status;
    spill_.reset();
    return absl::OkStatus();
  }
  return SetMeta("grouped", "1");
}

absl::StatusOr<std::unique_ptr<GroupedReader>> AuditScratch::OpenReader(
    const std::string& after_patient, size_t max_resources) {
  absl::StatusOr<std::unique_ptr<SpillReader>> spill = SpillReader::Open(
      spill_dir_, committed_sizes_, memory_bytes_, after_patient);
  if (!spill.ok()) return spill.status();
  return absl::WrapUnique(new GroupedReader(*std::move(spill), max_resources));
}

absl::StatusOr<AuditProgress> AuditScratch::LoadAuditProgress() {
  absl::StatusOr<sqlite::Statement> select = db_->Prepare(
      "SELECT after_patient, findings_bytes, patients, rejected_patients, "
      "rejected_resources, resources_done FROM audit_progress WHERE id = 1",
      "read audit progress");
  if (!select.ok()) return select.status();
  AuditProgress progress;
  absl::StatusOr<bool> row = select->Step();
  if (!row.ok()) return row.status();
  if (!*row) return progress;
  progress.after_patient = select->ColumnText(0);
  progress.findings_bytes = select->ColumnInt(1);
  progress.patients_audited = select->ColumnInt(2);
  progress.rejected_patients = select->ColumnInt(3);
  progress.rejected_resources = select->ColumnInt(4);
  progress.resources_done = select->ColumnInt(5);
  return progress;
}

absl::Status AuditScratch::SaveAuditProgress(
    const AuditProgress& progress, const std::vector<InputError>& errors) {
  return sqlite::InTransaction(*db_, [&]() -> absl::Status {
    for (const InputError& error : errors) {
      if (absl::Status status = AddError(error); !status.ok()) return status;
    }
    absl::StatusOr<sqlite::Statement> upsert = db_->Prepare(
        "INSERT INTO audit_progress(id, after_patient, findings_bytes, "
        "patients, rejected_patients, rejected_resources, resources_done) "
        "VALUES(1, ?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(id) DO UPDATE SET "
        "after_patient = excluded.after_patient, "
        "findings_bytes = excluded.findings_bytes, "
        "patients = excluded.patients, "
        "rejected_patients = excluded.rejected_patients, "
        "rejected_resources = excluded.rejected_resources, "
        "resources_done = excluded.resources_done",
        "save audit progress");
    if (!upsert.ok()) return upsert.status();
    upsert->BindText(1, progress.after_patient)
        .BindInt(2, progress.findings_bytes)
        .BindInt(3, progress.patients_audited)
        .BindInt(4, progress.rejected_patients)
        .BindInt(5, progress.rejected_resources)
        .BindInt(6, progress.resources_done);
    return upsert->Run();
  });
}

absl::Status AuditScratch::ForEachError(
    const std::function<absl::Status(const InputError&)>& visit) {
  absl::StatusOr<sqlite::Statement> select = db_->Prepare(
      "SELECT file, line, message FROM errors ORDER BY file, line, message",
      "read errors");
  if (!select.ok()) return select.status();
  InputError error;
  while (true) {
    absl::StatusOr<bool> row = select->Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::OkStatus();
    error.file = static_cast<int>(select->ColumnInt(0));
    error.line = select->ColumnInt(1);
    error.message = select->ColumnText(2);
    if (absl::Status status = visit(error); !status.ok()) return status;
  }
}

}  // namespace needlecheck::batch
