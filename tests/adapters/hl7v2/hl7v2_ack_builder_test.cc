// BuildAck (adapters/hl7v2/ack_builder.h): the exact shape of AA, AE and AR
// acknowledgments, alerts riding in an AA, escaping for the incoming
// message's delimiters, and the AR for bytes that do not parse.
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "adapters/hl7v2/ack_builder.h"
#include "adapters/hl7v2/er7_message.h"
#include "adapters/hl7v2/hl7_error.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::hl7v2 {
namespace {

using ::needlecheck::testing::IsOk;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

const char kSiu[] =
    "MSH|^~\\&|DERMPM|CLINIC|NEEDLECHECK|HQ|20261201093000||SIU^S12^SIU_S12|"
    "MSG42|P|2.6\r"
    "SCH|1\r"
    "PID|1||MRN1||DOE^JANE\r";

AckParams Params(AckCode code) {
  AckParams p;
  p.code = code;
  p.control_id = "NC-1";
  p.time = absl::FromUnixSeconds(1796112000);  // 2026-12-01 08:00:00 UTC
  return p;
}

std::vector<std::string> Segments(const std::string& ack) {
  std::vector<std::string> out = absl::StrSplit(ack, '\r');
  EXPECT_EQ(out.back(), "");  // every segment ends in CR
  out.pop_back();
  return out;
}

TEST(AckBuilderTest, AcceptWithoutAlerts) {
  auto in = Er7Message::Parse(kSiu);
  ASSERT_THAT(in.status(), IsOk());
  AckParams p = Params(AckCode::kAccept);
  p.text = "screened";
  EXPECT_THAT(
      Segments(BuildAck(&*in, kSiu, p)),
      ElementsAre("MSH|^~\\&|NEEDLECHECK|HQ|DERMPM|CLINIC|20261201080000+0000"
                  "||ACK^S12^ACK|NC-1|P|2.6",
                  "MSA|AA|MSG42|screened"));
}

TEST(AckBuilderTest, RejectWithErrorsFromStatuses) {
  auto in = Er7Message::Parse("MSH|^~\\&|A|B|C|D|T||ADT^A01|X1|T|2.9\rPID|1\r");
  ASSERT_THAT(in.status(), IsOk());
  AckParams p = Params(AckCode::kReject);
  p.text = "rejected";
  p.errors.push_back(AckErrorFromStatus(ValidateHeader(*in)));
  AckError missing;
  missing.code = Hl7ErrorCode::kRequiredFieldMissing;
  missing.location = {"PID", 1, 3};
  missing.message = "PID-3 patient identifier is required";
  p.errors.push_back(missing);
  const auto segs = Segments(BuildAck(&*in, "", p));
  ASSERT_EQ(segs.size(), 4u);
  // An unsupported version is not echoed: the default answers.
  EXPECT_EQ(segs[0],
            "MSH|^~\\&|C|D|A|B|20261201080000+0000||ACK^A01^ACK|NC-1|T|2.5.1");
  EXPECT_EQ(segs[1], "MSA|AR|X1|rejected");
  EXPECT_EQ(segs[2],
            "ERR||MSH^1^12|203^Unsupported version id^HL70357|E||||"
            "hl7v2: MSH(1)-12: MSH-12 version is not one of 2.3 to 2.8");
  EXPECT_EQ(segs[3],
            "ERR||PID^1^3|101^Required field missing^HL70357|E||||"
            "PID-3 patient identifier is required");
}

TEST(AckBuilderTest, ApplicationErrorWithoutLocation) {
  auto in = Er7Message::Parse(kSiu);
  ASSERT_THAT(in.status(), IsOk());
  AckParams p = Params(AckCode::kError);
  p.text = "screening service unavailable";
  p.errors.push_back(
      {Hl7ErrorCode::kApplicationInternalError, {}, "retry later"});
  const auto segs = Segments(BuildAck(&*in, kSiu, p));
  ASSERT_EQ(segs.size(), 3u);
  EXPECT_EQ(segs[1], "MSA|AE|MSG42|screening service unavailable");
  EXPECT_EQ(segs[2],
            "ERR|||207^Application internal error^HL70357|E||||retry later");
}

TEST(AckBuilderTest, AlertsRideInTheAccept) {
  auto in = Er7Message::Parse(kSiu);
  ASSERT_THAT(in.status(), IsOk());
  AckParams p = Params(AckCode::kAccept);
  p.alerts.push_back({"anesthetic-allergy", "Topical anesthetic allergy",
                      AlertSeverity::kCritical, "lidocaine: hives"});
  p.alerts.push_back(
      {"session-interval", "Session too soon", AlertSeverity::kWarning, ""});
  p.alerts.push_back(
      {"acne-active", "Active acne", AlertSeverity::kInfo, "L70.0 on file"});
  const auto segs = Segments(BuildAck(&*in, kSiu, p));
  ASSERT_EQ(segs.size(), 5u);
  EXPECT_EQ(segs[1], "MSA|AA|MSG42");
  EXPECT_EQ(segs[2],
            "ERR|||0^Message accepted^HL70357|W|anesthetic-allergy^Topical "
            "anesthetic allergy^urn:needlecheck:rule||CRITICAL: lidocaine: "
            "hives|Topical anesthetic allergy");
  EXPECT_EQ(segs[3],
            "ERR|||0^Message accepted^HL70357|W|session-interval^Session too "
            "soon^urn:needlecheck:rule||WARNING|Session too soon");
  EXPECT_EQ(segs[4],
            "ERR|||0^Message accepted^HL70357|I|acne-active^Active "
            "acne^urn:needlecheck:rule||INFO: L70.0 on file|Active acne");
}

TEST(AckBuilderTest, TextIsEscapedForTheIncomingDelimiters) {
  const std::string msg = "MSH!$*/%!A$1!B!C!D!T!!SIU$S12!ID/F/7!P!2.8\rPID!1\r";
  auto in = Er7Message::Parse(msg);
  ASSERT_THAT(in.status(), IsOk());
  AckParams p = Params(AckCode::kAccept);
  p.text = "a!b$c";
  p.alerts.push_back({"r/1", "x*y\rz", AlertSeverity::kWarning, "d%e|"});
  const std::string ack = BuildAck(&*in, msg, p);
  const auto segs = Segments(ack);
  ASSERT_EQ(segs.size(), 3u);
  EXPECT_EQ(segs[0],
            "MSH!$*/%!C!D!A$1!B!20261201080000+0000!!ACK$S12$ACK!NC-1!P!2.8");
  EXPECT_EQ(segs[1], "MSA!AA!ID/F/7!a/F/b/S/c");
  auto back = Er7Message::Parse(ack);
  ASSERT_THAT(back.status(), IsOk());
  EXPECT_EQ(back->Get("MSA-2"), "ID!7");
  EXPECT_EQ(back->Get("MSA-3"), "a!b$c");
  EXPECT_EQ(back->Get("ERR-5.1"), "r/1");
  EXPECT_EQ(back->Get("ERR-5.2"), "x*y\rz");
  EXPECT_EQ(back->Get("ERR-7"), "WARNING: d%e|");
  EXPECT_EQ(back->Get("ERR-8"), "x*y\rz");
  EXPECT_EQ(back->Get("MSH-5.2"), "1");
}

TEST(AckBuilderTest, KeepsATruncationCharacter) {
  const std::string msg = "MSH|^~\\&#|A|B|C|D|T||ADT^A04|9|P|2.7\r";
  auto in = Er7Message::Parse(msg);
  ASSERT_THAT(in.status(), IsOk());
  AckParams p = Params(AckCode::kAccept);
  p.text = "50#";
  const auto segs = Segments(BuildAck(&*in, msg, p));
  EXPECT_EQ(segs[0].substr(0, 10), "MSH|^~\\&#|");
  EXPECT_EQ(segs[1], "MSA|AA|9|50\\P\\");
}

TEST(AckBuilderTest, UnparseableBytesStillGetAWellFormedReject) {
  const std::string bad = "MSH|^~\\\\&|A|B|C|D|T||ADT^A01|CTRL7|P|2.6\rPID|1\r";
  auto in = Er7Message::Parse(bad);
  ASSERT_FALSE(in.ok());
  AckParams p = Params(AckCode::kReject);
  p.text = "unparseable message";
  p.errors.push_back(AckErrorFromStatus(in.status()));
  const std::string ack = BuildAck(nullptr, bad, p);
  const auto segs = Segments(ack);
  ASSERT_EQ(segs.size(), 3u);
  EXPECT_EQ(segs[0],
            "MSH|^~\\&|NEEDLECHECK||||20261201080000+0000||ACK^A01^ACK|NC-1|P|"
            "2.5.1");
  EXPECT_EQ(segs[1], "MSA|AR|CTRL7|unparseable message");
  EXPECT_THAT(segs[2], HasSubstr("ERR||MSH^1^2|102^Data type error^HL70357|E"));
  auto back = Er7Message::Parse(ack);
  ASSERT_THAT(back.status(), IsOk());
  EXPECT_EQ(back->header().control_id, "NC-1");
  EXPECT_THAT(ValidateHeader(*back), IsOk());
  // Nothing recoverable: MSA-2 empty, still well-formed.
  const std::string junk = "\x01\x02 not hl7 | at all";
  const std::string ack2 = BuildAck(nullptr, junk, p);
  EXPECT_EQ(Segments(ack2)[1], "MSA|AR||unparseable message");
  EXPECT_THAT(Er7Message::Parse(ack2).status(), IsOk());
}

TEST(AckBuilderTest, ParseErrorsCarryNoMessageContent) {
  const std::string msg =
      "MSH|^~\\&|A|B|C|D|T||ADT^A01|1|P|2.5\rPID|1||JANE-DOE-SECRET\rbad|x\r";
  auto in = Er7Message::Parse(msg);
  ASSERT_FALSE(in.ok());
  AckParams p = Params(AckCode::kReject);
  p.errors.push_back(AckErrorFromStatus(in.status()));
  const std::string ack = BuildAck(nullptr, msg, p);
  EXPECT_THAT(ack, Not(HasSubstr("SECRET")));
  EXPECT_THAT(ack, Not(HasSubstr("bad")));
}

TEST(AckBuilderTest, ErrorOfAPlainStatusIsInternalError) {
  const AckError e = AckErrorFromStatus(absl::UnavailableError("down"));
  EXPECT_EQ(e.code, Hl7ErrorCode::kApplicationInternalError);
  EXPECT_TRUE(e.location.segment_id.empty());
  EXPECT_EQ(e.message, "down");
  EXPECT_EQ(Hl7ErrorOf(absl::OkStatus()).code, Hl7ErrorCode::kAccepted);
}

TEST(AckBuilderTest, ControlBytesInCopiedFieldsCannotBreakTheFrame) {
  const std::string msg =
      std::string("MSH|^~\\&|A\x1C\x0B|B|C|D|T||ADT^A01|1|P|2.5\rPID|1\r");
  auto in = Er7Message::Parse(msg);
  ASSERT_THAT(in.status(), IsOk());
  const std::string ack = BuildAck(&*in, msg, Params(AckCode::kAccept));
  EXPECT_EQ(ack.find('\x1C'), std::string::npos);
  EXPECT_EQ(ack.find('\x0B'), std::string::npos);
  auto back = Er7Message::Parse(ack);
  ASSERT_THAT(back.status(), IsOk());
  EXPECT_EQ(back->Get("MSH-5"), "A\x1C\x0B");
}

TEST(AckBuilderTest, LocationForms) {
  const Hl7ErrorLocation loc{"PID", 1, 3, 2, 1, 4};
  EXPECT_EQ(loc.ToString(), "PID^1^3^2^1^4");
  EXPECT_EQ(loc.ToPath(), "PID(1)-3(2).1.4");
  EXPECT_EQ((Hl7ErrorLocation{"AL1", 2, 3}).ToString('$'), "AL1$2$3");
  EXPECT_EQ((Hl7ErrorLocation{"AL1", 2, 3}).ToPath(), "AL1(2)-3");
  EXPECT_EQ(Hl7ErrorLocation().ToString(), "");
  EXPECT_EQ(Hl7ErrorLocation().ToPath(), "message");
}

}  // namespace
}  // namespace needlecheck::hl7v2
