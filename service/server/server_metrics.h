// ServerMetrics: needlecheckd's Prometheus metrics (common/metrics), and the
// three places that feed them: a gRPC server interceptor for every call, a
// ScreeningBackend wrapper for issued alerts and an AlertLedger wrapper for
// feedback. The README's "Metrics" section lists every metric.
//
// Contract
// - Create() registers the metrics: needlecheck_build_info{version},
//   needlecheck_knowledge_base_info{version} (the served version, read at
//   scrape time from `store`), needlecheck_rpc_server_handled_total
//   {method,code}, needlecheck_rpc_server_handling_seconds{method},
//   needlecheck_alerts_issued_total{rule_id,severity},
//   needlecheck_feedback_total{rule_id,outcome} and
//   needlecheck_ledger_flush_seconds. AddLedger() adds the ledger's
//   counters and gauges (read from AlertLedger::Counters() at scrape time).
// - Labels come from closed sets only: `method` is the gRPC path of a
//   method the server registers (ScreeningService, health, reflection) or
//   "other"; `code` a gRPC status code name; `rule_id` the rule ids the
//   knowledge base defines; `severity` and `outcome` enum names. No patient
//   id, request id, alert id or comment ever becomes a label.
// - The RPC interceptor counts every call once, failures included: when
//   the status is sent (before the client sees it; CANCELLED when the
//   client had cancelled the call, whatever the handler answered), or, for
//   a call that ends without sending one, as CANCELLED when gRPC destroys
//   the call.
//   handling_seconds runs from the interceptor's creation (the call's
//   start) to then.
// - Lifetimes: `store`, the ledger given to AddLedger() and the ServerMetrics
//   must outlive every Render() of registry() (stop the metrics endpoint
//   first), and the ServerMetrics must outlive the server, backend and
//   ledger wrappers that feed it.
// - Thread-safe.
#ifndef SERVICE_SERVER_SERVER_METRICS_H_
#define SERVICE_SERVER_SERVER_METRICS_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/metrics/registry.h"
#include "grpcpp/support/server_interceptor.h"
#include "grpcpp/support/status.h"
#include "needlecheck/v1/ledger.pb.h"
#include "needlecheck/v1/screening.pb.h"
#include "service/ledger/alert_ledger.h"
#include "service/server/knowledge_base_store.h"
#include "service/server/screening_backend.h"

namespace needlecheck::server {

class ServerMetrics {
 public:
  static absl::StatusOr<std::unique_ptr<ServerMetrics>> Create(
      const KnowledgeBaseStore* store);

  // Registers the ledger's metrics; call at most once.
  absl::Status AddLedger(const ledger::AlertLedger* ledger);

  metrics::Registry& registry() { return registry_; }

  // `method`: a gRPC path ("/pkg.Service/Method"), or anything else, which
  // is counted as "other".
  void RpcDone(absl::string_view method, grpc::StatusCode code,
               absl::Duration took);
  void AlertsIssued(const needlecheck::v1::ScreenResponse& response);
  void FeedbackRecorded(absl::string_view rule_id,
                        needlecheck::v1::FeedbackOutcome outcome);
  void LedgerBatchCommitted(absl::Duration took);

 private:
  ServerMetrics() = default;

  metrics::Registry registry_;
  metrics::CounterFamily* rpc_handled_ = nullptr;
  metrics::HistogramFamily* rpc_seconds_ = nullptr;
  metrics::CounterFamily* alerts_ = nullptr;
  metrics::CounterFamily* feedback_ = nullptr;
  metrics::HistogramFamily* ledger_flush_ = nullptr;
};

// The interceptor factory to give grpc::ServerBuilder (experimental()
// .SetInterceptorCreators). `metrics` must outlive the server.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
NewRpcMetricsInterceptorFactory(ServerMetrics* metrics);

// `backend`, counting the alerts of every successful Screen.
std::unique_ptr<ScreeningBackend> WithAlertMetrics(
    std::unique_ptr<ScreeningBackend> backend, ServerMetrics* metrics);

// `ledger`, counting every newly recorded feedback (duplicates are not).
std::unique_ptr<ledger::AlertLedger> WithFeedbackMetrics(
    std::unique_ptr<ledger::AlertLedger> ledger, ServerMetrics* metrics);

}  // namespace needlecheck::server

#endif  // SERVICE_SERVER_SERVER_METRICS_H_
