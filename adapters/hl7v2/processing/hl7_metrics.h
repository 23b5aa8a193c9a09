// Hl7Metrics: needlecheck-hl7's Prometheus metrics (common/metrics), fed by
// the MessageProcessor and the OutboxSender, served on --metrics_listen.
//
// Contract
// - Create() registers, in `registry`: needlecheck_build_info{version},
//   needlecheck_hl7_messages_total{kind,outcome},
//   needlecheck_hl7_message_seconds{kind} (histogram, 0.5 ms to 10 s),
//   needlecheck_hl7_alerts_total{severity},
//   needlecheck_hl7_outbound_total{result}, and the gauge
//   needlecheck_hl7_outbox_depth, read at each scrape from the function
//   given to SetOutboxDepth() (0 until set). The MLLP connections are the
//   transport's metrics (transport/mllp_server_metrics.h).
// - Label values come from closed sets, never from a message: kind is
//   patient_update, patient_merge, booking, acknowledge_only, unsupported,
//   unparseable or framing; outcome AA, AE, AR or duplicate (a resend
//   answered from the store); severity critical, warning or info; result
//   delivered (AA/CA), rejected (AR/CR: given up) or retried (no answer,
//   AE/CE or an unreadable answer).
// - Thread-safe. The registry must outlive the Hl7Metrics, and the gauge
//   function must stay callable while the registry renders.
#ifndef ADAPTERS_HL7V2_PROCESSING_HL7_METRICS_H_
#define ADAPTERS_HL7V2_PROCESSING_HL7_METRICS_H_

#include <cstdint>
#include <functional>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/metrics/registry.h"

namespace needlecheck::hl7v2 {

class Hl7Metrics {
 public:
  static absl::StatusOr<std::unique_ptr<Hl7Metrics>> Create(
      metrics::Registry* registry);

  void MessageDone(absl::string_view kind, absl::string_view outcome,
                   absl::Duration took);
  void Alert(absl::string_view severity);
  void Outbound(absl::string_view result);
  void SetOutboxDepth(std::function<int64_t()> read) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  Hl7Metrics() = default;
  int64_t ReadOutboxDepth() const ABSL_LOCKS_EXCLUDED(mu_);

  metrics::CounterFamily* messages_ = nullptr;
  metrics::HistogramFamily* message_seconds_ = nullptr;
  metrics::CounterFamily* alerts_ = nullptr;
  metrics::CounterFamily* outbound_ = nullptr;
  mutable absl::Mutex mu_;
  std::function<int64_t()> outbox_depth_ ABSL_GUARDED_BY(mu_);
};

}  // namespace needlecheck::hl7v2

#endif  // ADAPTERS_HL7V2_PROCESSING_HL7_METRICS_H_
