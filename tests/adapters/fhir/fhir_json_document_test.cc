// One parse per document: the readers that take a parsed JsonDocument give
// what the readers of the same text give (record, stats, planned session),
// and a document that did not parse gives its parse error to every reader.
#include <string>

#include "absl/status/status.h"
#include "adapters/fhir/fhir_extract.h"
#include "adapters/fhir/json_document.h"
#include "adapters/fhir/planned_session.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/adapters/fhir/fhir_test_util.h"

namespace needlecheck::fhir {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::HasSubstr;

constexpr size_t kMaxBytes = size_t{16} << 20;
constexpr size_t kMaxDepth = 64;

TEST(FhirJsonDocumentTest, FixturesReadTheSameFromTextAndFromOneParse) {
  const auto files = testing::FilesIn(testing::TestdataDir(), ".json");
  ASSERT_FALSE(files.empty());
  for (const auto& path : files) {
    SCOPED_TRACE(path.filename().string());
    const std::string text = testing::ReadFile(path);
    JsonDocument document;
    ASSERT_TRUE(document.Parse(text, kMaxBytes, kMaxDepth).ok());

    ExtractOptions options;
    FhirRecordBuilder from_text(options);
    FhirRecordBuilder from_document(options);
    const absl::Status text_added = from_text.AddJson(text);
    const absl::Status document_added = from_document.AddDocument(document);
    ASSERT_EQ(text_added, document_added);
    if (text_added.ok()) {
      absl::StatusOr<FhirExtract> a = from_text.Finish();
      absl::StatusOr<FhirExtract> b = from_document.Finish();
      ASSERT_EQ(a.status(), b.status());
      if (a.ok()) {
        EXPECT_TRUE(MessageDifferencer::Equals(a->record, b->record));
        EXPECT_EQ(a->stats.resources, b->stats.resources);
        EXPECT_EQ(a->stats.by_type, b->stats.by_type);
        EXPECT_EQ(a->stats.null_prefetch, b->stats.null_prefetch);
      }
    }

    SessionOptions session_options;
    session_options.default_date = "2026-12-01";
    absl::StatusOr<PlannedSessionExtract> s1 =
        PlannedSessionFromHookRequest(text, session_options);
    absl::StatusOr<PlannedSessionExtract> s2 =
        PlannedSessionFromHookRequest(document, session_options);
    ASSERT_EQ(s1.status(), s2.status());
    if (s1.ok()) {
      EXPECT_TRUE(MessageDifferencer::Equals(s1->session, s2->session));
      EXPECT_EQ(s1->sources, s2->sources);
      EXPECT_EQ(s1->date_source, s2->date_source);
    }
  }
}

TEST(FhirJsonDocumentTest, OneDocumentServesSeveralReaders) {
  JsonDocument order;
  ASSERT_TRUE(order
                  .Parse(testing::ReadFile(testing::TestdataDir() /
                                           "order-sign-periorbital-depth.json"),
                         kMaxBytes, kMaxDepth)
                  .ok());
  absl::StatusOr<PlannedSessionExtract> planned =
      PlannedSessionFromHookRequest(order, SessionOptions());
  ASSERT_TRUE(planned.ok()) << planned.status();
  EXPECT_GT(planned->session.areas_size(), 0);

  JsonDocument prefetch;
  ASSERT_TRUE(prefetch
                  .Parse(testing::ReadFile(testing::TestdataDir() /
                                           "patient-view-prefetch.json"),
                         kMaxBytes, kMaxDepth)
                  .ok());
  FhirRecordBuilder once{ExtractOptions()};
  ASSERT_TRUE(once.AddDocument(prefetch).ok());
  FhirRecordBuilder twice{ExtractOptions()};
  ASSERT_TRUE(twice.AddDocument(prefetch).ok());
  ASSERT_TRUE(twice.AddDocument(prefetch).ok());  // the same tree, read again
  absl::StatusOr<FhirExtract> one = once.Finish();
  absl::StatusOr<FhirExtract> two = twice.Finish();
  ASSERT_TRUE(one.ok()) << one.status();
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_GT(one->stats.resources, 0);
  EXPECT_EQ(two->stats.resources, 2 * one->stats.resources);
  EXPECT_EQ(two->record.conditions_size(), 2 * one->record.conditions_size());
}

TEST(FhirJsonDocumentTest, AFailedParseIsEveryReadersError) {
  JsonDocument never;
  EXPECT_TRUE(absl::IsFailedPrecondition(never.status()));
  FhirRecordBuilder builder{ExtractOptions()};
  EXPECT_TRUE(absl::IsFailedPrecondition(builder.AddDocument(never)));

  JsonDocument truncated;
  EXPECT_TRUE(absl::IsInvalidArgument(
      truncated.Parse("{\"a\":", kMaxBytes, kMaxDepth)));
  EXPECT_THAT(truncated.status().message(), HasSubstr("malformed JSON"));
  EXPECT_EQ(builder.AddDocument(truncated), truncated.status());
  EXPECT_EQ(PlannedSessionFromHookRequest(truncated, SessionOptions()).status(),
            truncated.status());

  JsonDocument deep;
  const std::string nested = std::string(70, '[') + std::string(70, ']');
  EXPECT_TRUE(
      absl::IsInvalidArgument(deep.Parse(nested, kMaxBytes, kMaxDepth)));
  EXPECT_THAT(deep.status().message(),
              HasSubstr("JSON nests deeper than 64 levels"));

  JsonDocument big;
  EXPECT_TRUE(absl::IsResourceExhausted(big.Parse("[1, 2, 3]", 4, kMaxDepth)));

  // A later good parse replaces the error and the tree.
  ASSERT_TRUE(big.Parse("{\"resourceType\": \"Patient\", \"id\": \"p\"}",
                        kMaxBytes, kMaxDepth)
                  .ok());
  FhirRecordBuilder again{ExtractOptions()};
  ASSERT_TRUE(again.AddDocument(big).ok());
  absl::StatusOr<FhirExtract> extract = again.Finish();
  ASSERT_TRUE(extract.ok());
  EXPECT_EQ(extract->record.patient_id(), "p");
}

}  // namespace
}  // namespace needlecheck::fhir
