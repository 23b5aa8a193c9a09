#include "adapters/hl7v2/state/sqlite_state_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "adapters/hl7v2/state/internal/transactional_store.h"
#include "common/sqlite/sqlite_db.h"

namespace needlecheck::hl7v2 {
namespace {

using ::needlecheck::sqlite::Connection;
using ::needlecheck::sqlite::InTransaction;
using ::needlecheck::sqlite::QuickCheckResult;
using ::needlecheck::sqlite::Statement;

// "NCH7": marks a state-store file.
constexpr int64_t kApplicationId = 0x4E434837;
constexpr absl::Duration kBusyTimeout = absl::Seconds(10);
constexpr absl::Duration kQuickCheckTimeLimit = absl::Seconds(20);

// Version 1: the tables. Keys, ACKs and messages are BLOBs: stored and
// compared byte-exact, whatever character set the sender used.
constexpr char kSchemaV1[] = R"sql(
CREATE TABLE hl7_patients (
  id INTEGER PRIMARY KEY,
  record BLOB NOT NULL,
  updated_at_us INTEGER NOT NULL
);
CREATE TABLE hl7_identifiers (
  id_key BLOB PRIMARY KEY,
  patient_id INTEGER NOT NULL REFERENCES hl7_patients (id)
) WITHOUT ROWID;
CREATE INDEX hl7_identifiers_by_patient ON hl7_identifiers (patient_id);
CREATE TABLE hl7_answers (
  sender BLOB NOT NULL,
  control_id BLOB NOT NULL,
  ack BLOB NOT NULL,
  answered_at_us INTEGER NOT NULL,
  PRIMARY KEY (sender, control_id)
) WITHOUT ROWID;
CREATE INDEX hl7_answers_by_time ON hl7_answers (answered_at_us);
CREATE TABLE hl7_outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  message BLOB NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  created_at_us INTEGER NOT NULL,
  last_attempt_at_us INTEGER
);
)sql";
constexpr int kLatestVersion = 1;

absl::Status Prefixed(const absl::Status& status, const std::string& path) {
  if (absl::StrContains(status.message(), path)) {
    return absl::Status(status.code(),
                        absl::StrCat("hl7 state store: ", status.message()));
  }
  return absl::Status(status.code(), absl::StrCat("hl7 state store \"", path,
                                                  "\": ", status.message()));
}

class SqliteTransaction final : public internal::StateTransaction {
 public:
  explicit SqliteTransaction(Connection& db) : db_(db) {}

  absl::StatusOr<std::optional<std::string>> ClaimAnswer(
      const MessageKey& key, absl::string_view ack, int64_t now_us) override {
    absl::StatusOr<Statement> insert = db_.Prepare(
        "INSERT INTO hl7_answers (sender, control_id, ack, answered_at_us) "
        "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
        "record the answer");
    if (!insert.ok()) return insert.status();
    insert->BindBlob(1, key.sender)
        .BindBlob(2, key.control_id)
        .BindBlob(3, ack)
        .BindInt(4, now_us);
    if (absl::Status s = insert->Run(); !s.ok()) return s;
    if (sqlite3_changes(db_.raw()) == 1) return std::nullopt;
    absl::StatusOr<std::optional<std::string>> first = FindAnswer(key);
    if (!first.ok()) return first.status();
    if (!first->has_value()) {
      return absl::InternalError("an answer vanished inside its transaction");
    }
    return first;
  }

  absl::StatusOr<std::optional<std::string>> FindAnswer(
      const MessageKey& key) override {
    absl::StatusOr<Statement> find = db_.Prepare(
        "SELECT ack FROM hl7_answers WHERE sender = ? AND control_id = ?",
        "find the answer");
    if (!find.ok()) return find.status();
    find->BindBlob(1, key.sender).BindBlob(2, key.control_id);
    absl::StatusOr<bool> row = find->Step();
    if (!row.ok()) return row.status();
    if (!*row) return std::nullopt;
    return find->ColumnBlob(0);
  }

  // BEGIN IMMEDIATE already excludes every other writer.
  absl::Status LockIdentifiers(const std::vector<std::string>&) override {
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<int64_t>> FindPatients(
      const std::vector<std::string>& keys) override {
    absl::StatusOr<Statement> find =
        db_.Prepare("SELECT patient_id FROM hl7_identifiers WHERE id_key = ?",
                    "find the patient");
    if (!find.ok()) return find.status();
    std::vector<int64_t> patients;
    for (const std::string& key : keys) {
      find->Reset();
      find->BindBlob(1, key);
      absl::StatusOr<bool> row = find->Step();
      if (!row.ok()) return row.status();
      if (!*row) continue;
      const int64_t patient = find->ColumnInt(0);
      if (std::find(patients.begin(), patients.end(), patient) ==
          patients.end()) {
        patients.push_back(patient);
      }
    }
    return patients;
  }

  absl::StatusOr<std::string> LoadRecord(int64_t patient) override {
    absl::StatusOr<Statement> load = db_.Prepare(
        "SELECT record FROM hl7_patients WHERE id = ?", "load the record");
    if (!load.ok()) return load.status();
    load->BindInt(1, patient);
    absl::StatusOr<bool> row = load->Step();
    if (!row.ok()) return row.status();
    if (!*row) {
      return absl::DataLossError(
          absl::StrCat("patient row ", patient, " is linked but missing"));
    }
    return load->ColumnBlob(0);
  }

  absl::StatusOr<int64_t> InsertPatient(absl::string_view record,
                                        int64_t now_us) override {
    absl::StatusOr<Statement> insert = db_.Prepare(
        "INSERT INTO hl7_patients (record, updated_at_us) VALUES (?, ?)",
        "insert the patient");
    if (!insert.ok()) return insert.status();
    insert->BindBlob(1, record).BindInt(2, now_us);
    if (absl::Status s = insert->Run(); !s.ok()) return s;
    return sqlite3_last_insert_rowid(db_.raw());
  }

  absl::Status UpdateRecord(int64_t patient, absl::string_view record,
                            int64_t now_us) override {
    return RunWith(
        "UPDATE hl7_patients SET record = ?, updated_at_us = ? WHERE id = ?",
        "save the record", [&](Statement& s) {
          s.BindBlob(1, record).BindInt(2, now_us).BindInt(3, patient);
        });
  }

  absl::Status DeletePatient(int64_t patient) override {
    return RunWith("DELETE FROM hl7_patients WHERE id = ?",
                   "delete the prior patient",
                   [&](Statement& s) { s.BindInt(1, patient); });
  }

  absl::Status RelinkPatient(int64_t from, int64_t to) override {
    return RunWith(
        "UPDATE hl7_identifiers SET patient_id = ? WHERE patient_id = ?",
        "re-link identifiers",
        [&](Statement& s) { s.BindInt(1, to).BindInt(2, from); });
  }

  absl::Status LinkIdentifiers(const std::vector<std::string>& keys,
                               int64_t patient) override {
    absl::StatusOr<Statement> link = db_.Prepare(
        "INSERT INTO hl7_identifiers (id_key, patient_id) VALUES (?, ?) "
        "ON CONFLICT (id_key) DO UPDATE SET patient_id = excluded.patient_id",
        "link the identifiers");
    if (!link.ok()) return link.status();
    for (const std::string& key : keys) {
      link->Reset();
      link->BindBlob(1, key).BindInt(2, patient);
      if (absl::Status s = link->Run(); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status QueueOutbound(absl::string_view message,
                             int64_t now_us) override {
    return RunWith(
        "INSERT INTO hl7_outbox (message, created_at_us) VALUES (?, ?)",
        "queue the outbound message",
        [&](Statement& s) { s.BindBlob(1, message).BindInt(2, now_us); });
  }

  absl::StatusOr<std::vector<PatientStateStore::OutboundMessage>> ListOutbound(
      int limit) override {
    absl::StatusOr<Statement> list = db_.Prepare(
        "SELECT id, message, attempts FROM hl7_outbox ORDER BY id LIMIT ?",
        "list the outbox");
    if (!list.ok()) return list.status();
    list->BindInt(1, limit);
    std::vector<PatientStateStore::OutboundMessage> pending;
    while (true) {
      absl::StatusOr<bool> row = list->Step();
      if (!row.ok()) return row.status();
      if (!*row) return pending;
      PatientStateStore::OutboundMessage& m = pending.emplace_back();
      m.id = list->ColumnInt(0);
      m.message = list->ColumnBlob(1);
      m.attempts = static_cast<int>(list->ColumnInt(2));
    }
  }

  absl::StatusOr<bool> DeleteOutbound(int64_t id) override {
    absl::Status s = RunWith("DELETE FROM hl7_outbox WHERE id = ?",
                             "remove the delivered message",
                             [&](Statement& st) { st.BindInt(1, id); });
    if (!s.ok()) return s;
    return sqlite3_changes(db_.raw()) == 1;
  }

  absl::StatusOr<bool> CountAttempt(int64_t id, int64_t now_us) override {
    absl::Status s = RunWith(
        "UPDATE hl7_outbox SET attempts = attempts + 1, "
        "last_attempt_at_us = ? WHERE id = ?",
        "count the attempt",
        [&](Statement& st) { st.BindInt(1, now_us).BindInt(2, id); });
    if (!s.ok()) return s;
    return sqlite3_changes(db_.raw()) == 1;
  }

  absl::Status DeleteAnswersBefore(int64_t before_us) override {
    return RunWith("DELETE FROM hl7_answers WHERE answered_at_us < ?",
                   "prune the answers",
                   [&](Statement& s) { s.BindInt(1, before_us); });
  }

 private:
  template <typename Bind>
  absl::Status RunWith(absl::string_view sql, absl::string_view what,
                       Bind bind) {
    absl::StatusOr<Statement> stmt = db_.Prepare(sql, what);
    if (!stmt.ok()) return stmt.status();
    bind(*stmt);
    return stmt->Run();
  }

  Connection& db_;
};

class SqliteStateStore final : public internal::TransactionalStateStore {
 public:
  SqliteStateStore(std::string path, std::unique_ptr<Connection> writer,
                   std::unique_ptr<Connection> reader)
      : path_(std::move(path)),
        writer_(std::move(writer)),
        reader_(std::move(reader)) {}

 protected:
  absl::Status RunTransaction(Mode mode, const Body& body) override {
    absl::Status status;
    if (mode == Mode::kWrite) {
      status = RunGroupedWrite(body);
    } else {
      absl::MutexLock lock(&read_mu_);
      SqliteTransaction tx(*reader_);
      status = reader_->Exec("BEGIN");
      if (status.ok()) status = body(tx);
      // A read has nothing to keep: ending it either way releases the
      // snapshot.
      absl::Status end = reader_->Exec(status.ok() ? "COMMIT" : "ROLLBACK");
      if (status.ok()) status = end;
    }
    if (status.ok()) return status;
    return Prefixed(status, path_);
  }

 private:
  // One write transaction waiting for (or in) a group commit.
  struct PendingWrite {
    const Body* body = nullptr;
    absl::Status status;
    bool done = false;
  };

  // Group commit: write transactions that arrive while a commit is in
  // flight wait for it, then run together in one SQLite transaction, each
  // inside its own SAVEPOINT (a body's error undoes only its own changes),
  // and share one COMMIT, so one fsync makes the whole group durable. No
  // caller returns before the COMMIT holding its changes succeeded; when it
  // fails, every body of the group gets the error and none of it is kept.
  absl::Status RunGroupedWrite(const Body& body) {
    PendingWrite mine;
    mine.body = &body;
    absl::MutexLock lock(&queue_mu_);
    queue_.push_back(&mine);
    while (!mine.done) {
      if (leader_active_) {
        queue_changed_.Wait(&queue_mu_);
        continue;
      }
      // Lead: commit everything queued so far (ours included).
      leader_active_ = true;
      std::vector<PendingWrite*> group;
      group.swap(queue_);
      queue_mu_.Unlock();
      CommitGroup(group);
      queue_mu_.Lock();
      for (PendingWrite* write : group) write->done = true;
      leader_active_ = false;
      queue_changed_.SignalAll();
    }
    return mine.status;
  }

  void CommitGroup(const std::vector<PendingWrite*>& group) {
    absl::MutexLock lock(&write_mu_);
    SqliteTransaction tx(*writer_);
    const absl::Status begin = writer_->Exec("BEGIN IMMEDIATE");
    if (!begin.ok()) {
      for (PendingWrite* write : group) write->status = begin;
      return;
    }
    absl::Status aborted;  // set once SQLite itself ended the transaction
    for (PendingWrite* write : group) {
      if (!aborted.ok()) {
        write->status = aborted;
        continue;
      }
      absl::Status status = writer_->Exec("SAVEPOINT grouped_write");
      if (status.ok()) {
        status = (*write->body)(tx);
        if (status.ok()) {
          status = writer_->Exec("RELEASE grouped_write");
        } else if (sqlite3_get_autocommit(writer_->raw()) != 0) {
          // A disk or I/O error rolled the whole transaction back: the
          // group's earlier bodies are gone too.
          aborted = status;
        } else {
          writer_->Exec("ROLLBACK TO grouped_write").IgnoreError();
          writer_->Exec("RELEASE grouped_write").IgnoreError();
        }
      }
      write->status = status;
    }
    absl::Status end = aborted.ok() ? writer_->Exec("COMMIT") : aborted;
    if (!end.ok()) {
      // A failed COMMIT may leave the transaction open; ROLLBACK ends it
      // (and fails harmlessly when SQLite already rolled back).
      writer_->Exec("ROLLBACK").IgnoreError();
      for (PendingWrite* write : group) {
        if (write->status.ok()) write->status = end;
      }
    }
  }

  const std::string path_;
  absl::Mutex queue_mu_;
  absl::CondVar queue_changed_;
  std::vector<PendingWrite*> queue_ ABSL_GUARDED_BY(queue_mu_);
  bool leader_active_ ABSL_GUARDED_BY(queue_mu_) = false;
  absl::Mutex write_mu_;
  std::unique_ptr<Connection> writer_ ABSL_GUARDED_BY(write_mu_);
  absl::Mutex read_mu_;
  std::unique_ptr<Connection> reader_ ABSL_GUARDED_BY(read_mu_);
};

absl::Status Configure(Connection& db) {
  if (absl::Status s = db.UseWal(); !s.ok()) return s;
  return db.Exec(
      "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; "
      "PRAGMA trusted_schema = OFF");
}

// Refuses damaged files and files that are not SQLite databases, before
// anything writes to them.
absl::Status CheckFile(Connection& db) {
  absl::StatusOr<QuickCheckResult> check =
      db.QuickCheck(kQuickCheckTimeLimit, /*max_problems=*/5);
  if (!check.ok()) return check.status();
  switch (check->outcome) {
    case QuickCheckResult::Outcome::kOk:
    case QuickCheckResult::Outcome::kIncomplete:
      break;
    case QuickCheckResult::Outcome::kDamaged:
      return absl::DataLossError(
          absl::StrCat("the file is damaged (PRAGMA quick_check: ",
                       check->problems.empty() ? "" : check->problems.front(),
                       "); restore it from a backup or move it aside"));
    case QuickCheckResult::Outcome::kNotADatabase:
      return absl::DataLossError(
          "not a SQLite database; restore it from a backup or move it aside");
  }
  return absl::OkStatus();
}

// Refuses other programs' databases and newer schemas; creates or migrates
// the schema.
absl::Status PrepareSchema(Connection& db) {
  return InTransaction(db, [&]() -> absl::Status {
    absl::StatusOr<int64_t> app = db.PragmaInt("application_id");
    if (!app.ok()) return app.status();
    absl::StatusOr<int64_t> version = db.PragmaInt("user_version");
    if (!version.ok()) return version.status();
    absl::StatusOr<Statement> tables =
        db.Prepare("SELECT COUNT(*) FROM sqlite_schema", "count the tables");
    if (!tables.ok()) return tables.status();
    absl::StatusOr<bool> row = tables->Step();
    if (!row.ok()) return row.status();
    const bool empty = tables->ColumnInt(0) == 0;
    if (*app != kApplicationId && !(empty && *app == 0)) {
      return absl::FailedPreconditionError(
          "a SQLite file that is not a needlecheck-hl7 state store (another "
          "program's database?); give the store its own file");
    }
    if (*version > kLatestVersion) {
      return absl::FailedPreconditionError(
          absl::StrCat("schema version ", *version,
                       " is newer than this needlecheck-hl7 "
                       "supports (",
                       kLatestVersion,
                       "); it was written by a newer "
                       "needlecheck-hl7. Run that version"));
    }
    if (*version == kLatestVersion) return absl::OkStatus();
    if (*version == 0) {
      if (absl::Status s = db.Exec(kSchemaV1); !s.ok()) return s;
    }
    return db.Exec(absl::StrCat("PRAGMA application_id = ", kApplicationId,
                                "; PRAGMA user_version = ", kLatestVersion));
  });
}

// Opens `path`: the first connection creates the file and checks it.
absl::StatusOr<std::unique_ptr<Connection>> OpenConnection(
    const std::string& path, bool first) {
  absl::StatusOr<std::unique_ptr<Connection>> db =
      Connection::Open(path, /*read_only=*/false, first, kBusyTimeout);
  if (!db.ok()) {
    if (db.status().code() != absl::StatusCode::kUnavailable) {
      return db.status();
    }
    return absl::UnavailableError(absl::StrCat(
        db.status().message(), "; its folder must exist and be writable"));
  }
  if (first) {
    if (absl::Status s = CheckFile(**db); !s.ok()) return s;
  }
  if (absl::Status s = Configure(**db); !s.ok()) return s;
  return db;
}

}  // namespace

int LatestSqliteStateSchemaVersion() { return kLatestVersion; }

absl::StatusOr<std::unique_ptr<PatientStateStore>> OpenSqliteStateStore(
    const std::string& path) {
  absl::StatusOr<std::unique_ptr<Connection>> writer =
      OpenConnection(path, /*first=*/true);
  if (!writer.ok()) return Prefixed(writer.status(), path);
  if (absl::Status s = PrepareSchema(**writer); !s.ok()) {
    return Prefixed(s, path);
  }
  absl::StatusOr<std::unique_ptr<Connection>> reader =
      OpenConnection(path, /*first=*/false);
  if (!reader.ok()) return Prefixed(reader.status(), path);
  return std::unique_ptr<PatientStateStore>(
      new SqliteStateStore(path, *std::move(writer), *std::move(reader)));
}

}  // namespace needlecheck::hl7v2
