#include "adapters/hl7v2/processing/message_processor.h"

#include <openssl/sha.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "adapters/hl7v2/mapping/booking.h"
#include "adapters/hl7v2/mapping/message_kind.h"
#include "adapters/hl7v2/mapping/patient_update.h"
#include "adapters/hl7v2/processing/alert_report.h"
#include "common/ids/uuid.h"

namespace needlecheck::hl7v2 {

namespace v1 = needlecheck::v1;

// What Report() logs and counts for one event.
struct MessageProcessor::Outcome {
  absl::string_view kind = "framing";  // see hl7_metrics.h
  std::string type;                    // MSH-9.1, sanitized
  std::string trigger;                 // MSH-9.2, sanitized
  AckCode code = AckCode::kReject;
  bool duplicate = false;
  int alerts = 0;
  absl::string_view note;  // a fixed word for the log, e.g. "store"
};

namespace {

// A new MSH-10 for an ACK or ORU: 20 hex digits (MSH-10 is at most 20
// characters up to v2.6) of a random UUID. Without a CSPRNG the reply must
// still go out with an id unique in this process: time and a counter.
std::string NewControlId() {
  absl::StatusOr<std::string> uuid = ids::NewUuidV4();
  if (uuid.ok()) {
    std::string id = absl::StrReplaceAll(*uuid, {{"-", ""}});
    id.resize(20);
    return id;
  }
  static std::atomic<uint64_t> counter{0};
  std::string id =
      absl::StrCat("T", absl::ToUnixMicros(absl::Now()) % 1000000000000000, "N",
                   counter.fetch_add(1) % 1000);
  if (id.size() > 20) id.resize(20);
  return id;
}

// Letters and digits only (at most 8), else "?": a header value fit for a
// log line.
std::string LogToken(absl::string_view value) {
  if (value.empty()) return "-";
  if (value.size() > 8) return "?";
  for (char c : value) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c))) return "?";
  }
  return std::string(value);
}

absl::string_view KindName(MessageKind kind) {
  switch (kind) {
    case MessageKind::kPatientUpdate:
      return "patient_update";
    case MessageKind::kPatientMerge:
      return "patient_merge";
    case MessageKind::kBooking:
      return "booking";
    case MessageKind::kAcknowledgeOnly:
      return "acknowledge_only";
    case MessageKind::kUnsupported:
      return "unsupported";
  }
  return "unsupported";
}

// The key of the i-th pair of a merge message with several: distinct per
// pair, so each pair's merge is answered (and skipped on a resend) on its
// own; the message's own key records the last.
MessageKey MergePairKey(const MessageKey& key, size_t i) {
  return MessageKey{key.sender,
                    absl::StrCat(key.control_id, "\x1e", "merge-pair-", i)};
}

}  // namespace

MessageKey MessageKeyOf(const Er7Message& message) {
  const Er7Segment& msh = message.msh();
  return MessageKey{absl::StrCat(msh.RawField(3), "|", msh.RawField(4)),
                    message.header().control_id};
}

std::string ScreenRequestIdOf(const MessageKey& key) {
  std::string input = key.sender;
  input.push_back('\0');
  input += key.control_id;
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(),
         digest);
  return absl::StrCat("hl7v2-", absl::BytesToHexString(absl::string_view(
                                    reinterpret_cast<const char*>(digest),
                                    SHA256_DIGEST_LENGTH / 2)));
}

MessageProcessor::MessageProcessor(MessageProcessorOptions options,
                                   MessageProcessorDeps deps)
    : options_(std::move(options)), deps_(std::move(deps)) {}

std::string MessageProcessor::Handle(const MllpEvent& event,
                                     const MllpPeer& peer) const {
  if (event.kind == MllpEventKind::kStrayBytes) return "";
  const absl::Time start = absl::Now();
  Outcome outcome;
  std::string reply = HandleEvent(event, &outcome);
  const absl::Duration took = absl::Now() - start;
  if (deps_.metrics != nullptr) {
    deps_.metrics->MessageDone(
        outcome.kind,
        outcome.duplicate ? "duplicate" : AckCodeText(outcome.code), took);
  }
  if (deps_.log) {
    deps_.log(absl::StrFormat(
        "event=message connection=%d kind=%s type=%s trigger=%s outcome=%s "
        "duplicate=%s alerts=%d%s%s ms=%d",
        peer.connection_id, outcome.kind, outcome.type, outcome.trigger,
        AckCodeText(outcome.code), outcome.duplicate ? "true" : "false",
        outcome.alerts, outcome.note.empty() ? "" : " cause=", outcome.note,
        absl::ToInt64Milliseconds(took)));
  }
  return reply;
}

std::string MessageProcessor::HandleEvent(const MllpEvent& event,
                                          Outcome* outcome) const {
  switch (event.kind) {
    case MllpEventKind::kMessage:
      return HandleMessage(event.payload, outcome);
    case MllpEventKind::kOversized:
      return RejectFrame(
          event.payload, Hl7ErrorCode::kValueTooLong,
          absl::StrCat("MLLP frame larger than ", options_.max_frame_bytes,
                       " bytes; message discarded"),
          outcome);
    case MllpEventKind::kInterrupted:
      return RejectFrame(event.payload, Hl7ErrorCode::kSegmentSequenceError,
                         "MLLP frame interrupted by a new start block (0x0B); "
                         "message discarded",
                         outcome);
    case MllpEventKind::kBadTrailer:
      return RejectFrame(event.payload, Hl7ErrorCode::kSegmentSequenceError,
                         "MLLP end block (0x1C) not followed by a carriage "
                         "return (0x0D); message discarded",
                         outcome);
    case MllpEventKind::kTruncated:
      return RejectFrame(event.payload, Hl7ErrorCode::kSegmentSequenceError,
                         "connection closed inside an MLLP frame; message "
                         "discarded",
                         outcome);
    case MllpEventKind::kStrayBytes:
      break;
  }
  return "";
}

std::string MessageProcessor::HandleMessage(absl::string_view raw,
                                            Outcome* outcome) const {
  Er7Limits limits;
  limits.max_message_bytes =
      std::max(limits.max_message_bytes, options_.max_frame_bytes);
  absl::StatusOr<Er7Message> parsed = Er7Message::Parse(raw, limits);
  if (!parsed.ok()) {
    outcome->kind = "unparseable";
    const Er7Header recovered = RecoverHeader(raw);
    outcome->type = LogToken(recovered.message_type);
    outcome->trigger = LogToken(recovered.trigger_event);
    return Reject(nullptr, raw, parsed.status(), outcome);
  }
  const Er7Message& m = *parsed;
  outcome->type = LogToken(m.header().message_type);
  outcome->trigger = LogToken(m.header().trigger_event);
  if (absl::Status header = ValidateHeader(m); !header.ok()) {
    outcome->kind = "unparseable";
    return Reject(&m, raw, header, outcome);
  }
  const MessageKind kind = ClassifyMessage(m);
  outcome->kind = KindName(kind);
  const MessageKey key = MessageKeyOf(m);
  absl::StatusOr<std::optional<std::string>> answered =
      deps_.store->FindAck(key);
  if (!answered.ok()) {
    outcome->note = "store";
    return RetryLater(&m, raw, "the patient state store is unavailable",
                      outcome);
  }
  if (answered->has_value()) {
    outcome->duplicate = true;
    outcome->code = AckCode::kAccept;
    return **answered;
  }
  switch (kind) {
    case MessageKind::kPatientUpdate:
      return UpdatePatient(m, raw, key, outcome);
    case MessageKind::kPatientMerge:
      return MergePatients(m, raw, key, outcome);
    case MessageKind::kBooking:
      return ScreenBooking(m, raw, key, outcome);
    case MessageKind::kAcknowledgeOnly:
      return Record(
          m, raw, key,
          Ack(&m, raw, AckCode::kAccept,
              "accepted; this event changes nothing here", {}, {}, outcome),
          "", outcome);
    case MessageKind::kUnsupported:
      break;
  }
  return Reject(&m, raw, UnsupportedMessageError(m), outcome);
}

std::string MessageProcessor::UpdatePatient(const Er7Message& m,
                                            absl::string_view raw,
                                            const MessageKey& key,
                                            Outcome* outcome) const {
  absl::StatusOr<PatientUpdate> update = ReadPatientUpdate(m);
  if (!update.ok()) return Reject(&m, raw, update.status(), outcome);
  const std::string ack =
      Ack(&m, raw, AckCode::kAccept, "patient record updated", {}, {}, outcome);
  absl::StatusOr<std::string> stored = deps_.store->UpdatePatient(
      key, update->identifiers,
      [&update](v1::PatientRecord* record) {
        ApplyPatientUpdate(*update, record);
        return absl::OkStatus();
      },
      ack);
  if (!stored.ok()) return StoreFailed(&m, raw, stored.status(), outcome);
  outcome->duplicate = *stored != ack;
  return *std::move(stored);
}

std::string MessageProcessor::MergePatients(const Er7Message& m,
                                            absl::string_view raw,
                                            const MessageKey& key,
                                            Outcome* outcome) const {
  absl::StatusOr<std::vector<PatientMerge>> merges = ReadPatientMerges(m);
  if (!merges.ok()) return Reject(&m, raw, merges.status(), outcome);
  if (merges->empty()) {
    return Reject(
        &m, raw,
        MakeHl7Error(absl::StatusCode::kInvalidArgument,
                     Hl7ErrorCode::kRequiredFieldMissing,
                     Hl7ErrorLocation{"MRG", 1, 1}, "no patient pair to merge"),
        outcome);
  }
  const std::string ack =
      Ack(&m, raw, AckCode::kAccept,
          merges->size() == 1
              ? std::string("patient records merged")
              : absl::StrCat(merges->size(), " patient record pairs merged"),
          {}, {}, outcome);
  std::string answer;
  for (size_t i = 0; i < merges->size(); ++i) {
    const PatientMerge& merge = (*merges)[i];
    absl::StatusOr<std::string> stored = deps_.store->MergePatients(
        i + 1 == merges->size() ? key : MergePairKey(key, i), merge.surviving,
        merge.prior, MergePatientRecords, ack);
    if (!stored.ok()) return StoreFailed(&m, raw, stored.status(), outcome);
    answer = *std::move(stored);
  }
  outcome->duplicate = answer != ack;
  return answer;
}

std::string MessageProcessor::ScreenBooking(const Er7Message& m,
                                            absl::string_view raw,
                                            const MessageKey& key,
                                            Outcome* outcome) const {
  const std::shared_ptr<const SessionMatcher> matcher =
      deps_.knowledge_base->Current();
  if (matcher == nullptr) {
    outcome->note = "no_knowledge_base";
    return RetryLater(&m, raw, "no knowledge base loaded from needlecheckd yet",
                      outcome);
  }
  absl::StatusOr<Booking> booking = ReadBooking(m, *matcher);
  if (!booking.ok()) return Reject(&m, raw, booking.status(), outcome);
  if (!booking->screen) {
    outcome->note = "not_screened";
    return Record(m, raw, key,
                  Ack(&m, raw, AckCode::kAccept, booking->not_screened_reason,
                      {}, {}, outcome),
                  "", outcome);
  }
  absl::StatusOr<v1::PatientRecord> stored =
      deps_.store->LoadPatient(booking->patient.identifiers);
  if (!stored.ok()) return StoreFailed(&m, raw, stored.status(), outcome);
  v1::ScreenRequest request;
  request.set_request_id(ScreenRequestIdOf(key));
  *request.mutable_record() = *std::move(stored);
  ApplyPatientUpdate(booking->patient, request.mutable_record());
  *request.mutable_session() = booking->session;
  absl::StatusOr<v1::ScreenResponse> response =
      deps_.screening->Screen(request, absl::Now() + options_.screen_deadline);
  if (!response.ok()) {
    if (absl::IsInvalidArgument(response.status())) {
      outcome->note = "screen_rejected";
      AckError error;
      error.code = Hl7ErrorCode::kDataTypeError;
      error.message = std::string(response.status().message());
      return Ack(&m, raw, AckCode::kReject,
                 "needlecheckd rejected the screening request", {error}, {},
                 outcome);
    }
    outcome->note = "screening_service";
    return RetryLater(
        &m, raw,
        absl::StrCat("needlecheckd did not screen the booking (",
                     absl::StatusCodeToString(response.status().code()), ")"),
        outcome);
  }
  deps_.knowledge_base->NoteServedVersion(response->knowledge_base_version());
  std::vector<AckAlert> alerts = AckAlertsOf(*response);
  outcome->alerts = static_cast<int>(alerts.size());
  std::string outbound;
  if (options_.send_alerts && !alerts.empty()) {
    OruParams oru;
    oru.control_id = NewControlId();
    oru.time = deps_.clock ? deps_.clock() : absl::Now();
    oru.application = options_.application;
    outbound = BuildAlertsOru(m, booking->service_location, booking->session,
                              alerts, oru);
  }
  const size_t count = alerts.size();
  const std::string ack =
      Ack(&m, raw, AckCode::kAccept,
          count == 0 ? std::string("screened: no alerts")
                     : absl::StrCat("screened: ", count,
                                    count == 1 ? " alert" : " alerts"),
          {}, alerts, outcome);
  std::string answer = Record(m, raw, key, ack, outbound, outcome);
  if (!outcome->duplicate && outcome->code == AckCode::kAccept) {
    if (deps_.metrics != nullptr) {
      for (const AckAlert& a : alerts) {
        deps_.metrics->Alert(a.severity == AlertSeverity::kCritical ? "critical"
                             : a.severity == AlertSeverity::kWarning ? "warning"
                                                                     : "info");
      }
    }
    if (!outbound.empty() && deps_.outbound_queued) deps_.outbound_queued();
  }
  return answer;
}

std::string MessageProcessor::Record(const Er7Message& m, absl::string_view raw,
                                     const MessageKey& key,
                                     const std::string& ack,
                                     const std::string& outbound,
                                     Outcome* outcome) const {
  absl::StatusOr<std::string> stored =
      deps_.store->RecordAck(key, ack, outbound);
  if (!stored.ok()) return StoreFailed(&m, raw, stored.status(), outcome);
  outcome->duplicate = *stored != ack;
  outcome->code = AckCode::kAccept;
  return *std::move(stored);
}

std::string MessageProcessor::Ack(const Er7Message* m, absl::string_view raw,
                                  AckCode code, std::string text,
                                  std::vector<AckError> errors,
                                  std::vector<AckAlert> alerts,
                                  Outcome* outcome) const {
  AckParams params;
  params.code = code;
  params.text = std::move(text);
  params.errors = std::move(errors);
  params.alerts = std::move(alerts);
  params.control_id = NewControlId();
  params.time = deps_.clock ? deps_.clock() : absl::Now();
  params.application = options_.application;
  outcome->code = code;
  return BuildAck(m, raw, params);
}

std::string MessageProcessor::Reject(const Er7Message* m, absl::string_view raw,
                                     const absl::Status& status,
                                     Outcome* outcome) const {
  return Ack(m, raw, AckCode::kReject, "message rejected",
             {AckErrorFromStatus(status)}, {}, outcome);
}

std::string MessageProcessor::RetryLater(const Er7Message* m,
                                         absl::string_view raw,
                                         absl::string_view why,
                                         Outcome* outcome) const {
  AckError error;
  error.code = Hl7ErrorCode::kApplicationInternalError;
  error.message = absl::StrCat(why, "; nothing was stored, resend later");
  return Ack(m, raw, AckCode::kError, "temporary failure, resend later",
             {error}, {}, outcome);
}

std::string MessageProcessor::StoreFailed(const Er7Message* m,
                                          absl::string_view raw,
                                          const absl::Status& status,
                                          Outcome* outcome) const {
  outcome->note = "store";
  // The store's texts hold no patient data, but ours say it plainly.
  if (absl::IsFailedPrecondition(status) || absl::IsInvalidArgument(status)) {
    const bool conflict = absl::IsFailedPrecondition(status);
    AckError error;
    error.code = conflict ? Hl7ErrorCode::kDuplicateKeyIdentifier
                          : Hl7ErrorCode::kDataTypeError;
    error.location = Hl7ErrorLocation{"PID", 1, 3};
    error.message = conflict
                        ? "the patient identifiers name two different stored "
                          "patients; merge them (ADT^A40) first"
                        : "a patient identifier is not usable";
    return Ack(m, raw, AckCode::kReject, "message rejected", {error}, {},
               outcome);
  }
  return RetryLater(m, raw,
                    absl::StrCat("the patient state store failed (",
                                 absl::StatusCodeToString(status.code()), ")"),
                    outcome);
}

std::string MessageProcessor::RejectFrame(absl::string_view payload,
                                          Hl7ErrorCode code, std::string why,
                                          Outcome* outcome) const {
  outcome->kind = "framing";
  const Er7Header recovered = RecoverHeader(payload);
  outcome->type = LogToken(recovered.message_type);
  outcome->trigger = LogToken(recovered.trigger_event);
  AckError error;
  error.code = code;
  error.message = std::move(why);
  return Ack(nullptr, payload, AckCode::kReject, "message rejected", {error},
             {}, outcome);
}

}  // namespace needlecheck::hl7v2
