#include "adapters/hl7v2/processing/alert_report.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "adapters/hl7v2/er7_escape.h"

namespace needlecheck::hl7v2 {
namespace {

namespace v1 = needlecheck::v1;

// Appends one segment: id, the fields joined by `f` (trailing empty ones
// left out; fields[i] is field i + 1), CR.
void AppendSegment(std::string* out, char f, absl::string_view id,
                   const std::vector<std::string>& fields) {
  out->append(id.data(), id.size());
  size_t last = fields.size();
  while (last > 0 && fields[last - 1].empty()) --last;
  for (size_t i = 0; i < last; ++i) {
    out->push_back(f);
    out->append(fields[i]);
  }
  out->push_back('\r');
}

// A raw field of the booking, fit to copy.
std::string Copy(const Er7Message& m, const Er7Segment* segment, int field) {
  if (segment == nullptr) return "";
  return Er7EscapeControlBytes(segment->RawField(field), m.delimiters());
}

// The booked service: the field at `location` (the one that made the
// booking a microneedling one), else the first AIS-3 (SIU) / OBR-4.
std::string BookedService(const Er7Message& m,
                          const Hl7ErrorLocation& location) {
  if (!location.segment_id.empty()) {
    return Copy(
        m, m.Find(location.segment_id, std::max(location.segment_sequence, 1)),
        location.field);
  }
  const bool siu = m.header().message_type == "SIU";
  return Copy(m, m.Find(siu ? "AIS" : "OBR"), siu ? 3 : 4);
}

// "2026-12-01" (or a dateTime) -> "20261201".
std::string Hl7Date(absl::string_view fhir_date) {
  std::string out;
  for (char c : fhir_date.substr(0, 10)) {
    if (absl::ascii_isdigit(static_cast<unsigned char>(c))) out.push_back(c);
  }
  return out;
}

}  // namespace

AlertSeverity AlertSeverityOf(v1::Severity severity) {
  switch (severity) {
    case v1::SEVERITY_CRITICAL:
      return AlertSeverity::kCritical;
    case v1::SEVERITY_INFO:
      return AlertSeverity::kInfo;
    default:
      return AlertSeverity::kWarning;
  }
}

std::vector<AckAlert> AckAlertsOf(const v1::ScreenResponse& response) {
  std::vector<AckAlert> alerts;
  alerts.reserve(response.alerts_size());
  for (const v1::Alert& alert : response.alerts()) {
    AckAlert a;
    a.rule_id = alert.rule_id();
    a.summary = alert.summary();
    a.severity = AlertSeverityOf(alert.severity());
    a.detail = alert.detail();
    alerts.push_back(std::move(a));
  }
  return alerts;
}

std::string BuildAlertsOru(const Er7Message& booking,
                           const Hl7ErrorLocation& service,
                           const v1::PlannedSession& session,
                           const std::vector<AckAlert>& alerts,
                           const OruParams& params) {
  const Er7Delimiters& d = booking.delimiters();
  const char f = d.field;
  const std::string c(1, d.component);
  auto esc = [&d](absl::string_view text) { return Er7Escape(text, d); };
  const std::string time =
      absl::FormatTime("%Y%m%d%H%M%S%z", params.time, absl::UTCTimeZone());
  const Er7Header& h = booking.header();
  const Er7Segment& msh = booking.msh();

  std::string out = absl::StrCat("MSH", std::string(1, f));
  AppendSegment(
      &out, f, d.EncodingCharacters(),
      std::vector<std::string>{
          esc(params.application), "", Copy(booking, &msh, 3),
          Copy(booking, &msh, 4), time, "",
          absl::StrCat("ORU", c, "R01", c, "ORU_R01"), esc(params.control_id),
          h.processing_id.empty() ? "P" : esc(h.processing_id),
          IsSupportedHl7Version(h.version) ? esc(h.version)
                                           : std::string(kDefaultAckVersion)});

  // PID as the booking wrote it.
  if (const Er7Segment* pid = booking.Find("PID"); pid != nullptr) {
    out += "PID";
    for (int i = 1; i <= pid->field_count(); ++i) {
      out.push_back(f);
      out += Copy(booking, pid, i);
    }
    out.push_back('\r');
  }

  const bool siu = h.message_type == "SIU";
  const Er7Segment* ids = siu ? booking.Find("SCH") : booking.Find("ORC");
  const Er7Segment* obr = booking.Find("OBR");
  std::string placer = Copy(booking, ids, siu ? 1 : 2);
  std::string filler = Copy(booking, ids, siu ? 2 : 3);
  if (!siu && placer.empty()) placer = Copy(booking, obr, 2);
  if (!siu && filler.empty()) filler = Copy(booking, obr, 3);
  std::vector<std::string> obr_fields(25);
  obr_fields[0] = "1";
  obr_fields[1] = placer;                           // OBR-2
  obr_fields[2] = filler;                           // OBR-3
  obr_fields[3] = BookedService(booking, service);  // OBR-4
  obr_fields[6] = Hl7Date(session.date());          // OBR-7
  obr_fields[21] = time;                            // OBR-22
  obr_fields[24] = "F";                             // OBR-25
  AppendSegment(&out, f, "OBR", obr_fields);

  int n = 0;
  for (const AckAlert& a : alerts) {
    const std::string severity(AlertSeverityName(a.severity));
    const std::string text =
        a.detail.empty() ? severity : absl::StrCat(severity, ": ", a.detail);
    absl::string_view flag = a.severity == AlertSeverity::kCritical  ? "AA"
                             : a.severity == AlertSeverity::kWarning ? "A"
                                                                     : "";
    std::vector<std::string> obx(14);
    obx[0] = absl::StrCat(++n);
    obx[1] = "TX";
    obx[2] = absl::StrCat(esc(a.rule_id), c, esc(a.summary), c,
                          "urn:needlecheck:rule");
    obx[4] = esc(text);          // OBX-5
    obx[7] = std::string(flag);  // OBX-8
    obx[10] = "F";               // OBX-11
    obx[13] = time;              // OBX-14
    AppendSegment(&out, f, "OBX", obx);
  }
  return out;
}

}  // namespace needlecheck::hl7v2
