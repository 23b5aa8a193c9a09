// OutboxSender: delivers the ORU^R01 alert messages the MessageProcessor
// queued in the store's outbox to the downstream receiver (--alerts_to),
// over MLLP, in queue order.
//
// Contract
// - One background thread (Start() .. Stop()/destructor). It reads the
//   oldest pending messages (PatientStateStore::PendingOutbound) and sends
//   each on one MllpClient connection (opened on demand, reopened after a
//   failure), then reads the reply's MSA-1:
//     AA / CA        delivered: MarkDelivered.
//     AR / CR        the receiver refuses this message for good: given up,
//                    MarkDelivered (so it leaves the queue), counted
//                    (rejected) and logged.
//     anything else  (no connection, no reply in time, AE / CE, a reply
//                    that is not an ACK): MarkAttempted, the connection
//                    closed, and the queue waits: `first_retry`, doubled
//                    after each failure up to `max_retry`, reset by a
//                    delivery. Messages stay queued across restarts.
// - Wake() (the processor's outbound_queued) starts a round at once;
//   otherwise the queue is looked at every `poll_interval` (and after the
//   retry wait while failing); a round that settled a full batch is
//   followed by the next at once.
// - Logs: fixed words, the outbox id, attempts, the reply's MSA-1; never
//   message content (it holds patient data).
// - depth(): the pending count seen by the last round (at most
//   `batch_size`), for the outbox gauge.
// - Thread-safe. `store` (and `metrics`, optional) must outlive it.
#ifndef ADAPTERS_HL7V2_PROCESSING_OUTBOX_SENDER_H_
#define ADAPTERS_HL7V2_PROCESSING_OUTBOX_SENDER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "adapters/hl7v2/processing/hl7_metrics.h"
#include "adapters/hl7v2/state/patient_state_store.h"
#include "adapters/hl7v2/transport/mllp_client.h"

namespace needlecheck::hl7v2 {

struct OutboxSenderOptions {
  std::string target;        // HOST:PORT of the receiver (required)
  MllpClientOptions client;  // timeouts, TLS (defaults: mllp_client.h)
  // Wait after a failed delivery: starts here, doubles up to max_retry.
  // Defaults 500 ms and 30 s.
  absl::Duration first_retry = absl::Milliseconds(500);
  absl::Duration max_retry = absl::Seconds(30);
  // How often an idle sender looks at the queue. Default 5 s.
  absl::Duration poll_interval = absl::Seconds(5);
  // Messages read from the queue per round. Default 64.
  int batch_size = 64;
};

class OutboxSender {
 public:
  OutboxSender(OutboxSenderOptions options, PatientStateStore* store,
               Hl7Metrics* metrics,
               std::function<void(const std::string&)> log);
  ~OutboxSender();
  OutboxSender(const OutboxSender&) = delete;
  OutboxSender& operator=(const OutboxSender&) = delete;

  void Start() ABSL_LOCKS_EXCLUDED(mu_);
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);
  void Wake() ABSL_LOCKS_EXCLUDED(mu_);
  int64_t depth() const { return depth_.load(std::memory_order_relaxed); }

 private:
  enum class Result { kDelivered, kRejected, kRetry };
  void Run() ABSL_LOCKS_EXCLUDED(mu_);
  // One round: true when every message read was settled; `more` when the
  // round read a full batch (more may be waiting).
  bool DeliverPending(bool* more);
  // Sends one message; `ack_code` is the reply's MSA-1 when one came.
  Result Deliver(const PatientStateStore::OutboundMessage& message,
                 std::string* ack_code);
  // Waits until `deadline`, a Wake() or Stop(); false when stopping.
  bool WaitUntil(absl::Time deadline) ABSL_LOCKS_EXCLUDED(mu_);

  const OutboxSenderOptions options_;
  PatientStateStore* const store_;
  Hl7Metrics* const metrics_;
  const std::function<void(const std::string&)> log_;
  std::unique_ptr<MllpClient> client_;  // only the sender thread uses it
  std::atomic<int64_t> depth_{0};

  absl::Mutex mu_;
  bool woken_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace needlecheck::hl7v2

#endif  // ADAPTERS_HL7V2_PROCESSING_OUTBOX_SENDER_H_
