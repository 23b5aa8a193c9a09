// HL7 v2 data types -> FHIR-aligned values (adapters/hl7v2/mapping/
// hl7_types.h) and message classification (message_kind.h).
#include <string>

#include "adapters/hl7v2/er7_message.h"
#include "adapters/hl7v2/hl7_error.h"
#include "adapters/hl7v2/mapping/hl7_types.h"
#include "adapters/hl7v2/mapping/message_kind.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/adapters/hl7v2/hl7v2_mapping_testing.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::hl7v2 {
namespace {

using ::needlecheck::hl7v2::testing::ParseOrFail;
using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::StatusIs;

std::string Fhir(const std::string& hl7) {
  absl::StatusOr<std::string> out = Hl7DateToFhir(hl7);
  EXPECT_THAT(out.status(), IsOk()) << hl7;
  return out.ok() ? *out : "<error>";
}

TEST(Hl7DateToFhirTest, PrecisionAndOffsets) {
  EXPECT_EQ(Fhir(""), "");
  EXPECT_EQ(Fhir("1988"), "1988");
  EXPECT_EQ(Fhir("198808"), "1988-08");
  EXPECT_EQ(Fhir("19880818"), "1988-08-18");
  EXPECT_EQ(Fhir("20210924093000+0215"), "2021-09-24T09:30:00+02:15");
  EXPECT_EQ(Fhir("202109141120+0215"), "2021-09-14T11:20:00+02:15");
  EXPECT_EQ(Fhir("2021091411-0500"), "2021-09-14T11:00:00-05:00");
  EXPECT_EQ(Fhir("20210817151943.4+0200"), "2021-08-17T15:19:43.4+02:00");
  EXPECT_EQ(Fhir("20210817151943.1234-0000"), "2021-08-17T15:19:43.1234-00:00");
  // A time without a zone: the day as written (FHIR needs a zone).
  EXPECT_EQ(Fhir("202109141120"), "2021-09-14");
  EXPECT_EQ(Fhir("20210914112059"), "2021-09-14");
  EXPECT_EQ(Fhir("19880818+0100"), "1988-08-18");
  EXPECT_EQ(Fhir(" 20240229 "), "2024-02-29");
}

TEST(Hl7DateToFhirTest, InvalidDates) {
  for (const char* bad :
       {"2021-09-24", "abc", "202", "20211", "20211301", "20230229", "20210931",
        "2021092424", "202109241260", "20210924125960", "20210924093000+2400",
        "20210924093000+15", "202109240930.5+0100", "20210924093000.12345+0100",
        "00000101", "2021092409300", "1988+"}) {
    EXPECT_THAT(Hl7DateToFhir(bad).status(),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << bad;
  }
}

TEST(Hl7DateToFhirTest, ReadDateNamesTheField) {
  Er7Message m = ParseOrFail(
      "MSH|^~\\&|A|B|C|D|20260101||ADT^A08|1|P|2.5.1\rPID|1||X1||N||"
      "19881318\r");
  absl::StatusOr<std::string> d = ReadDate(*m.Find("PID"), 7);
  ASSERT_FALSE(d.ok());
  const Hl7ErrorDetail e = Hl7ErrorOf(d.status());
  EXPECT_EQ(e.code, Hl7ErrorCode::kDataTypeError);
  EXPECT_EQ(e.location.ToString(), "PID^1^7^1^1");
  EXPECT_THAT(std::string(d.status().message()),
              ::testing::Not(::testing::HasSubstr("19881318")));
}

TEST(CodingSystemUriTest, Table0396Names) {
  const std::string icd = "http://hl7.org/fhir/sid/icd-10-cm";
  EXPECT_EQ(CodingSystemUri("I10"), icd);
  EXPECT_EQ(CodingSystemUri("ICD10CM"), icd);
  EXPECT_EQ(CodingSystemUri("i10c"), icd);
  EXPECT_EQ(CodingSystemUri("SCT"), "http://snomed.info/sct");
  EXPECT_EQ(CodingSystemUri("SNM"), "http://snomed.info/sct");
  EXPECT_EQ(CodingSystemUri("SNOMED-CT"), "http://snomed.info/sct");
  EXPECT_EQ(CodingSystemUri("RXNORM"),
            "http://www.nlm.nih.gov/research/umls/rxnorm");
  EXPECT_EQ(CodingSystemUri("RXN"),
            "http://www.nlm.nih.gov/research/umls/rxnorm");
  EXPECT_EQ(CodingSystemUri("LN"), "http://loinc.org");
  EXPECT_EQ(CodingSystemUri("NDC"), "http://hl7.org/fhir/sid/ndc");
  EXPECT_EQ(CodingSystemUri("CVX"), "http://hl7.org/fhir/sid/cvx");
  EXPECT_EQ(CodingSystemUri("I9"), "http://hl7.org/fhir/sid/icd-9-cm");
  EXPECT_EQ(CodingSystemUri("HL70127"),
            "http://terminology.hl7.org/CodeSystem/v2-0127");
  EXPECT_EQ(CodingSystemUri("99DRM"), "urn:hl7v2:table-0396:99DRM");
  EXPECT_EQ(CodingSystemUri("L"), "urn:hl7v2:table-0396:L");
  EXPECT_EQ(CodingSystemUri(""), "");
}

v1::Concept ConceptOf(const std::string& field) {
  Er7Message m = ParseOrFail(
      "MSH|^~\\&|A|B|C|D|20260101||ADT^A08|1|P|2.8\rAL1|1|DA|" + field + "\r");
  return ReadConcept(*m.Find("AL1"), 3);
}

TEST(ReadConceptTest, BothTripletsAndOriginalText) {
  const v1::Concept c = ConceptOf(
      "6387^Lidocaine^RXNORM^LIDO^Lidocaine (local)^99DRM^^^lidocaine cream");
  ASSERT_EQ(c.codings_size(), 2);
  EXPECT_EQ(c.codings(0).system(),
            "http://www.nlm.nih.gov/research/umls/rxnorm");
  EXPECT_EQ(c.codings(0).code(), "6387");
  EXPECT_EQ(c.codings(0).display(), "Lidocaine");
  EXPECT_EQ(c.codings(1).system(), "urn:hl7v2:table-0396:99DRM");
  EXPECT_EQ(c.codings(1).code(), "LIDO");
  EXPECT_EQ(c.text(), "lidocaine cream");
}

TEST(ReadConceptTest, TextFallbacksAndFreeText) {
  EXPECT_EQ(ConceptOf("P^PENICILLIN^ICDO").text(), "PENICILLIN");
  const v1::Concept free = ConceptOf("Lidocaine cream - hives");
  EXPECT_EQ(free.codings_size(), 0);
  EXPECT_EQ(free.text(), "Lidocaine cream - hives");
  const v1::Concept text_only = ConceptOf("^No reaction to EMLA");
  EXPECT_EQ(text_only.codings_size(), 0);
  EXPECT_EQ(text_only.text(), "No reaction to EMLA");
  const v1::Concept alternate = ConceptOf("^^^L70.0^Acne vulgaris^I10");
  ASSERT_EQ(alternate.codings_size(), 1);
  EXPECT_EQ(alternate.codings(0).code(), "L70.0");
  EXPECT_EQ(alternate.text(), "Acne vulgaris");
  // Escapes are decoded after splitting.
  EXPECT_EQ(ConceptOf("Lidocaine \\T\\ prilocaine").text(),
            "Lidocaine & prilocaine");
  const v1::Concept second = ConceptOf("^^^^^^^^^X1^Xylo^SCT");
  ASSERT_EQ(second.codings_size(), 1);
  EXPECT_EQ(second.codings(0).system(), "http://snomed.info/sct");
  EXPECT_TRUE(IsEmptyConcept(ConceptOf("")));
}

TEST(TextEncodingTest, Utf8AndLatin1) {
  // What is valid UTF-8: common/text/utf8.h (tests/common/text/utf8_test).
  for (const char* bad : {"\xEF", "\xC3", "\xC0\xAF", "\xED\xA0\x80",
                          "\xF4\x90\x80\x80", "\xFF", "\xE2\x80"}) {
    EXPECT_NE(ToUtf8(bad, TextEncoding::kUtf8), bad) << bad;
  }
  EXPECT_EQ(ToUtf8("Lidoca\xEFne", TextEncoding::kUtf8), "Lidoca\xC3\xAFne");
  EXPECT_EQ(ToUtf8("Lidoca\xC3\xAFne", TextEncoding::kUtf8),
            "Lidoca\xC3\xAFne");
  // Declared Latin-1: even bytes that happen to be valid UTF-8.
  EXPECT_EQ(ToUtf8("\xC3\xAF", TextEncoding::kLatin1), "\xC3\x83\xC2\xAF");
  EXPECT_EQ(MessageEncoding(ParseOrFail(
                "MSH|^~\\&|A|B|C|D|20260101||ADT^A08|1|P|2.5||||||8859/1\r")),
            TextEncoding::kLatin1);
  EXPECT_EQ(MessageEncoding(
                ParseOrFail("MSH|^~\\&|A|B|C|D|20260101||ADT^A08|1|P|2.5\r")),
            TextEncoding::kUtf8);
  v1::PatientRecord r;
  r.add_allergies()->add_notes("EMLA \xE9ruption");
  r.add_allergies()->mutable_substance()->add_codings()->set_code(
      "\xFF"
      "1");
  MakeStringsUtf8(TextEncoding::kUtf8, &r);
  EXPECT_EQ(r.allergies(0).notes(0), "EMLA \xC3\xA9ruption");
  EXPECT_EQ(r.allergies(1).substance().codings(0).code(),
            "\xC3\xBF"
            "1");
}

MessageKind KindOf(const std::string& type) {
  return ClassifyMessage(
      ParseOrFail("MSH|^~\\&|A|B|C|D|20260101||" + type + "|1|P|2.5.1\r"));
}

TEST(ClassifyMessageTest, Kinds) {
  for (const char* t : {"ADT^A01", "ADT^A04^ADT_A01", "ADT^A08", "ADT^A28",
                        "ADT^A31", "ADT^A60^ADT_A60"}) {
    EXPECT_EQ(KindOf(t), MessageKind::kPatientUpdate) << t;
  }
  EXPECT_EQ(KindOf("ADT^A40^ADT_A39"), MessageKind::kPatientMerge);
  for (const char* t : {"SIU^S12", "SIU^S14", "ORM^O01", "OMG^O19"}) {
    EXPECT_EQ(KindOf(t), MessageKind::kBooking) << t;
  }
  for (const char* t :
       {"SIU^S13", "SIU^S15", "SIU^S17", "SIU^S26", "ADT^A03", "ADT^A11"}) {
    EXPECT_EQ(KindOf(t), MessageKind::kAcknowledgeOnly) << t;
  }
  for (const char* t : {"ORU^R01", "VXU^V04", "ORM^O02", "PPR^PC1", "ACK"}) {
    EXPECT_EQ(KindOf(t), MessageKind::kUnsupported) << t;
  }
}

TEST(ClassifyMessageTest, UnsupportedErrors) {
  Er7Message oru =
      ParseOrFail("MSH|^~\\&|A|B|C|D|20260101||ORU^R01|1|P|2.5.1\r");
  Hl7ErrorDetail e = Hl7ErrorOf(UnsupportedMessageError(oru));
  EXPECT_EQ(e.code, Hl7ErrorCode::kUnsupportedMessageType);
  EXPECT_EQ(e.location.ToString(), "MSH^1^9^1^1");
  Er7Message o02 =
      ParseOrFail("MSH|^~\\&|A|B|C|D|20260101||ORM^O02|1|P|2.5.1\r");
  e = Hl7ErrorOf(UnsupportedMessageError(o02));
  EXPECT_EQ(e.code, Hl7ErrorCode::kUnsupportedEventCode);
  EXPECT_EQ(e.location.ToString(), "MSH^1^9^1^2");
}

}  // namespace
}  // namespace needlecheck::hl7v2
