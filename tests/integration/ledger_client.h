// Test helpers for the alert-ledger integration tests (ledger_test.cc,
// ledger_fault_test.cc): an alerting screening request, a feedback request
// and a small gRPC client of one needlecheckd. Test-only.
#ifndef TESTS_INTEGRATION_LEDGER_CLIENT_H_
#define TESTS_INTEGRATION_LEDGER_CLIENT_H_

#include <chrono>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/text_format.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "needlecheck/v1/screening.grpc.pb.h"

namespace needlecheck::testing {

// Patient id and feedback comment that must never reach the server's log.
inline constexpr char kLedgerPatientSecret[] = "PATIENT-SECRET-LEDGER-0001";
inline constexpr char kLedgerCommentSecret[] =
    "COMMENT-SECRET: patient insisted";

// Active atopic dermatitis (MN-CI-ECZEMA, CRITICAL) and a session 10 days
// after a previous one (the spacing rule fires too).
inline needlecheck::v1::ScreenRequest AlertingRequest(absl::string_view id) {
  needlecheck::v1::ScreenRequest request;
  const std::string text =
      absl::StrCat("request_id: \"", id, "\" record { patient_id: \"",
                   kLedgerPatientSecret, "\"", R"pb(
        birth_date: "1990-04-02"
        fitzpatrick_skin_type: 2
        no_known_allergies: true
        conditions {
          id: "c1"
          code {
            codings {
              system: "http://snomed.info/sct"
              code: "24079001"
              display: "Atopic dermatitis"
            }
          }
          clinical_status: "active"
          verification_status: "confirmed"
          onset: "2026-01-10"
        }
        procedures {
          id: "p1"
          code { text: "Microneedling, full face" }
          status: "completed"
          performed: "2026-11-21"
        }
      }
                session {
        date: "2026-12-01"
        areas { area: TREATMENT_AREA_FULL_FACE needle_depth_mm: 1.0 }
      })pb");
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &request));
  return request;
}

// Feedback on `alert_id`: overridden (with a reason and the secret comment)
// or accepted, at `timestamp` (RFC 3339).
inline needlecheck::v1::RecordFeedbackRequest Feedback(
    const std::string& alert_id, bool overridden,
    const std::string& timestamp) {
  needlecheck::v1::RecordFeedbackRequest request;
  request.set_alert_id(alert_id);
  request.set_outcome(overridden ? needlecheck::v1::FEEDBACK_OUTCOME_OVERRIDDEN
                                 : needlecheck::v1::FEEDBACK_OUTCOME_ACCEPTED);
  request.set_outcome_timestamp(timestamp);
  if (overridden) {
    request.mutable_override_reason()->set_system("urn:example:reasons");
    request.mutable_override_reason()->set_code("consent");
    request.mutable_override_reason()->set_display("Patient consented");
    request.set_user_comment(kLedgerCommentSecret);
  }
  request.set_service_id("microneedling-safety");
  return request;
}

// A client of one needlecheckd process. Every call carries a deadline
// (default 60 s: generous, the tests wait for events, not for time).
class LedgerClient {
 public:
  explicit LedgerClient(const std::string& address,
                        absl::Duration deadline = absl::Seconds(60))
      : channel_(
            grpc::CreateChannel(address, grpc::InsecureChannelCredentials())),
        stub_(needlecheck::v1::ScreeningService::NewStub(channel_)),
        health_(grpc::health::v1::Health::NewStub(channel_)),
        deadline_(deadline) {}

  grpc::Status Screen(const needlecheck::v1::ScreenRequest& request,
                      needlecheck::v1::ScreenResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    return stub_->Screen(&context, request, response);
  }
  grpc::Status RecordFeedback(
      const needlecheck::v1::RecordFeedbackRequest& request,
      needlecheck::v1::RecordFeedbackResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    return stub_->RecordFeedback(&context, request, response);
  }
  grpc::Status GetAlertStats(
      const needlecheck::v1::GetAlertStatsRequest& request,
      needlecheck::v1::AlertStats* stats) {
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    return stub_->GetAlertStats(&context, request, stats);
  }
  grpc::Status GetKnowledgeBase(needlecheck::v1::KnowledgeBase* kb) {
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    return stub_->GetKnowledgeBase(
        &context, needlecheck::v1::GetKnowledgeBaseRequest(), kb);
  }
  // grpc.health.v1 Check of `service` ("" for the server as a whole).
  grpc::Status Health(const std::string& service,
                      grpc::health::v1::HealthCheckResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    return health_->Check(&context, request, response);
  }

 private:
  std::chrono::system_clock::time_point Deadline() const {
    return absl::ToChronoTime(absl::Now() + deadline_);
  }

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<needlecheck::v1::ScreeningService::Stub> stub_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_;
  const absl::Duration deadline_;
};

}  // namespace needlecheck::testing

#endif  // TESTS_INTEGRATION_LEDGER_CLIENT_H_
