// AccessLog: the access-audit trail (HIPAA 164.312(b) audit controls). One
// append-only record per access to patient data, kept in the ledger
// database next to the issued alerts, never in the application log. An
// AlertLedger that keeps one returns it from AlertLedger::access_log(); a
// PostgreSQL ledger implements the same interface.
//
// Contract
// - RecordAccess() queues one record for the ledger's batched writer: the
//   same writer, transactions and crash window as issued alerts (SQLite:
//   `flush_window`, 200 ms by default). Why batched and not synchronous:
//   a synchronous commit is one fsync per call, which caps Screen at the
//   disk's fsync rate and makes a slow disk slow every clinician's call,
//   while the issued alerts of the same calls are already batched; the
//   trail then loses at most what the alert record loses (the last window
//   on SIGKILL or power loss; nothing on a clean stop: Close() commits).
// - Never silently lost. RecordAccess() is OK (queued) or an error, and a
//   caller that gets an error must not release the data: needlecheckd then
//   answers the call UNAVAILABLE instead of its response ("no access
//   without a record"). Unlike screenings, access records are still queued
//   while the writer cannot commit (disk full, I/O error): they wait in
//   memory, up to `max_queued_access_records`, and are committed when the
//   disk recovers; so a disk outage costs alert ids first (alert_ledger.h)
//   and refuses calls only once that many accesses are waiting. A crash
//   during an outage loses the records still waiting.
// - Append-only. There is no update path in code, and the database refuses
//   one: SQLite triggers abort every UPDATE of access_log and every DELETE
//   of a row not older than the cutoff in the one-row table
//   access_log_retention, which is 0 except inside the pruning pass's own
//   transaction (it sets the cutoff, deletes, and sets it back to 0 before
//   committing), so outside it no row can be deleted, expired or not. This
//   guards against mistakes and bugs (a stray statement in the sqlite3 shell, a
//   later code change); someone who can write the file can drop triggers,
//   which file permissions and backups guard against.
// - Retention: PruneExpired() deletes the records older than
//   `access_log_retention` (default 2190 days, six years), in its own
//   transactions of at most 10000 rows. The ledger's writer runs it at
//   open and then every `access_log_prune_interval`; no request ever
//   deletes a record.
// - ReadAccessLog() commits what is queued first (read-your-writes;
//   UNAVAILABLE at once while the writer cannot commit), then reads
//   records with from <= time < to (and the patient), oldest first.
// - Where the fields come from (service/server/access_trail.h): `caller` is
//   the transport identity (verified TLS client certificate names, else
//   "unauthenticated <peer>"); the on_behalf_* fields are what the caller
//   asserts in gRPC metadata (the CDS Hooks gateway: the EHR's JWT
//   iss/sub/tenant and the hook's userId); the gateway's own FHIR reads
//   arrive as FhirFetch records through the RecordAccess RPC, URLs without
//   query values.
// - Errors as AlertLedger's (UNAVAILABLE: closed, queue full, disk;
//   INVALID_ARGUMENT: a bad query). Messages never contain record content.
// - Thread-safe: every method may be called from any thread.
#ifndef SERVICE_LEDGER_ACCESS_LOG_H_
#define SERVICE_LEDGER_ACCESS_LOG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace needlecheck::ledger {

// One access (needlecheck.v1.AccessRecord has the meaning of each field).
struct AccessEntry {
  absl::Time at = absl::UnixEpoch();
  std::string caller;  // transport identity
  std::string on_behalf_iss;
  std::string on_behalf_sub;
  std::string on_behalf_tenant;
  std::string on_behalf_user;
  std::string action;
  std::string patient_id;
  std::string outcome;  // "OK" or a status code name
  std::string trace_id;
  std::string detail;
  int64_t stream_index = -1;
  // When patient_id is empty: the alert whose patient this access was
  // about (RecordFeedback); the ledger stores that alert's patient id when
  // it knows the alert. Not read back.
  std::string patient_of_alert;
};

struct AccessLogQuery {
  absl::Time from = absl::InfinitePast();  // inclusive
  absl::Time to = absl::InfiniteFuture();  // exclusive
  std::string patient_id;                  // empty: every patient
  int limit = 10000;                       // > 0
};

struct AccessLogPage {
  std::vector<AccessEntry> entries;  // oldest first
  bool truncated = false;            // more than `limit` matched
};

class AccessLog {
 public:
  virtual ~AccessLog() = default;

  virtual absl::Status RecordAccess(AccessEntry entry) = 0;

  virtual absl::StatusOr<AccessLogPage> ReadAccessLog(
      const AccessLogQuery& query) = 0;

  // Deletes the records older than the retention period; returns how many.
  virtual absl::StatusOr<int64_t> PruneExpired() = 0;
};

}  // namespace needlecheck::ledger

#endif  // SERVICE_LEDGER_ACCESS_LOG_H_
