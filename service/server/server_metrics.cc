#include "service/server/server_metrics.h"

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/server_context.h"

namespace needlecheck::server {
namespace {

using ::needlecheck::metrics::MetricType;
using ::needlecheck::metrics::Sample;

constexpr char kScreeningService[] = "needlecheck.v1.ScreeningService";

// The gRPC paths of every method the server registers: the closed set of
// `method` label values (anything else is "other").
const absl::flat_hash_set<std::string>& KnownMethods() {
  static const auto* const methods = [] {
    auto* set = new absl::flat_hash_set<std::string>{
        "/grpc.health.v1.Health/Check",
        "/grpc.health.v1.Health/Watch",
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
    };
    const google::protobuf::ServiceDescriptor* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
            kScreeningService);
    for (int i = 0; service != nullptr && i < service->method_count(); ++i) {
      set->insert(absl::StrCat("/", kScreeningService, "/",
                               service->method(i)->name()));
    }
    return set;
  }();
  return *methods;
}

// "SEVERITY_CRITICAL" -> "critical"; "FEEDBACK_OUTCOME_ACCEPTED" -> "accepted".
std::string EnumLabel(const std::string& name, absl::string_view prefix) {
  absl::string_view v = name;
  if (v.substr(0, prefix.size()) == prefix) v.remove_prefix(prefix.size());
  return absl::AsciiStrToLower(v);
}

// Counts one call: at PRE_SEND_STATUS, or as CANCELLED when the call ends
// without a status.
class RpcMetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  RpcMetricsInterceptor(ServerMetrics* metrics,
                        grpc::experimental::ServerRpcInfo* info)
      : metrics_(metrics),
        info_(info),
        method_(info->method() == nullptr ? "" : info->method()),
        start_(std::chrono::steady_clock::now()) {}

  ~RpcMetricsInterceptor() override {
    if (!counted_) Count(grpc::StatusCode::CANCELLED);
  }

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (!counted_ &&
        methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      // A call the client cancelled ends with whatever status the handler
      // chose (a stream reactor finishes OK when its reads stop); count
      // what the client saw.
      grpc::ServerContextBase* context = info_->server_context();
      Count(context != nullptr && context->IsCancelled()
                ? grpc::StatusCode::CANCELLED
                : methods->GetSendStatus().error_code());
    }
    methods->Proceed();
  }

 private:
  void Count(grpc::StatusCode code) {
    counted_ = true;
    metrics_->RpcDone(
        method_, code,
        absl::FromChrono(std::chrono::steady_clock::now() - start_));
  }

  ServerMetrics* const metrics_;
  grpc::experimental::ServerRpcInfo* const info_;
  const std::string method_;
  const std::chrono::steady_clock::time_point start_;
  bool counted_ = false;
};

class RpcMetricsInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit RpcMetricsInterceptorFactory(ServerMetrics* metrics)
      : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    // gRPC takes ownership of the interceptor and deletes it with the call.
    return std::make_unique<RpcMetricsInterceptor>(metrics_, info).release();
  }

 private:
  ServerMetrics* const metrics_;
};

class AlertMetricsBackend final : public ScreeningBackend {
 public:
  AlertMetricsBackend(std::unique_ptr<ScreeningBackend> inner,
                      ServerMetrics* metrics)
      : inner_(std::move(inner)), metrics_(metrics) {}

  absl::Status Screen(const needlecheck::v1::ScreenRequest& request,
                      needlecheck::v1::ScreenResponse* response) override {
    absl::Status status = inner_->Screen(request, response);
    if (status.ok()) metrics_->AlertsIssued(*response);
    return status;
  }
  absl::Status GetKnowledgeBase(
      needlecheck::v1::KnowledgeBase* knowledge_base) override {
    return inner_->GetKnowledgeBase(knowledge_base);
  }
  absl::Status Audit(
      const needlecheck::v1::AuditRequest& request,
      std::vector<needlecheck::v1::AuditFinding>* findings) override {
    return inner_->Audit(request, findings);
  }

 private:
  const std::unique_ptr<ScreeningBackend> inner_;
  ServerMetrics* const metrics_;
};

class FeedbackMetricsLedger final : public ledger::AlertLedger {
 public:
  FeedbackMetricsLedger(std::unique_ptr<ledger::AlertLedger> inner,
                        ServerMetrics* metrics)
      : inner_(std::move(inner)), metrics_(metrics) {}

  absl::Status RecordScreening(ledger::ScreeningRecord screening) override {
    return inner_->RecordScreening(std::move(screening));
  }
  absl::StatusOr<needlecheck::v1::RecordFeedbackResponse> RecordFeedback(
      const needlecheck::v1::RecordFeedbackRequest& request) override {
    absl::StatusOr<needlecheck::v1::RecordFeedbackResponse> response =
        inner_->RecordFeedback(request);
    if (response.ok() && !response->duplicate()) {
      metrics_->FeedbackRecorded(response->rule_id(), request.outcome());
    }
    return response;
  }
  absl::StatusOr<needlecheck::v1::AlertStats> GetAlertStats(
      const needlecheck::v1::GetAlertStatsRequest& request) override {
    return inner_->GetAlertStats(request);
  }
  // The trail lives in the wrapped ledger's database.
  ledger::AccessLog* access_log() override { return inner_->access_log(); }
  absl::Status Flush() override { return inner_->Flush(); }
  absl::Status Close() override { return inner_->Close(); }
  ledger::LedgerCounters Counters() const override {
    return inner_->Counters();
  }

 private:
  const std::unique_ptr<ledger::AlertLedger> inner_;
  ServerMetrics* const metrics_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ServerMetrics>> ServerMetrics::Create(
    const KnowledgeBaseStore* store) {
  std::unique_ptr<ServerMetrics> m(new ServerMetrics());
  metrics::Registry& r = m->registry_;
  if (absl::Status s = metrics::AddBuildInfo(r); !s.ok()) return s;
  if (absl::Status s = r.AddCallback(
          "needlecheck_knowledge_base_info",
          "Always 1; the version label is the knowledge base being served.",
          MetricType::kGauge, {"version"},
          [store] {
            const KnowledgeBaseStore::Snapshot snapshot = store->Current();
            std::vector<Sample> samples;
            if (snapshot.kb != nullptr) {
              samples.push_back({{snapshot.kb->version()}, 1});
            }
            return samples;
          });
      !s.ok()) {
    return s;
  }
  absl::StatusOr<metrics::CounterFamily*> handled = r.AddCounter(
      "needlecheck_rpc_server_handled_total",
      "gRPC calls completed, by method (gRPC path) and status code.",
      {"method", "code"});
  if (!handled.ok()) return handled.status();
  m->rpc_handled_ = *handled;
  absl::StatusOr<metrics::HistogramFamily*> seconds =
      r.AddHistogram("needlecheck_rpc_server_handling_seconds",
                     "Time from a gRPC call's start to its status, by method.",
                     {"method"}, metrics::LatencyBuckets());
  if (!seconds.ok()) return seconds.status();
  m->rpc_seconds_ = *seconds;
  absl::StatusOr<metrics::CounterFamily*> alerts = r.AddCounter(
      "needlecheck_alerts_issued_total",
      "Alerts returned by successful Screen calls (unary and streamed).",
      {"rule_id", "severity"});
  if (!alerts.ok()) return alerts.status();
  m->alerts_ = *alerts;
  absl::StatusOr<metrics::CounterFamily*> feedback = r.AddCounter(
      "needlecheck_feedback_total",
      "Feedback newly recorded in the ledger (repeats not counted), by the "
      "alert's rule and the outcome.",
      {"rule_id", "outcome"});
  if (!feedback.ok()) return feedback.status();
  m->feedback_ = *feedback;
  absl::StatusOr<metrics::HistogramFamily*> flush = r.AddHistogram(
      "needlecheck_ledger_flush_seconds",
      "Time of each successful ledger batch commit (BEGIN to COMMIT, fsync "
      "included).",
      {}, metrics::LatencyBuckets());
  if (!flush.ok()) return flush.status();
  m->ledger_flush_ = *flush;
  return m;
}

absl::Status ServerMetrics::AddLedger(const ledger::AlertLedger* ledger) {
  struct Field {
    const char* name;
    const char* help;
    MetricType type;
    double (*read)(const ledger::LedgerCounters&);
  };
  const Field fields[] = {
      {"needlecheck_ledger_screenings_queued_total",
       "Screenings the ledger accepted into its write queue.",
       MetricType::kCounter,
       [](const ledger::LedgerCounters& c) {
         return static_cast<double>(c.screenings_queued);
       }},
      {"needlecheck_ledger_screenings_committed_total",
       "Screenings written and committed.", MetricType::kCounter,
       [](const ledger::LedgerCounters& c) {
         return static_cast<double>(c.screenings_committed);
       }},
      {"needlecheck_ledger_screenings_refused_total",
       "Screenings the ledger refused (writes failing, queue full, closed): "
       "Screen answered without alert ids.",
       MetricType::kCounter,
       [](const ledger::LedgerCounters& c) {
         return static_cast<double>(c.screenings_refused);
       }},
      {"needlecheck_ledger_batch_write_failures_total",
       "Failed batch commits (each is retried).", MetricType::kCounter,
       [](const ledger::LedgerCounters& c) {
         return static_cast<double>(c.batch_write_failures);
       }},
      {"needlecheck_ledger_feedback_recorded_total",
       "Feedback committed (new).", MetricType::kCounter,
       [](const ledger::LedgerCounters& c) {
         return static_cast<double>(c.feedback_recorded);
       }},
      {"needlecheck_ledger_feedback_duplicates_total",
       "Feedback repeats answered with duplicate=true.", MetricType::kCounter,
       [](const ledger::LedgerCounters& c) {
         return static_cast<double>(c.feedback_duplicates);
       }},
      {"needlecheck_ledger_feedback_refused_total",
       "Feedback that could not be committed (UNAVAILABLE and other "
       "errors).",
       MetricType::kCounter,
       [](const ledger::LedgerCounters& c) {
         return static_cast<double>(c.feedback_refused);
       }},
      {"needlecheck_ledger_queue_depth",
       "Screenings queued and not yet committed.", MetricType::kGauge,
       [](const ledger::LedgerCounters& c) {
         return static_cast<double>(c.queue_depth);
       }},
      {"needlecheck_ledger_writes_failing",
       "1 while the ledger's last batch commit failed, else 0.",
       MetricType::kGauge,
       [](const ledger::LedgerCounters& c) {
         return c.writes_failing ? 1.0 : 0.0;
       }},
  };
  for (const Field& f : fields) {
    auto read = f.read;
    if (absl::Status s = registry_.AddCallback(
            f.name, f.help, f.type, {},
            [ledger, read] {
              return std::vector<Sample>{{{}, read(ledger->Counters())}};
            });
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

void ServerMetrics::RpcDone(absl::string_view method, grpc::StatusCode code,
                            absl::Duration took) {
  const std::string label = KnownMethods().contains(method)
                                ? std::string(method)
                                : std::string("other");
  rpc_handled_
      ->With({label,
              absl::StatusCodeToString(static_cast<absl::StatusCode>(code))})
      .Increment();
  rpc_seconds_->With({label}).Observe(absl::ToDoubleSeconds(took));
}

void ServerMetrics::AlertsIssued(
    const needlecheck::v1::ScreenResponse& response) {
  for (const needlecheck::v1::Alert& alert : response.alerts()) {
    alerts_
        ->With({alert.rule_id(),
                EnumLabel(needlecheck::v1::Severity_Name(alert.severity()),
                          "SEVERITY_")})
        .Increment();
  }
}

void ServerMetrics::FeedbackRecorded(absl::string_view rule_id,
                                     needlecheck::v1::FeedbackOutcome outcome) {
  feedback_
      ->With({rule_id.empty() ? absl::string_view("unknown") : rule_id,
              EnumLabel(needlecheck::v1::FeedbackOutcome_Name(outcome),
                        "FEEDBACK_OUTCOME_")})
      .Increment();
}

void ServerMetrics::LedgerBatchCommitted(absl::Duration took) {
  ledger_flush_->With(std::vector<std::string>{})
      .Observe(absl::ToDoubleSeconds(took));
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
NewRpcMetricsInterceptorFactory(ServerMetrics* metrics) {
  return std::make_unique<RpcMetricsInterceptorFactory>(metrics);
}

std::unique_ptr<ScreeningBackend> WithAlertMetrics(
    std::unique_ptr<ScreeningBackend> backend, ServerMetrics* metrics) {
  return std::make_unique<AlertMetricsBackend>(std::move(backend), metrics);
}

std::unique_ptr<ledger::AlertLedger> WithFeedbackMetrics(
    std::unique_ptr<ledger::AlertLedger> ledger, ServerMetrics* metrics) {
  return std::make_unique<FeedbackMetricsLedger>(std::move(ledger), metrics);
}

}  // namespace needlecheck::server
