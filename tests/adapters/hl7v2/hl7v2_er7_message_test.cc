// Er7Message (adapters/hl7v2/er7_message.h): delimiters from MSH-1/MSH-2,
// HL7 numbering, repetitions/components/subcomponents, escapes decoded after
// splitting, CR/LF/CRLF, a BOM, repeating segments, header validation,
// limits, and errors with a location and without message content.
#include <string>

#include "absl/strings/str_replace.h"
#include "adapters/hl7v2/er7_message.h"
#include "adapters/hl7v2/hl7_error.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::hl7v2 {
namespace {

using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

// A dermatology ADT with the allergy and diagnosis lists, CR-terminated.
const char kAdt[] =
    "MSH|^~\\&|DERMPM|CLINIC|NEEDLECHECK|HQ|20261201093000||ADT^A08^ADT_A01|"
    "MSG0001|P|2.5.1\r"
    "EVN|A08|20261201093000\r"
    "PID|1||MRN123^^^CLINIC^MR~999^^^SSA^SS||DOE^JANE^Q||19900101|F\r"
    "AL1|1|DA|^lidocaine cream|SV|hives \\T\\ swelling\r"
    "AL1|2|DA|^EMLA|MO|rash\\.br\\itch\r"
    "DG1|1||L20.9^Atopic dermatitis, unspecified^I10\r"
    "DG1|2||L70.0^Acne vulgaris^I10\r";

Er7Message ParseOk(const std::string& text) {
  auto parsed = Er7Message::Parse(text);
  EXPECT_THAT(parsed.status(), IsOk());
  return *std::move(parsed);
}

TEST(Er7MessageTest, HeaderAndDelimiters) {
  const Er7Message m = ParseOk(kAdt);
  EXPECT_EQ(m.header().message_type, "ADT");
  EXPECT_EQ(m.header().trigger_event, "A08");
  EXPECT_EQ(m.header().message_structure, "ADT_A01");
  EXPECT_EQ(m.header().control_id, "MSG0001");
  EXPECT_EQ(m.header().processing_id, "P");
  EXPECT_EQ(m.header().version, "2.5.1");
  EXPECT_EQ(m.delimiters().EncodingCharacters(), "^~\\&");
  EXPECT_THAT(ValidateHeader(m), IsOk());
}

TEST(Er7MessageTest, MshNumberingIsOffsetByTheFieldSeparator) {
  const Er7Message m = ParseOk(kAdt);
  EXPECT_EQ(m.Get("MSH-1"), "|");
  EXPECT_EQ(m.Get("MSH-2"), "^~\\&");  // raw, never unescaped
  EXPECT_EQ(m.Get("MSH-3"), "DERMPM");
  EXPECT_EQ(m.Get("MSH-9.2"), "A08");
  EXPECT_EQ(m.Get("MSH-10"), "MSG0001");
  EXPECT_EQ(m.Get("EVN-1"), "A08");  // other segments: field 1 after the ID
  EXPECT_EQ(m.segments().size(), 7u);
}

TEST(Er7MessageTest, RepetitionsComponentsAndRepeatingSegments) {
  const Er7Message m = ParseOk(kAdt);
  EXPECT_EQ(m.Get("PID-3"), "MRN123");
  EXPECT_EQ(m.Get("PID-3.4"), "CLINIC");
  EXPECT_EQ(m.Get("PID-3(2).1"), "999");
  EXPECT_EQ(m.Get("PID-3(2).5"), "SS");
  EXPECT_EQ(m.Get("PID-3(3).1"), "");
  EXPECT_EQ(m.Get("PID-5.2"), "JANE");
  EXPECT_EQ(m.Find("PID")->RepetitionCount(3), 2);
  const auto al1 = m.FindAll("AL1");
  ASSERT_EQ(al1.size(), 2u);
  EXPECT_EQ(al1[1]->sequence(), 2);
  EXPECT_EQ(al1[1]->Get(3, 1, 2), "EMLA");
  EXPECT_EQ(m.Get("AL1(2)-3.2"), "EMLA");
  EXPECT_EQ(m.Get("DG1(2)-3.1"), "L70.0");
  EXPECT_EQ(m.Get("DG1(3)-3.1"), "");
  EXPECT_EQ(m.Find("DG1", 3), nullptr);
}

TEST(Er7MessageTest, EscapesAreDecodedAfterSplitting) {
  const Er7Message m = ParseOk(kAdt);
  EXPECT_EQ(m.Get("AL1-5"), "hives & swelling");  // \T\ did not split
  EXPECT_EQ(m.Get("AL1-5.1.2"), "");
  EXPECT_EQ(m.Get("AL1(2)-5"), "rash\nitch");
  const Er7Message e =
      ParseOk("MSH|^~\\&|A|B|C|D|||ADT^A01|1|P|2.4\rNTE|1||a\\S\\b\\F\\c^d\r");
  EXPECT_EQ(e.Get("NTE-3"), "a^b|c");
  EXPECT_EQ(e.Get("NTE-3.2"), "d");
  EXPECT_EQ(e.Find("NTE")->GetRepetitionText(3), "a^b|c^d");
}

TEST(Er7MessageTest, AcceptsCrLfAndCrLfLineEndsAndABom) {
  const std::string cr = kAdt;
  const std::string lf = absl::StrReplaceAll(cr, {{"\r", "\n"}});
  const std::string crlf = absl::StrReplaceAll(cr, {{"\r", "\r\n"}});
  const std::string bom = "\xEF\xBB\xBF" + crlf;
  for (const std::string& text : {cr, lf, crlf, bom, "\n\n" + lf}) {
    const Er7Message m = ParseOk(text);
    EXPECT_EQ(m.segments().size(), 7u);
    EXPECT_EQ(m.Get("DG1(2)-3.2"), "Acne vulgaris");
    EXPECT_EQ(m.Get("MSH-12"), "2.5.1");
  }
  // No terminator after the last segment.
  EXPECT_EQ(ParseOk("MSH|^~\\&|A\rPID|1").Get("PID-1"), "1");
}

TEST(Er7MessageTest, CustomDelimitersAndTruncationCharacter) {
  const Er7Message m = ParseOk(
      "MSH!$*/%#!APP!FAC!!!!!ADT$A01!X1!P!2.8\r"
      "PID!1!!ID1$$$A%B*ID2!!N/F/X/P/Y\r");
  EXPECT_EQ(m.delimiters().field, '!');
  EXPECT_EQ(m.delimiters().component, '$');
  EXPECT_EQ(m.delimiters().repetition, '*');
  EXPECT_EQ(m.delimiters().escape, '/');
  EXPECT_EQ(m.delimiters().subcomponent, '%');
  EXPECT_EQ(m.delimiters().truncation, '#');
  EXPECT_EQ(m.Get("MSH-2"), "$*/%#");
  EXPECT_EQ(m.Get("PID-3.4.2"), "B");
  EXPECT_EQ(m.Get("PID-3(2)"), "ID2");
  EXPECT_EQ(m.Get("PID-5"), "N!X#Y");
  EXPECT_EQ(m.header().version, "2.8");
  EXPECT_EQ(m.header().trigger_event, "A01");
}

TEST(Er7MessageTest, MalformedPathsYieldEmpty) {
  const Er7Message m = ParseOk(kAdt);
  for (const char* path : {"", "PI", "PID", "PID-", "PID-x", "PID-0", "PID-3.",
                           "PID-3.0", "PID(0)-3", "PID(-3", "PID-3(",
                           "PID-3.1.1.1", "PID-3 ", "PID-99999999"}) {
    EXPECT_EQ(m.Get(path), "") << path;
  }
}

Hl7ErrorDetail ParseError(const std::string& text, const Er7Limits& l = {}) {
  auto parsed = Er7Message::Parse(text, l);
  EXPECT_FALSE(parsed.ok());
  return Hl7ErrorOf(parsed.status());
}

TEST(Er7MessageTest, RejectsAMessageWithoutMshFirst) {
  auto detail = ParseError("PID|1||X\r");
  EXPECT_EQ(detail.code, Hl7ErrorCode::kSegmentSequenceError);
  EXPECT_EQ(detail.location.ToString(), "MSH^1");
  EXPECT_EQ(ParseError("").code, Hl7ErrorCode::kSegmentSequenceError);
  EXPECT_EQ(ParseError("\xEF\xBB\xBF").code,
            Hl7ErrorCode::kSegmentSequenceError);
}

TEST(Er7MessageTest, RejectsBadDelimiters) {
  // MSH-2 with a doubled backslash (the shared corpus has such messages).
  auto detail = ParseError("MSH|^~\\\\&|A|B\r");
  EXPECT_EQ(detail.code, Hl7ErrorCode::kDataTypeError);
  EXPECT_EQ(detail.location.ToString(), "MSH^1^2");
  EXPECT_EQ(ParseError("MSH||A\r").location.ToString(), "MSH^1^2");
  EXPECT_EQ(ParseError("MSH|^~\\&#!|A\r").location.ToString(), "MSH^1^2");
  EXPECT_EQ(ParseError("MSH|^~^&|A\r").location.ToString(), "MSH^1^2");
  EXPECT_EQ(ParseError("MSH|^~ &|A\r").location.ToString(), "MSH^1^2");
  EXPECT_EQ(ParseError("MSH|^~\\\x1C|A\r").location.ToString(), "MSH^1^2");
  EXPECT_EQ(ParseError("MSH|^~\\\xC3|A\r").location.ToString(), "MSH^1^2");
  EXPECT_EQ(ParseError("MSH\x0B^~\\&\x0BA\r").location.ToString(), "MSH^1^1");
  EXPECT_EQ(ParseError("MSHA^~\\&|A\r").location.ToString(), "MSH^1^1");
  EXPECT_EQ(ParseError("MSH\r^~\\&|A\r").location.ToString(), "MSH^1^1");
}

TEST(Er7MessageTest, RejectsBadSegmentIdsWithoutEchoingThem) {
  auto parsed = Er7Message::Parse("MSH|^~\\&|A\rpid|SECRET-NAME\r");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(Hl7ErrorOf(parsed.status()).code,
            Hl7ErrorCode::kSegmentSequenceError);
  EXPECT_THAT(parsed.status().message(), HasSubstr("segment 2"));
  EXPECT_THAT(parsed.status().message(), Not(HasSubstr("SECRET")));
  EXPECT_THAT(parsed.status().message(), Not(HasSubstr("pid")));
  EXPECT_EQ(ParseError("MSH|^~\\&|A\rPIDX|1\r").code,
            Hl7ErrorCode::kSegmentSequenceError);
  auto second = ParseError("MSH|^~\\&|A\rMSH|^~\\&|B\r");
  EXPECT_EQ(second.location.ToString(), "MSH^2");
}

TEST(Er7MessageTest, LimitsAreEnforcedWithLocations) {
  Er7Limits l;
  l.max_field_bytes = 8;
  auto detail = ParseError("MSH|^~\\&|A\rPID|1||123456789\r", l);
  EXPECT_EQ(detail.code, Hl7ErrorCode::kValueTooLong);
  EXPECT_EQ(detail.location.ToString(), "PID^1^3");
  l = Er7Limits();
  l.max_segments = 2;
  EXPECT_EQ(ParseError("MSH|^~\\&|A\rPID|1\rPV1|1\r", l).code,
            Hl7ErrorCode::kValueTooLong);
  l = Er7Limits();
  l.max_fields = 3;
  EXPECT_EQ(ParseError("MSH|^~\\&|A\rPID|1|2|3|4\r", l).location.ToString(),
            "PID^1");
  l = Er7Limits();
  l.max_message_bytes = 10;
  auto big = Er7Message::Parse(kAdt, l);
  EXPECT_THAT(big.status(), StatusIs(absl::StatusCode::kResourceExhausted));
}

TEST(Er7MessageTest, ValidateHeaderCodes) {
  auto check = [](const std::string& msh) {
    auto m = Er7Message::Parse(msh + "\rPID|1\r");
    EXPECT_THAT(m.status(), IsOk());
    return Hl7ErrorOf(ValidateHeader(*m));
  };
  auto d = check("MSH|^~\\&|A|B|C|D|||ADT|1|P|2.5");
  EXPECT_EQ(d.code, Hl7ErrorCode::kRequiredFieldMissing);
  EXPECT_EQ(d.location.ToString(), "MSH^1^9");
  d = check("MSH|^~\\&|A|B|C|D|||ADT^A01||P|2.5");
  EXPECT_EQ(d.location.ToString(), "MSH^1^10");
  d = check("MSH|^~\\&|A|B|C|D|||ADT^A01|1|P");
  EXPECT_EQ(d.code, Hl7ErrorCode::kRequiredFieldMissing);
  EXPECT_EQ(d.location.ToString(), "MSH^1^12");
  d = check("MSH|^~\\&|A|B|C|D|||ADT^A01|1|P|2.2");
  EXPECT_EQ(d.code, Hl7ErrorCode::kUnsupportedVersionId);
  for (const char* v : {"2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7",
                        "2.7.1", "2.8", "2.8.1", "2.8.2"}) {
    EXPECT_EQ(check(std::string("MSH|^~\\&|A|B|C|D|||ADT^A01|1|P|") + v).code,
              Hl7ErrorCode::kAccepted)
        << v;
  }
}

TEST(Er7MessageTest, RecoverHeader) {
  const Er7Header h =
      RecoverHeader("MSH|^~\\\\&|A|B|C|D|T||SIU^S12^SIU_S12|C1|P|2.6\rPID|1\r");
  EXPECT_EQ(h.message_type, "SIU");
  EXPECT_EQ(h.trigger_event, "S12");
  EXPECT_EQ(h.control_id, "C1");
  EXPECT_EQ(h.version, "");
  EXPECT_EQ(RecoverHeader("MSH|^~\\&|A").trigger_event, "");
}

TEST(Er7MessageTest, RecoverControlId) {
  EXPECT_EQ(RecoverControlId("MSH|^~\\\\&|A|B|C|D|T||ADT^A01|CTRL9|P|2.6\r"),
            "CTRL9");
  EXPECT_EQ(RecoverControlId("\xEF\xBB\xBF\nMSH|x|A|B|C|D|T||ADT|C\\F\\1^2"),
            "C|1");
  EXPECT_EQ(RecoverControlId("MSH|^~\\&|A\r"), "");
  EXPECT_EQ(RecoverControlId("PID|1"), "");
  EXPECT_EQ(RecoverControlId("MSH|a|b|c|d|e|f|g|h|" + std::string(300, 'x')),
            "");
}

}  // namespace
}  // namespace needlecheck::hl7v2
