// The counters of an MllpServer (mllp_server.h) as Prometheus metrics, read
// at each scrape:
//   needlecheck_hl7_mllp_connections_open             gauge
//   needlecheck_hl7_mllp_connections_total            accepted
//   needlecheck_hl7_mllp_connections_refused_total    over a connection cap
//   needlecheck_hl7_mllp_idle_timeouts_total          closed for idleness
//   needlecheck_hl7_mllp_tls_failures_total           TLS handshake/errors
//   needlecheck_hl7_mllp_frames_total{kind}           by MllpEventKindName
//   needlecheck_hl7_mllp_received_bytes_total,
//   needlecheck_hl7_mllp_sent_bytes_total needlecheck_hl7_mllp_replies_total
// Errors: what Registry::AddCallback returns (ALREADY_EXISTS when called
// twice on one registry). `server` must outlive the registry's last
// Render().
#ifndef ADAPTERS_HL7V2_TRANSPORT_MLLP_SERVER_METRICS_H_
#define ADAPTERS_HL7V2_TRANSPORT_MLLP_SERVER_METRICS_H_

#include "absl/status/status.h"
#include "adapters/hl7v2/transport/mllp_server.h"
#include "common/metrics/registry.h"

namespace needlecheck::hl7v2 {

absl::Status RegisterMllpServerMetrics(const MllpServer* server,
                                       metrics::Registry* registry);

}  // namespace needlecheck::hl7v2

#endif  // ADAPTERS_HL7V2_TRANSPORT_MLLP_SERVER_METRICS_H_
