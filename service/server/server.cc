#include "service/server/server.h"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/files/atomic_file.h"
#include "common/postgres/pg_conn.h"
#include "grpc/grpc.h"
#include "grpc/support/time.h"
#include "grpcpp/ext/health_check_service_server_builder_option.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/impl/server_builder_option.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "service/ledger/postgres_ledger.h"
#include "service/ledger/sqlite_ledger.h"
#include "service/server/log.h"
#include "service/server/log_limiter.h"
#include "service/server/reload_worker.h"

namespace needlecheck::server {
namespace {

// While the ledger's disk fails, its writer retries up to once a second;
// the failure is logged at most this often.
constexpr absl::Duration kLedgerWriteErrorLogInterval = absl::Seconds(10);

absl::Status PrepareDataDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("data_dir \"", dir, "\": cannot create: ", ec.message()));
  }
  if (!std::filesystem::is_directory(dir, ec)) {
    return absl::FailedPreconditionError(
        absl::StrCat("data_dir \"", dir, "\": not a directory"));
  }
  return absl::OkStatus();
}

// The callbacks both ledgers share: logs (write failures at most every
// kLedgerWriteErrorLogInterval) and metrics.
template <typename LedgerOptions>
void SetLedgerCallbacks(ServerMetrics* metrics, LedgerOptions* options) {
  options->on_access_pruned = [](int64_t deleted) {
    LogInfo("access_log_pruned", {{"records_deleted", deleted}});
  };
  options->on_batch_committed = [metrics](absl::Duration took, size_t) {
    metrics->LedgerBatchCommitted(took);
  };
  // The writer retries a failed commit up to once a second: log the first
  // failure, then once per interval with the attempts in between.
  auto write_error_log =
      std::make_shared<LogLimiter>(kLedgerWriteErrorLogInterval);
  options->on_write_error = [write_error_log](const absl::Status& status) {
    int64_t held_back = 0;
    if (!write_error_log->ShouldLog(&held_back)) return;
    // The database's error only (SQLite, libpq): never row content.
    LogError("ledger_write_failed",
             {{"code", absl::StatusCodeToString(status.code())},
              {"error", status.message()},
              {"failed_attempts_not_logged", held_back},
              {"action",
               "retrying; until a write succeeds feedback is UNAVAILABLE "
               "and Screen answers without alert ids (PostgreSQL: once "
               "its queue is full)"}});
  };
  options->on_write_recovered = [](absl::Duration failing_for,
                                   int64_t failed_attempts) {
    LogInfo("ledger_write_recovered",
            {{"failing_ms", absl::ToInt64Milliseconds(failing_for)},
             {"failed_attempts", failed_attempts}});
  };
}

// "HOST" of "HOST:PORT" ("[::1]" stays bracketed).
std::string HostOf(const std::string& listen_address) {
  const size_t colon = listen_address.rfind(':');
  return listen_address.substr(0, colon);
}

// During a drain, once no real call is left: how long connections get to
// close by themselves before the server closes them.
constexpr absl::Duration kIdleConnectionGrace = absl::Seconds(1);

// How long RunServer waits, after draining, for a reload still under way.
constexpr absl::Duration kReloadStopTimeout = absl::Seconds(2);

// Drops every builder plugin (server reflection, which the reflection
// library registers for every builder), for the health-only server.
class WithoutPlugins final : public grpc::ServerBuilderOption {
 public:
  void UpdateArguments(grpc::ChannelArguments* /*args*/) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>*
                         plugins) override {
    plugins->clear();
  }
};

// needlecheckd's health service (health_service.h) registered with
// `builder`, gRPC's built-in one disabled.
std::unique_ptr<HealthService> NewHealthService(grpc::ServerBuilder* builder) {
  builder->SetOption(
      std::make_unique<grpc::HealthCheckServiceServerBuilderOption>(nullptr));
  auto health = std::make_unique<HealthService>(
      std::vector<std::string>{"", kScreeningServiceName});
  builder->RegisterService(health.get());
  return health;
}

const char* TransportName(const ServerOptions& options) {
  if (options.tls_cert_path.empty()) return "plaintext";
  return options.tls_client_ca_path.empty() ? "tls" : "mtls";
}

sigset_t ControlSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

}  // namespace

NeedlecheckServer::NeedlecheckServer(const ServerOptions& options)
    : options_(options) {}

absl::Status ValidateLedgerDsn(const ServerOptions& options) {
  if (options.ledger != "postgres" || options.ledger_dsn.empty()) {
    return absl::OkStatus();
  }
  // Never quote the DSN: it may carry the password.
  if (absl::Status s = ledger::CheckDsnHasNoPassword(options.ledger_dsn);
      !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("ledger_dsn: ", s.message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<NeedlecheckServer>> NeedlecheckServer::Start(
    const ServerOptions& options) {
  if (absl::Status s = ValidateServerOptions(options); !s.ok()) return s;
  if (absl::Status s = ValidateLedgerDsn(options); !s.ok()) return s;
  if (absl::Status s = PrepareDataDir(options.data_dir); !s.ok()) return s;

  std::unique_ptr<NeedlecheckServer> server(new NeedlecheckServer(options));
  server->store_ = std::make_unique<KnowledgeBaseStore>(
      FileOrBundledLoader(options.knowledge_base_path),
      [] { return absl::Now(); });
  if (absl::Status s = server->store_->Load(); !s.ok()) return s;
  server->LogKnowledgeBase("kb_loaded");
  absl::StatusOr<std::unique_ptr<ServerMetrics>> metrics =
      ServerMetrics::Create(server->store_.get());
  if (!metrics.ok()) return metrics.status();
  server->metrics_ = *std::move(metrics);
  if (absl::Status s = server->OpenLedger(); !s.ok()) return s;
  if (server->ledger_ != nullptr) {
    server->ledger_ =
        WithFeedbackMetrics(std::move(server->ledger_), server->metrics_.get());
    if (absl::Status s = server->metrics_->AddLedger(server->ledger_.get());
        !s.ok()) {
      return s;
    }
  }
  server->backend_ = WithAlertMetrics(
      CreateEngineBackend(server->store_.get(), server->ledger_.get()),
      server->metrics_.get());
  if (absl::Status s = server->LoadSecurity(); !s.ok()) return s;
  server->service_ = std::make_unique<ScreeningServiceImpl>(
      server->backend_.get(), server->ledger_.get(), server->authorizer_.get());

  // A process-wide switch, set before the builder exists.
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  ApplyServerOptions(options, &builder);
  server->health_ = NewHealthService(&builder);
  if (server->tls_ != nullptr) {
    builder.AddListeningPort(options.listen_address,
                             server->tls_->NewServerCredentials(),
                             &server->port_);
  } else {
    AddListeningPort(options, &builder, &server->port_);
  }
  builder.RegisterService(server->service_.get());
  // Every call, of every service, failures included, is counted here.
  std::vector<
      std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
  interceptors.push_back(
      NewRpcMetricsInterceptorFactory(server->metrics_.get()));
  interceptors.push_back(server->calls_in_flight_.NewInterceptorFactory());
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on \"", options.listen_address, "\""));
  }
  server->address_ =
      absl::StrCat(HostOf(options.listen_address), ":", server->port_);
  if (absl::Status s = server->StartHealthServer(); !s.ok()) return s;
  server->SetServingStatus(true);
  absl::StatusOr<std::unique_ptr<metrics::MetricsHttpEndpoint>> endpoint =
      metrics::MetricsHttpEndpoint::StartIfListed(
          options.metrics_listen, &server->metrics_->registry());
  if (!endpoint.ok()) return endpoint.status();
  server->metrics_endpoint_ = *std::move(endpoint);

  if (!options.ready_file.empty()) {
    if (absl::Status s = files::WriteFileAtomically(options.ready_file,
                                                    server->address_ + "\n");
        !s.ok()) {
      return s;  // the destructor stops the server
    }
  }
  LogInfo(
      "serving",
      {{"address", server->address_},
       {"transport", TransportName(options)},
       {"health_address",
        server->health_address_.empty() ? "none" : server->health_address_},
       {"max_receive_message_bytes", options.max_receive_message_bytes},
       {"max_concurrent_streams", options.max_concurrent_streams},
       {"max_connection_idle",
        absl::FormatDuration(options.max_connection_idle)},
       {"max_connection_age", absl::FormatDuration(options.max_connection_age)},
       {"data_dir", options.data_dir},
       {"metrics", server->metrics_address().empty()
                       ? "off"
                       : server->metrics_address()}});
  return server;
}

absl::Status NeedlecheckServer::LoadSecurity() {
  if (!options_.tls_cert_path.empty()) {
    absl::StatusOr<std::unique_ptr<ReloadableTlsCredentials>> tls =
        ReloadableTlsCredentials::Create({options_.tls_cert_path,
                                          options_.tls_key_path,
                                          options_.tls_client_ca_path});
    if (!tls.ok()) return tls.status();
    tls_ = *std::move(tls);
    LogTls("tls_loaded");
  }
  absl::StatusOr<std::unique_ptr<Authorizer>> authorizer =
      Authorizer::Create(options_.authz_policy_path);
  if (!authorizer.ok()) return authorizer.status();
  authorizer_ = *std::move(authorizer);
  if (authorizer_->has_policy()) {
    LogInfo("authz_policy_loaded", {{"path", authorizer_->policy_path()},
                                    {"rules", authorizer_->rule_count()}});
  }
  return absl::OkStatus();
}

void NeedlecheckServer::LogTls(absl::string_view event) const {
  const ReloadableTlsCredentials::Description d = tls_->Current();
  LogInfo(event, {{"cert", options_.tls_cert_path},
                  {"subject", d.subject},
                  {"not_after", d.not_after},
                  {"sha256", d.sha256},
                  {"client_ca", options_.tls_client_ca_path.empty()
                                    ? "none"
                                    : options_.tls_client_ca_path}});
}

absl::Status NeedlecheckServer::ReloadSecurity() {
  absl::Status first;
  if (tls_ != nullptr) {
    if (absl::Status s = tls_->Reload(); !s.ok()) {
      LogError("tls_reload_failed",
               {{"code", absl::StatusCodeToString(s.code())},
                {"error", s.message()},
                {"serving_sha256", tls_->Current().sha256}});
      first.Update(s);
    } else {
      LogTls("tls_reloaded");
    }
  }
  if (authorizer_->has_policy()) {
    if (absl::Status s = authorizer_->Reload(); !s.ok()) {
      LogError("authz_reload_failed",
               {{"code", absl::StatusCodeToString(s.code())},
                {"error", s.message()},
                {"serving_rules", authorizer_->rule_count()}});
      first.Update(s);
    } else {
      LogInfo("authz_policy_reloaded", {{"path", authorizer_->policy_path()},
                                        {"rules", authorizer_->rule_count()}});
    }
  }
  return first;
}

absl::Status NeedlecheckServer::StartHealthServer() {
  if (options_.health_listen_address.empty()) return absl::OkStatus();
  grpc::ServerBuilder builder;
  builder.SetOption(std::make_unique<WithoutPlugins>());
  ApplyServerOptions(options_, &builder);
  // Every other method is UNIMPLEMENTED; registering it also gives gRPC the
  // callback method it needs to run a server without a completion queue.
  builder.RegisterCallbackGenericService(&unknown_methods_);
  health_port_health_ = NewHealthService(&builder);
  builder.AddListeningPort(options_.health_listen_address,
                           grpc::InsecureServerCredentials(), &health_port_);
  health_server_ = builder.BuildAndStart();
  if (health_server_ == nullptr || health_port_ == 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on \"", options_.health_listen_address, "\""));
  }
  health_address_ =
      absl::StrCat(HostOf(options_.health_listen_address), ":", health_port_);
  return absl::OkStatus();
}

void NeedlecheckServer::SetServingStatus(bool serving) {
  for (HealthService* health : {health_.get(), health_port_health_.get()}) {
    if (health != nullptr) health->SetServing(serving);
  }
}

absl::Status NeedlecheckServer::OpenLedger() {
  if (options_.ledger == "none") {
    LogWarning("ledger_disabled",
               {{"consequence", "no alert ids and no access-audit trail"}});
    return absl::OkStatus();
  }
  if (options_.ledger == "postgres") return OpenPostgresLedger();
  ledger::SqliteLedgerOptions ledger_options;
  ledger_options.data_dir = options_.data_dir;
  ledger_options.flush_window = options_.ledger_flush_window;
  ledger_options.integrity_check_time_limit = options_.ledger_check_time_limit;
  ledger_options.fail_writes_while_exists = options_.ledger_test_fault_file;
  ledger_options.access_log_retention = options_.access_log_retention;
  SetLedgerCallbacks(metrics_.get(), &ledger_options);
  const std::string path = ledger::LedgerFilePath(ledger_options);
  ledger::LedgerOpenReport report;
  absl::StatusOr<std::unique_ptr<ledger::AlertLedger>> ledger =
      ledger::OpenSqliteLedger(ledger_options, &report);
  if (absl::IsDataLoss(ledger.status()) && options_.ledger_recover) {
    // Explicitly asked for: keep the damaged file, start a new ledger.
    absl::StatusOr<std::string> moved =
        ledger::MoveDamagedLedgerAside(path, absl::Now());
    if (!moved.ok()) {
      return absl::Status(
          ledger.status().code(),
          absl::StrCat(ledger.status().message(),
                       "; --ledger_recover could not move it aside: ",
                       moved.status().message()));
    }
    LogWarning("ledger_recovered",
               {{"damaged_file", path},
                {"moved_to", *moved},
                {"problem", ledger.status().message()},
                {"action",
                 "kept the damaged file; starting a new, empty "
                 "ledger"}});
    ledger = ledger::OpenSqliteLedger(ledger_options, &report);
  }
  if (absl::IsDataLoss(ledger.status())) {
    return absl::DataLossError(absl::StrCat(
        ledger.status().message(),
        ". Restore the file from a backup, or start with --ledger_recover "
        "to move it aside (it is kept, renamed) and begin a new, empty "
        "ledger"));
  }
  if (!ledger.ok()) return ledger.status();
  ledger_ = *std::move(ledger);
  const char* check = "skipped";
  if (report.integrity_check == ledger::LedgerOpenReport::Check::kPassed) {
    check = "passed";
  } else if (report.integrity_check ==
             ledger::LedgerOpenReport::Check::kIncomplete) {
    check = "incomplete";
    LogWarning(
        "ledger_check_incomplete",
        {{"path", path},
         {"time_limit", absl::FormatDuration(options_.ledger_check_time_limit)},
         {"action",
          "serving; damage in the unchecked part would show as "
          "failing ledger writes"}});
  }
  LogInfo("ledger_opened",
          {{"path", path},
           {"created", report.created ? "true" : "false"},
           {"integrity_check", check},
           {"check_ms", absl::ToInt64Milliseconds(report.check_took)},
           {"flush_window", absl::FormatDuration(options_.ledger_flush_window)},
           {"access_log_retention_days",
            absl::ToInt64Hours(options_.access_log_retention) / 24}});
  return absl::OkStatus();
}

absl::Status NeedlecheckServer::OpenPostgresLedger() {
  ledger::PostgresLedgerOptions ledger_options;
  ledger_options.dsn = options_.ledger_dsn;
  ledger_options.flush_window = options_.ledger_flush_window;
  ledger_options.access_log_retention = options_.access_log_retention;
  ledger_options.open_timeout = options_.ledger_connect_timeout;
  SetLedgerCallbacks(metrics_.get(), &ledger_options);
  if (!options_.ledger_password_file.empty()) {
    absl::StatusOr<std::string> password =
        postgres::ReadPasswordFile(options_.ledger_password_file);
    if (!password.ok()) {
      return absl::Status(
          password.status().code(),
          absl::StrCat("ledger_password_file: ", password.status().message()));
    }
    ledger_options.password = *std::move(password);
  }
  const std::string dsn = ledger::DsnForLogs(options_.ledger_dsn);
  ledger_options.on_open_retry = [dsn](const absl::Status& status,
                                       absl::Duration retry_in) {
    LogWarning("ledger_connect_retry",
               {{"dsn", dsn},
                {"error", status.message()},
                {"retry_in_ms", absl::ToInt64Milliseconds(retry_in)}});
  };
  ledger::PostgresOpenReport report;
  absl::StatusOr<std::unique_ptr<ledger::AlertLedger>> ledger =
      ledger::OpenPostgresLedger(ledger_options, &report);
  if (!ledger.ok()) {
    return absl::Status(ledger.status().code(),
                        absl::StrCat("PostgreSQL ledger (", dsn,
                                     "): ", ledger.status().message()));
  }
  ledger_ = *std::move(ledger);
  LogInfo("ledger_opened",
          {{"backend", "postgres"},
           {"dsn", dsn},
           {"schema_version", report.schema_version},
           {"migrated", report.migrated ? "true" : "false"},
           {"connect_attempts", report.connect_attempts},
           {"flush_window", absl::FormatDuration(options_.ledger_flush_window)},
           {"access_log_retention_days",
            absl::ToInt64Hours(options_.access_log_retention) / 24}});
  return absl::OkStatus();
}

void NeedlecheckServer::CloseLedger() {
  if (ledger_ == nullptr) return;
  ledger_close_status_ = ledger_->Close();
  const ledger::LedgerCounters c = ledger_->Counters();
  if (!ledger_close_status_.ok()) {
    LogError("ledger_close_failed",
             {{"code", absl::StatusCodeToString(ledger_close_status_.code())},
              {"error", ledger_close_status_.message()}});
  }
  LogInfo("ledger_closed", {{"screenings_committed", c.screenings_committed},
                            {"screenings_refused", c.screenings_refused},
                            {"batch_write_failures", c.batch_write_failures},
                            {"feedback_recorded", c.feedback_recorded},
                            {"feedback_duplicates", c.feedback_duplicates},
                            {"feedback_refused", c.feedback_refused},
                            {"queue_depth", c.queue_depth},
                            {"access_queued", c.access_queued},
                            {"access_refused", c.access_refused},
                            {"access_pruned", c.access_pruned}});
}

absl::Status NeedlecheckServer::ledger_close_status() const {
  absl::MutexLock lock(&drain_mu_);
  return ledger_close_status_;
}

void NeedlecheckServer::LogKnowledgeBase(absl::string_view event) const {
  const KnowledgeBaseStore::Snapshot snapshot = store_->Current();
  const needlecheck::v1::KnowledgeBase summary = snapshot.kb->Summary();
  LogInfo(event, {{"version", summary.version()},
                  {"source", summary.source()},
                  {"sha256", summary.sha256()},
                  {"rules", summary.rules_size()},
                  {"value_sets", summary.value_sets_size()}});
}

absl::Status NeedlecheckServer::ReloadKnowledgeBase() {
  absl::Status status = store_->Load();
  if (!status.ok()) {
    // A configuration error: the file and line are fine to log.
    LogError("kb_reload_failed",
             {{"path", options_.knowledge_base_path.empty()
                           ? "bundled"
                           : options_.knowledge_base_path},
              {"code", absl::StatusCodeToString(status.code())},
              {"error", status.message()},
              {"serving_version", store_->Current().kb->version()}});
    return status;
  }
  LogKnowledgeBase("kb_reloaded");
  return absl::OkStatus();
}

void NeedlecheckServer::Drain() {
  absl::MutexLock lock(&drain_mu_);
  if (drained_ || server_ == nullptr) {
    drained_ = true;
    return;
  }
  drained_ = true;
  LogInfo("draining",
          {{"grace_period", absl::FormatDuration(options_.drain_grace_period)},
           {"lame_duck", absl::FormatDuration(options_.drain_lame_duck)}});
  SetServingStatus(false);
  if (!options_.ready_file.empty()) {
    std::error_code ec;
    std::filesystem::remove(options_.ready_file, ec);
  }
  const absl::Time start = absl::Now();
  // Clients watching health move away; calls still arriving are served.
  absl::SleepFor(options_.drain_lame_duck);
  // Shutdown() refuses new calls and waits, up to the deadline, for every
  // open call and connection; StopWhenCallsAreDone() makes that wait last
  // only as long as the real calls.
  const absl::Time deadline = absl::Now() + options_.drain_grace_period;
  absl::Time calls_done = deadline;
  std::thread stopper([this, deadline, &calls_done] {
    calls_done = StopWhenCallsAreDone(deadline);
  });
  server_->Shutdown(absl::ToChronoTime(deadline));
  server_->Wait();
  stopper.join();
  if (health_server_ != nullptr) {
    health_server_->Shutdown(absl::ToChronoTime(absl::Now()));
    health_server_->Wait();
  }
  // No call is in flight any more: commit what the ledger still queues.
  CloseLedger();
  LogInfo("stopped",
          {{"drain_ms", absl::ToInt64Milliseconds(absl::Now() - start)},
           {"calls_done_ms", absl::ToInt64Milliseconds(calls_done - start)}});
}

absl::Time NeedlecheckServer::StopWhenCallsAreDone(absl::Time deadline) {
  grpc_server* core = server_->c_server();
  // Starts the shutdown, or joins the one Shutdown() has started (both
  // calls are allowed): from here on no connection or call is admitted.
  // (gRPC's core API: grpc::CompletionQueue takes only its own tags.)
  grpc_completion_queue* stopped_cq =
      grpc_completion_queue_create_for_next(nullptr);
  grpc_server_shutdown_and_notify(core, stopped_cq, nullptr);
  absl::Time calls_done = deadline;
  for (;;) {
    calls_in_flight_.WaitUntilNone(deadline);
    calls_done = std::min(calls_done, absl::Now());
    // Health Watch streams never end by themselves: end them now that the
    // real calls are done (each has been sent NOT_SERVING). Until then
    // they keep the clients reading the connection, so they answer the
    // server's GOAWAY at once.
    health_->EndWatches();
    // A client with no call left reads its connection only now and then,
    // so it may take many seconds to answer the GOAWAY: give connections
    // kIdleConnectionGrace to close by themselves, then close them (no
    // call is in flight: nothing is lost). A call counted meanwhile (one
    // admitted just before the shutdown) is waited for first.
    const absl::Duration wait =
        std::min(kIdleConnectionGrace, deadline - absl::Now());
    const grpc_event stopped = grpc_completion_queue_next(
        stopped_cq,
        gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                     gpr_time_from_millis(
                         std::max<int64_t>(0, absl::ToInt64Milliseconds(wait)),
                         GPR_TIMESPAN)),
        nullptr);
    if (stopped.type == GRPC_OP_COMPLETE) break;  // stopped by itself
    if (calls_in_flight_.WaitUntilNone(absl::InfinitePast()) ||
        absl::Now() >= deadline) {
      grpc_server_cancel_all_calls(core);
      // The connections close at once now: wait for the notification.
      grpc_completion_queue_next(stopped_cq, gpr_inf_future(GPR_CLOCK_REALTIME),
                                 nullptr);
      break;
    }
  }
  grpc_completion_queue_shutdown(stopped_cq);
  while (grpc_completion_queue_next(stopped_cq,
                                    gpr_inf_future(GPR_CLOCK_REALTIME), nullptr)
             .type != GRPC_QUEUE_SHUTDOWN) {
  }
  grpc_completion_queue_destroy(stopped_cq);
  return calls_done;
}

NeedlecheckServer::~NeedlecheckServer() {
  {
    absl::MutexLock lock(&drain_mu_);
    if (!drained_ && server_ != nullptr) {
      drained_ = true;
      server_->Shutdown(absl::ToChronoTime(absl::Now()));
      server_->Wait();
      if (health_server_ != nullptr) {
        health_server_->Shutdown(absl::ToChronoTime(absl::Now()));
        health_server_->Wait();
      }
    }
  }
}

int RunServer(const ServerOptions& options) {
  // Before any thread exists: every thread started from here on inherits
  // the mask, so these signals reach only the sigwait() below.
  const sigset_t signals = ControlSignals();
  if (int err = pthread_sigmask(SIG_BLOCK, &signals, nullptr); err != 0) {
    LogError("start_failed", {{"error", std::strerror(err)}});
    return 1;
  }
  absl::Status valid = ValidateServerOptions(options);
  if (valid.ok()) valid = ValidateLedgerDsn(options);
  if (!valid.ok()) {
    LogError("invalid_options", {{"error", valid.message()}});
    return 2;
  }
  LogInfo("starting", {{"listen", options.listen_address},
                       {"knowledge_base", options.knowledge_base_path.empty()
                                              ? "bundled"
                                              : options.knowledge_base_path}});
  absl::StatusOr<std::unique_ptr<NeedlecheckServer>> server =
      NeedlecheckServer::Start(options);
  if (!server.ok()) {
    LogError("start_failed",
             {{"code", absl::StatusCodeToString(server.status().code())},
              {"error", server.status().message()}});
    return 1;
  }
  std::printf("needlecheckd listening on %s\n", (*server)->address().c_str());
  if (!(*server)->health_address().empty()) {
    std::printf("needlecheckd health listening on %s\n",
                (*server)->health_address().c_str());
  }
  if (!(*server)->metrics_address().empty()) {
    std::printf("needlecheckd metrics at http://%s/metrics\n",
                (*server)->metrics_address().c_str());
  }
  std::fflush(stdout);

  NeedlecheckServer* const running = server->get();
  // Each part logs its own outcome; a failed one keeps its current version.
  ReloadWorker reloader([running] {
    running->ReloadKnowledgeBase().IgnoreError();
    running->ReloadSecurity().IgnoreError();
  });
  while (true) {
    int sig = 0;
    const int err = sigwait(&signals, &sig);
    if (err != 0) {
      if (err == EINTR) continue;
      LogError("sigwait_failed", {{"error", std::strerror(err)}});
      break;
    }
    if (sig == SIGHUP) {
      const bool coalesced = reloader.Request();
      LogInfo("signal",
              {{"signal", "SIGHUP"},
               {"action", coalesced ? "reload_already_queued" : "reload"}});
      continue;
    }
    LogInfo("signal", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"},
                       {"action", "drain"}});
    break;
  }
  (*server)->Drain();
  const int exit_code = (*server)->ledger_close_status().ok() ? 0 : 1;
  if (!reloader.Stop(kReloadStopTimeout)) {
    // A reload stuck in I/O: the server has drained and the ledger is
    // closed, so exit without waiting for it (it still uses the server).
    LogError("kb_reload_abandoned",
             {{"waited", absl::FormatDuration(kReloadStopTimeout)}});
    std::fflush(stdout);
    std::_Exit(exit_code);
  }
  return exit_code;
}

}  // namespace needlecheck::server
