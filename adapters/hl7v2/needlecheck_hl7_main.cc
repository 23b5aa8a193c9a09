// needlecheck-hl7: the HL7 v2 (MLLP) listener in front of needlecheckd.
//
//   needlecheck-hl7 --listen=127.0.0.1:2575 --screening_service=HOST:PORT
//       --data_dir=DIR
//       [--state_store=postgres --state_dsn="host=... dbname=... user=..."
//        [--state_password_file=FILE]]
//       [--tls_cert=PEM --tls_key=PEM [--tls_client_ca=PEM]]  (MLLP over TLS)
//       [--screening_tls_ca=PEM [--screening_tls_cert=PEM
//        --screening_tls_key=PEM] [--screening_tls_server_name=NAME]]
//       [--max_frame_bytes=N] [--idle_timeout=5m] [--max_connections=N]
//       [--screen_deadline=10s] [--alerts_to=HOST:PORT]
//       [--metrics_listen=HOST:PORT]
//
// Prints "needlecheck-hl7 listening on HOST:PORT" once serving. SIGTERM or
// SIGINT: stop accepting, finish the messages in hand, exit 0. Exit codes:
// 0 stopped, 1 could not serve (store, port), 2 bad flags.
#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "adapters/common/client_tls_flags.h"
#include "adapters/common/grpc_client_channel.h"
#include "adapters/hl7v2/processing/hl7_metrics.h"
#include "adapters/hl7v2/processing/knowledge_base_cache.h"
#include "adapters/hl7v2/processing/message_processor.h"
#include "adapters/hl7v2/processing/outbox_sender.h"
#include "adapters/hl7v2/processing/screening_client.h"
#include "adapters/hl7v2/state/postgres_state_store.h"
#include "adapters/hl7v2/state/sqlite_state_store.h"
#include "adapters/hl7v2/transport/mllp_server.h"
#include "adapters/hl7v2/transport/mllp_server_metrics.h"
#include "common/metrics/http_endpoint.h"
#include "common/metrics/registry.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:2575",
          "HOST:PORT to accept MLLP connections on (port 0: any free port).");
ABSL_FLAG(std::string, screening_service, "127.0.0.1:50051",
          "needlecheckd's gRPC address (HOST:PORT, dns:///HOST:PORT or an "
          "ipv4:/ipv6: list of replicas, as for needlecheck-cds-hooks).");
NEEDLECHECK_CLIENT_TLS_FLAGS(screening_, screening_service);
ABSL_FLAG(std::string, data_dir, "",
          "With --state_store=sqlite: the folder of the patient-state store, "
          "DIR/hl7-state.sqlite (created when missing).");
ABSL_FLAG(std::string, state_store, "sqlite",
          "Where patient state, answered messages and the alerts outbox "
          "live: sqlite (--data_dir) or postgres (--state_dsn; tables hl7_* "
          "beside needlecheckd's ledger).");
ABSL_FLAG(std::string, state_dsn, "",
          "With --state_store=postgres: the libpq connection string or "
          "postgresql:// URI, without a password (use "
          "--state_password_file, PGPASSWORD or ~/.pgpass).");
ABSL_FLAG(std::string, state_password_file, "",
          "With --state_store=postgres: a file holding the database "
          "password.");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate chain: MLLP over TLS (needs --tls_key).");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert.");
ABSL_FLAG(std::string, tls_client_ca, "",
          "With --tls_cert: PEM CA certificate(s); peers must present a "
          "client certificate it signed (mutual TLS).");
ABSL_FLAG(int64_t, max_frame_bytes, int64_t{1} << 20,
          "Largest MLLP frame accepted; a larger one gets an AR (104) and "
          "the connection stays in sync.");
ABSL_FLAG(absl::Duration, idle_timeout, absl::Minutes(5),
          "Close a connection that sent nothing for this long.");
ABSL_FLAG(int, max_connections, 1024, "Open MLLP connections at most.");
ABSL_FLAG(absl::Duration, screen_deadline, absl::Seconds(10),
          "Deadline of each Screen call to needlecheckd; past it the booking "
          "gets an AE (resend later).");
ABSL_FLAG(std::string, alerts_to, "",
          "HOST:PORT of an MLLP receiver: the alerts of each screened "
          "booking also go there as an ORU^R01, retried until it answers "
          "AA/CA. Empty: none.");
ABSL_FLAG(std::string, metrics_listen, "",
          "When set, HOST:PORT serving GET /metrics (Prometheus text "
          "format) over plain HTTP on its own port (0: a free one).");

namespace needlecheck::hl7v2 {
namespace {

// How long the answered-message keys are kept (the duplicate window), and
// how often older ones are pruned.
constexpr absl::Duration kDuplicateWindow = absl::Hours(24 * 30);
constexpr absl::Duration kPruneInterval = absl::Hours(1);

void Log(const std::string& line) {
  std::fprintf(stderr, "%s\n", line.c_str());
}

// The store the flags name; exit code 2 (bad flags) or 1 in `exit_code`.
absl::StatusOr<std::unique_ptr<PatientStateStore>> OpenStore(int* exit_code) {
  const std::string kind = absl::GetFlag(FLAGS_state_store);
  *exit_code = 2;
  if (kind == "sqlite") {
    const std::string dir = absl::GetFlag(FLAGS_data_dir);
    if (dir.empty()) {
      return absl::InvalidArgumentError(
          "--data_dir is required with --state_store=sqlite");
    }
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    *exit_code = 1;
    if (ec) {
      return absl::UnavailableError(
          absl::StrCat("--data_dir ", dir, ": ", ec.message()));
    }
    return OpenSqliteStateStore(
        (std::filesystem::path(dir) / "hl7-state.sqlite").string());
  }
  if (kind == "postgres") {
    PostgresStateStoreOptions options;
    options.dsn = absl::GetFlag(FLAGS_state_dsn);
    options.password_file = absl::GetFlag(FLAGS_state_password_file);
    if (options.dsn.empty()) {
      return absl::InvalidArgumentError(
          "--state_dsn is required with --state_store=postgres");
    }
    absl::StatusOr<std::unique_ptr<PatientStateStore>> store =
        OpenPostgresStateStore(options);
    *exit_code = store.ok() || !absl::IsInvalidArgument(store.status()) ? 1 : 2;
    return store;
  }
  return absl::InvalidArgumentError("--state_store must be sqlite or postgres");
}

int Main() {
  const int64_t max_frame = absl::GetFlag(FLAGS_max_frame_bytes);
  const absl::Duration screen_deadline = absl::GetFlag(FLAGS_screen_deadline);
  const absl::Duration idle_timeout = absl::GetFlag(FLAGS_idle_timeout);
  if (max_frame < 1024 || screen_deadline <= absl::ZeroDuration() ||
      idle_timeout <= absl::ZeroDuration() ||
      absl::GetFlag(FLAGS_max_connections) < 1) {
    std::fprintf(stderr,
                 "--max_frame_bytes must be at least 1024; "
                 "--screen_deadline, --idle_timeout and --max_connections "
                 "must be positive\n");
    return 2;
  }
  const std::string alerts_to = absl::GetFlag(FLAGS_alerts_to);
  if (!alerts_to.empty() && alerts_to.rfind(':') == std::string::npos) {
    std::fprintf(stderr, "--alerts_to must be HOST:PORT\n");
    return 2;
  }

  // Signals are handled by this thread (sigwait); block them everywhere
  // else before any other thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      grpc_client::OpenAdapterChannel(
          absl::GetFlag(FLAGS_screening_service),
          NEEDLECHECK_CLIENT_TLS_FROM_FLAGS(screening_), "screening_",
          "--screening_service");
  if (!channel.ok()) {
    std::fprintf(stderr, "%s\n",
                 std::string(channel.status().message()).c_str());
    return 2;
  }
  int store_exit = 1;
  absl::StatusOr<std::unique_ptr<PatientStateStore>> store =
      OpenStore(&store_exit);
  if (!store.ok()) {
    std::fprintf(stderr, "state store: %s\n",
                 std::string(store.status().message()).c_str());
    return store_exit;
  }
  std::fprintf(stderr, "event=state_store kind=%s\n",
               absl::GetFlag(FLAGS_state_store).c_str());

  metrics::Registry registry;
  absl::StatusOr<std::unique_ptr<Hl7Metrics>> hl7_metrics =
      Hl7Metrics::Create(&registry);
  if (!hl7_metrics.ok()) {
    std::fprintf(stderr, "metrics: %s\n",
                 std::string(hl7_metrics.status().message()).c_str());
    return 1;
  }

  std::unique_ptr<ScreeningClient> screening =
      NewGrpcScreeningClient(*std::move(channel));
  KnowledgeBaseCache knowledge_base(screening.get(), {}, Log);
  // The first fetch now, so bookings are screened from the first message
  // when needlecheckd is up; the background thread retries otherwise.
  knowledge_base.Refresh().IgnoreError();
  knowledge_base.Start();

  std::unique_ptr<OutboxSender> sender;
  if (!alerts_to.empty()) {
    OutboxSenderOptions options;
    options.target = alerts_to;
    options.client.reply_timeout = absl::Seconds(10);
    sender = std::make_unique<OutboxSender>(options, store->get(),
                                            hl7_metrics->get(), Log);
    OutboxSender* s = sender.get();
    (*hl7_metrics)->SetOutboxDepth([s] { return s->depth(); });
    sender->Start();
  }

  MessageProcessorOptions processor_options;
  processor_options.screen_deadline = screen_deadline;
  processor_options.send_alerts = sender != nullptr;
  processor_options.max_frame_bytes = static_cast<size_t>(max_frame);
  MessageProcessorDeps deps;
  deps.store = store->get();
  deps.screening = screening.get();
  deps.knowledge_base = &knowledge_base;
  deps.metrics = hl7_metrics->get();
  if (sender != nullptr) {
    OutboxSender* s = sender.get();
    deps.outbound_queued = [s] { s->Wake(); };
  }
  deps.log = Log;
  MessageProcessor processor(processor_options, std::move(deps));

  MllpServerOptions server_options;
  server_options.listen = absl::GetFlag(FLAGS_listen);
  server_options.max_frame_bytes = static_cast<size_t>(max_frame);
  server_options.idle_timeout = idle_timeout;
  server_options.max_connections = absl::GetFlag(FLAGS_max_connections);
  server_options.tls_cert_file = absl::GetFlag(FLAGS_tls_cert);
  server_options.tls_key_file = absl::GetFlag(FLAGS_tls_key);
  server_options.tls_client_ca_file = absl::GetFlag(FLAGS_tls_client_ca);
  absl::StatusOr<std::unique_ptr<MllpServer>> server = MllpServer::Start(
      server_options,
      [&processor](const MllpEvent& event, const MllpPeer& peer) {
        return processor.Handle(event, peer);
      });
  if (!server.ok()) {
    std::fprintf(stderr, "--listen: %s\n",
                 std::string(server.status().message()).c_str());
    return absl::IsInvalidArgument(server.status()) ? 2 : 1;
  }
  if (absl::Status s = RegisterMllpServerMetrics(server->get(), &registry);
      !s.ok()) {
    std::fprintf(stderr, "metrics: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  absl::StatusOr<std::unique_ptr<metrics::MetricsHttpEndpoint>>
      started_metrics = metrics::MetricsHttpEndpoint::StartIfListed(
          absl::GetFlag(FLAGS_metrics_listen), &registry);
  if (!started_metrics.ok()) {
    std::fprintf(stderr, "--metrics_listen: %s\n",
                 std::string(started_metrics.status().message()).c_str());
    (*server)->Shutdown(absl::ZeroDuration());
    return absl::IsInvalidArgument(started_metrics.status()) ? 2 : 1;
  }
  std::unique_ptr<metrics::MetricsHttpEndpoint> metrics_endpoint =
      *std::move(started_metrics);

  const std::string listen = server_options.listen;
  const std::string host = listen.substr(0, listen.rfind(':'));
  std::printf("needlecheck-hl7 listening on %s:%d (%s)\n", host.c_str(),
              (*server)->port(),
              server_options.tls_cert_file.empty() ? "mllp" : "mllp+tls");
  if (metrics_endpoint != nullptr) {
    std::printf("needlecheck-hl7 metrics at http://%s/metrics\n",
                metrics_endpoint->address().c_str());
  }
  std::fflush(stdout);

  // Wait for SIGTERM/SIGINT; meanwhile forget answered-message keys older
  // than the duplicate window once an hour.
  int signal = 0;
  absl::Time next_prune = absl::Now();
  while (true) {
    if (absl::Now() >= next_prune) {
      if (absl::Status s =
              (*store)->PruneAnswers(absl::Now() - kDuplicateWindow);
          !s.ok()) {
        Log(absl::StrCat("event=prune_answers failed code=",
                         absl::StatusCodeToString(s.code())));
      }
      next_prune = absl::Now() + kPruneInterval;
    }
    const timespec wait = absl::ToTimespec(next_prune - absl::Now());
    signal = sigtimedwait(&signals, nullptr, &wait);
    if (signal > 0) break;
  }
  std::fprintf(stderr, "event=stopping signal=%d\n", signal);
  (*server)->Shutdown(screen_deadline + absl::Seconds(5));
  metrics_endpoint.reset();
  if (sender != nullptr) sender->Stop();
  knowledge_base.Stop();
  std::fprintf(stderr, "event=stopped\n");
  return 0;
}

}  // namespace
}  // namespace needlecheck::hl7v2

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "HL7 v2 (MLLP) listener for needlecheck: keeps patient state from ADT "
      "feeds, screens microneedling bookings, answers with original-mode "
      "ACKs (see adapters/hl7v2/README.md).");
  absl::ParseCommandLine(argc, argv);
  return needlecheck::hl7v2::Main();
}
