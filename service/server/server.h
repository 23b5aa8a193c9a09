// NeedlecheckServer: needlecheckd's gRPC server, and RunServer(), the
// daemon's whole life.
//
// Contract
// - NeedlecheckServer::Start() validates the options, creates data_dir,
//   loads the knowledge base (options.knowledge_base_path, or the bundled
//   one), and only then starts serving: ScreeningService, gRPC health
//   checking (grpc.health.v1, health_service.h; "" and
//   "needlecheck.v1.ScreeningService" SERVING from the start, since a
//   knowledge base is loaded) and server reflection. Errors:
//   INVALID_ARGUMENT for bad options or knowledge base, NOT_FOUND /
//   PERMISSION_DENIED for an unreadable knowledge-base file, UNAVAILABLE
//   when the address cannot be bound.
// - The alert ledger (options.ledger): with "sqlite", Start() opens
//   <data_dir>/ledger.sqlite3 before serving, checking its integrity within
//   options.ledger_check_time_limit, and fails with the ledger's error
//   (UNAVAILABLE, FAILED_PRECONDITION for a file from a newer version,
//   DATA_LOSS for a damaged, empty or non-SQLite file, with a hint at
//   --ledger_recover) when it cannot. With options.ledger_recover a
//   DATA_LOSS file is moved aside (ledger::MoveDamagedLedgerAside, logged
//   as ledger_recovered) and a new ledger started. With "postgres", Start()
//   reads options.ledger_password_file, connects to options.ledger_dsn
//   (retrying for options.ledger_connect_timeout, each retry logged as
//   ledger_connect_retry), migrates the schema and logs ledger_opened with
//   the DSN without any password; it fails with the ledger's error
//   (UNAVAILABLE: unreachable in time; PERMISSION_DENIED: login refused;
//   FAILED_PRECONDITION: newer schema). While that database is down the
//   server stays SERVING (Screen without alert ids once the queue bound is
//   hit, feedback UNAVAILABLE), as with a failing disk. With "none" there
//   is no ledger.
// - A failing ledger disk never slows serving: Screen answers without
//   alert ids, feedback UNAVAILABLE at once, health checks and
//   GetKnowledgeBase are untouched; ledger_write_failed is logged at most
//   every 10 s, ledger_write_recovered once writes succeed again.
//   ledger()->Counters() holds the totals a metrics endpoint exports
//   (screenings_refused: Screen answered without alert ids;
//   feedback_refused; writes_failing).
// - Metrics (server_metrics.h) are collected from the start; with
//   options.metrics_listen, Start() also serves them (GET /metrics, its own
//   port, common/metrics/http_endpoint.h) once gRPC is serving, and fails
//   with that endpoint's error (INVALID_ARGUMENT, UNAVAILABLE) when it
//   cannot. RunServer() then prints "needlecheckd metrics at
//   http://HOST:PORT/metrics" after the "listening on" line.
// - ReloadKnowledgeBase() reloads from the same place; on error the old one
//   keeps being served and the error is returned (and logged). The file
//   must be a regular file of at most 16 MiB (kb::LoadKnowledgeBaseFile):
//   a FIFO or /dev/zero is refused without being read, at start-up
//   (FAILED_PRECONDITION) as on reload.
// - Drain(): health NOT_SERVING, then options.drain_lame_duck of serving
//   as before, then new calls refused (GOAWAY) and calls in flight get
//   options.drain_grace_period and are then cancelled. Health Watch
//   streams do not count as calls in flight: once no other call is left
//   they are ended (UNAVAILABLE, after their NOT_SERVING) and connections
//   left get kIdleConnectionGrace (1 s) to close before they are closed,
//   so a drain with no call in flight takes about that long. Once the
//   server has stopped, the ledger commits everything queued and is
//   closed; then Drain() returns. Idempotent; the destructor drains with
//   no grace. ledger_close_status() tells whether the ledger closed cleanly
//   (DATA_LOSS: queued screenings could not be written; logged too).
// - Transport security: with options.tls_cert_path the listen address
//   serves TLS, with options.tls_client_ca_path mutual TLS
//   (tls_credentials.h); with options.authz_policy_path every call is
//   authorized by its client certificate's names (authorizer.h). Start()
//   fails with the loader's error when a file cannot be read or does not
//   parse (a policy line: INVALID_ARGUMENT "FILE:LINE: problem").
//   ReloadSecurity() re-reads certificates, key, client CA and policy;
//   each part that fails keeps its current version (logged:
//   tls_reload_failed, authz_reload_failed) and the first error is
//   returned. Health and reflection are open to every client the transport
//   admits.
// - options.health_listen_address: a second, plaintext gRPC server with
//   grpc.health.v1.Health only (no reflection, no screening), with the
//   same status as the main port; Drain() turns it NOT_SERVING with the
//   main one and stops it after the main server has stopped.
// - Thread-safe: ReloadKnowledgeBase(), ReloadSecurity() and Drain() may
//   be called from any thread while calls are served.
//
// RunServer() is what needlecheckd's main calls. It blocks SIGTERM, SIGINT
// and SIGHUP in the calling thread before any other thread exists (so every
// thread gRPC starts inherits the mask), starts the server, prints
// "needlecheckd listening on HOST:PORT" on stdout (then, with a health
// port, "needlecheckd health listening on HOST:PORT"), and then waits for
// signals with sigwait() in that thread (no work in signal handlers):
// SIGHUP asks a reload worker thread to reload the knowledge base, the
// TLS files and the authorization policy (the
// signal thread never waits for a reload, so SIGTERM is always handled; a
// SIGHUP while a reload is under way queues one more, further ones are
// folded into it), SIGTERM/SIGINT drain and return 0 (1 when the ledger
// could not commit everything at close). After the drain it waits at most
// 2 s for a reload still under way, then exits without it. It returns 2
// for invalid options and 1 when the server cannot start. Call
// it from main before anything else starts a thread.
#ifndef SERVICE_SERVER_SERVER_H_
#define SERVICE_SERVER_SERVER_H_

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/metrics/http_endpoint.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/server.h"
#include "service/ledger/alert_ledger.h"
#include "service/server/authorizer.h"
#include "service/server/calls_in_flight.h"
#include "service/server/health_service.h"
#include "service/server/knowledge_base_store.h"
#include "service/server/screening_backend.h"
#include "service/server/screening_service.h"
#include "service/server/server_metrics.h"
#include "service/server/server_options.h"
#include "service/server/tls_credentials.h"

namespace needlecheck::server {

// The name health checking reports for the screening service.
inline constexpr char kScreeningServiceName[] =
    "needlecheck.v1.ScreeningService";

class NeedlecheckServer {
 public:
  static absl::StatusOr<std::unique_ptr<NeedlecheckServer>> Start(
      const ServerOptions& options);

  NeedlecheckServer(const NeedlecheckServer&) = delete;
  NeedlecheckServer& operator=(const NeedlecheckServer&) = delete;
  ~NeedlecheckServer();

  // The bound port, and "HOST:PORT" with the host of the listen address.
  int port() const { return port_; }
  const std::string& address() const { return address_; }
  // The health port's, when options.health_listen_address is set (else 0
  // and "").
  int health_port() const { return health_port_; }
  const std::string& health_address() const { return health_address_; }

  absl::Status ReloadKnowledgeBase();
  absl::Status ReloadSecurity();
  void Drain() ABSL_LOCKS_EXCLUDED(drain_mu_);

  const KnowledgeBaseStore& knowledge_base_store() const { return *store_; }

  // Metrics: always collected; served on options.metrics_listen when set,
  // whose bound "HOST:PORT" metrics_address() is ("" otherwise).
  ServerMetrics& metrics() { return *metrics_; }
  std::string metrics_address() const {
    return metrics_endpoint_ == nullptr ? "" : metrics_endpoint_->address();
  }

  // The ledger; null with options.ledger == "none". Closed after Drain().
  ledger::AlertLedger* ledger() const { return ledger_.get(); }
  absl::Status ledger_close_status() const ABSL_LOCKS_EXCLUDED(drain_mu_);

 private:
  explicit NeedlecheckServer(const ServerOptions& options);
  void LogKnowledgeBase(absl::string_view event) const;
  void LogTls(absl::string_view event) const;
  absl::Status LoadSecurity();
  absl::Status StartHealthServer();
  void SetServingStatus(bool serving);
  // Drain(): runs beside Shutdown(); once no real call is in flight, ends
  // the health Watch streams and closes the connections left; returns when
  // the real calls were done.
  absl::Time StopWhenCallsAreDone(absl::Time deadline);
  absl::Status OpenLedger();
  absl::Status OpenPostgresLedger();
  void CloseLedger() ABSL_EXCLUSIVE_LOCKS_REQUIRED(drain_mu_);

  const ServerOptions options_;
  std::unique_ptr<KnowledgeBaseStore> store_;
  // Outlives everything that feeds it (ledger writer, backend, gRPC).
  std::unique_ptr<ServerMetrics> metrics_;
  // Declared before everything that uses it, so destroyed after them.
  std::unique_ptr<ledger::AlertLedger> ledger_;
  std::unique_ptr<ScreeningBackend> backend_;
  // TLS material (null: plaintext) and the authorization policy; both used
  // by gRPC and the service, so declared before them.
  std::unique_ptr<ReloadableTlsCredentials> tls_;
  std::unique_ptr<Authorizer> authorizer_;
  std::unique_ptr<ScreeningServiceImpl> service_;
  // grpc.health.v1 on the main port and on the health port; declared
  // before the servers that use them.
  std::unique_ptr<HealthService> health_;
  std::unique_ptr<HealthService> health_port_health_;
  // The main server's calls but health checks; outlives the server.
  CallsInFlight calls_in_flight_;
  std::unique_ptr<grpc::Server> server_;
  // The health server's handler of every method but grpc.health.v1's.
  grpc::CallbackGenericService unknown_methods_;
  std::unique_ptr<grpc::Server> health_server_;
  int port_ = 0;
  std::string address_;
  int health_port_ = 0;
  std::string health_address_;
  mutable absl::Mutex drain_mu_;
  bool drained_ ABSL_GUARDED_BY(drain_mu_) = false;
  absl::Status ledger_close_status_ ABSL_GUARDED_BY(drain_mu_);
  // Last: stopped first, while the store and the ledger it reads exist.
  std::unique_ptr<metrics::MetricsHttpEndpoint> metrics_endpoint_;
};

// INVALID_ARGUMENT when options.ledger is "postgres" and ledger_dsn carries
// a password (password=..., or user:password@ in a URI); the message names
// --ledger_password_file and never quotes the DSN. RunServer() exits 2 then.
absl::Status ValidateLedgerDsn(const ServerOptions& options);

int RunServer(const ServerOptions& options);

}  // namespace needlecheck::server

#endif  // SERVICE_SERVER_SERVER_H_
