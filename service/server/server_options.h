// ServerOptions: every setting of a needlecheck gRPC server, in one place.
//
// Contract
// - A plain struct: every field states its default. Flags live only in
//   `*_main.cc` files and are copied into it; ValidateServerOptions() checks
//   it once, before anything is started.
// - ApplyServerOptions() is the single place where these settings reach a
//   grpc::ServerBuilder: message-size limits, HTTP/2 and keepalive channel
//   arguments, the resource quota. needlecheckd and the benchmark's echo
//   server both call it, so they run with the same transport settings.
//   It does not add a listening port (see AddListeningPort()), and it does
//   not touch health checking or reflection (process-wide switches that
//   needlecheckd sets itself before creating its builder).
// - Thread-safety: plain data; the functions keep no state.
//
// Example
//   ServerOptions options;
//   options.listen_address = "127.0.0.1:0";
//   RETURN_IF_ERROR(ValidateServerOptions(options));
//   grpc::ServerBuilder builder;
//   ApplyServerOptions(options, &builder);
//   int port = 0;
//   AddListeningPort(options, &builder, &port);
//   builder.RegisterService(&service);
//   std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
#ifndef SERVICE_SERVER_SERVER_OPTIONS_H_
#define SERVICE_SERVER_SERVER_OPTIONS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "grpcpp/server_builder.h"

namespace needlecheck::server {

struct ServerOptions {
  // Where to listen, "HOST:PORT" (IPv6 as "[::1]:PORT"). Port 0 lets the
  // kernel pick a free port; the chosen one is reported once serving.
  // Plaintext HTTP/2 unless tls_cert_path is set; plaintext only on a
  // loopback address (IsLoopbackAddress) unless insecure_plaintext.
  // Default: "127.0.0.1:50051".
  std::string listen_address = "127.0.0.1:50051";

  // Largest request message the server accepts, in bytes. A larger message
  // is rejected by gRPC itself with RESOURCE_EXHAUSTED before any handler
  // runs. Must be > 0. Default: 4 MiB.
  int max_receive_message_bytes = 4 * 1024 * 1024;

  // Largest response message the server sends, in bytes; a larger response
  // fails the call with RESOURCE_EXHAUSTED. Must be > 0. Default: 16 MiB
  // (a knowledge-base summary or a response for a large record stays far
  // below it).
  int max_send_message_bytes = 16 * 1024 * 1024;

  // Concurrent calls (HTTP/2 streams) allowed on one client connection
  // (SETTINGS_MAX_CONCURRENT_STREAMS); gRPC clients queue the calls past
  // it. Bounds what one connection can make the server hold: without it,
  // one client opening 100,000 idle streams took the server to 1.6 GB.
  // gRPC 1.51 enforces it only on a client that has acknowledged the
  // server's SETTINGS (a client past it then loses its connection).
  // 0: gRPC's default (no practical limit). Default: 256.
  int max_concurrent_streams = 256;

  // Upper bound on the threads gRPC may create for this server (resource
  // quota). 0: no explicit limit, gRPC sizes its own pools. Callback-API
  // services (needlecheckd) run their handlers on gRPC's internal executor,
  // which this also bounds. Default: 0.
  int max_threads = 0;

  // The server pings a connection that has been idle for this long, and
  // closes it if the ping is not answered within `keepalive_timeout`.
  // Default: 2 hours (gRPC's default).
  absl::Duration keepalive_time = absl::Hours(2);
  // Default: 20 seconds.
  absl::Duration keepalive_timeout = absl::Seconds(20);

  // The shortest interval between client keepalive pings (without data)
  // the server tolerates; clients pinging more often get GOAWAY
  // "too_many_pings". Default: 10 seconds (gRPC's own default is 5 minutes,
  // which rejects common client keepalive settings behind load balancers).
  absl::Duration min_client_ping_interval = absl::Seconds(10);
  // Whether clients may send keepalive pings while no call is open.
  // Default: true.
  bool permit_keepalive_without_calls = true;

  // Connections idle (no open call) for this long are closed gracefully
  // (gRPC clients reconnect on their next call). Default: 30 minutes.
  absl::Duration max_connection_idle = absl::Minutes(30);
  // Connections older than this are closed gracefully (GOAWAY), so that
  // clients re-balance across replicas. Default: infinite (never).
  absl::Duration max_connection_age = absl::InfiniteDuration();
  // After max_connection_age, calls still open get this long to finish.
  // Default: infinite.
  absl::Duration max_connection_age_grace = absl::InfiniteDuration();

  // Graceful drain on SIGTERM: health turns NOT_SERVING, new calls are
  // refused, calls in flight get this long to finish and are then
  // cancelled. Must be >= 0. Default: 10 seconds.
  absl::Duration drain_grace_period = absl::Seconds(10);

  // Lame duck before the drain: on SIGTERM, health turns NOT_SERVING at
  // once but calls are still accepted and served for this long, so that
  // clients that watch health (every needlecheck client: round_robin with
  // client-side health checking, adapters/common/grpc_client_channel.h)
  // move their calls to other replicas before the GOAWAY; without it, a
  // call sent just as the GOAWAY leaves may be cancelled by gRPC before it
  // reaches the service. 0 to 60 seconds. Default: 0 (drain at once).
  // The drain then waits for those clients to close their health Watch
  // calls, within drain_grace_period (the Watches left are cancelled).
  absl::Duration drain_lame_duck = absl::ZeroDuration();

  // Folder for anything the server writes: the alert ledger
  // (<data_dir>/ledger.sqlite3). Created when missing. Default: "./data".
  std::string data_dir = "./data";

  // The alert ledger: "sqlite" (a file under data_dir, opened at start; the
  // server does not start when it cannot be opened), "postgres" (a
  // PostgreSQL database shared by several replicas,
  // service/ledger/postgres_ledger.h; needs ledger_dsn) or "none" (no
  // ledger: alerts carry no alert_id, RecordFeedback and GetAlertStats
  // answer UNIMPLEMENTED). Default: "sqlite".
  std::string ledger = "sqlite";

  // --- PostgreSQL ledger (ledger == "postgres"; refused otherwise) ---
  // libpq connection string, "host=... port=... dbname=... user=..." or a
  // postgresql:// URI. Required with "postgres". A DSN carrying a password
  // (password=..., or user:password@ in a URI) is refused: the command
  // line is visible to every local user (ps). Default: "".
  std::string ledger_dsn;
  // A file holding the database password (read once at start, at most
  // 4 KiB, a trailing newline stripped). Empty: libpq's own PGPASSWORD or
  // PGPASSFILE (~/.pgpass) apply. Default: "".
  std::string ledger_password_file;
  // At start, how long to keep trying to reach the database (backoff up to
  // 1 s) before giving up (start_failed, exit 1: an orchestrator restarts
  // the pod). Must be between 0 and 1 hour. Default: 30 seconds.
  absl::Duration ledger_connect_timeout = absl::Seconds(30);

  // How long issued-alert rows may wait in memory before they are committed
  // in a batch: the most a crash (not a SIGTERM drain) can lose. Feedback is
  // always committed before it is acknowledged. Must be >= 0 and at most
  // 10 seconds. Default: 200 ms.
  absl::Duration ledger_flush_window = absl::Milliseconds(200);

  // The access-audit trail (service/ledger/access_log.h) lives in the
  // ledger's database; records older than this are deleted by an hourly
  // pruning pass (the first at start). Must be at least 1 day and at most
  // 100 years. Default: 2190 days (six years).
  absl::Duration access_log_retention = absl::Hours(24 * 2190);

  // --- Alert ledger: integrity at start, recovery, fault injection ---
  // How long the integrity check of an existing ledger file (PRAGMA
  // quick_check) may take at start. A damaged, empty or non-SQLite file
  // stops the start (DATA_LOSS) unless ledger_recover. When the limit is
  // hit, the server starts anyway and logs ledger_check_incomplete (damage
  // in the unchecked part then shows as failing writes: Screen without
  // alert ids). Zero skips the check. Must be >= 0 and at most 1 hour.
  // Ignored with ledger "postgres" (no file to check). Default: 30 seconds.
  absl::Duration ledger_check_time_limit = absl::Seconds(30);
  // When the ledger file is damaged, empty or not SQLite (or its -wal is
  // there without it): move it aside with its -wal/-shm to
  // "<file>.damaged-<UTC time>", log ledger_recovered naming both, and
  // start a new, empty ledger. Without it such a file stops the start.
  // SQLite only: refused with ledger "postgres". Default: false.
  bool ledger_recover = false;
  // Test only: while this file exists every ledger write fails as on a full
  // disk (SqliteLedgerOptions::fail_writes_while_exists). SQLite only:
  // refused with ledger "postgres". Default: "".
  std::string ledger_test_fault_file;

  // Knowledge-base file (protobuf text format, KnowledgeBaseDefinition).
  // Empty: the knowledge base compiled into the binary. Reloaded from the
  // same place on SIGHUP. Default: "" (bundled).
  std::string knowledge_base_path;

  // Transport security (tls_credentials.h, authorizer.h). ---------------
  // PEM certificate chain (leaf first) and its private key; both set: the
  // listen address serves TLS only. Re-read on SIGHUP. Default: "" (none).
  std::string tls_cert_path;
  std::string tls_key_path;
  // PEM CA certificates; set: every client must present a certificate that
  // chains to one of them (mutual TLS). Needs tls_cert_path. Re-read on
  // SIGHUP. Default: "" (no client certificates).
  std::string tls_client_ca_path;
  // Allows plaintext on a listen address that is not loopback. Default:
  // false (such a server does not start).
  bool insecure_plaintext = false;
  // Per-caller authorization policy (authz_policy.h). Needs
  // tls_client_ca_path. Re-read on SIGHUP. Default: "" (every verified
  // client may call every method).
  std::string authz_policy_path;
  // When set, a second, plaintext port serving only grpc.health.v1.Health
  // with the main port's status (for probes that cannot present a client
  // certificate). Any address: it carries no patient data. Default: "".
  std::string health_listen_address;

  // When not empty, the server writes "HOST:PORT\n" to this file (atomically,
  // via a rename) once it is serving, and removes it when it stops.
  // Default: "" (no file).
  std::string ready_file;

  // When not empty, "HOST:PORT" where GET /metrics serves the Prometheus
  // metrics (server_metrics.h) over plain HTTP, on its own port (0: a free
  // one). Default: "" (no metrics endpoint).
  std::string metrics_listen;
};

// True for "127.x.x.x:PORT", "localhost:PORT", "[::1]:PORT" and "unix:"
// addresses: reachable from this machine only.
bool IsLoopbackAddress(const std::string& listen_address);

// OK, or INVALID_ARGUMENT naming the first bad field (the password check of
// ledger_dsn is server.h's ValidateLedgerDsn(): it needs libpq, which this
// gRPC-only library does not link). Plaintext on an
// address that is not loopback without insecure_plaintext is refused with
// a message naming the flags --tls_cert/--tls_key and --insecure_plaintext.
absl::Status ValidateServerOptions(const ServerOptions& options);

// Applies message-size limits, HTTP/2, keepalive and connection-age channel
// arguments and the thread limit of `options` to `builder`.
void ApplyServerOptions(const ServerOptions& options,
                        grpc::ServerBuilder* builder);

// Adds `options.listen_address` as an insecure listening port; after
// BuildAndStart(), `*selected_port` holds the bound port (0 if binding
// failed).
void AddListeningPort(const ServerOptions& options,
                      grpc::ServerBuilder* builder, int* selected_port);

}  // namespace needlecheck::server

#endif  // SERVICE_SERVER_SERVER_OPTIONS_H_
