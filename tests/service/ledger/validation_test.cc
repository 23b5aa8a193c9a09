#include "service/ledger/validation.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace needlecheck::ledger {
namespace {

using ::needlecheck::v1::GetAlertStatsRequest;
using ::needlecheck::v1::RecordFeedbackRequest;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::vector<std::string> Fields(const std::vector<FieldError>& errors) {
  std::vector<std::string> fields;
  for (const FieldError& e : errors) {
    EXPECT_FALSE(e.description.empty()) << e.field;
    fields.push_back(e.field);
  }
  return fields;
}

RecordFeedbackRequest Valid() {
  RecordFeedbackRequest request;
  request.set_alert_id("7d1c9c1e-2b7a-4e0b-9a43-3f1f6f0c2a11");
  request.set_outcome(needlecheck::v1::FEEDBACK_OUTCOME_OVERRIDDEN);
  request.set_outcome_timestamp("2026-11-23T10:05:00Z");
  return request;
}

TEST(ValidateFeedbackRequestTest, AcceptsAValidRequest) {
  EXPECT_THAT(ValidateFeedbackRequest(Valid()), IsEmpty());
}

TEST(ValidateFeedbackRequestTest, NamesEachMissingField) {
  EXPECT_THAT(Fields(ValidateFeedbackRequest(RecordFeedbackRequest())),
              ElementsAre("alert_id", "outcome", "outcome_timestamp"));
}

TEST(ValidateFeedbackRequestTest, LimitsSizes) {
  RecordFeedbackRequest request = Valid();
  request.set_alert_id(std::string(kMaxIdLength + 1, 'a'));
  request.set_user_comment(std::string(kMaxCommentLength + 1, 'c'));
  request.mutable_override_reason()->set_display(
      std::string(kMaxReasonFieldLength + 1, 'd'));
  for (int i = 0; i <= kMaxSuggestionIds; ++i) {
    request.add_accepted_suggestion_ids("s");
  }
  EXPECT_THAT(Fields(ValidateFeedbackRequest(request)),
              ElementsAre("alert_id", "override_reason.display", "user_comment",
                          "accepted_suggestion_ids"));
}

TEST(ParseRfc3339Test, AcceptsRfc3339DateTimes) {
  const absl::Time t = absl::FromUnixSeconds(1795428300);  // 10:05:00Z
  for (const char* text :
       {"2026-11-23T10:05:00Z", "2026-11-23t10:05:00z",
        "2026-11-23T11:05:00+01:00", "2026-11-23T05:05:00-05:00"}) {
    absl::StatusOr<absl::Time> parsed = ParseRfc3339(text);
    ASSERT_TRUE(parsed.ok()) << text << ": " << parsed.status();
    EXPECT_EQ(*parsed, t) << text;
  }
  absl::StatusOr<absl::Time> fraction = ParseRfc3339("2026-11-23T10:05:00.25Z");
  ASSERT_TRUE(fraction.ok());
  EXPECT_EQ(*fraction, t + absl::Milliseconds(250));
}

TEST(ParseRfc3339Test, RejectsOtherShapes) {
  for (const char* text :
       {"", "2026-11-23", "2026-11-23T10:05Z", "2026-11-23T10:05:00",
        "2026-11-23 10:05:00Z", "26-11-23T10:05:00Z",
        "2026-11-23T10:05:00+0100", "2026-02-29T10:00:00Z",
        "2026-11-23T10:05:60.5Z x"}) {
    EXPECT_FALSE(ParseRfc3339(text).ok()) << text;
  }
}

TEST(IsIsoDayTest, OnlyRealDays) {
  EXPECT_TRUE(IsIsoDay("2026-11-23"));
  EXPECT_TRUE(IsIsoDay("2028-02-29"));
  for (const char* text : {"2026-02-29", "2026-11-31", "2026-1-23", "2026-11",
                           "20261123", "2026-11-23T00:00:00Z", ""}) {
    EXPECT_FALSE(IsIsoDay(text)) << text;
  }
}

// The exact set of day texts the statistics accept, as it was before the
// check moved onto common/calendar: only what formats back to itself.
TEST(IsIsoDayTest, AcceptanceIsPinned) {
  for (const char* text :
       {"2026-01-01", "1000-01-01", "9999-12-31", "2000-02-29", "-999-01-01"}) {
    EXPECT_TRUE(IsIsoDay(text)) << text;
  }
  for (const char* text :
       {"+2026-1-01", " 2026-01-1", "2026-01-1 ", "2026-1-1  ", "0999-01-01",
        "0000-01-01", "+026-01-01", "02026-1-01", "2026/01/01", "2026-00-10",
        "2026-01-00", "2026-01-32", "2026-13-01", "1900-02-29",
        "2026-01-01\n"}) {
    EXPECT_FALSE(IsIsoDay(text)) << text;
  }
}

TEST(UtcDayTest, UsesUtc) {
  EXPECT_EQ(UtcDay(absl::FromUnixSeconds(1795478399)), "2026-11-23");
  EXPECT_EQ(UtcDay(absl::FromUnixSeconds(1795478400)), "2026-11-24");
  EXPECT_EQ(UtcDay(absl::UnixEpoch()), "1970-01-01");
  EXPECT_EQ(UtcDay(absl::UnixEpoch() - absl::Nanoseconds(1)), "1969-12-31");
  EXPECT_EQ(UtcDay(absl::FromCivil(absl::CivilSecond(2028, 2, 29, 23, 59, 59),
                                   absl::UTCTimeZone())),
            "2028-02-29");
  EXPECT_EQ(UtcDay(absl::FromCivil(absl::CivilSecond(9999, 12, 31, 12, 0, 0),
                                   absl::UTCTimeZone())),
            "9999-12-31");
}

TEST(ValidateStatsRequestTest, ChecksDatesOrderRulesAndTopReasons) {
  EXPECT_THAT(ValidateStatsRequest(GetAlertStatsRequest()), IsEmpty());
  GetAlertStatsRequest request;
  request.set_from_date("2026-11-24");
  request.set_to_date("2026-11-23");
  EXPECT_THAT(Fields(ValidateStatsRequest(request)), ElementsAre("to_date"));
  request.set_from_date("tomorrow");
  request.set_to_date("2026-13-01");
  request.add_rule_ids("");
  request.set_top_reasons(-1);
  EXPECT_THAT(
      Fields(ValidateStatsRequest(request)),
      ElementsAre("from_date", "to_date", "rule_ids[0]", "top_reasons"));
  request.Clear();
  request.set_top_reasons(kMaxTopReasons);
  EXPECT_THAT(ValidateStatsRequest(request), IsEmpty());
}

TEST(InvalidArgumentFromErrorsTest, ListsEveryField) {
  const absl::Status s = InvalidArgumentFromErrors(
      "invalid feedback", {{"alert_id", "required"}, {"outcome", "required"}});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "invalid feedback: alert_id: required; outcome: required");
}

}  // namespace
}  // namespace needlecheck::ledger
