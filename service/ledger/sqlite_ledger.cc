#include "service/ledger/sqlite_ledger.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/calendar/day.h"
#include "common/files/atomic_file.h"
#include "common/ids/uuid.h"
#include "common/sqlite/sqlite_db.h"
#include "service/ledger/internal/queued_ledger.h"
#include "service/ledger/internal/sqlite_schema.h"
#include "service/ledger/internal/write_queue.h"
#include "service/ledger/validation.h"

namespace needlecheck::ledger {
namespace {

using internal::QueuedWrite;
using ::needlecheck::sqlite::Connection;
using ::needlecheck::sqlite::InTransaction;
using ::needlecheck::sqlite::Statement;
using ::needlecheck::v1::AlertStats;
using ::needlecheck::v1::GetAlertStatsRequest;
using ::needlecheck::v1::RecordFeedbackRequest;
using ::needlecheck::v1::RecordFeedbackResponse;
using ::needlecheck::v1::RuleStats;

// Findings of the integrity check quoted in an error, at most.
constexpr int kMaxCheckProblems = 3;

// Day bounds standing for "no bound" (days compare as text).
constexpr char kNoFromDay[] = "0000-00-00";
constexpr char kNoToDay[] = "9999-99-99";

// The write connection's page cache, in KiB.
constexpr int kWriteCacheKib = 64 * 1024;

// Rows deleted per pruning transaction, at most, so that a long-overdue
// prune never holds the write lock for long.
constexpr int kPruneRowsPerTransaction = 10000;

absl::Status Closed() { return internal::LedgerClosed(); }

// Runs a reused statement and resets it at once, so that no statement is
// left pending when its transaction commits or rolls back.
absl::Status RunAndReset(Statement& statement) {
  absl::Status status = statement.Run();
  statement.Reset();
  return status;
}

// UtcDay() of the instants of a batch, formatted once per day: a batch's
// screenings fall on one day, or two around midnight.
class UtcDayText {
 public:
  const std::string& Of(absl::Time t) {
    const DayNumber day = UtcDayOf(t);
    if (text_.empty() || day != day_) {
      day_ = day;
      text_ = FormatDay(day);
    }
    return text_;
  }

 private:
  DayNumber day_ = 0;
  std::string text_;
};

// The statements of a batch (WriteBatch): three inserts, and the two
// upserts that add the batch's counts to screening_days and alert_days.
struct BatchStatements {
  Statement screening;
  Statement alert;
  Statement access;
  Statement count_screenings;
  Statement count_alerts;
};

// The screenings and alerts of one batch counted per day (and per rule and
// severity), added to the per-day count tables once per batch instead of
// once per row. A batch spans one day, or two around midnight.
class BatchCounts {
 public:
  // Counts a screening on `day` with `alerts`; the rule ids must outlive
  // this object (they live in the batch).
  void Add(const std::string& day, const std::vector<IssuedAlert>& alerts) {
    if (days_.empty() || days_.back().day != day) {
      auto it = std::find_if(days_.begin(), days_.end(),
                             [&](const Day& d) { return d.day == day; });
      if (it == days_.end()) {
        days_.push_back(Day{day, 0, {}});
      } else {
        std::iter_swap(it, days_.end() - 1);
      }
    }
    Day& d = days_.back();
    ++d.screenings;
    for (const IssuedAlert& alert : alerts) {
      ++d.alerts[{alert.rule_id, static_cast<int>(alert.severity)}];
    }
  }

  // Adds the counts through the two prepared upserts.
  absl::Status Write(Statement& count_screenings, Statement& count_alerts) {
    for (const Day& d : days_) {
      count_screenings.BindTextNoCopy(1, d.day).BindInt(2, d.screenings);
      if (absl::Status s = RunAndReset(count_screenings); !s.ok()) return s;
      for (const auto& [key, n] : d.alerts) {
        count_alerts.BindTextNoCopy(1, d.day)
            .BindTextNoCopy(2, key.first)
            .BindInt(3, key.second)
            .BindInt(4, n);
        if (absl::Status s = RunAndReset(count_alerts); !s.ok()) return s;
      }
    }
    return absl::OkStatus();
  }

 private:
  struct Day {
    std::string day;
    int64_t screenings;
    absl::flat_hash_map<std::pair<absl::string_view, int>, int64_t> alerts;
  };
  std::vector<Day> days_;
};

class SqliteLedger final : public internal::QueuedLedger {
 public:
  SqliteLedger(const SqliteLedgerOptions& options, std::string path,
               std::unique_ptr<Connection> write_db,
               std::unique_ptr<Connection> read_db)
      : options_(options),
        path_(std::move(path)),
        write_db_(std::move(write_db)),
        read_db_(std::move(read_db)) {
    internal::WriteQueueOptions queue =
        internal::WriteQueueOptionsFrom(options);
    queue.refuse_screenings_while_failing = true;
    queue.storage = "the disk";
    // Last: its writer thread uses everything above.
    StartQueue(std::move(queue));
  }

  ~SqliteLedger() override { Close().IgnoreError(); }

  absl::StatusOr<AlertStats> GetAlertStats(
      const GetAlertStatsRequest& request) override;
  absl::Status Close() override;

  absl::StatusOr<AccessLogPage> ReadAccessLog(
      const AccessLogQuery& query) override;
  absl::StatusOr<int64_t> DeleteExpired() override
      ABSL_LOCKS_EXCLUDED(write_mu_);

 private:
  // The batch inserts of write_db_, prepared once.
  absl::StatusOr<BatchStatements*> PreparedBatchStatements()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  absl::Status WriteBatch(const std::vector<QueuedWrite>& batch) override
      ABSL_LOCKS_EXCLUDED(write_mu_);
  absl::StatusOr<RecordFeedbackResponse> InsertFeedback(
      const RecordFeedbackRequest& request, absl::Time outcome_at,
      const std::string& new_feedback_id) override
      ABSL_LOCKS_EXCLUDED(write_mu_);
  absl::Status ReadStats(const GetAlertStatsRequest& request, AlertStats* stats)
      ABSL_LOCKS_EXCLUDED(read_mu_);
  absl::Time Now() const {
    return options_.clock ? options_.clock() : absl::Now();
  }
  // The test-only fault (options_.fail_writes_while_exists).
  absl::Status InjectedFault() const;

  const SqliteLedgerOptions options_;
  const std::string path_;

  // The connection all writes go through (writer thread and feedback).
  absl::Mutex write_mu_;
  std::unique_ptr<Connection> write_db_ ABSL_GUARDED_BY(write_mu_);
  // The batch inserts, prepared on the first batch and reused for every
  // later one (finalized before write_db_ closes).
  std::optional<BatchStatements> batch_statements_ ABSL_GUARDED_BY(write_mu_);
  // A query_only connection for statistics, so reads never wait for the
  // write lock (WAL readers see the last commit).
  absl::Mutex read_mu_;
  std::unique_ptr<Connection> read_db_ ABSL_GUARDED_BY(read_mu_);

  absl::Mutex close_mu_;
  bool close_started_ ABSL_GUARDED_BY(close_mu_) = false;
  absl::Status close_status_ ABSL_GUARDED_BY(close_mu_);

  // The batched writer (internal/write_queue.h).
};

absl::Status SqliteLedger::InjectedFault() const {
  if (options_.fail_writes_while_exists.empty()) return absl::OkStatus();
  struct stat st;
  if (stat(options_.fail_writes_while_exists.c_str(), &st) != 0) {
    return absl::OkStatus();
  }
  return absl::UnavailableError(
      "database or disk is full (injected: the test-only fault file exists)");
}

absl::StatusOr<BatchStatements*> SqliteLedger::PreparedBatchStatements() {
  if (batch_statements_.has_value()) return &*batch_statements_;
  Connection& db = *write_db_;
  absl::StatusOr<Statement> screening = db.Prepare(
      "INSERT INTO screenings (request_id, screened_at_us, screened_day, "
      "patient_id, kb_version) VALUES (?1, ?2, ?3, ?4, ?5)",
      "insert screening");
  if (!screening.ok()) return screening.status();
  absl::StatusOr<Statement> alert = db.Prepare(
      "INSERT INTO alerts (alert_id, screening_id, rule_id, severity, "
      "issued_day) VALUES (?1, ?2, ?3, ?4, ?5)",
      "insert alert");
  if (!alert.ok()) return alert.status();
  // The patient of an alert is looked up in the same transaction: the
  // alert was queued before (and so is committed no later than) this row.
  absl::StatusOr<Statement> access = db.Prepare(
      "INSERT INTO access_log (at_us, caller, on_behalf_iss, on_behalf_sub, "
      "on_behalf_tenant, on_behalf_user, action, patient_id, outcome, "
      "trace_id, detail, stream_index) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
      "COALESCE(NULLIF(?8, ''), (SELECT s.patient_id FROM alerts a JOIN "
      "screenings s ON s.id = a.screening_id WHERE a.alert_id = ?13), ''), "
      "?9, ?10, ?11, ?12)",
      "insert access record");
  if (!access.ok()) return access.status();
  absl::StatusOr<Statement> count_screenings = db.Prepare(
      "INSERT INTO screening_days (day, screenings) VALUES (?1, ?2) "
      "ON CONFLICT (day) DO UPDATE SET screenings = screenings + "
      "excluded.screenings",
      "count screenings");
  if (!count_screenings.ok()) return count_screenings.status();
  absl::StatusOr<Statement> count_alerts = db.Prepare(
      "INSERT INTO alert_days (day, rule_id, severity, alerts) VALUES (?1, "
      "?2, ?3, ?4) ON CONFLICT (day, rule_id, severity) DO UPDATE SET "
      "alerts = alerts + excluded.alerts",
      "count alerts");
  if (!count_alerts.ok()) return count_alerts.status();
  batch_statements_.emplace(BatchStatements{
      *std::move(screening), *std::move(alert), *std::move(access),
      *std::move(count_screenings), *std::move(count_alerts)});
  return &*batch_statements_;
}

absl::Status SqliteLedger::WriteBatch(const std::vector<QueuedWrite>& batch) {
  absl::MutexLock lock(&write_mu_);
  if (write_db_ == nullptr) return Closed();
  if (absl::Status s = InjectedFault(); !s.ok()) return s;
  Connection& db = *write_db_;
  absl::StatusOr<BatchStatements*> statements = PreparedBatchStatements();
  if (!statements.ok()) return statements.status();
  Statement& insert_screening = (*statements)->screening;
  Statement& insert_alert = (*statements)->alert;
  Statement& insert_access = (*statements)->access;
  // The bound text is not copied: every value lives in `batch` (or `day`,
  // or `counts`) until RunAndReset() clears the bindings.
  UtcDayText day;
  BatchCounts counts;
  return InTransaction(db, [&]() -> absl::Status {
    for (const QueuedWrite& queued : batch) {
      if (queued.is_access) {
        const AccessEntry& e = queued.access;
        insert_access.BindInt(1, absl::ToUnixMicros(e.at))
            .BindTextNoCopy(2, e.caller)
            .BindTextNoCopy(3, e.on_behalf_iss)
            .BindTextNoCopy(4, e.on_behalf_sub)
            .BindTextNoCopy(5, e.on_behalf_tenant)
            .BindTextNoCopy(6, e.on_behalf_user)
            .BindTextNoCopy(7, e.action)
            .BindTextNoCopy(8, e.patient_id)
            .BindTextNoCopy(9, e.outcome)
            .BindTextNoCopy(10, e.trace_id)
            .BindTextNoCopy(11, e.detail)
            .BindInt(12, e.stream_index)
            .BindTextNoCopy(13, e.patient_of_alert);
        if (absl::Status st = RunAndReset(insert_access); !st.ok()) return st;
        continue;
      }
      const ScreeningRecord& s = queued.record;
      const std::string& screened_day = day.Of(s.screened_at);
      insert_screening.BindTextNoCopy(1, s.request_id)
          .BindInt(2, absl::ToUnixMicros(s.screened_at))
          .BindTextNoCopy(3, screened_day)
          .BindTextNoCopy(4, s.patient_id)
          .BindTextNoCopy(5, s.knowledge_base_version);
      if (absl::Status st = RunAndReset(insert_screening); !st.ok()) return st;
      const int64_t screening_id = sqlite3_last_insert_rowid(db.raw());
      for (const IssuedAlert& alert : s.alerts) {
        insert_alert.BindTextNoCopy(1, alert.alert_id)
            .BindInt(2, screening_id)
            .BindTextNoCopy(3, alert.rule_id)
            .BindInt(4, static_cast<int64_t>(alert.severity))
            .BindTextNoCopy(5, screened_day);
        if (absl::Status st = RunAndReset(insert_alert); !st.ok()) return st;
      }
      counts.Add(screened_day, s.alerts);
    }
    return counts.Write((*statements)->count_screenings,
                        (*statements)->count_alerts);
  });
}

absl::StatusOr<AccessLogPage> SqliteLedger::ReadAccessLog(
    const AccessLogQuery& query) {
  if (query.limit <= 0) {
    return absl::InvalidArgumentError("access log query: limit must be > 0");
  }
  if (absl::Status s = Flush(); !s.ok()) return s;  // read-your-writes
  absl::MutexLock lock(&read_mu_);
  if (read_db_ == nullptr) return Closed();
  Connection& db = *read_db_;
  const bool by_patient = !query.patient_id.empty();
  absl::StatusOr<Statement> select = db.Prepare(
      absl::StrCat("SELECT at_us, caller, on_behalf_iss, on_behalf_sub, "
                   "on_behalf_tenant, on_behalf_user, action, patient_id, "
                   "outcome, trace_id, detail, stream_index FROM access_log "
                   "WHERE at_us >= ?1 AND at_us < ?2",
                   by_patient ? " AND patient_id = ?4" : "",
                   " ORDER BY at_us, id LIMIT ?3"),
      "read access log");
  if (!select.ok()) return select.status();
  auto micros = [](absl::Time t) {
    if (t == absl::InfinitePast()) return std::numeric_limits<int64_t>::min();
    if (t == absl::InfiniteFuture()) return std::numeric_limits<int64_t>::max();
    return absl::ToUnixMicros(t);
  };
  select->BindInt(1, micros(query.from))
      .BindInt(2, micros(query.to))
      .BindInt(3, int64_t{query.limit} + 1);
  if (by_patient) select->BindText(4, query.patient_id);
  AccessLogPage page;
  while (true) {
    absl::StatusOr<bool> row = select->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    if (page.entries.size() >= static_cast<size_t>(query.limit)) {
      page.truncated = true;
      break;
    }
    AccessEntry& e = page.entries.emplace_back();
    e.at = absl::FromUnixMicros(select->ColumnInt(0));
    e.caller = select->ColumnText(1);
    e.on_behalf_iss = select->ColumnText(2);
    e.on_behalf_sub = select->ColumnText(3);
    e.on_behalf_tenant = select->ColumnText(4);
    e.on_behalf_user = select->ColumnText(5);
    e.action = select->ColumnText(6);
    e.patient_id = select->ColumnText(7);
    e.outcome = select->ColumnText(8);
    e.trace_id = select->ColumnText(9);
    e.detail = select->ColumnText(10);
    e.stream_index = select->ColumnInt(11);
  }
  return page;
}

absl::StatusOr<int64_t> SqliteLedger::DeleteExpired() {
  const int64_t cutoff_us =
      absl::ToUnixMicros(Now() - options_.access_log_retention);
  int64_t deleted = 0;
  while (true) {
    absl::MutexLock lock(&write_mu_);
    if (write_db_ == nullptr) return Closed();
    if (absl::Status s = InjectedFault(); !s.ok()) return s;
    Connection& db = *write_db_;
    int changes = 0;
    absl::Status status = InTransaction(db, [&]() -> absl::Status {
      // Open the delete trigger for exactly the expired rows.
      absl::StatusOr<Statement> gate = db.Prepare(
          "UPDATE access_log_retention SET cutoff_us = ?1 WHERE only = 1",
          "move retention cutoff");
      if (!gate.ok()) return gate.status();
      gate->BindInt(1, cutoff_us);
      if (absl::Status s = gate->Run(); !s.ok()) return s;
      absl::StatusOr<Statement> prune = db.Prepare(
          "DELETE FROM access_log WHERE id IN (SELECT id FROM access_log "
          "WHERE at_us < ?1 ORDER BY at_us LIMIT ?2)",
          "prune access log");
      if (!prune.ok()) return prune.status();
      prune->BindInt(1, cutoff_us).BindInt(2, kPruneRowsPerTransaction);
      if (absl::Status s = prune->Run(); !s.ok()) return s;
      changes = sqlite3_changes(db.raw());
      // Close the trigger again before the commit: outside this
      // transaction no row can ever be deleted.
      return db.Exec(
          "UPDATE access_log_retention SET cutoff_us = 0 WHERE only = 1");
    });
    if (!status.ok()) return status;
    deleted += changes;
    if (changes < kPruneRowsPerTransaction) break;
  }
  return deleted;
}

absl::StatusOr<RecordFeedbackResponse> SqliteLedger::InsertFeedback(
    const RecordFeedbackRequest& request, absl::Time outcome_at,
    const std::string& new_feedback_id) {
  absl::MutexLock lock(&write_mu_);
  if (write_db_ == nullptr) return Closed();
  if (absl::Status s = InjectedFault(); !s.ok()) return s;
  Connection& db = *write_db_;
  RecordFeedbackResponse response;
  const int64_t outcome_at_us = absl::ToUnixMicros(outcome_at);
  bool not_found = false;
  absl::Status status = InTransaction(db, [&]() -> absl::Status {
    absl::StatusOr<Statement> find_alert =
        db.Prepare("SELECT rule_id, issued_day FROM alerts WHERE alert_id = ?1",
                   "find alert");
    if (!find_alert.ok()) return find_alert.status();
    find_alert->BindText(1, request.alert_id());
    absl::StatusOr<bool> found = find_alert->Step();
    if (!found.ok()) return found.status();
    if (!*found) {
      not_found = true;
      return absl::OkStatus();  // nothing written; COMMIT is a no-op
    }
    response.set_rule_id(find_alert->ColumnText(0));
    const std::string issued_day = find_alert->ColumnText(1);
    absl::StatusOr<Statement> find_feedback = db.Prepare(
        "SELECT feedback_id FROM feedback WHERE alert_id = ?1 AND "
        "outcome = ?2 AND outcome_at_us = ?3",
        "find feedback");
    if (!find_feedback.ok()) return find_feedback.status();
    find_feedback->BindText(1, request.alert_id())
        .BindInt(2, request.outcome())
        .BindInt(3, outcome_at_us);
    absl::StatusOr<bool> existing = find_feedback->Step();
    if (!existing.ok()) return existing.status();
    if (*existing) {
      response.set_feedback_id(find_feedback->ColumnText(0));
      response.set_duplicate(true);
      return absl::OkStatus();
    }
    absl::StatusOr<Statement> insert = db.Prepare(
        "INSERT INTO feedback (feedback_id, alert_id, outcome, "
        "outcome_timestamp, outcome_at_us, reason_system, reason_code, "
        "reason_display, user_comment, service_id, recorded_at_us, "
        "issued_day) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
        "?12)",
        "insert feedback");
    if (!insert.ok()) return insert.status();
    insert->BindText(1, new_feedback_id)
        .BindText(2, request.alert_id())
        .BindInt(3, request.outcome())
        .BindText(4, request.outcome_timestamp())
        .BindInt(5, outcome_at_us)
        .BindText(6, request.override_reason().system())
        .BindText(7, request.override_reason().code())
        .BindText(8, request.override_reason().display())
        .BindText(9, request.user_comment())
        .BindText(10, request.service_id())
        .BindInt(11, absl::ToUnixMicros(Now()))
        .BindText(12, issued_day);
    if (absl::Status s = insert->Run(); !s.ok()) return s;
    const int64_t row = sqlite3_last_insert_rowid(db.raw());
    if (request.accepted_suggestion_ids_size() > 0) {
      absl::StatusOr<Statement> insert_suggestion = db.Prepare(
          "INSERT INTO feedback_suggestions (feedback_row, position, "
          "suggestion_id) VALUES (?1, ?2, ?3)",
          "insert suggestion");
      if (!insert_suggestion.ok()) return insert_suggestion.status();
      for (int i = 0; i < request.accepted_suggestion_ids_size(); ++i) {
        insert_suggestion->Reset();
        insert_suggestion->BindInt(1, row).BindInt(2, i).BindText(
            3, request.accepted_suggestion_ids(i));
        if (absl::Status s = insert_suggestion->Run(); !s.ok()) return s;
      }
    }
    response.set_feedback_id(new_feedback_id);
    response.set_duplicate(false);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (not_found) {
    return absl::NotFoundError(
        "no alert with this alert_id: feedback must name an alert_id from a "
        "Screen response of this server");
  }
  return response;
}

absl::StatusOr<AlertStats> SqliteLedger::GetAlertStats(
    const GetAlertStatsRequest& request) {
  if (std::vector<FieldError> errors = ValidateStatsRequest(request);
      !errors.empty()) {
    return InvalidArgumentFromErrors("invalid statistics request", errors);
  }
  // Read-your-writes: alerts issued before this call are counted.
  if (absl::Status s = Flush(); !s.ok()) return s;
  AlertStats stats;
  if (absl::Status s = ReadStats(request, &stats); !s.ok()) return s;
  return stats;
}

absl::Status SqliteLedger::ReadStats(const GetAlertStatsRequest& request,
                                     AlertStats* stats) {
  absl::MutexLock lock(&read_mu_);
  if (read_db_ == nullptr) return Closed();
  Connection& db = *read_db_;
  const std::string from =
      request.from_date().empty() ? kNoFromDay : request.from_date();
  const std::string to =
      request.to_date().empty() ? kNoToDay : request.to_date();
  const int top =
      request.top_reasons() == 0 ? kDefaultTopReasons : request.top_reasons();
  // ?1 from, ?2 to, ?3 top reasons, ?4.. rule ids.
  std::string rule_filter;
  if (request.rule_ids_size() > 0) {
    std::vector<std::string> params;
    for (int i = 0; i < request.rule_ids_size(); ++i) {
      params.push_back(absl::StrCat("?", i + 4));
    }
    rule_filter =
        absl::StrCat(" AND rule_id IN (", absl::StrJoin(params, ", "), ")");
  }
  // The latest feedback of each alert of the period (feedback carries its
  // alert's day).
  const std::string latest = absl::StrCat(
      "WITH latest AS (SELECT rule_id, outcome, reason_code, reason_display "
      "FROM (SELECT a.rule_id AS rule_id, f.outcome AS outcome, "
      "f.reason_code AS reason_code, f.reason_display AS reason_display, "
      "ROW_NUMBER() OVER (PARTITION BY f.alert_id "
      "ORDER BY f.outcome_at_us DESC, f.id DESC) AS rn "
      "FROM feedback f JOIN alerts a ON a.alert_id = f.alert_id "
      "WHERE f.issued_day >= ?1 AND f.issued_day <= ?2",
      rule_filter, ") WHERE rn = 1) ");
  auto bind = [&](Statement& stmt, bool with_top) {
    stmt.BindText(1, from).BindText(2, to);
    if (with_top) stmt.BindInt(3, top);
    for (int i = 0; i < request.rule_ids_size(); ++i) {
      stmt.BindText(i + 4, request.rule_ids(i));
    }
  };
  const int critical = needlecheck::v1::SEVERITY_CRITICAL;
  const int warning = needlecheck::v1::SEVERITY_WARNING;
  const int info = needlecheck::v1::SEVERITY_INFO;
  const int accepted = needlecheck::v1::FEEDBACK_OUTCOME_ACCEPTED;
  const int overridden = needlecheck::v1::FEEDBACK_OUTCOME_OVERRIDDEN;

  // One read transaction, so the queries see the same commit.
  if (absl::Status s = db.Exec("BEGIN"); !s.ok()) return s;
  absl::Status status = [&]() -> absl::Status {
    absl::StatusOr<Statement> screenings = db.Prepare(
        "SELECT COALESCE(SUM(screenings), 0) FROM screening_days WHERE "
        "day >= ?1 AND day <= ?2",
        "count screenings");
    if (!screenings.ok()) return screenings.status();
    screenings->BindText(1, from).BindText(2, to);
    absl::StatusOr<bool> row = screenings->Step();
    if (!row.ok()) return row.status();
    stats->set_screenings(*row ? screenings->ColumnInt(0) : 0);

    absl::StatusOr<Statement> per_rule = db.Prepare(
        absl::StrCat(
            "SELECT rule_id, SUM(alerts), ",
            "SUM(CASE WHEN severity = ", critical, " THEN alerts ELSE 0 END), ",
            "SUM(CASE WHEN severity = ", warning, " THEN alerts ELSE 0 END), ",
            "SUM(CASE WHEN severity = ", info, " THEN alerts ELSE 0 END) ",
            "FROM alert_days WHERE day >= ?1 AND day <= ?2", rule_filter,
            " GROUP BY rule_id ORDER BY rule_id"),
        "rule statistics");
    if (!per_rule.ok()) return per_rule.status();
    bind(*per_rule, /*with_top=*/false);
    absl::flat_hash_map<std::string, RuleStats*> by_rule;
    while (true) {
      absl::StatusOr<bool> r = per_rule->Step();
      if (!r.ok()) return r.status();
      if (!*r) break;
      RuleStats* rule = stats->add_rules();
      rule->set_rule_id(per_rule->ColumnText(0));
      rule->set_fired(per_rule->ColumnInt(1));
      rule->set_critical(per_rule->ColumnInt(2));
      rule->set_warning(per_rule->ColumnInt(3));
      rule->set_info(per_rule->ColumnInt(4));
      by_rule[rule->rule_id()] = rule;
    }

    absl::StatusOr<Statement> outcomes =
        db.Prepare(absl::StrCat(latest, "SELECT rule_id, ",
                                "COALESCE(SUM(outcome = ", accepted, "), 0), ",
                                "COALESCE(SUM(outcome = ", overridden, "), 0) ",
                                "FROM latest GROUP BY rule_id"),
                   "feedback statistics");
    if (!outcomes.ok()) return outcomes.status();
    bind(*outcomes, /*with_top=*/false);
    while (true) {
      absl::StatusOr<bool> r = outcomes->Step();
      if (!r.ok()) return r.status();
      if (!*r) break;
      auto it = by_rule.find(outcomes->ColumnText(0));
      if (it == by_rule.end()) continue;  // cannot happen: same snapshot
      it->second->set_accepted(outcomes->ColumnInt(1));
      it->second->set_overridden(outcomes->ColumnInt(2));
    }
    for (auto& [rule_id, rule] : by_rule) {
      const int64_t answered = rule->accepted() + rule->overridden();
      rule->set_override_rate(answered == 0
                                  ? 0.0
                                  : static_cast<double>(rule->overridden()) /
                                        static_cast<double>(answered));
    }

    absl::StatusOr<Statement> reasons = db.Prepare(
        absl::StrCat(
            latest,
            "SELECT rule_id, reason, n FROM (SELECT rule_id, reason, n, "
            "ROW_NUMBER() OVER (PARTITION BY rule_id ORDER BY n DESC, reason) "
            "AS rk FROM (SELECT rule_id, "
            "COALESCE(NULLIF(reason_display, ''), NULLIF(reason_code, ''), "
            "'(none given)') AS reason, COUNT(*) AS n "
            "FROM latest WHERE outcome = ",
            overridden, " GROUP BY 1, 2)) WHERE rk <= ?3 ORDER BY rule_id, rk"),
        "override reasons");
    if (!reasons.ok()) return reasons.status();
    bind(*reasons, /*with_top=*/true);
    while (true) {
      absl::StatusOr<bool> r = reasons->Step();
      if (!r.ok()) return r.status();
      if (!*r) break;
      auto it = by_rule.find(reasons->ColumnText(0));
      if (it == by_rule.end()) continue;  // cannot happen: same snapshot
      needlecheck::v1::ReasonCount* reason =
          it->second->add_top_override_reasons();
      reason->set_reason(reasons->ColumnText(1));
      reason->set_count(reasons->ColumnInt(2));
    }
    return absl::OkStatus();
  }();
  db.Exec("COMMIT").IgnoreError();  // read-only: nothing to lose
  if (!status.ok()) return status;
  stats->set_from_date(request.from_date());
  stats->set_to_date(request.to_date());
  return absl::OkStatus();
}

absl::Status SqliteLedger::Close() {
  absl::MutexLock close_lock(&close_mu_);
  if (close_started_) return close_status_;
  close_started_ = true;
  // Commits everything queued (DATA_LOSS: what it could not) and stops.
  absl::Status status = queue_->Stop();
  {
    absl::MutexLock lock(&read_mu_);
    read_db_.reset();
  }
  {
    absl::MutexLock lock(&write_mu_);
    batch_statements_.reset();  // finalized before their connection
    if (write_db_ != nullptr) {
      // Fold the WAL into the main file so the folder holds one file.
      absl::Status checkpoint =
          write_db_->Exec("PRAGMA wal_checkpoint(TRUNCATE)");
      if (status.ok() && !checkpoint.ok()) status = checkpoint;
      write_db_.reset();
    }
  }
  queue_->MarkClosed();
  close_status_ = status;
  return status;
}

absl::Status ConfigureWriteConnection(Connection& db, const std::string& path) {
  // Refuse a newer file before changing anything in it (journal mode).
  absl::StatusOr<int64_t> version = db.PragmaInt("user_version");
  if (!version.ok()) return version.status();
  if (*version > internal::LatestSchemaVersion()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "ledger \"", path, "\": schema version ", *version,
        " is newer than this needlecheckd supports (",
        internal::LatestSchemaVersion(),
        "); it was written by a newer needlecheckd. Run that version, or use "
        "another --data_dir"));
  }
  if (absl::Status s = db.UseWal(); !s.ok()) {
    // The file system keeps another journal mode: say what to do about it.
    if (absl::StartsWith(s.message(), "cannot use WAL mode")) {
      return absl::Status(
          s.code(), absl::StrCat("ledger \"", path, "\": ", s.message(),
                                 "; put --data_dir on a local file system"));
    }
    return s;
  }
  // The page cache (SQLite's default is 2 MiB) holds the index pages the
  // batch inserts touch, so a batch does not read them back from the file.
  if (absl::Status s = db.Exec(
          absl::StrCat("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; "
                       "PRAGMA cache_size = -",
                       kWriteCacheKib));
      !s.ok()) {
    return s;
  }
  return internal::MigrateTo(db, path, internal::LatestSchemaVersion());
}

// `status` with the ledger's path in front, unless it names it already.
absl::Status WithPath(const std::string& path, const absl::Status& status) {
  if (absl::StrContains(status.message(), path)) return status;
  return absl::Status(
      status.code(), absl::StrCat("ledger \"", path, "\": ", status.message()));
}

// Makes a new ledger at `path` (which does not exist): built under a
// temporary name, checkpointed and closed, then renamed into place.
absl::Status CreateLedgerFile(const SqliteLedgerOptions& options,
                              const std::string& path) {
  const std::string tmp = absl::StrCat(path, ".new");
  std::error_code ec;
  for (const char* part : {"", "-wal", "-shm"}) {
    // Left by a crash during an earlier creation: they never held data.
    std::filesystem::remove(tmp + part, ec);
  }
  {
    absl::StatusOr<std::unique_ptr<Connection>> db = Connection::Open(
        tmp, /*read_only=*/false, /*create=*/true, options.busy_timeout);
    if (!db.ok()) return db.status();
    if (absl::Status s = ConfigureWriteConnection(**db, path); !s.ok()) {
      return WithPath(path, s);
    }
    if (absl::Status s = (*db)->Exec("PRAGMA wal_checkpoint(TRUNCATE)");
        !s.ok()) {
      return WithPath(path, s);
    }
  }  // closing the only connection removes the -wal
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    return absl::UnavailableError(absl::StrCat(
        "ledger \"", path,
        "\": cannot rename the new file into place: ", ec.message()));
  }
  for (const char* part : {"-wal", "-shm"}) {
    std::filesystem::remove(tmp + part, ec);
  }
  return files::SyncFolderOf(path);
}

// PRAGMA quick_check within options.integrity_check_time_limit: DATA_LOSS
// naming the problem, or OK (report says whether it finished).
absl::Status CheckIntegrity(Connection& db, const std::string& path,
                            const SqliteLedgerOptions& options,
                            LedgerOpenReport* report) {
  if (options.integrity_check_time_limit == absl::ZeroDuration()) {
    report->integrity_check = LedgerOpenReport::Check::kSkipped;
    return absl::OkStatus();
  }
  const absl::Time start = absl::Now();
  absl::StatusOr<sqlite::QuickCheckResult> check =
      db.QuickCheck(options.integrity_check_time_limit, kMaxCheckProblems);
  report->check_took = absl::Now() - start;
  if (!check.ok()) return WithPath(path, check.status());
  using Outcome = sqlite::QuickCheckResult::Outcome;
  switch (check->outcome) {
    case Outcome::kOk:
      report->integrity_check = LedgerOpenReport::Check::kPassed;
      return absl::OkStatus();
    case Outcome::kIncomplete:
      report->integrity_check = LedgerOpenReport::Check::kIncomplete;
      return absl::OkStatus();
    case Outcome::kNotADatabase:
      return absl::DataLossError(absl::StrCat(
          "ledger \"", path,
          "\": not a SQLite database (the file is damaged, or is another kind "
          "of file)"));
    case Outcome::kDamaged:
      break;
  }
  std::vector<std::string> problems;
  for (const std::string& p : check->problems) {
    // One log line: SQLite's findings may span lines.
    problems.push_back(absl::StrReplaceAll(p, {{"\n", " "}}));
  }
  return absl::DataLossError(absl::StrCat(
      "ledger \"", path, "\": the file is damaged (PRAGMA quick_check: ",
      absl::StrJoin(problems, "; "), ")"));
}

}  // namespace

absl::Status ValidateSqliteLedgerOptions(const SqliteLedgerOptions& options) {
  if (options.data_dir.empty() && options.path.empty()) {
    return absl::InvalidArgumentError(
        "ledger options: data_dir (or path) is required");
  }
  if (options.flush_window < absl::ZeroDuration() ||
      options.flush_window == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        "ledger options: flush_window must be >= 0 and finite");
  }
  if (options.max_queued_screenings == 0) {
    return absl::InvalidArgumentError(
        "ledger options: max_queued_screenings must be > 0");
  }
  if (options.max_batch_screenings == 0) {
    return absl::InvalidArgumentError(
        "ledger options: max_batch_screenings must be > 0");
  }
  if (options.integrity_check_time_limit < absl::ZeroDuration() ||
      options.integrity_check_time_limit == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        "ledger options: integrity_check_time_limit must be >= 0 and finite");
  }
  if (options.max_queued_access_records == 0) {
    return absl::InvalidArgumentError(
        "ledger options: max_queued_access_records must be > 0");
  }
  if (options.access_log_retention <= absl::ZeroDuration() ||
      options.access_log_retention == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        "ledger options: access_log_retention must be > 0 and finite");
  }
  if (options.access_log_prune_interval <= absl::ZeroDuration() ||
      options.access_log_prune_interval == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        "ledger options: access_log_prune_interval must be > 0 and finite");
  }
  if (options.busy_timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "ledger options: busy_timeout must be >= 0");
  }
  return absl::OkStatus();
}

std::string LedgerFilePath(const SqliteLedgerOptions& options) {
  return options.path.empty()
             ? absl::StrCat(options.data_dir, "/", kLedgerFileName)
             : options.path;
}

absl::StatusOr<std::unique_ptr<AlertLedger>> OpenSqliteLedger(
    const SqliteLedgerOptions& options, LedgerOpenReport* report) {
  if (absl::Status s = ValidateSqliteLedgerOptions(options); !s.ok()) return s;
  LedgerOpenReport unused;
  if (report == nullptr) report = &unused;
  *report = LedgerOpenReport();
  const std::string path = LedgerFilePath(options);
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) {
      return absl::UnavailableError(absl::StrCat(
          "ledger \"", path, "\": cannot read: ", std::strerror(errno)));
    }
    std::error_code ec;
    if (std::filesystem::exists(path + "-wal", ec)) {
      // SQLite would replay this log into the new file: refuse instead.
      return absl::DataLossError(absl::StrCat(
          "ledger \"", path,
          "\": the file is missing but its write-ahead log \"", path,
          "-wal\" is there (the ledger was moved or deleted without it)"));
    }
    if (absl::Status s = CreateLedgerFile(options, path); !s.ok()) return s;
    report->created = true;
  } else if (st.st_size == 0) {
    return absl::DataLossError(absl::StrCat(
        "ledger \"", path,
        "\": the file is empty (0 bytes), so its history is gone; a new "
        "ledger is only made where no file exists"));
  }
  absl::StatusOr<std::unique_ptr<Connection>> write_db = Connection::Open(
      path, /*read_only=*/false, /*create=*/false, options.busy_timeout);
  if (!write_db.ok()) return write_db.status();
  if (absl::Status s = CheckIntegrity(**write_db, path, options, report);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = ConfigureWriteConnection(**write_db, path); !s.ok()) {
    return WithPath(path, s);
  }
  absl::StatusOr<std::unique_ptr<Connection>> read_db = Connection::Open(
      path, /*read_only=*/false, /*create=*/false, options.busy_timeout);
  if (!read_db.ok()) return read_db.status();
  if (absl::Status s = (*read_db)->Exec("PRAGMA query_only = ON"); !s.ok()) {
    return s;
  }
  return std::unique_ptr<AlertLedger>(std::make_unique<SqliteLedger>(
      options, path, *std::move(write_db), *std::move(read_db)));
}

absl::StatusOr<std::string> MoveDamagedLedgerAside(const std::string& path,
                                                   absl::Time now) {
  constexpr const char* kParts[] = {"", "-wal", "-shm"};
  std::error_code ec;
  bool any = false;
  for (const char* part : kParts) {
    if (std::filesystem::exists(path + part, ec)) any = true;
  }
  if (!any) {
    return absl::NotFoundError(
        absl::StrCat("ledger \"", path, "\": nothing to move aside"));
  }
  const std::string stem = absl::StrCat(
      path, ".damaged-",
      absl::FormatTime("%Y%m%dT%H%M%SZ", now, absl::UTCTimeZone()));
  std::string target = stem;
  auto taken = [&](const std::string& name) {
    for (const char* part : kParts) {
      if (std::filesystem::exists(name + part, ec)) return true;
    }
    return false;
  };
  for (int i = 2; taken(target); ++i) {
    if (i > 1000) {
      return absl::UnavailableError(absl::StrCat(
          "ledger \"", path, "\": no free name to move it aside to"));
    }
    target = absl::StrCat(stem, "-", i);
  }
  for (const char* part : kParts) {
    const std::string from = path + part;
    if (!std::filesystem::exists(from, ec)) continue;
    std::filesystem::rename(from, target + part, ec);
    if (ec) {
      return absl::UnavailableError(absl::StrCat("cannot move \"", from,
                                                 "\" aside to \"", target, part,
                                                 "\": ", ec.message()));
    }
  }
  if (absl::Status s = files::SyncFolderOf(path); !s.ok()) return s;
  return target;
}

}  // namespace needlecheck::ledger
