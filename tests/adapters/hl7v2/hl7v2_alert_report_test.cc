// The alerts of a screened booking as the AA's ERR segments (AckAlertsOf)
// and as the ORU^R01 for --alerts_to (BuildAlertsOru): the documented shape,
// the booking's own delimiters, escaping of our texts, control bytes in
// copied fields, the booked service where ReadBooking found it.
#include <string>
#include <vector>

#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "adapters/hl7v2/er7_message.h"
#include "adapters/hl7v2/mapping/booking.h"
#include "adapters/hl7v2/mapping/session_matcher.h"
#include "adapters/hl7v2/processing/alert_report.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/adapters/hl7v2/hl7v2_mapping_testing.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::hl7v2 {
namespace {

using ::needlecheck::hl7v2::testing::BundledKnowledgeBase;
using ::needlecheck::hl7v2::testing::ParseOrFail;
using ::needlecheck::hl7v2::testing::TestMessage;
using ::needlecheck::testing::IsOk;

std::vector<AckAlert> TwoAlerts() {
  needlecheck::v1::ScreenResponse response;
  needlecheck::v1::Alert* a = response.add_alerts();
  a->set_rule_id("MN-FREQ-INTERVAL");
  a->set_severity(needlecheck::v1::SEVERITY_CRITICAL);
  a->set_summary("Only 20 days | since ^ the last & session");
  a->set_detail("Wait until 2026-11-17 \\ 28 days\nbetween sessions.");
  needlecheck::v1::Alert* b = response.add_alerts();
  b->set_rule_id("MN-SKIN-TYPE-MISSING");
  b->set_severity(needlecheck::v1::SEVERITY_INFO);
  b->set_summary("No skin type");
  return AckAlertsOf(response);
}

// Where ReadBooking found the microneedling service of `booking`.
Hl7ErrorLocation ServiceOf(const Er7Message& booking) {
  absl::StatusOr<SessionMatcher> matcher =
      SessionMatcher::Create(BundledKnowledgeBase());
  EXPECT_THAT(matcher.status(), IsOk());
  if (!matcher.ok()) return Hl7ErrorLocation();
  absl::StatusOr<Booking> read = ReadBooking(booking, *matcher);
  EXPECT_THAT(read.status(), IsOk());
  return read.ok() ? read->service_location : Hl7ErrorLocation();
}

OruParams Params() {
  OruParams params;
  params.control_id = "ORU-1";
  params.time = absl::FromUnixSeconds(1796112000);  // 2026-12-01T08:00:00Z
  return params;
}

needlecheck::v1::PlannedSession Session() {
  needlecheck::v1::PlannedSession session;
  session.set_date("2026-11-09");
  return session;
}

TEST(AlertReportTest, AckAlertsKeepOrderAndMapSeverities) {
  needlecheck::v1::ScreenResponse response;
  for (auto severity :
       {needlecheck::v1::SEVERITY_CRITICAL, needlecheck::v1::SEVERITY_WARNING,
        needlecheck::v1::SEVERITY_INFO,
        needlecheck::v1::SEVERITY_UNSPECIFIED}) {
    response.add_alerts()->set_severity(severity);
  }
  const std::vector<AckAlert> alerts = AckAlertsOf(response);
  ASSERT_EQ(alerts.size(), 4u);
  EXPECT_EQ(alerts[0].severity, AlertSeverity::kCritical);
  EXPECT_EQ(alerts[1].severity, AlertSeverity::kWarning);
  EXPECT_EQ(alerts[2].severity, AlertSeverity::kInfo);
  EXPECT_EQ(alerts[3].severity, AlertSeverity::kWarning);
}

TEST(AlertReportTest, OruOfASiuHasTheDocumentedShape) {
  const Er7Message siu = ParseOrFail(TestMessage("derm_siu_s12.hl7"));
  const std::vector<AckAlert> alerts = TwoAlerts();
  const std::string oru =
      BuildAlertsOru(siu, ServiceOf(siu), Session(), alerts, Params());
  const Er7Message m = ParseOrFail(oru);
  EXPECT_THAT(ValidateHeader(m), IsOk());
  EXPECT_EQ(m.Get("MSH-3"), "NEEDLECHECK");
  EXPECT_EQ(m.Get("MSH-5"), "DERMSCHED");
  EXPECT_EQ(m.Get("MSH-6"), "SKINCLINIC");
  EXPECT_EQ(m.Get("MSH-7"), "20261201080000+0000");
  EXPECT_EQ(m.Get("MSH-9"), "ORU");
  EXPECT_EQ(m.Get("MSH-9.2"), "R01");
  EXPECT_EQ(m.Get("MSH-9.3"), "ORU_R01");
  EXPECT_EQ(m.Get("MSH-10"), "ORU-1");
  EXPECT_EQ(m.Get("MSH-12"), "2.5.1");
  // PID copied as written.
  EXPECT_EQ(m.Find("PID")->RawField(3), siu.Find("PID")->RawField(3));
  EXPECT_EQ(m.Get("PID-5.2"), "Ada");
  EXPECT_EQ(m.Get("OBR-1"), "1");
  EXPECT_EQ(m.Get("OBR-2"), "APT-5001");
  EXPECT_EQ(m.Get("OBR-4"), "MN-FACE");
  EXPECT_EQ(m.Get("OBR-4.2"), "Microneedling - full face");
  EXPECT_EQ(m.Get("OBR-7"), "20261109");
  EXPECT_EQ(m.Get("OBR-22"), "20261201080000+0000");
  EXPECT_EQ(m.Get("OBR-25"), "F");
  ASSERT_EQ(m.FindAll("OBX").size(), 2u);
  EXPECT_EQ(m.Get("OBX(1)-1"), "1");
  EXPECT_EQ(m.Get("OBX(1)-2"), "TX");
  EXPECT_EQ(m.Get("OBX(1)-3"), "MN-FREQ-INTERVAL");
  // Our texts are escaped for the booking's delimiters and read back.
  EXPECT_EQ(m.Get("OBX(1)-3.2"), "Only 20 days | since ^ the last & session");
  EXPECT_EQ(m.Get("OBX(1)-3.3"), "urn:needlecheck:rule");
  EXPECT_EQ(m.Get("OBX(1)-5"),
            "CRITICAL: Wait until 2026-11-17 \\ 28 days\nbetween sessions.");
  EXPECT_EQ(m.Get("OBX(1)-8"), "AA");
  EXPECT_EQ(m.Get("OBX(1)-11"), "F");
  EXPECT_EQ(m.Get("OBX(1)-14"), "20261201080000+0000");
  EXPECT_EQ(m.Get("OBX(2)-5"), "INFO");
  EXPECT_EQ(m.Get("OBX(2)-8"), "");
  // Segments end in CR only; nothing breaks an MLLP frame.
  EXPECT_EQ(oru.find('\n'), std::string::npos);
  EXPECT_EQ(oru.find('\x0b'), std::string::npos);
  EXPECT_EQ(oru.find('\x1c'), std::string::npos);
}

TEST(AlertReportTest, OruOfAnOrderUsesItsDelimitersAndTheBookedService) {
  // Other delimiters ('!' for components, '$' for escapes), a control byte
  // in a copied PID field, and a first OBR that is not microneedling.
  std::string orm = TestMessage("derm_orm_o01.hl7");
  orm = absl::StrReplaceAll(orm, {{"^", "!"}, {"\\", "$"}});
  orm = absl::StrReplaceAll(
      orm, {{"OBR|1|", "OBR|1|ORD-76!DERMEHR||CONSULT!Consultation!L\rOBR|2|"},
            {"Testpatient!Ada", "Test\x1cpatient!Ada"},
            {"ORC|NW|ORD-77!DERMEHR|", "ORC|NW||"}});
  const Er7Message m_in = ParseOrFail(orm);
  ASSERT_EQ(m_in.delimiters().component, '!');
  const Hl7ErrorLocation service{"OBR", 2, 4};
  const std::string oru =
      BuildAlertsOru(m_in, service, Session(), TwoAlerts(), Params());
  EXPECT_EQ(oru.find('\x1c'), std::string::npos);
  const Er7Message m = ParseOrFail(oru);
  EXPECT_EQ(m.delimiters().component, '!');
  EXPECT_EQ(m.delimiters().escape, '$');
  EXPECT_EQ(m.Get("MSH-9.2"), "R01");
  EXPECT_EQ(m.Get("PID-5"), "Test\x1cpatient");  // \X1C\ decodes back
  // No ORC placer: OBR-2 of the first OBR; the service is the matched one.
  EXPECT_EQ(m.Get("OBR-2"), "ORD-76");
  EXPECT_EQ(m.Get("OBR-4"), "MN-EYE");
  EXPECT_EQ(m.Get("OBX(1)-3.2"), "Only 20 days | since ^ the last & session");
  // No service location: the first service.
  const Er7Message first = ParseOrFail(
      BuildAlertsOru(m_in, Hl7ErrorLocation(), Session(), {}, Params()));
  EXPECT_EQ(first.Get("OBR-4"), "CONSULT");
  EXPECT_TRUE(first.FindAll("OBX").empty());
}

}  // namespace
}  // namespace needlecheck::hl7v2
