#include "service/ledger/postgres_ledger.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/ids/uuid.h"
#include "common/postgres/pg_conn.h"
#include "common/postgres/pg_pool.h"
#include "service/ledger/internal/pg_schema.h"
#include "service/ledger/internal/queued_ledger.h"
#include "service/ledger/internal/write_queue.h"
#include "service/ledger/validation.h"

namespace needlecheck::ledger {
namespace {

using internal::QueuedWrite;
using ::needlecheck::postgres::PgConnection;
using ::needlecheck::postgres::PgParams;
using ::needlecheck::postgres::PgPool;
using ::needlecheck::postgres::PgResult;
using ::needlecheck::postgres::PgSafeText;
using ::needlecheck::postgres::PgTextArray;
using ::needlecheck::postgres::PgTransaction;
using ::needlecheck::v1::AlertStats;
using ::needlecheck::v1::GetAlertStatsRequest;
using ::needlecheck::v1::RecordFeedbackRequest;
using ::needlecheck::v1::RecordFeedbackResponse;
using ::needlecheck::v1::RuleStats;

// Backoff between connection attempts at open.
constexpr absl::Duration kMaxOpenRetryDelay = absl::Seconds(1);
constexpr int kPruneRowsPerTransaction = 10000;
constexpr char kNoFromDay[] = "0000-00-00";
constexpr char kNoToDay[] = "9999-99-99";
// Between re-checks of an alert id not (yet) in the database.
constexpr absl::Duration kFirstRecheck = absl::Milliseconds(25);
constexpr absl::Duration kMaxRecheck = absl::Milliseconds(200);

absl::Status Closed() { return internal::LedgerClosed(); }

std::string Str(int64_t v) { return absl::StrCat(v); }

int64_t Micros(absl::Time t) {
  if (t == absl::InfinitePast()) return std::numeric_limits<int64_t>::min();
  if (t == absl::InfiniteFuture()) return std::numeric_limits<int64_t>::max();
  return absl::ToUnixMicros(t);
}

class PostgresLedger final : public internal::QueuedLedger {
 public:
  PostgresLedger(const PostgresLedgerOptions& options,
                 postgres::PgConnectOptions connect,
                 std::unique_ptr<PgConnection> writer_db, std::string instance)
      : options_(options),
        connect_(connect),
        instance_(std::move(instance)),
        grace_(options.unknown_alert_grace.value_or(2 * options.flush_window +
                                                    absl::Milliseconds(100))),
        pool_(connect, options.pool_size,
              options.statement_timeout + options.connect_timeout,
              "the alert ledger is closed"),
        write_db_(std::move(writer_db)) {
    internal::WriteQueueOptions queue =
        internal::WriteQueueOptionsFrom(options);
    // Through a database outage screenings queue up to their bound.
    queue.refuse_screenings_while_failing = false;
    queue.storage = "the database";
    // Last: its writer thread uses everything above.
    StartQueue(std::move(queue));
  }

  ~PostgresLedger() override { Close().IgnoreError(); }

  absl::StatusOr<AlertStats> GetAlertStats(
      const GetAlertStatsRequest& request) override;
  absl::Status Close() override;

  absl::StatusOr<AccessLogPage> ReadAccessLog(
      const AccessLogQuery& query) override;
  absl::StatusOr<int64_t> DeleteExpired() override
      ABSL_LOCKS_EXCLUDED(write_mu_);

 private:
  // Runs `body` on a pooled connection; once more on a new connection
  // when a reused one turns out to be dead (the server restarted), but not
  // after a timeout (a hung server: the call would only wait again).
  template <typename F>
  absl::Status WithPooled(F body);
  // The writer's connection, (re)connected when needed.
  absl::StatusOr<PgConnection*> WriterDb()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  absl::Status WriteBatch(const std::vector<QueuedWrite>& batch) override
      ABSL_LOCKS_EXCLUDED(write_mu_);
  // InsertFeedbackOnce(), again while the alert is not found and the grace
  // has not passed (another replica may still be committing it).
  absl::StatusOr<RecordFeedbackResponse> InsertFeedback(
      const RecordFeedbackRequest& request, absl::Time outcome_at,
      const std::string& new_feedback_id) override;
  // NOT_FOUND when the alert is not in the database.
  absl::StatusOr<RecordFeedbackResponse> InsertFeedbackOnce(
      const RecordFeedbackRequest& request, absl::Time outcome_at,
      const std::string& new_feedback_id);
  absl::Status ReadStats(PgConnection& db, const GetAlertStatsRequest& request,
                         AlertStats* stats);
  // The unique key of a queued write: this open's id and its sequence
  // number (makes a retried batch's inserts idempotent).
  std::string Key(const QueuedWrite& w) const {
    return absl::StrCat(instance_, "/", w.seq);
  }
  absl::Time Now() const {
    return options_.clock ? options_.clock() : absl::Now();
  }

  const PostgresLedgerOptions options_;
  const postgres::PgConnectOptions connect_;
  const std::string instance_;  // unique per open: prefix of write keys
  const absl::Duration grace_;
  PgPool pool_;

  absl::Mutex write_mu_;
  std::unique_ptr<PgConnection> write_db_ ABSL_GUARDED_BY(write_mu_);
  bool write_db_closed_ ABSL_GUARDED_BY(write_mu_) = false;

  absl::Mutex close_mu_;
  bool close_started_ ABSL_GUARDED_BY(close_mu_) = false;
  absl::Status close_status_ ABSL_GUARDED_BY(close_mu_);

  // The batched writer (internal/write_queue.h).
};

template <typename F>
absl::Status PostgresLedger::WithPooled(F body) {
  for (int attempt = 0;; ++attempt) {
    absl::StatusOr<PgPool::Lease> lease = pool_.Acquire();
    if (!lease.ok()) return lease.status();
    absl::Status status = body(**lease);
    if (status.ok() || !(*lease)->broken() || (*lease)->timed_out() ||
        !lease->reused() || attempt > 0) {
      return status;
    }
  }
}

absl::StatusOr<PgConnection*> PostgresLedger::WriterDb() {
  if (write_db_closed_) return Closed();
  if (write_db_ == nullptr || write_db_->broken()) {
    write_db_.reset();
    absl::StatusOr<std::unique_ptr<PgConnection>> db =
        PgConnection::Connect(connect_);
    if (!db.ok()) return db.status();
    write_db_ = *std::move(db);
  }
  return write_db_.get();
}

absl::Status PostgresLedger::WriteBatch(const std::vector<QueuedWrite>& batch) {
  // Columns, one array per column and table.
  std::vector<std::string> s_key, s_request, s_at, s_day, s_patient, s_kb;
  std::vector<std::string> a_id, a_key, a_rule, a_severity, a_day;
  std::vector<std::vector<std::string>> acc(14);
  for (const QueuedWrite& w : batch) {
    if (w.is_access) {
      const AccessEntry& e = w.access;
      const std::string values[14] = {Key(w),
                                      Str(absl::ToUnixMicros(e.at)),
                                      PgSafeText(e.caller),
                                      PgSafeText(e.on_behalf_iss),
                                      PgSafeText(e.on_behalf_sub),
                                      PgSafeText(e.on_behalf_tenant),
                                      PgSafeText(e.on_behalf_user),
                                      PgSafeText(e.action),
                                      PgSafeText(e.patient_id),
                                      PgSafeText(e.outcome),
                                      PgSafeText(e.trace_id),
                                      PgSafeText(e.detail),
                                      Str(e.stream_index),
                                      PgSafeText(e.patient_of_alert)};
      for (int i = 0; i < 14; ++i) acc[i].push_back(values[i]);
      continue;
    }
    const ScreeningRecord& s = w.record;
    const std::string day = UtcDay(s.screened_at);
    s_key.push_back(Key(w));
    s_request.push_back(PgSafeText(s.request_id));
    s_at.push_back(Str(absl::ToUnixMicros(s.screened_at)));
    s_day.push_back(day);
    s_patient.push_back(PgSafeText(s.patient_id));
    s_kb.push_back(PgSafeText(s.knowledge_base_version));
    for (const IssuedAlert& alert : s.alerts) {
      a_id.push_back(PgSafeText(alert.alert_id));
      a_key.push_back(Key(w));
      a_rule.push_back(PgSafeText(alert.rule_id));
      a_severity.push_back(Str(static_cast<int64_t>(alert.severity)));
      a_day.push_back(day);
    }
  }
  absl::MutexLock lock(&write_mu_);
  absl::StatusOr<PgConnection*> conn = WriterDb();
  if (!conn.ok()) return conn.status();
  PgConnection& db = **conn;
  return PgTransaction(db, [&]() -> absl::Status {
    if (!s_key.empty()) {
      absl::StatusOr<PgResult> r = db.Query(
          "INSERT INTO screenings (screening_key, request_id, screened_at_us, "
          "screened_day, patient_id, kb_version) SELECT * FROM "
          "unnest($1::text[], $2::text[], $3::bigint[], $4::text[], "
          "$5::text[], $6::text[]) ON CONFLICT (screening_key) DO NOTHING",
          {PgTextArray(s_key), PgTextArray(s_request), PgTextArray(s_at),
           PgTextArray(s_day), PgTextArray(s_patient), PgTextArray(s_kb)},
          "insert screenings");
      if (!r.ok()) return r.status();
    }
    if (!a_id.empty()) {
      absl::StatusOr<PgResult> r = db.Query(
          "INSERT INTO alerts (alert_id, screening_id, rule_id, severity, "
          "issued_day) SELECT u.alert_id, s.id, u.rule_id, u.severity, "
          "u.issued_day FROM unnest($1::text[], $2::text[], $3::text[], "
          "$4::integer[], $5::text[]) AS u(alert_id, screening_key, rule_id, "
          "severity, issued_day) JOIN screenings s ON s.screening_key = "
          "u.screening_key ON CONFLICT (alert_id) DO NOTHING",
          {PgTextArray(a_id), PgTextArray(a_key), PgTextArray(a_rule),
           PgTextArray(a_severity), PgTextArray(a_day)},
          "insert alerts");
      if (!r.ok()) return r.status();
    }
    if (!acc[0].empty()) {
      // The patient of a feedback's alert is looked up here: its alert was
      // queued before, so it is committed by now or in this batch.
      PgParams params;
      for (const std::vector<std::string>& column : acc) {
        params.push_back(PgTextArray(column));
      }
      absl::StatusOr<PgResult> r = db.Query(
          "INSERT INTO access_log (record_key, at_us, caller, on_behalf_iss, "
          "on_behalf_sub, on_behalf_tenant, on_behalf_user, action, "
          "patient_id, outcome, trace_id, detail, stream_index) SELECT u.k, "
          "u.at, u.caller, u.iss, u.sub, u.tenant, u.usr, u.action, "
          "COALESCE(NULLIF(u.patient, ''), (SELECT s.patient_id FROM alerts a "
          "JOIN screenings s ON s.id = a.screening_id WHERE a.alert_id = "
          "u.poa), ''), u.outcome, u.trace, u.detail, u.idx FROM "
          "unnest($1::text[], $2::bigint[], $3::text[], $4::text[], "
          "$5::text[], $6::text[], $7::text[], $8::text[], $9::text[], "
          "$10::text[], $11::text[], $12::text[], $13::bigint[], $14::text[]) "
          "WITH ORDINALITY AS u(k, at, caller, iss, sub, tenant, usr, action, "
          "patient, outcome, trace, detail, idx, poa, ord) ORDER BY u.ord "
          "ON CONFLICT (record_key) DO NOTHING",
          params, "insert access records");
      if (!r.ok()) return r.status();
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<int64_t> PostgresLedger::DeleteExpired() {
  const std::string cutoff =
      Str(absl::ToUnixMicros(Now() - options_.access_log_retention));
  int64_t deleted = 0;
  while (true) {
    absl::MutexLock lock(&write_mu_);
    absl::StatusOr<PgConnection*> conn = WriterDb();
    if (!conn.ok()) return conn.status();
    PgConnection& db = **conn;
    int64_t changes = 0;
    absl::Status status = PgTransaction(db, [&]() -> absl::Status {
      // Open the delete trigger for exactly the expired rows, and close it
      // again before the commit.
      absl::StatusOr<PgResult> gate = db.Query(
          "UPDATE access_log_retention SET cutoff_us = $1 WHERE one_row",
          {cutoff}, "move retention cutoff");
      if (!gate.ok()) return gate.status();
      absl::StatusOr<PgResult> prune = db.Query(
          "DELETE FROM access_log WHERE id IN (SELECT id FROM access_log "
          "WHERE at_us < $1 ORDER BY at_us LIMIT $2)",
          {cutoff, Str(kPruneRowsPerTransaction)}, "prune access log");
      if (!prune.ok()) return prune.status();
      changes = prune->Affected();
      return db.Exec(
          "UPDATE access_log_retention SET cutoff_us = 0 WHERE one_row",
          "close retention cutoff");
    });
    if (!status.ok()) return status;
    deleted += changes;
    if (changes < kPruneRowsPerTransaction) break;
  }
  return deleted;
}

absl::StatusOr<AccessLogPage> PostgresLedger::ReadAccessLog(
    const AccessLogQuery& query) {
  if (query.limit <= 0) {
    return absl::InvalidArgumentError("access log query: limit must be > 0");
  }
  if (absl::Status s = Flush(); !s.ok()) return s;
  if (absl::Status s = queue_->CheckOpen(); !s.ok()) return s;
  const bool by_patient = !query.patient_id.empty();
  PgParams params = {Str(Micros(query.from)), Str(Micros(query.to)),
                     Str(int64_t{query.limit} + 1)};
  if (by_patient) params.push_back(query.patient_id);
  AccessLogPage page;
  absl::Status status = WithPooled([&](PgConnection& db) -> absl::Status {
    absl::StatusOr<PgResult> r = db.Query(
        absl::StrCat("SELECT at_us, caller, on_behalf_iss, on_behalf_sub, "
                     "on_behalf_tenant, on_behalf_user, action, patient_id, "
                     "outcome, trace_id, detail, stream_index FROM access_log "
                     "WHERE at_us >= $1 AND at_us < $2",
                     by_patient ? " AND patient_id = $4" : "",
                     " ORDER BY at_us, id LIMIT $3"),
        params, "read access log");
    if (!r.ok()) return r.status();
    page = AccessLogPage();
    for (int row = 0; row < r->Rows(); ++row) {
      if (page.entries.size() >= static_cast<size_t>(query.limit)) {
        page.truncated = true;
        break;
      }
      AccessEntry& e = page.entries.emplace_back();
      e.at = absl::FromUnixMicros(r->Int(row, 0));
      e.caller = r->Text(row, 1);
      e.on_behalf_iss = r->Text(row, 2);
      e.on_behalf_sub = r->Text(row, 3);
      e.on_behalf_tenant = r->Text(row, 4);
      e.on_behalf_user = r->Text(row, 5);
      e.action = r->Text(row, 6);
      e.patient_id = r->Text(row, 7);
      e.outcome = r->Text(row, 8);
      e.trace_id = r->Text(row, 9);
      e.detail = r->Text(row, 10);
      e.stream_index = r->Int(row, 11);
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return page;
}

absl::StatusOr<RecordFeedbackResponse> PostgresLedger::InsertFeedback(
    const RecordFeedbackRequest& request, absl::Time outcome_at,
    const std::string& new_feedback_id) {
  absl::StatusOr<RecordFeedbackResponse> result =
      InsertFeedbackOnce(request, outcome_at, new_feedback_id);
  // Another replica may still be committing this alert: look again
  // until the grace has passed.
  const absl::Time give_up = absl::Now() + grace_;
  absl::Duration step = kFirstRecheck;
  while (absl::IsNotFound(result.status()) && absl::Now() < give_up) {
    if (!queue_->SleepUnlessStopping(std::min(step, give_up - absl::Now()))) {
      return Closed();
    }
    step = std::min(step * 2, kMaxRecheck);
    result = InsertFeedbackOnce(request, outcome_at, new_feedback_id);
  }
  return result;
}

absl::StatusOr<RecordFeedbackResponse> PostgresLedger::InsertFeedbackOnce(
    const RecordFeedbackRequest& request, absl::Time outcome_at,
    const std::string& new_feedback_id) {
  const std::string alert_id = PgSafeText(request.alert_id());
  const std::string outcome = Str(request.outcome());
  const std::string outcome_at_us = Str(absl::ToUnixMicros(outcome_at));
  RecordFeedbackResponse response;
  bool not_found = false;
  absl::Status status = WithPooled([&](PgConnection& db) -> absl::Status {
    not_found = false;
    response.Clear();
    return PgTransaction(db, [&]() -> absl::Status {
      absl::StatusOr<PgResult> alert =
          db.Query("SELECT rule_id FROM alerts WHERE alert_id = $1", {alert_id},
                   "find alert");
      if (!alert.ok()) return alert.status();
      if (alert->Rows() == 0) {
        not_found = true;
        return absl::OkStatus();
      }
      response.set_rule_id(alert->Text(0, 0));
      absl::StatusOr<PgResult> inserted = db.Query(
          "INSERT INTO feedback (feedback_id, alert_id, outcome, "
          "outcome_timestamp, outcome_at_us, reason_system, reason_code, "
          "reason_display, user_comment, service_id, recorded_at_us) VALUES "
          "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT ON "
          "CONSTRAINT feedback_once DO NOTHING RETURNING id",
          {new_feedback_id, alert_id, outcome,
           PgSafeText(request.outcome_timestamp()), outcome_at_us,
           PgSafeText(request.override_reason().system()),
           PgSafeText(request.override_reason().code()),
           PgSafeText(request.override_reason().display()),
           PgSafeText(request.user_comment()), PgSafeText(request.service_id()),
           Str(absl::ToUnixMicros(Now()))},
          "insert feedback");
      if (!inserted.ok()) return inserted.status();
      if (inserted->Rows() == 0) {
        // The first feedback wins (committed by now: ON CONFLICT waited).
        absl::StatusOr<PgResult> first = db.Query(
            "SELECT feedback_id FROM feedback WHERE alert_id = $1 AND "
            "outcome = $2 AND outcome_at_us = $3",
            {alert_id, outcome, outcome_at_us}, "find feedback");
        if (!first.ok()) return first.status();
        if (first->Rows() == 0) {
          return absl::AbortedError("feedback conflict without a row");
        }
        response.set_feedback_id(first->Text(0, 0));
        response.set_duplicate(true);
        return absl::OkStatus();
      }
      if (request.accepted_suggestion_ids_size() > 0) {
        std::vector<std::string> ids;
        for (const std::string& id : request.accepted_suggestion_ids()) {
          ids.push_back(PgSafeText(id));
        }
        absl::StatusOr<PgResult> s = db.Query(
            "INSERT INTO feedback_suggestions (feedback_row, position, "
            "suggestion_id) SELECT $1, u.ord - 1, u.id FROM "
            "unnest($2::text[]) WITH ORDINALITY AS u(id, ord)",
            {inserted->Text(0, 0), PgTextArray(ids)}, "insert suggestions");
        if (!s.ok()) return s.status();
      }
      response.set_feedback_id(new_feedback_id);
      response.set_duplicate(false);
      return absl::OkStatus();
    });
  });
  if (!status.ok()) return status;
  if (not_found) {
    return absl::NotFoundError(
        "no alert with this alert_id: feedback must name an alert_id from a "
        "Screen response of this service");
  }
  return response;
}

absl::StatusOr<AlertStats> PostgresLedger::GetAlertStats(
    const GetAlertStatsRequest& request) {
  if (std::vector<FieldError> errors = ValidateStatsRequest(request);
      !errors.empty()) {
    return InvalidArgumentFromErrors("invalid statistics request", errors);
  }
  if (absl::Status s = Flush(); !s.ok()) return s;
  if (absl::Status s = queue_->CheckOpen(); !s.ok()) return s;
  AlertStats stats;
  absl::Status status = WithPooled([&](PgConnection& db) -> absl::Status {
    stats.Clear();
    // One snapshot for the three queries.
    return PgTransaction(
        db, [&] { return ReadStats(db, request, &stats); },
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  });
  if (!status.ok()) return status;
  stats.set_from_date(request.from_date());
  stats.set_to_date(request.to_date());
  return stats;
}

absl::Status PostgresLedger::ReadStats(PgConnection& db,
                                       const GetAlertStatsRequest& request,
                                       AlertStats* stats) {
  const std::string from =
      request.from_date().empty() ? kNoFromDay : request.from_date();
  const std::string to =
      request.to_date().empty() ? kNoToDay : request.to_date();
  const int top =
      request.top_reasons() == 0 ? kDefaultTopReasons : request.top_reasons();
  std::vector<std::string> rules(request.rule_ids().begin(),
                                 request.rule_ids().end());
  for (std::string& rule : rules) rule = PgSafeText(rule);
  const bool filter = !rules.empty();
  // $1 from, $2 to, then the rule filter ($3), then the top count.
  auto with = [&](int rules_param) {
    return absl::StrCat(
        "WITH a AS (SELECT alert_id, rule_id, severity FROM alerts "
        "WHERE issued_day >= $1 AND issued_day <= $2",
        filter ? absl::StrCat(" AND rule_id = ANY($", rules_param, "::text[])")
               : "",
        "), latest AS (SELECT alert_id, outcome, reason_code, reason_display "
        "FROM (SELECT f.alert_id, f.outcome, f.reason_code, f.reason_display, "
        "ROW_NUMBER() OVER (PARTITION BY f.alert_id "
        "ORDER BY f.outcome_at_us DESC, f.id DESC) AS rn "
        "FROM feedback f JOIN a ON a.alert_id = f.alert_id) ranked "
        "WHERE rn = 1) ");
  };
  PgParams params = {from, to};
  if (filter) params.push_back(PgTextArray(rules));

  absl::StatusOr<PgResult> screenings = db.Query(
      "SELECT COUNT(*) FROM screenings WHERE screened_day >= $1 AND "
      "screened_day <= $2",
      {from, to}, "count screenings");
  if (!screenings.ok()) return screenings.status();
  stats->set_screenings(screenings->Int(0, 0));

  const int critical = needlecheck::v1::SEVERITY_CRITICAL;
  const int warning = needlecheck::v1::SEVERITY_WARNING;
  const int info = needlecheck::v1::SEVERITY_INFO;
  const int accepted = needlecheck::v1::FEEDBACK_OUTCOME_ACCEPTED;
  const int overridden = needlecheck::v1::FEEDBACK_OUTCOME_OVERRIDDEN;
  absl::StatusOr<PgResult> per_rule = db.Query(
      absl::StrCat(with(3), "SELECT a.rule_id, COUNT(*), ",
                   "COUNT(*) FILTER (WHERE a.severity = ", critical, "), ",
                   "COUNT(*) FILTER (WHERE a.severity = ", warning, "), ",
                   "COUNT(*) FILTER (WHERE a.severity = ", info, "), ",
                   "COUNT(*) FILTER (WHERE l.outcome = ", accepted, "), ",
                   "COUNT(*) FILTER (WHERE l.outcome = ", overridden, ") ",
                   "FROM a LEFT JOIN latest l ON l.alert_id = a.alert_id "
                   "GROUP BY a.rule_id ORDER BY a.rule_id COLLATE \"C\""),
      params, "rule statistics");
  if (!per_rule.ok()) return per_rule.status();
  absl::flat_hash_map<std::string, RuleStats*> by_rule;
  for (int row = 0; row < per_rule->Rows(); ++row) {
    RuleStats* rule = stats->add_rules();
    rule->set_rule_id(per_rule->Text(row, 0));
    rule->set_fired(per_rule->Int(row, 1));
    rule->set_critical(per_rule->Int(row, 2));
    rule->set_warning(per_rule->Int(row, 3));
    rule->set_info(per_rule->Int(row, 4));
    rule->set_accepted(per_rule->Int(row, 5));
    rule->set_overridden(per_rule->Int(row, 6));
    const int64_t answered = rule->accepted() + rule->overridden();
    rule->set_override_rate(answered == 0
                                ? 0.0
                                : static_cast<double>(rule->overridden()) /
                                      static_cast<double>(answered));
    by_rule[rule->rule_id()] = rule;
  }

  const int top_param = filter ? 4 : 3;
  params.push_back(Str(top));
  absl::StatusOr<PgResult> reasons = db.Query(
      absl::StrCat(
          with(3),
          "SELECT rule_id, reason, n FROM (SELECT rule_id, reason, n, "
          "ROW_NUMBER() OVER (PARTITION BY rule_id ORDER BY n DESC, reason "
          "COLLATE \"C\") AS rk FROM (SELECT a.rule_id AS rule_id, "
          "COALESCE(NULLIF(l.reason_display, ''), NULLIF(l.reason_code, ''), "
          "'(none given)') AS reason, COUNT(*) AS n "
          "FROM a JOIN latest l ON l.alert_id = a.alert_id "
          "WHERE l.outcome = ",
          overridden, " GROUP BY 1, 2) counted) ranked_reasons WHERE rk <= $",
          top_param, " ORDER BY rule_id COLLATE \"C\", rk"),
      params, "override reasons");
  if (!reasons.ok()) return reasons.status();
  for (int row = 0; row < reasons->Rows(); ++row) {
    auto it = by_rule.find(reasons->Text(row, 0));
    if (it == by_rule.end()) continue;  // cannot happen: same snapshot
    needlecheck::v1::ReasonCount* reason =
        it->second->add_top_override_reasons();
    reason->set_reason(reasons->Text(row, 1));
    reason->set_count(reasons->Int(row, 2));
  }
  return absl::OkStatus();
}

absl::Status PostgresLedger::Close() {
  absl::MutexLock close_lock(&close_mu_);
  if (close_started_) return close_status_;
  close_started_ = true;
  // Commits everything queued (DATA_LOSS: what it could not) and stops.
  absl::Status status = queue_->Stop();
  pool_.Close();
  {
    absl::MutexLock lock(&write_mu_);
    write_db_.reset();
    write_db_closed_ = true;
  }
  queue_->MarkClosed();
  close_status_ = status;
  return status;
}

}  // namespace

absl::Status CheckDsnHasNoPassword(const std::string& dsn) {
  absl::StatusOr<bool> has = postgres::DsnHasPassword(dsn);
  if (!has.ok()) return has.status();
  if (*has) {
    return absl::InvalidArgumentError(
        "the connection string carries a password; give it with "
        "--ledger_password_file (or PGPASSWORD / a ~/.pgpass file), never on "
        "the command line");
  }
  return absl::OkStatus();
}

std::string DsnForLogs(const std::string& dsn) {
  return postgres::DsnWithoutPassword(dsn);
}

int LatestPostgresSchemaVersion() {
  return internal::PgMigrations().back().version;
}

absl::Status ValidatePostgresLedgerOptions(
    const PostgresLedgerOptions& options) {
  if (options.dsn.empty()) {
    return absl::InvalidArgumentError("ledger options: dsn is required");
  }
  if (absl::Status s = CheckDsnHasNoPassword(options.dsn); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("ledger options: dsn: ", s.message()));
  }
  auto finite_nonneg = [](absl::Duration d) {
    return d >= absl::ZeroDuration() && d != absl::InfiniteDuration();
  };
  auto finite_pos = [](absl::Duration d) {
    return d > absl::ZeroDuration() && d != absl::InfiniteDuration();
  };
  struct Check {
    bool ok;
    const char* message;
  };
  const Check checks[] = {
      {finite_nonneg(options.flush_window),
       "flush_window must be >= 0 and finite"},
      {options.max_queued_screenings > 0, "max_queued_screenings must be > 0"},
      {options.max_batch_screenings > 0, "max_batch_screenings must be > 0"},
      {options.max_queued_access_records > 0,
       "max_queued_access_records must be > 0"},
      {finite_pos(options.access_log_retention),
       "access_log_retention must be > 0 and finite"},
      {finite_pos(options.access_log_prune_interval),
       "access_log_prune_interval must be > 0 and finite"},
      {!options.unknown_alert_grace.has_value() ||
           finite_nonneg(*options.unknown_alert_grace),
       "unknown_alert_grace must be >= 0 and finite"},
      {options.pool_size > 0, "pool_size must be > 0"},
      {finite_pos(options.connect_timeout),
       "connect_timeout must be > 0 and finite"},
      {finite_pos(options.statement_timeout),
       "statement_timeout must be > 0 and finite"},
      {finite_nonneg(options.open_timeout),
       "open_timeout must be >= 0 and finite"},
  };
  for (const Check& check : checks) {
    if (!check.ok) {
      return absl::InvalidArgumentError(
          absl::StrCat("ledger options: ", check.message));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<AlertLedger>> OpenPostgresLedger(
    const PostgresLedgerOptions& options, PostgresOpenReport* report) {
  if (absl::Status s = ValidatePostgresLedgerOptions(options); !s.ok()) {
    return s;
  }
  PostgresOpenReport unused;
  if (report == nullptr) report = &unused;
  *report = PostgresOpenReport();
  postgres::PgConnectOptions connect;
  connect.password_hint = "--ledger_password_file, PGPASSWORD or ~/.pgpass";
  connect.dsn = options.dsn;
  connect.password = options.password;
  connect.connect_timeout = options.connect_timeout;
  connect.statement_timeout = options.statement_timeout;
  const absl::Time give_up = absl::Now() + options.open_timeout;
  absl::Duration backoff = absl::Milliseconds(100);
  std::unique_ptr<PgConnection> db;
  while (true) {
    ++report->connect_attempts;
    absl::StatusOr<std::unique_ptr<PgConnection>> conn =
        PgConnection::Connect(connect);
    if (conn.ok()) {
      db = *std::move(conn);
      break;
    }
    const absl::Duration left = give_up - absl::Now();
    if (!absl::IsUnavailable(conn.status()) || left <= absl::ZeroDuration()) {
      return absl::Status(conn.status().code(),
                          absl::StrCat(conn.status().message(), " (",
                                       report->connect_attempts, " attempts)"));
    }
    const absl::Duration wait = std::min(backoff, left);
    if (options.on_open_retry) options.on_open_retry(conn.status(), wait);
    absl::SleepFor(wait);
    backoff = std::min(backoff * 2, kMaxOpenRetryDelay);
  }
  absl::StatusOr<internal::PgMigrationResult> migrated =
      internal::PgMigrateTo(*db, LatestPostgresSchemaVersion());
  if (!migrated.ok()) return migrated.status();
  report->schema_version_before = migrated->before;
  report->schema_version = migrated->after;
  report->migrated = migrated->after != migrated->before;
  absl::StatusOr<std::string> instance = ids::NewUuidV4();
  if (!instance.ok()) return instance.status();
  return std::unique_ptr<AlertLedger>(std::make_unique<PostgresLedger>(
      options, connect, std::move(db), *instance));
}

}  // namespace needlecheck::ledger
