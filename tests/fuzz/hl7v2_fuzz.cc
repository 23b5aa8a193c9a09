// Fuzz target for the HL7 v2 foundation (adapters/hl7v2): the MLLP
// deframer, the ER7 parser and the ACK builder, which read every byte an
// interface engine sends. The input is both an MLLP stream and one ER7
// message. Invariants (abort otherwise): no crash, no sanitizer report;
// feeding the stream whole or in input-derived pieces gives the same
// events; no event payload exceeds the frame limit and a message payload
// holds no 0x0B or 0x1C; every ACK (for a parsed message or for rejected
// bytes) parses back with our parser, answers the incoming MSH-10 and its
// MLLP frame deframes to exactly that ACK; escaping round-trips. The
// message mapping (adapters/hl7v2/mapping) runs on every parsed message,
// with the session matcher of the bundled knowledge base: each reader
// gives a result or a located table-0357 error (never 0 or 207), applying
// an update twice equals applying it once, every string is UTF-8 (Latin-1
// bytes converted), a screened booking has a date
// naming a day and at least one area, a merge names both patients.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "adapters/hl7v2/ack_builder.h"
#include "adapters/hl7v2/er7_escape.h"
#include "adapters/hl7v2/er7_message.h"
#include "adapters/hl7v2/hl7_error.h"
#include "adapters/hl7v2/mapping/booking.h"
#include "adapters/hl7v2/mapping/hl7_types.h"
#include "adapters/hl7v2/mapping/message_kind.h"
#include "adapters/hl7v2/mapping/patient_update.h"
#include "adapters/hl7v2/mapping/session_matcher.h"
#include "adapters/hl7v2/mllp_framer.h"
#include "common/text/utf8.h"
#include "service/kb/knowledge_base.h"

namespace {

using namespace needlecheck::hl7v2;  // NOLINT: a fuzz target's own file

constexpr size_t kMaxFrame = 2048;

std::vector<MllpEvent> Deframe(absl::string_view input, size_t step,
                               size_t max_frame = kMaxFrame) {
  MllpDeframer d(MllpDeframerOptions{max_frame});
  std::vector<MllpEvent> events;
  for (size_t at = 0; at < input.size(); at += step) {
    d.Feed(input.substr(at, step), &events);
  }
  d.Finish(&events);
  return events;
}

// Walks every value the way the screening mapping will.
void Walk(const Er7Message& m) {
  size_t total = 0;
  for (const Er7Segment& s : m.segments()) {
    for (int f = 1; f <= s.field_count() && f <= 30; ++f) {
      const int reps = s.RepetitionCount(f);
      for (int r = 1; r <= reps && r <= 4; ++r) {
        total += s.GetRepetitionText(f, r).size();
        for (int c = 1; c <= 4; ++c) total += s.Get(f, r, c, 1).size();
      }
    }
  }
  for (const char* path : {"PID-3.1", "AL1(2)-3.2", "DG1-3(2).1.2", "MSH-9.3",
                           "SCH-11.4", "AIS-3"}) {
    total += m.Get(path).size();
  }
  if (total > (size_t{1} << 30)) std::abort();
}

// The session matcher of the bundled knowledge base (built once).
const SessionMatcher& Matcher() {
  static const SessionMatcher* matcher = [] {
    auto kb = needlecheck::kb::LoadBundledKnowledgeBase();
    if (!kb.ok()) std::abort();
    auto m = SessionMatcher::Create((*kb)->definition());
    if (!m.ok()) std::abort();
    return new SessionMatcher(*std::move(m));
  }();
  return *matcher;
}

// A mapping failure must carry a table-0357 code and a location.
void CheckMappingError(const absl::Status& status) {
  const Hl7ErrorDetail e = Hl7ErrorOf(status);
  if (e.code == Hl7ErrorCode::kAccepted ||
      e.code == Hl7ErrorCode::kApplicationInternalError ||
      e.location.segment_id.empty()) {
    std::abort();
  }
}

// Every string of `message` is UTF-8 (what protobuf, the state store and
// needlecheckd need): making it UTF-8 changes nothing.
void CheckUtf8(const google::protobuf::Message& message) {
  std::unique_ptr<google::protobuf::Message> copy(message.New());
  copy->CopyFrom(message);
  MakeStringsUtf8(TextEncoding::kUtf8, copy.get());
  if (copy->SerializeAsString() != message.SerializeAsString()) std::abort();
}

void CheckIdentifiers(const std::vector<PatientIdentifier>& ids) {
  for (const PatientIdentifier& id : ids) {
    if (id.id.empty() || !needlecheck::text::IsValidUtf8(id.id) ||
        !needlecheck::text::IsValidUtf8(id.authority) ||
        !needlecheck::text::IsValidUtf8(id.type)) {
      std::abort();
    }
  }
}

void CheckMapping(const Er7Message& m) {
  (void)ClassifyMessage(m);
  auto update = ReadPatientUpdate(m);
  if (update.ok()) {
    if (update->identifiers.empty()) std::abort();
    CheckIdentifiers(update->identifiers);
    CheckUtf8(update->facts);
    needlecheck::v1::PatientRecord once;
    ApplyPatientUpdate(*update, &once);
    needlecheck::v1::PatientRecord twice = once;
    ApplyPatientUpdate(*update, &twice);
    if (once.SerializeAsString() != twice.SerializeAsString()) std::abort();
    needlecheck::v1::PatientRecord merged = twice;
    MergePatientRecords(once, &merged);
    if (merged.allergies_size() != once.allergies_size()) std::abort();
  } else {
    CheckMappingError(update.status());
  }
  auto booking = ReadBooking(m, Matcher());
  if (booking.ok()) {
    if (booking->screen && (booking->session.date().size() < 10 ||
                            booking->session.areas_size() == 0 ||
                            booking->patient.identifiers.empty())) {
      std::abort();
    }
    if (!booking->screen && booking->not_screened_reason.empty()) std::abort();
    CheckUtf8(booking->session);
  } else {
    CheckMappingError(booking.status());
  }
  auto merges = ReadPatientMerges(m);
  if (merges.ok()) {
    for (const PatientMerge& merge : *merges) {
      if (merge.surviving.empty() || merge.prior.empty()) std::abort();
      CheckIdentifiers(merge.surviving);
      CheckIdentifiers(merge.prior);
    }
  } else {
    CheckMappingError(merges.status());
  }
}

void CheckAck(const Er7Message* in, absl::string_view raw) {
  AckParams p;
  p.code = in != nullptr ? AckCode::kAccept : AckCode::kReject;
  p.control_id = "NC-1";
  p.time = absl::FromUnixSeconds(1796112000);
  // Input-derived text in every written field.
  const std::string text(raw.substr(0, 40));
  p.text = text;
  if (in == nullptr) {
    p.errors.push_back(AckErrorFromStatus(Er7Message::Parse(raw).status()));
  } else {
    p.errors.push_back(AckErrorFromStatus(ValidateHeader(*in)));
    p.alerts.push_back({text, text, AlertSeverity::kCritical, text});
  }
  const std::string ack = BuildAck(in, raw, p);
  auto back = Er7Message::Parse(ack);
  if (!back.ok()) std::abort();
  if (back->header().message_type != "ACK") std::abort();
  // Without an escape character (MSH-2 shorter than 3) delimiters in our
  // texts are blanked out, so text only round-trips with one.
  const Er7Delimiters& d = back->delimiters();
  const bool lossless = d.escape != '\0';
  if (lossless && back->header().control_id != "NC-1") std::abort();
  const std::string expected_id =
      in != nullptr ? in->header().control_id : RecoverControlId(raw);
  if (lossless && back->Get("MSA-2") != expected_id) std::abort();
  if (lossless && back->Get("MSA-3") != text) std::abort();
  if (lossless && in != nullptr && back->Get("ERR(2)-8") != text) {
    std::abort();
  }
  const std::vector<MllpEvent> events =
      Deframe(MllpFrame(ack), ack.size() + 1, ack.size());
  if (events.size() != 1 || events[0].kind != MllpEventKind::kMessage ||
      events[0].payload != ack) {
    std::abort();
  }
}

void CheckMessage(absl::string_view raw) {
  Er7Limits limits;
  limits.max_segments = 200;
  limits.max_fields = 100;
  limits.max_field_bytes = 4096;
  auto m = Er7Message::Parse(raw, limits);
  if (m.ok()) {
    if (m->segments().empty() || m->msh().id() != "MSH") std::abort();
    (void)ValidateHeader(*m);
    Walk(*m);
    CheckMapping(*m);
    CheckAck(&*m, raw);
    const Er7Delimiters& d = m->delimiters();
    if (d.escape != '\0') {
      const std::string text(raw.substr(0, 64));
      if (Er7Unescape(Er7Escape(text, d), d) != text) std::abort();
    }
  } else {
    const Hl7ErrorDetail e = Hl7ErrorOf(m.status());
    if (e.code == Hl7ErrorCode::kAccepted) std::abort();
    CheckAck(nullptr, raw);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  const std::vector<MllpEvent> whole = Deframe(input, size == 0 ? 1 : size);
  const size_t step = size == 0 ? 1 : 1 + data[size - 1] % 13;
  const std::vector<MllpEvent> pieces = Deframe(input, step);
  // Stray runs may be counted in pieces; compare the frame events.
  std::vector<const MllpEvent*> a, b;
  for (const MllpEvent& e : whole) {
    if (e.kind != MllpEventKind::kStrayBytes) a.push_back(&e);
  }
  for (const MllpEvent& e : pieces) {
    if (e.kind != MllpEventKind::kStrayBytes) b.push_back(&e);
  }
  if (a.size() != b.size()) std::abort();
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i]->kind != b[i]->kind || a[i]->payload != b[i]->payload) {
      std::abort();
    }
  }
  int parsed = 0;
  for (const MllpEvent* e : a) {
    if (e->payload.size() > kMaxFrame) std::abort();
    if (e->kind == MllpEventKind::kMessage &&
        e->payload.find_first_of("\x0B\x1C") != std::string::npos) {
      std::abort();
    }
    if (e->kind == MllpEventKind::kMessage && ++parsed <= 4) {
      CheckMessage(e->payload);
    }
  }
  CheckMessage(input);
  return 0;
}
