// The Audit RPC through the real needlecheckd on 127.0.0.1:0: a stream of
// patients in, one finding per past session out, in order; a bad record
// ends the stream naming its position.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "needlecheck/v1/screening.grpc.pb.h"
#include "tests/testing/scoped_temp_dir.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck {
namespace {

using ::needlecheck::testing::BinaryPath;
using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::ServerProcess;
using ::testing::HasSubstr;

class AuditRpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    auto process = ServerProcess::Start(
        BinaryPath("service/needlecheckd"),
        {"--listen=127.0.0.1:0", "--data_dir=" + dir_.Path("data")});
    ASSERT_THAT(process, IsOk());
    server_ = *std::move(process);
    stub_ = v1::ScreeningService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                            grpc::InsecureChannelCredentials()));
  }
  void TearDown() override { server_.reset(); }

  static v1::AuditRequest Request(const std::string& id,
                                  const std::string& record_text) {
    v1::AuditRequest request;
    request.set_request_id(id);
    EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(
        record_text, request.mutable_record()));
    return request;
  }

  ::needlecheck::testing::ScopedTempDir dir_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<v1::ScreeningService::Stub> stub_;
};

constexpr char kIntervalPatient[] = R"pb(
  patient_id: "pat-a"
  no_known_allergies: true
  fitzpatrick_skin_type: 2
  procedures {
    id: "s1"
    code { text: "Microneedling" }
    status: "completed"
    performed: "2026-01-10"
    areas: TREATMENT_AREA_CHEEKS
  }
  procedures {
    id: "s2"
    code { text: "Dermapen" }
    status: "completed"
    performed: "2026-01-25"
    areas: TREATMENT_AREA_FULL_FACE
  }
)pb";
constexpr char kNoSessions[] = R"pb(
  patient_id: "pat-b" no_known_allergies: true
)pb";
constexpr char kEczemaPatient[] = R"pb(
  patient_id: "pat-c"
  no_known_allergies: true
  fitzpatrick_skin_type: 2
  conditions {
    id: "c1"
    code { codings { system: "http://snomed.info/sct" code: "24079001" } }
    clinical_status: "active"
    onset: "2025-01-01"
  }
  procedures {
    id: "s9"
    code { text: "Microneedling" }
    status: "completed"
    performed: "2026-03-01"
  }
)pb";

TEST_F(AuditRpcTest, FindingsPerSessionInOrder) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(60));
  auto stream = stub_->Audit(&context);
  ASSERT_TRUE(stream->Write(Request("r1", kIntervalPatient)));
  ASSERT_TRUE(stream->Write(Request("r2", kNoSessions)));
  ASSERT_TRUE(stream->Write(Request("r3", kEczemaPatient)));
  stream->WritesDone();
  std::vector<v1::AuditFinding> findings;
  v1::AuditFinding finding;
  while (stream->Read(&finding)) findings.push_back(finding);
  ASSERT_TRUE(stream->Finish().ok());
  // r1: two findings and its end marker; r2: only its end marker; r3: one
  // finding and its end marker.
  ASSERT_EQ(findings.size(), 6u);
  EXPECT_EQ(findings[0].request_id(), "r1");
  EXPECT_EQ(findings[0].patient_id(), "pat-a");
  EXPECT_EQ(findings[0].session().procedure_id(), "s1");
  EXPECT_EQ(findings[0].verdict(), v1::AUDIT_VERDICT_CLEAR);
  EXPECT_FALSE(findings[0].end_of_record());
  EXPECT_FALSE(findings[0].session().has_days_since_previous_session());
  EXPECT_EQ(findings[1].session().procedure_id(), "s2");
  EXPECT_EQ(findings[1].session().date(), "2026-01-25");
  EXPECT_EQ(findings[1].verdict(), v1::AUDIT_VERDICT_INTERVAL_VIOLATION);
  EXPECT_EQ(findings[1].session().days_since_previous_session(), 15);
  EXPECT_TRUE(findings[2].end_of_record());
  EXPECT_EQ(findings[2].request_id(), "r1");
  EXPECT_EQ(findings[2].patient_id(), "pat-a");
  EXPECT_EQ(findings[2].sessions_audited(), 2);
  EXPECT_FALSE(findings[2].has_session());
  EXPECT_EQ(findings[2].alerts_size(), 0);
  EXPECT_TRUE(findings[3].end_of_record());
  EXPECT_EQ(findings[3].request_id(), "r2");
  EXPECT_EQ(findings[3].patient_id(), "pat-b");
  EXPECT_EQ(findings[3].sessions_audited(), 0);
  EXPECT_EQ(findings[4].request_id(), "r3");
  EXPECT_EQ(findings[4].verdict(), v1::AUDIT_VERDICT_TREATED_DESPITE_CRITICAL);
  EXPECT_FALSE(findings[4].knowledge_base_version().empty());
  EXPECT_TRUE(findings[5].end_of_record());
  EXPECT_EQ(findings[5].sessions_audited(), 1);
  bool eczema = false;
  for (const auto& alert : findings[4].alerts()) {
    eczema = eczema || alert.rule_id() == "MN-CI-ECZEMA";
  }
  EXPECT_TRUE(eczema);
}

TEST_F(AuditRpcTest, BadRecordEndsTheStreamNamingItsPosition) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(60));
  auto stream = stub_->Audit(&context);
  ASSERT_TRUE(stream->Write(Request("r1", kEczemaPatient)));
  v1::AuditRequest bad = Request("r2", kNoSessions);
  bad.mutable_record()->add_conditions()->set_onset("2026-02-30");
  stream->Write(bad);
  stream->WritesDone();
  std::vector<v1::AuditFinding> findings;
  v1::AuditFinding finding;
  while (stream->Read(&finding)) findings.push_back(finding);
  const grpc::Status status = stream->Finish();
  // r1's finding and its end marker; nothing for r2.
  ASSERT_EQ(findings.size(), 2u);
  EXPECT_TRUE(findings[1].end_of_record());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("request at index 1"));
  EXPECT_THAT(status.error_message(), HasSubstr("record.conditions[0].onset"));
}

// A record of thousands of microneedling sessions would cost the audit work
// that grows with their square (minutes of a server thread for one request):
// it is refused at once, and the stream's earlier findings stand.
TEST_F(AuditRpcTest, ARecordOfTooManySessionsIsRefusedAtOnce) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(60));
  auto stream = stub_->Audit(&context);
  ASSERT_TRUE(stream->Write(Request("r1", kEczemaPatient)));
  v1::AuditRequest big = Request("r2", kNoSessions);
  for (int i = 0; i < 4000; ++i) {
    v1::Procedure* p = big.mutable_record()->add_procedures();
    p->set_id(absl::StrCat("s", i));
    p->mutable_code()->set_text("Microneedling");
    p->set_status("completed");
    p->set_performed("2026-01-10");
    p->add_areas(v1::TREATMENT_AREA_CHEEKS);
  }
  stream->Write(big);
  stream->WritesDone();
  std::vector<v1::AuditFinding> findings;
  v1::AuditFinding finding;
  while (stream->Read(&finding)) findings.push_back(finding);
  const grpc::Status status = stream->Finish();
  ASSERT_EQ(findings.size(), 2u);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("request at index 1"));
  EXPECT_THAT(status.error_message(), HasSubstr("record.procedures"));
  EXPECT_THAT(status.error_message(), HasSubstr("4000 microneedling sessions"));
}

// Many patients in one message (AuditRequest.batch): one answer message
// holding what the unbatched requests get, in order; an unbatched request
// after it on the same stream is answered as always.
TEST_F(AuditRpcTest, ABatchIsAnsweredInOneMessageAsUnbatchedRequestsAre) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(60));
  auto stream = stub_->Audit(&context);
  v1::AuditRequest batch;
  *batch.add_batch() = Request("r1", kIntervalPatient);
  *batch.add_batch() = Request("r2", kNoSessions);
  *batch.add_batch() = Request("r3", kEczemaPatient);
  ASSERT_TRUE(stream->Write(batch));
  ASSERT_TRUE(stream->Write(Request("r4", kNoSessions)));
  stream->WritesDone();
  std::vector<v1::AuditFinding> messages;
  v1::AuditFinding message;
  while (stream->Read(&message)) messages.push_back(message);
  ASSERT_TRUE(stream->Finish().ok());
  ASSERT_EQ(messages.size(), 2u);
  const v1::AuditFinding& answer = messages[0];
  EXPECT_TRUE(answer.request_id().empty());
  EXPECT_FALSE(answer.end_of_record());
  ASSERT_EQ(answer.batch_size(), 6);
  EXPECT_EQ(answer.batch(0).request_id(), "r1");
  EXPECT_EQ(answer.batch(0).session().procedure_id(), "s1");
  EXPECT_EQ(answer.batch(1).verdict(), v1::AUDIT_VERDICT_INTERVAL_VIOLATION);
  EXPECT_EQ(answer.batch(1).session().days_since_previous_session(), 15);
  EXPECT_TRUE(answer.batch(2).end_of_record());
  EXPECT_EQ(answer.batch(2).sessions_audited(), 2);
  EXPECT_TRUE(answer.batch(3).end_of_record());
  EXPECT_EQ(answer.batch(3).request_id(), "r2");
  EXPECT_EQ(answer.batch(4).verdict(),
            v1::AUDIT_VERDICT_TREATED_DESPITE_CRITICAL);
  EXPECT_TRUE(answer.batch(5).end_of_record());
  EXPECT_EQ(answer.batch(5).request_id(), "r3");
  EXPECT_EQ(messages[1].batch_size(), 0);
  EXPECT_TRUE(messages[1].end_of_record());
  EXPECT_EQ(messages[1].request_id(), "r4");
}

// A bad record inside a batch: the answers of the elements before it come
// first (one message), then the stream ends naming the patient's position.
TEST_F(AuditRpcTest, BadRecordInABatchEndsTheStreamAfterTheAnswersBeforeIt) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(60));
  auto stream = stub_->Audit(&context);
  ASSERT_TRUE(stream->Write(Request("r0", kNoSessions)));
  v1::AuditRequest batch;
  *batch.add_batch() = Request("r1", kEczemaPatient);
  v1::AuditRequest* bad = batch.add_batch();
  *bad = Request("r2", kNoSessions);
  bad->mutable_record()->add_conditions()->set_onset("2026-02-30");
  *batch.add_batch() = Request("r3", kIntervalPatient);
  stream->Write(batch);
  stream->WritesDone();
  std::vector<v1::AuditFinding> messages;
  v1::AuditFinding message;
  while (stream->Read(&message)) messages.push_back(message);
  const grpc::Status status = stream->Finish();
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].request_id(), "r0");
  ASSERT_EQ(messages[1].batch_size(), 2);
  EXPECT_EQ(messages[1].batch(0).request_id(), "r1");
  EXPECT_TRUE(messages[1].batch(1).end_of_record());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("request at index 2"));
  EXPECT_THAT(status.error_message(), HasSubstr("record.conditions[0].onset"));
}

}  // namespace
}  // namespace needlecheck
