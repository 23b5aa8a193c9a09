// The mapping over every public message in ../shared/corpus/hl7v2 and the
// hand-written ones in tests/testdata/hl7v2: it never crashes and gives a
// result or an HL7 table 0357 error with a location and no message
// content in its text. Skips the shared part when the corpus is absent
// (NEEDLECHECK_SHARED_DIR overrides its place).
#include <filesystem>
#include <string>
#include <vector>

#include "adapters/hl7v2/er7_message.h"
#include "adapters/hl7v2/hl7_error.h"
#include "adapters/hl7v2/mapping/booking.h"
#include "adapters/hl7v2/mapping/message_kind.h"
#include "adapters/hl7v2/mapping/patient_update.h"
#include "adapters/hl7v2/mapping/session_matcher.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/adapters/hl7v2/hl7v2_mapping_testing.h"
#include "tests/testing/read_file.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::hl7v2 {
namespace {

using ::needlecheck::hl7v2::testing::Hl7Files;
using ::needlecheck::hl7v2::testing::SharedCorpusDir;
using ::needlecheck::hl7v2::testing::TestdataDir;
using ::needlecheck::testing::IsOk;

// A failure must be a located 0357 error whose text quotes nothing from
// the message (checked against a few values every corpus message holds).
void ExpectHl7Error(const absl::Status& status, const std::string& raw) {
  const Hl7ErrorDetail e = Hl7ErrorOf(status);
  EXPECT_NE(e.code, Hl7ErrorCode::kAccepted);
  EXPECT_NE(e.code, Hl7ErrorCode::kApplicationInternalError) << status;
  EXPECT_FALSE(e.location.segment_id.empty()) << status;
  EXPECT_EQ(raw.find(std::string(status.message())), std::string::npos);
}

struct Outcome {
  int mapped = 0;
  int rejected = 0;
};

void MapOne(const std::filesystem::path& path, const SessionMatcher& matcher,
            Outcome* outcome) {
  SCOPED_TRACE(path.filename().string());
  const std::string raw = ::needlecheck::testing::ReadFile(path.string());
  absl::StatusOr<Er7Message> m = Er7Message::Parse(raw);
  if (!m.ok()) return;  // the parser's own tests cover these
  absl::Status status;
  // Every reader on every message: none may crash, whatever the type.
  absl::StatusOr<PatientUpdate> u = ReadPatientUpdate(*m);
  if (u.ok()) {
    v1::PatientRecord record;
    ApplyPatientUpdate(*u, &record);
    ApplyPatientUpdate(*u, &record);
    EXPECT_FALSE(u->identifiers.empty());
  } else {
    ExpectHl7Error(u.status(), raw);
  }
  absl::StatusOr<Booking> b = ReadBooking(*m, matcher);
  if (!b.ok()) ExpectHl7Error(b.status(), raw);
  absl::StatusOr<std::vector<PatientMerge>> merges = ReadPatientMerges(*m);
  if (!merges.ok()) ExpectHl7Error(merges.status(), raw);
  switch (ClassifyMessage(*m)) {
    case MessageKind::kPatientUpdate:
      status = u.status();
      break;
    case MessageKind::kPatientMerge:
      status = merges.status();
      break;
    case MessageKind::kBooking:
      status = b.status();
      break;
    case MessageKind::kAcknowledgeOnly:
      break;
    case MessageKind::kUnsupported:
      status = UnsupportedMessageError(*m);
      break;
  }
  if (status.ok()) {
    ++outcome->mapped;
  } else {
    ExpectHl7Error(status, raw);
    ++outcome->rejected;
  }
}

TEST(Hl7v2MappingCorpusTest, SharedCorpusMapsOrIsRejectedWithA0357Error) {
  const std::vector<std::filesystem::path> files = Hl7Files(SharedCorpusDir());
  if (files.empty()) GTEST_SKIP() << "no corpus at " << SharedCorpusDir();
  absl::StatusOr<SessionMatcher> matcher =
      SessionMatcher::Create(testing::BundledKnowledgeBase());
  ASSERT_THAT(matcher.status(), IsOk());
  Outcome outcome;
  for (const auto& path : files) MapOne(path, *matcher, &outcome);
  // ADT (10 + 5), SIU (4 + the S15 acknowledged) and ORM (7) map; ORU,
  // VXU (2), RDE and PPR are unsupported types (AR 200).
  EXPECT_EQ(outcome.mapped, 27);
  EXPECT_EQ(outcome.rejected, 5);
}

TEST(Hl7v2MappingCorpusTest, KnownCorpusValues) {
  const std::filesystem::path dir = SharedCorpusDir();
  if (Hl7Files(dir).empty()) GTEST_SKIP() << "no corpus at " << dir;
  absl::StatusOr<Er7Message> adt = Er7Message::Parse(
      ::needlecheck::testing::ReadFile((dir / "ADT-A01-01.hl7").string()));
  ASSERT_THAT(adt.status(), IsOk());
  absl::StatusOr<PatientUpdate> u = ReadPatientUpdate(*adt);
  ASSERT_THAT(u.status(), IsOk());
  EXPECT_EQ(u->identifiers[0].Key(), "test1&2.16.1&HCD|PATID1234");
  EXPECT_EQ(u->facts.birth_date(), "1988-08-18");
  ASSERT_EQ(u->facts.allergies_size(), 1);
  EXPECT_EQ(u->facts.allergies(0).substance().codings(0).system(),
            "urn:hl7v2:table-0396:ICDO");
  EXPECT_EQ(u->facts.allergies(0).substance().text(), "PENICILLIN");
  EXPECT_EQ(u->facts.allergies(0).recorded_date(), "2021-08-24");
  ASSERT_EQ(u->facts.conditions_size(), 1);
  EXPECT_EQ(u->facts.conditions(0).code().codings(0).system(),
            "http://snomed.info/sct");
  EXPECT_EQ(u->facts.conditions(0).onset(), "2004-01-25T11:40:25+04:20");
  ASSERT_EQ(u->facts.procedures_size(), 1);
  EXPECT_EQ(u->facts.procedures(0).performed(), "2005-01-25T11:40:00+01:00");
}

TEST(Hl7v2MappingCorpusTest, HandWrittenMessagesMap) {
  const std::vector<std::filesystem::path> files = Hl7Files(TestdataDir());
  ASSERT_EQ(files.size(), 7u);
  absl::StatusOr<SessionMatcher> matcher =
      SessionMatcher::Create(testing::BundledKnowledgeBase());
  ASSERT_THAT(matcher.status(), IsOk());
  Outcome outcome;
  for (const auto& path : files) {
    const std::string raw = ::needlecheck::testing::ReadFile(path.string());
    EXPECT_EQ(raw.find('\n'), std::string::npos) << path;  // CR segment ends
    MapOne(path, *matcher, &outcome);
  }
  EXPECT_EQ(outcome.mapped, 7);
}

}  // namespace
}  // namespace needlecheck::hl7v2
