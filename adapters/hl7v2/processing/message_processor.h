// MessageProcessor: one MLLP event in, the ACK out. The pipeline of
// needlecheck-hl7, between the MLLP server (transport/mllp_server.h) and
// the patient-state store, needlecheckd and the knowledge-base cache.
//
// For a complete frame (kMessage):
//   1. Er7Message::Parse + ValidateHeader. Errors: AR with the ERR of the
//      error (hl7_error.h); for bytes that do not parse, MSA-2 and the
//      trigger are recovered from the raw bytes (RecoverHeader).
//   2. Duplicate: a message key (MSH-3|MSH-4 as written, MSH-10) the store
//      answered before gets that stored ACK, byte for byte, and nothing
//      else happens.
//   3. ClassifyMessage (mapping/message_kind.h):
//      - patient update (ADT A01 A04 A08 A28 A31 A60): ReadPatientUpdate
//        (error: AR) and, in one store transaction, the patient's record
//        updated (ApplyPatientUpdate) and the AA recorded;
//      - merge (ADT A40): ReadPatientMerges, each pair merged
//        (MergePatientRecords) and the AA recorded;
//      - booking (SIU S12 S14, ORM O01, OMG O19): ReadBooking with the
//        current SessionMatcher. Not a microneedling booking (or
//        cancelled): AA with MSA-3 the reason. Else the stored record plus
//        the booking's own PID/AL1/DG1 (on a copy; the booking's facts are
//        not stored) and the planned session go to needlecheckd's Screen
//        (request_id "hl7v2-" + 32 hex digits of SHA-256 over the message
//        key, so a resend carries the same id), within `screen_deadline`;
//        the AA carries one ERR per alert (ack_builder.h), and with
//        `send_alerts` and at least one alert the ORU^R01 of
//        alert_report.h is queued in the store's outbox in the same
//        transaction that records the AA;
//      - acknowledge only (other ADT and SIU events): AA, recorded;
//      - unsupported: AR 200/201 at MSH-9.
//   Every AA is recorded before it is returned (nothing acknowledged is
//   lost); AE and AR are never recorded, so a resend is processed again.
//   AE 207 ("resend later") when the store fails (but AR 205 at PID-3 when
//   the message's identifiers name two different stored patients), when no
//   knowledge base has been loaded yet, or when needlecheckd fails any way but
//   INVALID_ARGUMENT (unreachable, UNAVAILABLE, DEADLINE_EXCEEDED...).
//   needlecheckd's INVALID_ARGUMENT: AR 102 whose ERR-8 lists the rejected
//   field paths (screening_client.h), never values.
// Framing errors (the ACK's MSA-2 recovered from the bytes received):
//   kOversized   AR 104 "MLLP frame larger than N bytes"
//   kInterrupted AR 100 "MLLP frame interrupted by a new start block"
//   kBadTrailer  AR 100 "MLLP end block not followed by a carriage return"
//   kTruncated   AR 100 "connection closed inside an MLLP frame"
//   kStrayBytes  no reply.
// Every ACK has a new MSH-10 (20 hex digits of a common/ids UUID) and MSH-7
// from `clock`.
//
// Logging: one line per event through `log`: connection id, kind, message
// type and trigger (letters and digits only, else "?"), outcome, alert
// count, milliseconds. Never patient data, never MSH-10 or ERR texts.
//
// Thread-safe: Handle() may run on many connections at once. Everything
// in MessageProcessorDeps must outlive the processor.
#ifndef ADAPTERS_HL7V2_PROCESSING_MESSAGE_PROCESSOR_H_
#define ADAPTERS_HL7V2_PROCESSING_MESSAGE_PROCESSOR_H_

#include <cstddef>
#include <functional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "adapters/hl7v2/ack_builder.h"
#include "adapters/hl7v2/er7_message.h"
#include "adapters/hl7v2/mllp_framer.h"
#include "adapters/hl7v2/patient_identifier.h"
#include "adapters/hl7v2/processing/hl7_metrics.h"
#include "adapters/hl7v2/processing/knowledge_base_cache.h"
#include "adapters/hl7v2/processing/screening_client.h"
#include "adapters/hl7v2/state/patient_state_store.h"
#include "adapters/hl7v2/transport/mllp_server.h"

namespace needlecheck::hl7v2 {

struct MessageProcessorOptions {
  // Deadline of each Screen call to needlecheckd. Default 10 s.
  absl::Duration screen_deadline = absl::Seconds(10);
  // Queue an ORU^R01 per screened booking with alerts. Default false.
  bool send_alerts = false;
  // MSH-3 of our ACKs and ORUs when the incoming MSH-5 is empty. Default
  // "NEEDLECHECK".
  std::string application = "NEEDLECHECK";
  // The MLLP frame limit (for the oversized AR's text and the parser's
  // message limit). Default 1 MiB.
  size_t max_frame_bytes = size_t{1} << 20;
};

struct MessageProcessorDeps {
  PatientStateStore* store = nullptr;            // required
  ScreeningClient* screening = nullptr;          // required
  KnowledgeBaseCache* knowledge_base = nullptr;  // required
  Hl7Metrics* metrics = nullptr;                 // optional
  // MSH-7 of ACKs and ORUs. Default absl::Now.
  std::function<absl::Time()> clock;
  // Called after an ORU^R01 was queued (wakes the OutboxSender). Optional.
  std::function<void()> outbound_queued;
  // One log line (without newline). Default: none.
  std::function<void(const std::string&)> log;
};

// The key the store answers resends by: MSH-3 + "|" + MSH-4 (raw) and
// MSH-10.
MessageKey MessageKeyOf(const Er7Message& message);

// "hl7v2-" + the first 32 hex digits of SHA-256(sender, NUL, control id).
std::string ScreenRequestIdOf(const MessageKey& key);

class MessageProcessor {
 public:
  MessageProcessor(MessageProcessorOptions options, MessageProcessorDeps deps);

  // The ER7 reply to `event` (unframed), or "" for none.
  std::string Handle(const MllpEvent& event, const MllpPeer& peer) const;

 private:
  struct Outcome;
  std::string HandleEvent(const MllpEvent& event, Outcome* outcome) const;
  std::string HandleMessage(absl::string_view raw, Outcome* outcome) const;
  std::string UpdatePatient(const Er7Message& m, absl::string_view raw,
                            const MessageKey& key, Outcome* outcome) const;
  std::string MergePatients(const Er7Message& m, absl::string_view raw,
                            const MessageKey& key, Outcome* outcome) const;
  std::string ScreenBooking(const Er7Message& m, absl::string_view raw,
                            const MessageKey& key, Outcome* outcome) const;
  // Records an AA (and `outbound`); the stored answer, or an AE.
  std::string Record(const Er7Message& m, absl::string_view raw,
                     const MessageKey& key, const std::string& ack,
                     const std::string& outbound, Outcome* outcome) const;

  std::string Ack(const Er7Message* m, absl::string_view raw, AckCode code,
                  std::string text, std::vector<AckError> errors,
                  std::vector<AckAlert> alerts, Outcome* outcome) const;
  std::string Reject(const Er7Message* m, absl::string_view raw,
                     const absl::Status& status, Outcome* outcome) const;
  std::string RetryLater(const Er7Message* m, absl::string_view raw,
                         absl::string_view why, Outcome* outcome) const;
  // A store error: AR 205 for identifiers naming two patients
  // (FAILED_PRECONDITION), AR 102 for an unusable identifier, else AE.
  std::string StoreFailed(const Er7Message* m, absl::string_view raw,
                          const absl::Status& status, Outcome* outcome) const;
  std::string RejectFrame(absl::string_view payload, Hl7ErrorCode code,
                          std::string why, Outcome* outcome) const;

  const MessageProcessorOptions options_;
  const MessageProcessorDeps deps_;
};

}  // namespace needlecheck::hl7v2

#endif  // ADAPTERS_HL7V2_PROCESSING_MESSAGE_PROCESSOR_H_
