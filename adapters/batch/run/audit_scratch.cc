#include "adapters/batch/run/audit_scratch.h"

#include <sqlite3.h>

#include <utility>

#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"

namespace needlecheck::batch {
namespace {

absl::Status SqliteError(sqlite3* db, absl::string_view what) {
  return absl::InternalError(
      absl::StrCat("scratch file: ", what, ": ", sqlite3_errmsg(db)));
}

// Finalizes a statement when it goes out of scope.
struct StatementDeleter {
  void operator()(sqlite3_stmt* statement) const {
    sqlite3_finalize(statement);
  }
};
using Statement = std::unique_ptr<sqlite3_stmt, StatementDeleter>;

absl::StatusOr<Statement> PrepareStatement(sqlite3* db, const char* sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &raw, nullptr) != SQLITE_OK) {
    return SqliteError(db, sql);
  }
  return Statement(raw);
}

void BindText(sqlite3_stmt* statement, int index, absl::string_view text) {
  sqlite3_bind_text(statement, index, text.data(),
                    static_cast<int>(text.size()), SQLITE_TRANSIENT);
}

std::string ColumnText(sqlite3_stmt* statement, int column) {
  const unsigned char* text = sqlite3_column_text(statement, column);
  const int size = sqlite3_column_bytes(statement, column);
  if (text == nullptr) return "";
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(size));
}

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
CREATE TABLE IF NOT EXISTS staged(patient TEXT NOT NULL, file INTEGER NOT NULL,
                                  line INTEGER NOT NULL, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS errors(file INTEGER NOT NULL, line INTEGER NOT NULL,
                                  message TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit_progress(
  id INTEGER PRIMARY KEY CHECK (id = 1), after_patient TEXT NOT NULL,
  findings_bytes INTEGER NOT NULL, patients INTEGER NOT NULL,
  rejected_patients INTEGER NOT NULL, rejected_resources INTEGER NOT NULL);
)sql";

}  // namespace

GroupedReader::GroupedReader(sqlite3* db, sqlite3_stmt* select,
                             size_t max_resources)
    : db_(db), select_(select), max_resources_(max_resources) {}

GroupedReader::~GroupedReader() {
  sqlite3_finalize(select_);
  sqlite3_close_v2(db_);
}

absl::StatusOr<bool> GroupedReader::Next(PatientResources* patient) {
  patient->patient_id.clear();
  patient->resources.clear();
  patient->resources_dropped = 0;
  if (done_) return false;
  bool have = false;
  while (true) {
    if (!pending_) {
      const int rc = sqlite3_step(select_);
      if (rc == SQLITE_DONE) {
        done_ = true;
        return have;
      }
      if (rc != SQLITE_ROW) return SqliteError(db_, "reading patients");
      pending_ = true;
    }
    const unsigned char* id = sqlite3_column_text(select_, 0);
    const int id_size = sqlite3_column_bytes(select_, 0);
    absl::string_view patient_id(reinterpret_cast<const char*>(id),
                                 static_cast<size_t>(id_size));
    if (have && patient_id != patient->patient_id) return true;
    if (!have) {
      have = true;
      patient->patient_id.assign(patient_id.data(), patient_id.size());
    }
    if (patient->resources.size() < max_resources_) {
      StoredResource resource;
      resource.file = sqlite3_column_int(select_, 1);
      resource.line = sqlite3_column_int64(select_, 2);
      const void* body = sqlite3_column_blob(select_, 3);
      const int body_size = sqlite3_column_bytes(select_, 3);
      if (body != nullptr) {
        resource.body.assign(static_cast<const char*>(body),
                             static_cast<size_t>(body_size));
      }
      patient->resources.push_back(std::move(resource));
    } else {
      ++patient->resources_dropped;
    }
    pending_ = false;
  }
}

AuditScratch::AuditScratch(sqlite3* db, std::string path)
    : db_(db), path_(std::move(path)) {}

AuditScratch::~AuditScratch() {
  sqlite3_finalize(insert_resource_);
  sqlite3_finalize(insert_error_);
  sqlite3_close_v2(db_);
}

absl::StatusOr<std::unique_ptr<AuditScratch>> AuditScratch::Open(
    const std::string& path, int cache_mib) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(
      path.c_str(), &db,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
      nullptr);
  if (rc != SQLITE_OK) {
    absl::Status status = absl::UnavailableError(
        absl::StrCat("cannot open the scratch file ", path, ": ",
                     db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
    sqlite3_close_v2(db);
    return status;
  }
  std::unique_ptr<AuditScratch> scratch =
      absl::WrapUnique(new AuditScratch(db, path));
  sqlite3_busy_timeout(db, 10000);
  // WAL: a commit is atomic and survives a kill of this process; NORMAL
  // sync is enough for a scratch file (an OS crash at worst loses the last
  // commits, which --resume redoes). The cache is the sort's memory budget.
  const std::string pragmas = absl::StrCat(
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
      "PRAGMA temp_store=FILE; PRAGMA cache_size=-",
      static_cast<int64_t>(cache_mib) * 1024, ";");
  if (absl::Status status = scratch->Exec(pragmas.c_str()); !status.ok()) {
    return status;
  }
  if (absl::Status status = scratch->Exec(kSchema); !status.ok()) {
    return status;
  }
  return scratch;
}

absl::Status AuditScratch::Exec(const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    absl::Status status = absl::InternalError(
        absl::StrCat("scratch file: ", message != nullptr ? message : "?"));
    sqlite3_free(message);
    return status;
  }
  return absl::OkStatus();
}

absl::Status AuditScratch::Prepare(const char* sql, sqlite3_stmt** statement) {
  if (*statement != nullptr) {
    sqlite3_reset(*statement);
    sqlite3_clear_bindings(*statement);
    return absl::OkStatus();
  }
  if (sqlite3_prepare_v2(db_, sql, -1, statement, nullptr) != SQLITE_OK) {
    return SqliteError(db_, sql);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> AuditScratch::GetMeta(
    absl::string_view key) {
  absl::StatusOr<Statement> select =
      PrepareStatement(db_, "SELECT value FROM meta WHERE key = ?1");
  if (!select.ok()) return select.status();
  BindText(select->get(), 1, key);
  const int rc = sqlite3_step(select->get());
  if (rc == SQLITE_DONE) return std::optional<std::string>();
  if (rc != SQLITE_ROW) return SqliteError(db_, "reading meta");
  return std::optional<std::string>(ColumnText(select->get(), 0));
}

absl::Status AuditScratch::SetMeta(absl::string_view key,
                                   absl::string_view value) {
  absl::StatusOr<Statement> upsert =
      PrepareStatement(db_,
                       "INSERT INTO meta(key, value) VALUES(?1, ?2) "
                       "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
  if (!upsert.ok()) return upsert.status();
  BindText(upsert->get(), 1, key);
  BindText(upsert->get(), 2, value);
  if (sqlite3_step(upsert->get()) != SQLITE_DONE) {
    return SqliteError(db_, "writing meta");
  }
  return absl::OkStatus();
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
  absl::StatusOr<Statement> insert =
      PrepareStatement(db_, "INSERT INTO files(id, name) VALUES(?1, ?2)");
  if (!insert.ok()) return insert.status();
  for (size_t i = 0; i < names.size(); ++i) {
    sqlite3_reset(insert->get());
    sqlite3_bind_int64(insert->get(), 1, static_cast<int64_t>(i));
    BindText(insert->get(), 2, names[i]);
    if (sqlite3_step(insert->get()) != SQLITE_DONE) {
      return SqliteError(db_, "registering files");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<FileProgress>> AuditScratch::Files() {
  absl::StatusOr<Statement> select = PrepareStatement(
      db_,
      "SELECT name, lines_done, byte_offset, complete, lines, resources, "
      "malformed, without_patient FROM files ORDER BY id");
  if (!select.ok()) return select.status();
  std::vector<FileProgress> files;
  int rc;
  while ((rc = sqlite3_step(select->get())) == SQLITE_ROW) {
    sqlite3_stmt* s = select->get();
    FileProgress file;
    file.name = ColumnText(s, 0);
    file.lines_done = sqlite3_column_int64(s, 1);
    file.byte_offset = sqlite3_column_int64(s, 2);
    file.complete = sqlite3_column_int(s, 3) != 0;
    file.counts.lines = sqlite3_column_int64(s, 4);
    file.counts.resources = sqlite3_column_int64(s, 5);
    file.counts.malformed = sqlite3_column_int64(s, 6);
    file.counts.without_patient = sqlite3_column_int64(s, 7);
    files.push_back(std::move(file));
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, "reading files");
  return files;
}

absl::Status AuditScratch::Begin() { return Exec("BEGIN IMMEDIATE"); }
absl::Status AuditScratch::Commit() { return Exec("COMMIT"); }

absl::Status AuditScratch::AddResource(absl::string_view patient_id, int file,
                                       int64_t line, absl::string_view body) {
  if (absl::Status status = Prepare(
          "INSERT INTO staged(patient, file, line, body) VALUES(?1,?2,?3,?4)",
          &insert_resource_);
      !status.ok()) {
    return status;
  }
  BindText(insert_resource_, 1, patient_id);
  sqlite3_bind_int(insert_resource_, 2, file);
  sqlite3_bind_int64(insert_resource_, 3, line);
  sqlite3_bind_blob(insert_resource_, 4, body.data(),
                    static_cast<int>(body.size()), SQLITE_STATIC);
  const int rc = sqlite3_step(insert_resource_);
  sqlite3_reset(insert_resource_);
  if (rc != SQLITE_DONE) return SqliteError(db_, "storing a resource");
  return absl::OkStatus();
}

absl::Status AuditScratch::AddError(const InputError& error) {
  if (absl::Status status =
          Prepare("INSERT INTO errors(file, line, message) VALUES(?1, ?2, ?3)",
                  &insert_error_);
      !status.ok()) {
    return status;
  }
  sqlite3_bind_int(insert_error_, 1, error.file);
  sqlite3_bind_int64(insert_error_, 2, error.line);
  BindText(insert_error_, 3, error.message);
  const int rc = sqlite3_step(insert_error_);
  sqlite3_reset(insert_error_);
  if (rc != SQLITE_DONE) return SqliteError(db_, "storing an error");
  return absl::OkStatus();
}

absl::Status AuditScratch::SaveFile(int file, const FileProgress& progress) {
  absl::StatusOr<Statement> update = PrepareStatement(
      db_,
      "UPDATE files SET lines_done=?2, byte_offset=?3, complete=?4, lines=?5, "
      "resources=?6, malformed=?7, without_patient=?8 WHERE id=?1");
  if (!update.ok()) return update.status();
  sqlite3_stmt* s = update->get();
  sqlite3_bind_int(s, 1, file);
  sqlite3_bind_int64(s, 2, progress.lines_done);
  sqlite3_bind_int64(s, 3, progress.byte_offset);
  sqlite3_bind_int(s, 4, progress.complete ? 1 : 0);
  sqlite3_bind_int64(s, 5, progress.counts.lines);
  sqlite3_bind_int64(s, 6, progress.counts.resources);
  sqlite3_bind_int64(s, 7, progress.counts.malformed);
  sqlite3_bind_int64(s, 8, progress.counts.without_patient);
  if (sqlite3_step(s) != SQLITE_DONE) {
    return SqliteError(db_, "saving file progress");
  }
  return absl::OkStatus();
}

absl::Status AuditScratch::AddTypeCounts(
    const std::map<std::string, int64_t>& delta) {
  absl::StatusOr<Statement> upsert =
      PrepareStatement(db_,
                       "INSERT INTO type_counts(type, n) VALUES(?1, ?2) "
                       "ON CONFLICT(type) DO UPDATE SET n = n + excluded.n");
  if (!upsert.ok()) return upsert.status();
  for (const auto& [type, n] : delta) {
    sqlite3_reset(upsert->get());
    BindText(upsert->get(), 1, type);
    sqlite3_bind_int64(upsert->get(), 2, n);
    if (sqlite3_step(upsert->get()) != SQLITE_DONE) {
      return SqliteError(db_, "saving type counts");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::map<std::string, int64_t>> AuditScratch::TypeCounts() {
  absl::StatusOr<Statement> select =
      PrepareStatement(db_, "SELECT type, n FROM type_counts ORDER BY type");
  if (!select.ok()) return select.status();
  std::map<std::string, int64_t> counts;
  int rc;
  while ((rc = sqlite3_step(select->get())) == SQLITE_ROW) {
    counts[ColumnText(select->get(), 0)] =
        sqlite3_column_int64(select->get(), 1);
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, "reading type counts");
  return counts;
}

absl::Status AuditScratch::Group() {
  absl::StatusOr<std::optional<std::string>> grouped = GetMeta("grouped");
  if (!grouped.ok()) return grouped.status();
  if (grouped->has_value()) return absl::OkStatus();
  // One transaction: either the index and the count exist, or (after a
  // kill) neither does and Group() runs again.
  if (absl::Status status = Exec("BEGIN IMMEDIATE;"
                                 "CREATE INDEX IF NOT EXISTS staged_by_patient "
                                 "  ON staged(patient, file, line);");
      !status.ok()) {
    Exec("ROLLBACK").IgnoreError();  // the first error is the one to report
    return status;
  }
  absl::StatusOr<Statement> count =
      PrepareStatement(db_, "SELECT count(DISTINCT patient) FROM staged");
  if (!count.ok()) {
    Exec("ROLLBACK").IgnoreError();  // the first error is the one to report
    return count.status();
  }
  if (sqlite3_step(count->get()) != SQLITE_ROW) {
    absl::Status status = SqliteError(db_, "counting patients");
    Exec("ROLLBACK").IgnoreError();  // the first error is the one to report
    return status;
  }
  const int64_t patients = sqlite3_column_int64(count->get(), 0);
  count->reset();
  if (absl::Status status = SetMeta("patients", absl::StrCat(patients));
      !status.ok()) {
    Exec("ROLLBACK").IgnoreError();  // the first error is the one to report
    return status;
  }
  if (absl::Status status = SetMeta("grouped", "1"); !status.ok()) {
    Exec("ROLLBACK").IgnoreError();  // the first error is the one to report
    return status;
  }
  return Exec("COMMIT");
}

absl::StatusOr<int64_t> AuditScratch::PatientCount() {
  absl::StatusOr<std::optional<std::string>> patients = GetMeta("patients");
  if (!patients.ok()) return patients.status();
  if (!patients->has_value()) {
    return absl::FailedPreconditionError("the resources are not grouped yet");
  }
  return std::stoll(**patients);
}

absl::StatusOr<std::unique_ptr<GroupedReader>> AuditScratch::OpenReader(
    const std::string& after_patient, size_t max_resources) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(
      path_.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    absl::Status status = absl::UnavailableError(
        absl::StrCat("cannot open the scratch file for reading: ",
                     db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
    sqlite3_close_v2(db);
    return status;
  }
  sqlite3_busy_timeout(db, 10000);
  sqlite3_stmt* select = nullptr;
  if (sqlite3_prepare_v2(db,
                         "SELECT patient, file, line, body FROM staged "
                         "INDEXED BY staged_by_patient WHERE patient > ?1 "
                         "ORDER BY patient, file, line",
                         -1, &select, nullptr) != SQLITE_OK) {
    absl::Status status = SqliteError(db, "reading patients");
    sqlite3_close_v2(db);
    return status;
  }
  sqlite3_bind_text(select, 1, after_patient.data(),
                    static_cast<int>(after_patient.size()), SQLITE_TRANSIENT);
  return absl::WrapUnique(new GroupedReader(db, select, max_resources));
}

absl::StatusOr<AuditProgress> AuditScratch::LoadAuditProgress() {
  absl::StatusOr<Statement> select = PrepareStatement(
      db_,
      "SELECT after_patient, findings_bytes, patients, rejected_patients, "
      "rejected_resources FROM audit_progress WHERE id = 1");
  if (!select.ok()) return select.status();
  AuditProgress progress;
  const int rc = sqlite3_step(select->get());
  if (rc == SQLITE_DONE) return progress;
  if (rc != SQLITE_ROW) return SqliteError(db_, "reading audit progress");
  sqlite3_stmt* s = select->get();
  progress.after_patient = ColumnText(s, 0);
  progress.findings_bytes = sqlite3_column_int64(s, 1);
  progress.patients_audited = sqlite3_column_int64(s, 2);
  progress.rejected_patients = sqlite3_column_int64(s, 3);
  progress.rejected_resources = sqlite3_column_int64(s, 4);
  return progress;
}

absl::Status AuditScratch::SaveAuditProgress(
    const AuditProgress& progress, const std::vector<InputError>& errors) {
  if (absl::Status status = Begin(); !status.ok()) return status;
  absl::Status status;
  for (const InputError& error : errors) {
    status = AddError(error);
    if (!status.ok()) break;
  }
  if (status.ok()) {
    absl::StatusOr<Statement> upsert = PrepareStatement(
        db_,
        "INSERT INTO audit_progress(id, after_patient, findings_bytes, "
        "patients, "
        "rejected_patients, rejected_resources) VALUES(1, ?1, ?2, ?3, ?4, ?5) "
        "ON CONFLICT(id) DO UPDATE SET after_patient = "
        "excluded.after_patient, "
        "findings_bytes = excluded.findings_bytes, patients = "
        "excluded.patients, rejected_patients = excluded.rejected_patients, "
        "rejected_resources = excluded.rejected_resources");
    if (!upsert.ok()) {
      status = upsert.status();
    } else {
      sqlite3_stmt* s = upsert->get();
      BindText(s, 1, progress.after_patient);
      sqlite3_bind_int64(s, 2, progress.findings_bytes);
      sqlite3_bind_int64(s, 3, progress.patients_audited);
      sqlite3_bind_int64(s, 4, progress.rejected_patients);
      sqlite3_bind_int64(s, 5, progress.rejected_resources);
      if (sqlite3_step(s) != SQLITE_DONE) {
        status = SqliteError(db_, "saving audit progress");
      }
    }
  }
  if (!status.ok()) {
    Exec("ROLLBACK").IgnoreError();  // the first error is the one to report
    return status;
  }
  return Commit();
}

absl::Status AuditScratch::ForEachError(
    const std::function<absl::Status(const InputError&)>& visit) {
  absl::StatusOr<Statement> select = PrepareStatement(
      db_,
      "SELECT file, line, message FROM errors ORDER BY file, line, message");
  if (!select.ok()) return select.status();
  int rc;
  InputError error;
  while ((rc = sqlite3_step(select->get())) == SQLITE_ROW) {
    error.file = sqlite3_column_int(select->get(), 0);
    error.line = sqlite3_column_int64(select->get(), 1);
    error.message = ColumnText(select->get(), 2);
    if (absl::Status status = visit(error); !status.ok()) return status;
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, "reading errors");
  return absl::OkStatus();
}

}  // namespace needlecheck::batch
