#include "adapters/hl7v2/transport/mllp_server_metrics.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace needlecheck::hl7v2 {

namespace {

constexpr MllpEventKind kKinds[] = {
    MllpEventKind::kMessage,     MllpEventKind::kOversized,
    MllpEventKind::kInterrupted, MllpEventKind::kBadTrailer,
    MllpEventKind::kStrayBytes,  MllpEventKind::kTruncated,
};

}  // namespace

absl::Status RegisterMllpServerMetrics(const MllpServer* server,
                                       metrics::Registry* registry) {
  using metrics::MetricType;
  using metrics::Sample;
  struct Scalar {
    const char* name;
    const char* help;
    MetricType type;
    std::function<double(const MllpServerCounters&)> read;
  };
  const Scalar scalars[] = {
      {"needlecheck_hl7_mllp_connections_open", "Open MLLP connections.",
       MetricType::kGauge,
       [](const MllpServerCounters& c) {
         return static_cast<double>(c.connections_open);
       }},
      {"needlecheck_hl7_mllp_connections_total", "MLLP connections accepted.",
       MetricType::kCounter,
       [](const MllpServerCounters& c) {
         return static_cast<double>(c.connections_total);
       }},
      {"needlecheck_hl7_mllp_connections_refused_total",
       "MLLP connections closed at accept: over max_connections.",
       MetricType::kCounter,
       [](const MllpServerCounters& c) {
         return static_cast<double>(c.connections_refused);
       }},
      {"needlecheck_hl7_mllp_idle_timeouts_total",
       "MLLP connections closed after idle_timeout.", MetricType::kCounter,
       [](const MllpServerCounters& c) {
         return static_cast<double>(c.idle_timeouts);
       }},
      {"needlecheck_hl7_mllp_tls_failures_total",
       "MLLP connections ended by a TLS handshake or protocol error.",
       MetricType::kCounter,
       [](const MllpServerCounters& c) {
         return static_cast<double>(c.tls_failures);
       }},
      {"needlecheck_hl7_mllp_received_bytes_total",
       "Bytes read from MLLP peers.", MetricType::kCounter,
       [](const MllpServerCounters& c) {
         return static_cast<double>(c.bytes_received);
       }},
      {"needlecheck_hl7_mllp_sent_bytes_total",
       "Bytes of framed replies written to MLLP peers.", MetricType::kCounter,
       [](const MllpServerCounters& c) {
         return static_cast<double>(c.bytes_sent);
       }},
      {"needlecheck_hl7_mllp_replies_total", "MLLP replies written.",
       MetricType::kCounter,
       [](const MllpServerCounters& c) {
         return static_cast<double>(c.replies);
       }},
  };
  for (const Scalar& s : scalars) {
    auto read = s.read;
    if (absl::Status st = registry->AddCallback(
            s.name, s.help, s.type, {},
            [server, read]() -> std::vector<Sample> {
              return {Sample{{}, read(server->counters())}};
            });
        !st.ok()) {
      return st;
    }
  }
  return registry->AddCallback(
      "needlecheck_hl7_mllp_frames_total",
      "MLLP deframer events by kind (message, oversized, interrupted, "
      "bad_trailer, stray_bytes, truncated).",
      MetricType::kCounter, {"kind"}, [server]() -> std::vector<Sample> {
        const MllpServerCounters c = server->counters();
        std::vector<Sample> samples;
        for (MllpEventKind kind : kKinds) {
          samples.push_back(Sample{{std::string(MllpEventKindName(kind))},
                                   static_cast<double>(c.frames(kind))});
        }
        return samples;
      });
}

}  // namespace needlecheck::hl7v2
