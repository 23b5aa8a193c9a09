#include "adapters/hl7v2/processing/hl7_metrics.h"

#include <utility>

namespace needlecheck::hl7v2 {

absl::StatusOr<std::unique_ptr<Hl7Metrics>> Hl7Metrics::Create(
    metrics::Registry* registry) {
  std::unique_ptr<Hl7Metrics> m(new Hl7Metrics());
  if (absl::Status s = metrics::AddBuildInfo(*registry); !s.ok()) return s;
  absl::StatusOr<metrics::CounterFamily*> messages = registry->AddCounter(
      "needlecheck_hl7_messages_total",
      "HL7 v2 messages and MLLP framing errors answered, by kind and ACK "
      "outcome (duplicate: a resend answered with the stored ACK).",
      {"kind", "outcome"});
  if (!messages.ok()) return messages.status();
  m->messages_ = *messages;
  absl::StatusOr<metrics::HistogramFamily*> seconds =
      registry->AddHistogram("needlecheck_hl7_message_seconds",
                             "Time from a complete frame to its ACK, by kind.",
                             {"kind"}, metrics::LatencyBuckets());
  if (!seconds.ok()) return seconds.status();
  m->message_seconds_ = *seconds;
  absl::StatusOr<metrics::CounterFamily*> alerts = registry->AddCounter(
      "needlecheck_hl7_alerts_total",
      "Alerts sent in the ACKs of screened bookings, by severity.",
      {"severity"});
  if (!alerts.ok()) return alerts.status();
  m->alerts_ = *alerts;
  absl::StatusOr<metrics::CounterFamily*> outbound = registry->AddCounter(
      "needlecheck_hl7_outbound_total",
      "Delivery attempts of ORU^R01 alert messages to --alerts_to, by "
      "result.",
      {"result"});
  if (!outbound.ok()) return outbound.status();
  m->outbound_ = *outbound;
  Hl7Metrics* raw = m.get();
  if (absl::Status s = registry->AddCallback(
          "needlecheck_hl7_outbox_depth",
          "ORU^R01 alert messages queued, not yet delivered.",
          metrics::MetricType::kGauge, {},
          [raw] {
            return std::vector<metrics::Sample>{
                {{}, static_cast<double>(raw->ReadOutboxDepth())}};
          });
      !s.ok()) {
    return s;
  }
  return m;
}

void Hl7Metrics::MessageDone(absl::string_view kind, absl::string_view outcome,
                             absl::Duration took) {
  messages_->With({kind, outcome}).Increment();
  message_seconds_->With({kind}).Observe(absl::ToDoubleSeconds(took));
}

void Hl7Metrics::Alert(absl::string_view severity) {
  alerts_->With({severity}).Increment();
}

void Hl7Metrics::Outbound(absl::string_view result) {
  outbound_->With({result}).Increment();
}

void Hl7Metrics::SetOutboxDepth(std::function<int64_t()> read) {
  absl::MutexLock lock(&mu_);
  outbox_depth_ = std::move(read);
}

int64_t Hl7Metrics::ReadOutboxDepth() const {
  std::function<int64_t()> read;
  {
    absl::MutexLock lock(&mu_);
    read = outbox_depth_;
  }
  return read ? read() : 0;
}

}  // namespace needlecheck::hl7v2
