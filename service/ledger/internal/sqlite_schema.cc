#include "service/ledger/internal/sqlite_schema.h"

#include "absl/strings/str_cat.h"

namespace needlecheck::ledger::internal {
namespace {

using ::needlecheck::sqlite::Connection;
using ::needlecheck::sqlite::InTransaction;
using ::needlecheck::sqlite::Statement;

// Version 1: the tables.
//   screenings  one row per Screen call.
//   alerts      one row per alert issued; issued_day is the UTC day of the
//               screening (denormalised so statistics need no join).
//   feedback    what clinicians did; unique per (alert, outcome, instant).
//   feedback_suggestions  accepted suggestion ids, in request order.
// Times are Unix microseconds (UTC); days are "YYYY-MM-DD" (UTC), which
// sort as text.
constexpr char kV1[] = R"sql(
CREATE TABLE screenings (
  id INTEGER PRIMARY KEY,
  request_id TEXT NOT NULL,
  screened_at_us INTEGER NOT NULL,
  screened_day TEXT NOT NULL,
  patient_id TEXT NOT NULL,
  kb_version TEXT NOT NULL
);
CREATE TABLE alerts (
  alert_id TEXT PRIMARY KEY,
  screening_id INTEGER NOT NULL REFERENCES screenings(id),
  rule_id TEXT NOT NULL,
  severity INTEGER NOT NULL,
  issued_day TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX alerts_by_screening ON alerts(screening_id);
CREATE TABLE feedback (
  id INTEGER PRIMARY KEY,
  feedback_id TEXT NOT NULL UNIQUE,
  alert_id TEXT NOT NULL REFERENCES alerts(alert_id),
  outcome INTEGER NOT NULL,
  outcome_timestamp TEXT NOT NULL,
  outcome_at_us INTEGER NOT NULL,
  reason_system TEXT NOT NULL DEFAULT '',
  reason_code TEXT NOT NULL DEFAULT '',
  reason_display TEXT NOT NULL DEFAULT '',
  user_comment TEXT NOT NULL DEFAULT '',
  service_id TEXT NOT NULL DEFAULT '',
  recorded_at_us INTEGER NOT NULL,
  UNIQUE (alert_id, outcome, outcome_at_us)
);
CREATE TABLE feedback_suggestions (
  feedback_row INTEGER NOT NULL REFERENCES feedback(id),
  position INTEGER NOT NULL,
  suggestion_id TEXT NOT NULL,
  PRIMARY KEY (feedback_row, position)
) WITHOUT ROWID;
)sql";

// Version 2: indexes for GetAlertStats: screenings by day, and a covering
// index of alerts by (day, rule) with the severity, so a date range reads
// only its part of the index. (Feedback by alert uses the UNIQUE index of
// version 1, which starts with alert_id.)
constexpr char kV2[] = R"sql(
CREATE INDEX screenings_by_day ON screenings(screened_day);
CREATE INDEX alerts_by_day_rule ON alerts(issued_day, rule_id, severity);
)sql";

// Version 3: the access-audit trail (access_log.h). Append-only: triggers
// abort every UPDATE, and every DELETE of a row at or after the retention
// cutoff, which is 0 except inside the pruning pass's transaction (a
// missing cutoff row counts as 0, so deleting it opens nothing). Times are Unix
// microseconds (UTC).
constexpr char kV3[] = R"sql(
CREATE TABLE access_log (
  id INTEGER PRIMARY KEY,
  at_us INTEGER NOT NULL,
  caller TEXT NOT NULL,
  on_behalf_iss TEXT NOT NULL DEFAULT '',
  on_behalf_sub TEXT NOT NULL DEFAULT '',
  on_behalf_tenant TEXT NOT NULL DEFAULT '',
  on_behalf_user TEXT NOT NULL DEFAULT '',
  action TEXT NOT NULL,
  patient_id TEXT NOT NULL DEFAULT '',
  outcome TEXT NOT NULL,
  trace_id TEXT NOT NULL DEFAULT '',
  detail TEXT NOT NULL DEFAULT '',
  stream_index INTEGER NOT NULL DEFAULT -1
);
CREATE INDEX access_log_by_time ON access_log(at_us);
CREATE INDEX access_log_by_patient ON access_log(patient_id, at_us);
CREATE TABLE access_log_retention (
  only INTEGER PRIMARY KEY CHECK (only = 1),
  cutoff_us INTEGER NOT NULL
);
INSERT INTO access_log_retention (only, cutoff_us) VALUES (1, 0);
CREATE TRIGGER access_log_no_update BEFORE UPDATE ON access_log
BEGIN
  SELECT RAISE(ABORT, 'access_log is append-only: records are never updated');
END;
CREATE TRIGGER access_log_no_delete BEFORE DELETE ON access_log
WHEN old.at_us >= COALESCE((SELECT cutoff_us FROM access_log_retention
                            WHERE only = 1), 0)
BEGIN
  SELECT RAISE(ABORT, 'access_log is append-only: only the pruning pass deletes, and only records past the retention period');
END;
)sql";

// Version 4: statistics from per-day counts instead of per-alert index
// entries, so a screening writes 8 B-tree entries instead of 17 (the
// writer's cost). screening_days and alert_days hold, per UTC day (and per
// rule and severity), how many screenings and alerts were recorded; the
// writer adds each batch's counts in the batch's transaction. Feedback
// carries the day of its alert (issued_day, indexed), so the feedback of a
// period is found without reading the period's alerts. The indexes that
// counts replace go, as does alerts_by_screening, which no query used.
constexpr char kV4[] = R"sql(
CREATE TABLE screening_days (
  day TEXT PRIMARY KEY,
  screenings INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO screening_days (day, screenings)
  SELECT screened_day, COUNT(*) FROM screenings GROUP BY screened_day;
CREATE TABLE alert_days (
  day TEXT NOT NULL,
  rule_id TEXT NOT NULL,
  severity INTEGER NOT NULL,
  alerts INTEGER NOT NULL,
  PRIMARY KEY (day, rule_id, severity)
) WITHOUT ROWID;
INSERT INTO alert_days (day, rule_id, severity, alerts)
  SELECT issued_day, rule_id, severity, COUNT(*) FROM alerts
  GROUP BY issued_day, rule_id, severity;
ALTER TABLE feedback ADD COLUMN issued_day TEXT NOT NULL DEFAULT '';
UPDATE feedback SET issued_day = COALESCE(
  (SELECT a.issued_day FROM alerts a WHERE a.alert_id = feedback.alert_id), '');
CREATE INDEX feedback_by_day ON feedback(issued_day);
DROP INDEX alerts_by_screening;
DROP INDEX alerts_by_day_rule;
DROP INDEX screenings_by_day;
)sql";

absl::Status FailedPrecondition(const std::string& path,
                                absl::string_view problem) {
  return absl::FailedPreconditionError(
      absl::StrCat("ledger \"", path, "\": ", problem));
}

}  // namespace

const std::vector<Migration>& Migrations() {
  static const auto* const kMigrations = new std::vector<Migration>{
      {1, "tables: screenings, alerts, feedback, feedback_suggestions", kV1},
      {2, "indexes for alert statistics", kV2},
      {3, "access-audit trail: access_log, append-only", kV3},
      {4, "statistics from per-day counts; feedback by day", kV4},
  };
  return *kMigrations;
}

int LatestSchemaVersion() { return Migrations().back().version; }

absl::Status MigrateTo(Connection& db, const std::string& path, int target) {
  for (const Migration& m : Migrations()) {
    if (m.version > target) break;
    absl::Status status = InTransaction(db, [&]() -> absl::Status {
      // Read inside the transaction: another process may have migrated.
      absl::StatusOr<int64_t> version = db.PragmaInt("user_version");
      if (!version.ok()) return version.status();
      absl::StatusOr<int64_t> app_id = db.PragmaInt("application_id");
      if (!app_id.ok()) return app_id.status();
      if (*version > LatestSchemaVersion()) {
        return FailedPrecondition(
            path, absl::StrCat("schema version ", *version,
                               " is newer than this needlecheckd supports (",
                               LatestSchemaVersion(),
                               "); it was written by a newer needlecheckd. Run "
                               "that version, or use another --data_dir"));
      }
      if (*version == 0) {
        // A new file must be empty: never adopt someone else's database.
        absl::StatusOr<Statement> tables =
            db.Prepare("SELECT COUNT(*) FROM sqlite_master", "count tables");
        if (!tables.ok()) return tables.status();
        absl::StatusOr<bool> row = tables->Step();
        if (!row.ok()) return row.status();
        if (tables->ColumnInt(0) != 0) {
          return FailedPrecondition(
              path,
              "not a needlecheck ledger (an unversioned SQLite file "
              "with tables)");
        }
      } else if (*app_id != kApplicationId) {
        return FailedPrecondition(
            path, "not a needlecheck ledger (wrong application_id)");
      }
      if (*version >= m.version) return absl::OkStatus();
      if (absl::Status s = db.Exec(m.sql); !s.ok()) {
        return absl::Status(
            s.code(), absl::StrCat("migration to schema version ", m.version,
                                   " (", m.description, "): ", s.message()));
      }
      if (absl::Status s =
              db.Exec(absl::StrCat("PRAGMA application_id = ", kApplicationId,
                                   "; PRAGMA user_version = ", m.version));
          !s.ok()) {
        return s;
      }
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

}  // namespace needlecheck::ledger::internal
