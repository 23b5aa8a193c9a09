// needlecheckd: the needlecheck screening service (gRPC).
//
//   needlecheckd [--listen=127.0.0.1:50051] [--data_dir=./data]
//                [--knowledge_base=FILE] [--max_message_bytes=4194304]
//                [--drain_seconds=10] [--drain_lame_duck=0s]
//                [--ready_file=FILE]
//                [--ledger=sqlite|postgres|none] [--ledger_flush_ms=200]
//                [--ledger_dsn="host=... port=... dbname=... user=..."
//                 [--ledger_password_file=FILE] [--ledger_connect_timeout=30s]]
//                [--max_concurrent_streams=256] [--max_connection_idle=30m]
//                [--max_connection_age=0] [--max_connection_age_grace=inf]
//                [--ledger_check_seconds=30] [--ledger_recover]
//                [--access_log_retention_days=2190]
//                [--tls_cert=PEM --tls_key=PEM [--tls_client_ca=PEM]]
//                [--authz_policy=FILE] [--insecure_plaintext]
//                [--health_listen=HOST:PORT]
//                [--metrics_listen=HOST:PORT]
//
// SIGHUP reloads the knowledge base, the TLS files and the authorization
// policy (each keeps its current version when the new one is bad);
// SIGTERM or SIGINT drains (in-flight
// calls finish, the alert ledger commits everything) and exits 0.
// Everything else lives in service/server/server.h.
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/server/server.h"
#include "service/server/server_options.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "Address to listen on, HOST:PORT (port 0: any free port).");
ABSL_FLAG(std::string, data_dir, "./data",
          "Folder for anything the server writes; created when missing.");
ABSL_FLAG(std::string, knowledge_base, "",
          "Knowledge-base file (text format); empty: the bundled one. "
          "Reloaded on SIGHUP.");
ABSL_FLAG(int, max_message_bytes, 4 * 1024 * 1024,
          "Largest request accepted, in bytes; larger ones get "
          "RESOURCE_EXHAUSTED.");
ABSL_FLAG(double, drain_seconds, 10,
          "On SIGTERM, how long calls in flight may take to finish "
          "(health Watch streams do not count).");
ABSL_FLAG(absl::Duration, drain_lame_duck, absl::ZeroDuration(),
          "On SIGTERM, how long to keep serving after health turns "
          "NOT_SERVING and before the drain (0-60s): clients that watch "
          "health (the needlecheck clients, round_robin over several "
          "replicas) move their calls elsewhere first, so no call races the "
          "GOAWAY. E.g. 2s with several replicas.");
ABSL_FLAG(std::string, ready_file, "",
          "When set, HOST:PORT is written to this file once serving.");
ABSL_FLAG(std::string, metrics_listen, "",
          "When set, HOST:PORT serving GET /metrics (Prometheus text format) "
          "over plain HTTP on its own port (0: a free one); keep it on a "
          "private network. Empty: no metrics endpoint.");

// HTTP/2 and connection limits: what one client connection may hold.
ABSL_FLAG(int, max_concurrent_streams, 256,
          "Calls (HTTP/2 streams) open at once on one client connection; "
          "gRPC clients queue the calls past it. 0: no limit.");
ABSL_FLAG(absl::Duration, max_connection_idle, absl::Minutes(30),
          "A connection with no call open for this long is closed "
          "gracefully (clients reconnect on their next call). 0 or inf: "
          "never.");
ABSL_FLAG(absl::Duration, max_connection_age, absl::ZeroDuration(),
          "Connections older than this are closed gracefully (GOAWAY), so "
          "that clients reconnect and re-balance across replicas. 0 or "
          "inf: never.");
ABSL_FLAG(absl::Duration, max_connection_age_grace, absl::InfiniteDuration(),
          "After --max_connection_age, how long calls still open may take "
          "before they are cancelled. inf: as long as they need.");

// Transport security: TLS, mutual TLS, per-caller authorization, and a
// plaintext health port for probes.
ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate chain (leaf first); with --tls_key the main port "
          "serves TLS only. Re-read on SIGHUP.");
ABSL_FLAG(std::string, tls_key, "",
          "PEM private key of --tls_cert. Re-read on SIGHUP.");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA certificates: every client must present a certificate "
          "issued by one of them (mutual TLS). Re-read on SIGHUP.");
ABSL_FLAG(std::string, authz_policy, "",
          "Per-caller authorization: lines \"IDENTITY METHOD[,METHOD...]\" "
          "(identity: client certificate CN or DNS/URI SAN, or *; method: "
          "a ScreeningService method or *). Needs --tls_client_ca. "
          "Re-read on SIGHUP.");
ABSL_FLAG(bool, insecure_plaintext, false,
          "Allow plaintext on a --listen address that is not loopback "
          "(without TLS such a server refuses to start).");
ABSL_FLAG(std::string, health_listen, "",
          "Also serve grpc.health.v1.Health (only) in plaintext on "
          "HOST:PORT, for probes that cannot present a client certificate.");

ABSL_FLAG(std::string, ledger, "sqlite",
          "Alert ledger: sqlite (<data_dir>/ledger.sqlite3), postgres (a "
          "PostgreSQL database several replicas share: --ledger_dsn) or none "
          "(no alert ids, no feedback or statistics).");
ABSL_FLAG(std::string, ledger_dsn, "",
          "With --ledger=postgres: the libpq connection string, "
          "\"host=... port=... dbname=... user=...\" or a postgresql:// "
          "URI, without a password (refused: use --ledger_password_file, "
          "PGPASSWORD or ~/.pgpass).");
ABSL_FLAG(std::string, ledger_password_file, "",
          "With --ledger=postgres: a file holding the database password "
          "(read once at start; a trailing newline is stripped).");
ABSL_FLAG(absl::Duration, ledger_connect_timeout, absl::Seconds(30),
          "With --ledger=postgres: how long to keep trying to reach the "
          "database at start before exiting non-zero.");
ABSL_FLAG(int, ledger_flush_ms, 200,
          "Issued-alert rows are committed in batches at least this often "
          "(milliseconds, 0-10000): the most a crash can lose. Feedback is "
          "always committed before it is acknowledged.");

ABSL_FLAG(int, access_log_retention_days, 2190,
          "Access-audit trail records (in the ledger database) older than "
          "this many days are deleted by an hourly pruning pass (1-36525; "
          "default six years).");

// Alert ledger faults: the integrity check at start, recovery from a
// damaged file, and the test-only write fault.
ABSL_FLAG(double, ledger_check_seconds, 30,
          "Time limit of the ledger's integrity check at start (PRAGMA "
          "quick_check); when hit, the server starts and logs "
          "ledger_check_incomplete. 0 skips the check. SQLite only: ignored "
          "with --ledger=postgres.");
ABSL_FLAG(bool, ledger_recover, false,
          "When the ledger file is damaged, empty or not SQLite: move it "
          "aside (with its -wal/-shm) to <file>.damaged-<UTC time>, log it, "
          "and start a new, empty ledger. Without it such a file stops the "
          "start. SQLite only: refused with --ledger=postgres.");
ABSL_FLAG(std::string, testonly_ledger_fault_file, "",
          "For tests only: while this file exists, every ledger write fails "
          "as on a full disk.");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "needlecheckd: microneedling safety screening over gRPC "
      "(needlecheck.v1.ScreeningService).");
  absl::ParseCommandLine(argc, argv);
  // Debian's Abseil is built without NDEBUG, so every absl::Mutex (gRPC's
  // included) would run deadlock detection on one global lock: a debugging
  // aid that costs throughput in production.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  needlecheck::server::ServerOptions options;
  options.listen_address = absl::GetFlag(FLAGS_listen);
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
  options.knowledge_base_path = absl::GetFlag(FLAGS_knowledge_base);
  options.max_receive_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  options.drain_grace_period =
      absl::Seconds(absl::GetFlag(FLAGS_drain_seconds));
  options.drain_lame_duck = absl::GetFlag(FLAGS_drain_lame_duck);
  options.ready_file = absl::GetFlag(FLAGS_ready_file);
  options.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);

  // HTTP/2 and connection limits; 0 means "never" for idle and age.
  const auto never_if_zero = [](absl::Duration d) {
    return d == absl::ZeroDuration() ? absl::InfiniteDuration() : d;
  };
  options.max_concurrent_streams = absl::GetFlag(FLAGS_max_concurrent_streams);
  options.max_connection_idle =
      never_if_zero(absl::GetFlag(FLAGS_max_connection_idle));
  options.max_connection_age =
      never_if_zero(absl::GetFlag(FLAGS_max_connection_age));
  options.max_connection_age_grace =
      absl::GetFlag(FLAGS_max_connection_age_grace);

  options.tls_cert_path = absl::GetFlag(FLAGS_tls_cert);
  options.tls_key_path = absl::GetFlag(FLAGS_tls_key);
  options.tls_client_ca_path = absl::GetFlag(FLAGS_tls_client_ca);
  options.authz_policy_path = absl::GetFlag(FLAGS_authz_policy);
  options.insecure_plaintext = absl::GetFlag(FLAGS_insecure_plaintext);
  options.health_listen_address = absl::GetFlag(FLAGS_health_listen);

  options.ledger = absl::GetFlag(FLAGS_ledger);
  options.ledger_dsn = absl::GetFlag(FLAGS_ledger_dsn);
  options.ledger_password_file = absl::GetFlag(FLAGS_ledger_password_file);
  options.ledger_connect_timeout = absl::GetFlag(FLAGS_ledger_connect_timeout);
  options.ledger_flush_window =
      absl::Milliseconds(absl::GetFlag(FLAGS_ledger_flush_ms));
  options.ledger_check_time_limit =
      absl::Seconds(absl::GetFlag(FLAGS_ledger_check_seconds));
  options.ledger_recover = absl::GetFlag(FLAGS_ledger_recover);
  options.access_log_retention =
      absl::Hours(24) * absl::GetFlag(FLAGS_access_log_retention_days);
  options.ledger_test_fault_file =
      absl::GetFlag(FLAGS_testonly_ledger_fault_file);
  return needlecheck::server::RunServer(options);
}
