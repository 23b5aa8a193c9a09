#include "service/server/screening_backend.h"

#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "gtest/gtest.h"
#include "service/server/status_conversion.h"
#include "tests/service/server/fake_ledger.h"
#include "tests/service/server/test_records.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::server {
namespace {

using ::needlecheck::server::testing::EczemaRequest;
using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::StatusIs;
using ::needlecheck::v1::ScreenRequest;
using ::needlecheck::v1::ScreenResponse;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

std::vector<std::string> ViolatedFields(const absl::Status& status) {
  std::vector<std::string> fields;
  auto payload = status.GetPayload(kBadRequestTypeUrl);
  if (!payload.has_value()) return fields;
  google::rpc::BadRequest bad_request;
  EXPECT_TRUE(bad_request.ParseFromString(std::string(*payload)));
  for (const auto& v : bad_request.field_violations()) {
    fields.push_back(v.field());
  }
  return fields;
}

class ScreeningBackendTest : public ::testing::Test {
 protected:
  ScreeningBackendTest()
      : store_(FileOrBundledLoader(""),
               [] { return absl::FromUnixSeconds(1'795'428'000); }) {}
  void SetUp() override {
    ASSERT_THAT(store_.Load(), IsOk());
    backend_ = CreateEngineBackend(&store_);
  }
  KnowledgeBaseStore store_;
  std::unique_ptr<ScreeningBackend> backend_;
};

TEST_F(ScreeningBackendTest, ActiveEczemaFiresCritical) {
  ScreenResponse response;
  ASSERT_THAT(backend_->Screen(EczemaRequest("req-1"), &response), IsOk());
  EXPECT_EQ(response.request_id(), "req-1");
  EXPECT_EQ(response.knowledge_base_version(), store_.Current().kb->version());
  bool found = false;
  for (const auto& alert : response.alerts()) {
    if (alert.rule_id() == "MN-CI-ECZEMA") {
      found = true;
      EXPECT_EQ(alert.severity(), needlecheck::v1::SEVERITY_CRITICAL);
    }
  }
  EXPECT_TRUE(found) << response.DebugString();
}

TEST_F(ScreeningBackendTest, GeneratesRandomRequestIds) {
  ScreenResponse a;
  ScreenResponse b;
  ASSERT_THAT(backend_->Screen(EczemaRequest(""), &a), IsOk());
  ASSERT_THAT(backend_->Screen(EczemaRequest(""), &b), IsOk());
  EXPECT_EQ(a.request_id().size(), 36u);
  EXPECT_NE(a.request_id(), b.request_id());
  EXPECT_THAT(a.request_id(), Not(HasSubstr("PATIENT")));
}

TEST_F(ScreeningBackendTest, MissingRecordAndSession) {
  ScreenResponse response;
  const absl::Status status = backend_->Screen(ScreenRequest(), &response);
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument,
                               HasSubstr("session.date")));
  EXPECT_THAT(ViolatedFields(status), Contains("record"));
  EXPECT_THAT(ViolatedFields(status), Contains("session"));
  EXPECT_THAT(ViolatedFields(status), Contains("session.date"));
}

TEST_F(ScreeningBackendTest, BadDate) {
  ScreenRequest request = EczemaRequest("r");
  request.mutable_session()->set_date("2026-13-01");
  ScreenResponse response;
  const absl::Status status = backend_->Screen(request, &response);
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument,
                               HasSubstr("session.date")));
  EXPECT_THAT(ViolatedFields(status), Contains("session.date"));
}

TEST_F(ScreeningBackendTest, UnknownAreaAndDepthOutOfRange) {
  ScreenRequest request = EczemaRequest("r");
  request.mutable_session()->mutable_areas(0)->set_area(
      static_cast<needlecheck::v1::TreatmentArea>(99));
  auto* deep = request.mutable_session()->add_areas();
  deep->set_area(needlecheck::v1::TREATMENT_AREA_BACK);
  deep->set_needle_depth_mm(9.0);
  ScreenResponse response;
  const absl::Status status = backend_->Screen(request, &response);
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument));
  const std::vector<std::string> fields = ViolatedFields(status);
  EXPECT_THAT(fields, Contains(StartsWith("session.areas[0]")));
  EXPECT_THAT(fields, Contains("session.areas[1].needle_depth_mm"));
}

TEST_F(ScreeningBackendTest, ErrorsDoNotEchoPatientIds) {
  ScreenRequest request = EczemaRequest("r");
  request.mutable_session()->clear_date();
  ScreenResponse response;
  const absl::Status status = backend_->Screen(request, &response);
  EXPECT_THAT(status.message(), Not(HasSubstr("PATIENT-SECRET")));
}

TEST_F(ScreeningBackendTest, GetKnowledgeBaseReportsTheLoadTime) {
  needlecheck::v1::KnowledgeBase kb;
  ASSERT_THAT(backend_->GetKnowledgeBase(&kb), IsOk());
  EXPECT_EQ(kb.version(), store_.Current().kb->version());
  EXPECT_EQ(kb.source(), "bundled");
  EXPECT_EQ(kb.loaded_at(), "2026-11-23T10:00:00Z");
  EXPECT_GT(kb.rules_size(), 0);
}

TEST(ScreeningBackendNoKbTest, Unavailable) {
  KnowledgeBaseStore store(FileOrBundledLoader(""), [] { return absl::Now(); });
  std::unique_ptr<ScreeningBackend> backend = CreateEngineBackend(&store);
  ScreenResponse response;
  EXPECT_THAT(backend->Screen(EczemaRequest("r"), &response),
              StatusIs(absl::StatusCode::kUnavailable));
  needlecheck::v1::KnowledgeBase kb;
  EXPECT_THAT(backend->GetKnowledgeBase(&kb),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(ScreeningBackendTest, WithoutALedgerAlertsHaveNoId) {
  ScreenResponse response;
  ASSERT_THAT(backend_->Screen(EczemaRequest("r"), &response), IsOk());
  ASSERT_GT(response.alerts_size(), 0);
  for (const auto& alert : response.alerts()) {
    EXPECT_TRUE(alert.alert_id().empty());
  }
}

TEST_F(ScreeningBackendTest, WithALedgerEachAlertGetsAnIdAndIsRecorded) {
  testing::FakeLedger ledger;
  const absl::Time now = absl::FromUnixSeconds(1'795'428'300);
  std::unique_ptr<ScreeningBackend> backend =
      CreateEngineBackend(&store_, &ledger, [now] { return now; });
  absl::flat_hash_set<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    ScreenResponse response;
    ASSERT_THAT(backend->Screen(EczemaRequest("req-7"), &response), IsOk());
    ASSERT_GT(response.alerts_size(), 0);
    ASSERT_EQ(ledger.screenings.size(), static_cast<size_t>(i + 1));
    const ledger::ScreeningRecord& record = ledger.screenings.back();
    EXPECT_EQ(record.request_id, "req-7");
    EXPECT_EQ(record.patient_id, "PATIENT-SECRET-0001");
    EXPECT_EQ(record.screened_at, now);
    EXPECT_EQ(record.knowledge_base_version, response.knowledge_base_version());
    ASSERT_EQ(record.alerts.size(),
              static_cast<size_t>(response.alerts_size()));
    for (int a = 0; a < response.alerts_size(); ++a) {
      const auto& alert = response.alerts(a);
      EXPECT_EQ(alert.alert_id().size(), 36u);
      EXPECT_TRUE(ids.insert(alert.alert_id()).second) << "repeated id";
      EXPECT_EQ(record.alerts[a].alert_id, alert.alert_id());
      EXPECT_EQ(record.alerts[a].rule_id, alert.rule_id());
      EXPECT_EQ(record.alerts[a].severity, alert.severity());
    }
  }
}

TEST_F(ScreeningBackendTest, LedgerFailureKeepsTheAlertsWithoutIds) {
  testing::FakeLedger ledger;
  ledger.record_status = absl::UnavailableError("queue is full");
  std::unique_ptr<ScreeningBackend> backend =
      CreateEngineBackend(&store_, &ledger);
  ScreenResponse response;
  ASSERT_THAT(backend->Screen(EczemaRequest("r"), &response), IsOk());
  ASSERT_GT(response.alerts_size(), 0);  // the clinician still gets them
  for (const auto& alert : response.alerts()) {
    EXPECT_TRUE(alert.alert_id().empty());
  }
}

TEST(FormatRfc3339UtcTest, Formats) {
  EXPECT_EQ(FormatRfc3339Utc(absl::FromUnixSeconds(0)), "1970-01-01T00:00:00Z");
}

}  // namespace
}  // namespace needlecheck::server
