#include "adapters/hl7v2/ack_builder.h"

#include "absl/strings/str_cat.h"

namespace needlecheck::hl7v2 {
absl::string_view AckCodeText(AckCode code) {
  switch (code) {
    case AckCode::kAccept:
      return "AA";
    case AckCode::kError:
      return "AE";
    case AckCode::kReject:
      return "AR";
  }
  return "AR";
}

absl::string_view AlertSeverityName(AlertSeverity s) {
  switch (s) {
    case AlertSeverity::kCritical:
      return "CRITICAL";
    case AlertSeverity::kWarning:
      return "WARNING";
    case AlertSeverity::kInfo:
      return "INFO";
  }
  return "WARNING";
}

AckError AckErrorFromStatus(const absl::Status& status) {
  const Hl7ErrorDetail detail = Hl7ErrorOf(status);
  AckError error;
  error.code = detail.code;
  error.location = detail.location;
  error.message = std::string(status.message());
  return error;
}

std::string BuildAck(const Er7Message* incoming, absl::string_view raw_incoming,
                     const AckParams& params) {
  const Er7Delimiters d =
      incoming != nullptr ? incoming->delimiters() : Er7Delimiters();
  const char f = d.field;
  const char c = d.component;
  auto esc = [&d](absl::string_view text) { return Er7Escape(text, d); };
  // One segment: id, then fields joined by the field separator, then CR.
  std::string out;
  auto segment = [&out, f](absl::string_view id,
                           std::initializer_list<absl::string_view> fields) {
    out.append(id.data(), id.size());
    size_t last = fields.size();
    while (last > 0 && (fields.begin() + last - 1)->empty()) --last;
    for (size_t i = 0; i < last; ++i) {
      out.push_back(f);
      const absl::string_view v = *(fields.begin() + i);
      out.append(v.data(), v.size());
    }
    out.push_back('\r');
  };

  std::string sending_app, sending_facility, receiving_app, receiving_facility,
      trigger, control_id, processing = "P", version(kDefaultAckVersion);
  if (incoming != nullptr) {
    const Er7Segment& msh = incoming->msh();
    sending_app = Er7EscapeControlBytes(msh.RawField(5), d);
    sending_facility = Er7EscapeControlBytes(msh.RawField(6), d);
    receiving_app = Er7EscapeControlBytes(msh.RawField(3), d);
    receiving_facility = Er7EscapeControlBytes(msh.RawField(4), d);
    const Er7Header& h = incoming->header();
    trigger = esc(h.trigger_event);
    control_id = esc(h.control_id);
    if (!h.processing_id.empty()) processing = esc(h.processing_id);
    if (IsSupportedHl7Version(h.version)) version = h.version;
  } else {
    const Er7Header recovered = RecoverHeader(raw_incoming);
    trigger = esc(recovered.trigger_event);
    control_id = esc(recovered.control_id);
  }
  if (sending_app.empty()) sending_app = esc(params.application);

  const std::string msh2 = d.EncodingCharacters();
  out.append("MSH");
  out.push_back(f);
  segment(
      msh2,
      {sending_app, sending_facility, receiving_app, receiving_facility,
       absl::FormatTime("%Y%m%d%H%M%S%z", params.time, absl::UTCTimeZone()), "",
       absl::StrCat("ACK", std::string(1, c), trigger, std::string(1, c),
                    "ACK"),
       esc(params.control_id), processing, version});
  segment("MSA", {AckCodeText(params.code), control_id, esc(params.text)});

  const std::string hl7_table = absl::StrCat(std::string(1, c), "HL70357");
  for (const AckError& e : params.errors) {
    Hl7ErrorLocation loc = e.location;
    loc.segment_id = esc(loc.segment_id);
    segment("ERR", {"", loc.ToString(c),
                    absl::StrCat(static_cast<int>(e.code), std::string(1, c),
                                 esc(Hl7ErrorCodeText(e.code)), hl7_table),
                    "E", "", "", "", esc(e.message)});
  }
  for (const AckAlert& a : params.alerts) {
    const std::string severity(AlertSeverityName(a.severity));
    const std::string diagnostic =
        a.detail.empty() ? severity : absl::StrCat(severity, ": ", a.detail);
    segment("ERR",
            {"", "",
             absl::StrCat("0", std::string(1, c),
                          esc(Hl7ErrorCodeText(Hl7ErrorCode::kAccepted)),
                          hl7_table),
             a.severity == AlertSeverity::kInfo ? "I" : "W",
             absl::StrCat(esc(a.rule_id), std::string(1, c), esc(a.summary),
                          std::string(1, c), "urn:needlecheck:rule"),
             "", esc(diagnostic), esc(a.summary)});
  }
  return out;
}

}  // namespace needlecheck::hl7v2
