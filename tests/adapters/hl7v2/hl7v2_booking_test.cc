// Bookings and orders -> the planned session (adapters/hl7v2/mapping/
// booking.h) with the knowledge-base session matcher (session_matcher.h),
// over the hand-written messages in tests/testdata/hl7v2.
#include <string>

#include "adapters/hl7v2/hl7_error.h"
#include "adapters/hl7v2/mapping/booking.h"
#include "adapters/hl7v2/mapping/session_matcher.h"
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
using ::needlecheck::testing::StatusIs;

const SessionMatcher& Matcher() {
  static const SessionMatcher* matcher = [] {
    absl::StatusOr<SessionMatcher> m =
        SessionMatcher::Create(BundledKnowledgeBase());
    EXPECT_THAT(m.status(), IsOk());
    return new SessionMatcher(*std::move(m));
  }();
  return *matcher;
}

v1::Concept Text(const std::string& text) {
  v1::Concept c;
  c.set_text(text);
  return c;
}

TEST(SessionMatcherTest, TermsFromTheKnowledgeBase) {
  const SessionMatcher& m = Matcher();
  EXPECT_FALSE(m.knowledge_base_version().empty());
  for (const char* yes :
       {"Microneedling", "MICRO-NEEDLING full face", "Micorneedling",
        "Collagen induction therapy", "SkinPen session", "derma roller",
        "RF microneedling"}) {
    EXPECT_TRUE(m.Matches(Text(yes))) << yes;
  }
  for (const char* no : {"Dermatology consultation", "Chemical peel",
                         "Biopsy of colon", "", "no microneedling today"}) {
    EXPECT_FALSE(m.Matches(Text(no))) << no;
  }
  v1::Concept display;
  v1::Coding* c = display.add_codings();
  c->set_code("X");
  c->set_display("Dermapen treatment");
  EXPECT_TRUE(m.Matches(display));
}

TEST(SessionMatcherTest, CodesAndExclusionsFromTheDefinition) {
  v1::KnowledgeBaseDefinition kb;
  kb.set_version("t1");
  kb.set_microneedling_value_set("mn");
  v1::ValueSetDefinition* vs = kb.add_value_sets();
  vs->set_id("mn");
  v1::CodeDefinition* code = vs->add_codes();
  code->set_system("urn:hl7v2:table-0396:L");
  code->set_code("MN01");
  vs->add_terms("needling");
  vs->add_exclude_terms("hair");
  absl::StatusOr<SessionMatcher> m = SessionMatcher::Create(kb);
  ASSERT_THAT(m.status(), IsOk());
  EXPECT_EQ(m->knowledge_base_version(), "t1");
  v1::Concept coded;
  v1::Coding* c = coded.add_codings();
  c->set_system("urn:hl7v2:table-0396:L");
  c->set_code("MN01");
  EXPECT_TRUE(m->Matches(coded));
  c->set_system("urn:hl7v2:table-0396:99X");
  EXPECT_FALSE(m->Matches(coded));
  EXPECT_TRUE(m->Matches(Text("Needling")));
  EXPECT_FALSE(m->Matches(Text("Microneedling")));  // not a term here
  EXPECT_FALSE(m->Matches(Text("needling for hair loss")));
  kb.set_microneedling_value_set("absent");
  EXPECT_THAT(SessionMatcher::Create(kb).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  kb.clear_microneedling_value_set();
  EXPECT_THAT(SessionMatcher::Create(kb).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// The session has exactly one area.
void ExpectSession(const Booking& b, const std::string& date,
                   const std::string& date_source, v1::TreatmentArea area,
                   double depth) {
  EXPECT_TRUE(b.screen);
  EXPECT_EQ(b.session.date(), date);
  EXPECT_EQ(b.date_source, date_source);
  ASSERT_EQ(b.session.areas_size(), 1);
  EXPECT_EQ(b.session.areas(0).area(), area);
  EXPECT_DOUBLE_EQ(b.session.areas(0).needle_depth_mm(), depth);
}

Booking ReadOrFail(const std::string& bytes) {
  absl::StatusOr<Booking> b = ReadBooking(ParseOrFail(bytes), Matcher());
  EXPECT_THAT(b.status(), IsOk());
  return b.ok() ? *std::move(b) : Booking();
}

TEST(ReadBookingTest, MicroneedlingAppointment) {
  const Booking b = ReadOrFail(TestMessage("derm_siu_s12.hl7"));
  ExpectSession(b, "2026-11-09T10:00:00+01:00", "AIS(1)-4",
                v1::TREATMENT_AREA_FULL_FACE, 0.5);
  EXPECT_EQ(b.not_screened_reason, "");
  EXPECT_EQ(b.service_location.ToString(), "AIS^1^3");
  // Only the clause of the note that names the anesthetic.
  EXPECT_EQ(b.session.anesthetic().text(), "apply EMLA 45 minutes before");
  ASSERT_EQ(b.patient.identifiers.size(), 1u);
  EXPECT_EQ(b.patient.identifiers[0].id, "100234");
}

TEST(ReadBookingTest, MicroneedlingOrder) {
  const Booking b = ReadOrFail(TestMessage("derm_orm_o01.hl7"));
  ExpectSession(b, "2026-11-09T10:00:00+01:00", "TQ1(1)-7",
                v1::TREATMENT_AREA_PERIORBITAL, 0.75);
  EXPECT_EQ(b.service_location.ToString(), "OBR^1^4");
  EXPECT_TRUE(b.session.anesthetic().text().empty());
}

TEST(ReadBookingTest, NotMicroneedling) {
  const Booking b = ReadOrFail(TestMessage("derm_siu_s12_consult.hl7"));
  EXPECT_FALSE(b.screen);
  EXPECT_EQ(b.not_screened_reason, "not a microneedling booking");
  EXPECT_TRUE(b.service_location.segment_id.empty());
  EXPECT_EQ(b.patient.identifiers.size(), 1u);
}

std::string Siu(const std::string& sch25, const std::string& ais) {
  return "MSH|^~\\&|S|F|N|F|20261103||SIU^S12|X1|P|2.5.1\r"
         "SCH|A1|A1|||||||||||||||||||||||" +
         sch25 +
         "\r"
         "PID|1||7^^^H^MR\rRGS|1\r" +
         ais + "\r";
}

TEST(ReadBookingTest, CancelledAndNoShowAreNotScreened) {
  Booking b = ReadOrFail(Siu("Cancelled", "AIS|1|A|^Microneedling|20261109"));
  EXPECT_FALSE(b.screen);
  EXPECT_EQ(b.not_screened_reason, "the booking is cancelled");
  b = ReadOrFail(Siu("Noshow", "AIS|1|A|^Microneedling|20261109"));
  EXPECT_EQ(b.not_screened_reason, "the patient did not show");
  b = ReadOrFail(
      Siu("Booked", "AIS|1|A|^Microneedling|20261109||||||Cancelled"));
  EXPECT_FALSE(b.screen);
  b = ReadOrFail(Siu("Booked", "AIS|1|D|^Microneedling|20261109"));
  EXPECT_FALSE(b.screen);
  EXPECT_EQ(b.not_screened_reason,
            "the microneedling service was removed from the booking");
  const std::string cancelled_order =
      "MSH|^~\\&|S|F|N|F|20261103||ORM^O01|X2|P|2.5.1\r"
      "PID|1||7^^^H^MR\rORC|CA|O1\rOBR|1|O1||^Microneedling\r";
  b = ReadOrFail(cancelled_order);
  EXPECT_FALSE(b.screen);
  EXPECT_EQ(b.not_screened_reason, "the order is cancelled");
}

TEST(ReadBookingTest, StartFallbacks) {
  // No AIS-4: SCH-11.4, else TQ1-7.
  Booking b = ReadOrFail(
      "MSH|^~\\&|S|F|N|F|20261103||SIU^S12|X1|P|2.3\r"
      "SCH|A1|A1|||||^Microneedling - cheeks||||^^^20261109\r"
      "PID|1||7^^^H^MR\r");
  ExpectSession(b, "2026-11-09", "SCH(1)-11.4", v1::TREATMENT_AREA_CHEEKS, 0);
  b = ReadOrFail(
      "MSH|^~\\&|S|F|N|F|20261103||ORM^O01|X2|P|2.3\r"
      "PID|1||7^^^H^MR\rORC|NW|O1|||||^^^202611091030\r"
      "OBR|1|O1||^Dermapen|||||||||needle depth 1.5 mm|||||||||||||||||||"
      "||||||||||||||^Neck\r"
      "RXO|^LMX4 cream\r");
  ExpectSession(b, "2026-11-09", "ORC(1)-7.4", v1::TREATMENT_AREA_NECK, 1.5);
  EXPECT_EQ(b.session.anesthetic().text(), "LMX4 cream");
}

TEST(ReadBookingTest, OwnFactsAddToTheStoredRecord) {
  const Booking b = ReadOrFail(
      "MSH|^~\\&|S|F|N|F|20261103||ORM^O01|X4|P|2.5.1\r"
      "PID|1||7^^^H^MR\rAL1|1|DA|Latex\r"
      "ORC|NW|O1\rTQ1|||||||20261109\rOBR|1|O1||^Microneedling\r"
      "DG1|1||L90.5^Scar conditions and fibrosis of skin^I10\r");
  EXPECT_FALSE(b.patient.replaces_allergies);
  EXPECT_FALSE(b.patient.replaces_conditions);
  v1::PatientRecord stored;
  stored.add_conditions()->mutable_code()->set_text("Acne vulgaris");
  stored.add_allergies()->mutable_substance()->set_text("Lidocaine - hives");
  ApplyPatientUpdate(b.patient, &stored);
  ASSERT_EQ(stored.conditions_size(), 2);
  EXPECT_EQ(stored.conditions(0).code().text(), "Acne vulgaris");
  ASSERT_EQ(stored.allergies_size(), 2);
  EXPECT_EQ(stored.allergies(0).substance().text(), "Lidocaine - hives");
  ApplyPatientUpdate(b.patient, &stored);
  EXPECT_EQ(stored.conditions_size(), 2);
}

TEST(ReadBookingTest, AnestheticOrdersBesideTheSession) {
  const Booking b = ReadOrFail(
      "MSH|^~\\&|S|F|N|F|20261103||ORM^O01|X3|P|2.5.1\r"
      "PID|1||7^^^H^MR\r"
      "ORC|NW|O1\rTQ1|||||||20261109\rOBR|1|O1||^Microneedling\r"
      "ORC|NW|O2\rRXO|6387^Lidocaine 4% cream^RXNORM\r"
      "ORC|CA|O3\rRXO|^Benzocaine gel\r"
      "ORC|NW|O4\rRXO|^Ibuprofen 200 mg\r");
  EXPECT_TRUE(b.screen);
  ASSERT_EQ(b.session.anesthetic().codings_size(), 1);
  EXPECT_EQ(b.session.anesthetic().codings(0).code(), "6387");
  EXPECT_EQ(b.session.anesthetic().text(), "Lidocaine 4% cream");
}

TEST(ReadBookingTest, Errors) {
  absl::StatusOr<Booking> b = ReadBooking(
      ParseOrFail(Siu("Booked", "AIS|1|A|^Microneedling")), Matcher());
  ASSERT_FALSE(b.ok());
  Hl7ErrorDetail e = Hl7ErrorOf(b.status());
  EXPECT_EQ(e.code, Hl7ErrorCode::kRequiredFieldMissing);
  EXPECT_EQ(e.location.ToString(), "AIS^1^4");
  b = ReadBooking(ParseOrFail(Siu("Booked", "AIS|1|A|^Microneedling|202611")),
                  Matcher());
  EXPECT_EQ(Hl7ErrorOf(b.status()).code, Hl7ErrorCode::kDataTypeError);
  b = ReadBooking(
      ParseOrFail(
          "MSH|^~\\&|S|F|N|F|20261103||SIU^S12|X1|P|2.5.1\r"
          "SCH|A1\rTQ1|||||||20261109\rRGS|1\rAIS|1|A|^Microneedling\r"),
      Matcher());
  e = Hl7ErrorOf(b.status());
  EXPECT_EQ(e.code, Hl7ErrorCode::kRequiredFieldMissing);
  EXPECT_EQ(e.location.ToString(), "PID^1");
  b = ReadBooking(
      ParseOrFail("MSH|^~\\&|S|F|N|F|20261103||ORM^O01|X2|P|2.5.1\r"
                  "PID|1||7\rORC|NW|O1\rOBR|1|O1||^Microneedling\r"),
      Matcher());
  EXPECT_EQ(Hl7ErrorOf(b.status()).location.ToString(), "ORC^1^7");
  // Deeper than the knowledge base accepts: located where it was read.
  b = ReadBooking(ParseOrFail(Siu("Booked",
                                  "AIS|1|A|^Microneedling|20261109\r"
                                  "NTE|1||needle depth 5 mm")),
                  Matcher());
  e = Hl7ErrorOf(b.status());
  EXPECT_EQ(e.code, Hl7ErrorCode::kDataTypeError);
  EXPECT_EQ(e.location.ToString(), "NTE^1^3");
  EXPECT_DOUBLE_EQ(Matcher().max_needle_depth_mm(), 3.5);
  // Not microneedling: no PID is fine.
  b = ReadBooking(ParseOrFail("MSH|^~\\&|S|F|N|F|20261103||SIU^S12|X1|P|2.5.1\r"
                              "SCH|A1\rRGS|1\rAIS|1|A|^Consultation\r"),
                  Matcher());
  ASSERT_THAT(b.status(), IsOk());
  EXPECT_FALSE(b->screen);
  EXPECT_TRUE(b->patient.identifiers.empty());
}

}  // namespace
}  // namespace needlecheck::hl7v2
