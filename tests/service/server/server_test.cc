// NeedlecheckServer in-process on 127.0.0.1:0: start-up, health checking,
// reload and drain. (Reflection is covered by the integration tests: a
// client copy of reflection.proto cannot live in a binary that links the
// server's reflection plugin.)
#include "service/server/server.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "needlecheck/v1/screening.grpc.pb.h"
#include "tests/testing/read_file.h"
#include "tests/testing/scoped_temp_dir.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::server {
namespace {

using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::StatusIs;

// A path for this test under one fresh folder per test process (removed at
// exit), so runs never see each other's files (a ledger left by another
// build, for one).
std::string TempPath(absl::string_view name) {
  static const needlecheck::testing::ScopedTempDir dir;
  const ::testing::TestInfo* info =
      ::testing::UnitTest::GetInstance()->current_test_info();
  return dir.Path(absl::StrCat(info->name(), "_", name));
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::trunc);
  out << content;
}

using ::needlecheck::testing::ReadFile;

std::string KbWithVersion(absl::string_view version) {
  return absl::StrReplaceAll(
      std::string(kb::BundledKnowledgeBaseText()),
      {{"version: \"2026.11.1\"", absl::StrCat("version: \"", version, "\"")}});
}

class ServerTest : public ::testing::Test {
 protected:
  ServerOptions Options() {
    ServerOptions options;
    options.listen_address = "127.0.0.1:0";
    options.data_dir = TempPath("data/nested");
    options.drain_grace_period = absl::Seconds(30);
    return options;
  }
  void Connect(const NeedlecheckServer& server) {
    auto channel = grpc::CreateChannel(server.address(),
                                       grpc::InsecureChannelCredentials());
    health_ = grpc::health::v1::Health::NewStub(channel);
    screening_ = needlecheck::v1::ScreeningService::NewStub(channel);
  }
  HealthCheckResponse::ServingStatus Health(const std::string& service,
                                            grpc::StatusCode* code) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(60));
    HealthCheckRequest request;
    request.set_service(service);
    HealthCheckResponse response;
    *code = health_->Check(&context, request, &response).error_code();
    return response.status();
  }
  std::string KbVersion() {
    grpc::ClientContext context;
    needlecheck::v1::KnowledgeBase kb;
    const grpc::Status status = screening_->GetKnowledgeBase(
        &context, needlecheck::v1::GetKnowledgeBaseRequest(), &kb);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return kb.version();
  }

  std::unique_ptr<grpc::health::v1::Health::Stub> health_;
  std::unique_ptr<needlecheck::v1::ScreeningService::Stub> screening_;
};

TEST_F(ServerTest, ServesHealthAndCreatesDataDir) {
  ServerOptions options = Options();
  options.ready_file = TempPath("ready");
  auto server = NeedlecheckServer::Start(options);
  ASSERT_THAT(server, IsOk());
  EXPECT_GT((*server)->port(), 0);
  EXPECT_EQ((*server)->address(),
            absl::StrCat("127.0.0.1:", (*server)->port()));
  EXPECT_TRUE(std::ifstream(options.data_dir).good());
  EXPECT_EQ(ReadFile(options.ready_file), (*server)->address() + "\n");
  Connect(**server);

  grpc::StatusCode code;
  EXPECT_EQ(Health("", &code), HealthCheckResponse::SERVING);
  EXPECT_EQ(code, grpc::StatusCode::OK);
  EXPECT_EQ(Health(kScreeningServiceName, &code), HealthCheckResponse::SERVING);
  Health("no.such.Service", &code);
  EXPECT_EQ(code, grpc::StatusCode::NOT_FOUND);

  (*server)->Drain();
  EXPECT_FALSE(std::ifstream(options.ready_file).good());
  Health("", &code);
  EXPECT_EQ(code, grpc::StatusCode::UNAVAILABLE);
  (*server)->Drain();  // idempotent
}

// A patient with active atopic dermatitis: MN-CI-ECZEMA (CRITICAL).
needlecheck::v1::ScreenRequest EczemaScreen() {
  needlecheck::v1::ScreenRequest request;
  request.set_request_id("ledger-1");
  auto* record = request.mutable_record();
  record->set_patient_id("PATIENT-SECRET-0002");
  record->set_birth_date("1990-04-02");
  record->set_no_known_allergies(true);
  auto* condition = record->add_conditions();
  condition->set_id("c1");
  auto* coding = condition->mutable_code()->add_codings();
  coding->set_system("http://snomed.info/sct");
  coding->set_code("24079001");
  condition->set_clinical_status("active");
  condition->set_verification_status("confirmed");
  request.mutable_session()->set_date("2026-12-01");
  return request;
}

TEST_F(ServerTest, LedgerRecordsAlertsFeedbackAndStats) {
  ServerOptions options = Options();
  std::filesystem::remove_all(options.data_dir);  // a ledger of a past run
  auto server = NeedlecheckServer::Start(options);
  ASSERT_THAT(server, IsOk());
  ASSERT_NE((*server)->ledger(), nullptr);
  EXPECT_TRUE(std::ifstream(options.data_dir + "/ledger.sqlite3").good());
  Connect(**server);

  grpc::ClientContext screen_context;
  needlecheck::v1::ScreenResponse screened;
  ASSERT_TRUE(
      screening_->Screen(&screen_context, EczemaScreen(), &screened).ok());
  ASSERT_GT(screened.alerts_size(), 0);
  const needlecheck::v1::Alert& alert = screened.alerts(0);
  EXPECT_EQ(alert.alert_id().size(), 36u);

  grpc::ClientContext feedback_context;
  needlecheck::v1::RecordFeedbackRequest feedback;
  feedback.set_alert_id(alert.alert_id());
  feedback.set_outcome(needlecheck::v1::FEEDBACK_OUTCOME_OVERRIDDEN);
  feedback.set_outcome_timestamp("2026-12-01T09:00:00Z");
  needlecheck::v1::RecordFeedbackResponse recorded;
  const grpc::Status feedback_status =
      screening_->RecordFeedback(&feedback_context, feedback, &recorded);
  ASSERT_TRUE(feedback_status.ok()) << feedback_status.error_message();
  EXPECT_FALSE(recorded.duplicate());

  grpc::ClientContext stats_context;
  needlecheck::v1::GetAlertStatsRequest stats_request;
  stats_request.add_rule_ids(alert.rule_id());
  needlecheck::v1::AlertStats stats;
  ASSERT_TRUE(
      screening_->GetAlertStats(&stats_context, stats_request, &stats).ok());
  ASSERT_EQ(stats.rules_size(), 1);
  EXPECT_EQ(stats.rules(0).fired(), 1);
  EXPECT_EQ(stats.rules(0).overridden(), 1);
  EXPECT_EQ(stats.screenings(), 1);

  (*server)->Drain();
  EXPECT_THAT((*server)->ledger_close_status(), IsOk());
  EXPECT_EQ((*server)->ledger()->Counters().screenings_committed, 1);
}

TEST_F(ServerTest, LedgerNoneMeansNoIdsAndUnimplementedFeedback) {
  ServerOptions options = Options();
  options.ledger = "none";
  auto server = NeedlecheckServer::Start(options);
  ASSERT_THAT(server, IsOk());
  EXPECT_EQ((*server)->ledger(), nullptr);
  Connect(**server);
  grpc::ClientContext screen_context;
  needlecheck::v1::ScreenResponse screened;
  ASSERT_TRUE(
      screening_->Screen(&screen_context, EczemaScreen(), &screened).ok());
  ASSERT_GT(screened.alerts_size(), 0);
  EXPECT_TRUE(screened.alerts(0).alert_id().empty());
  grpc::ClientContext feedback_context;
  needlecheck::v1::RecordFeedbackResponse recorded;
  EXPECT_EQ(
      screening_
          ->RecordFeedback(&feedback_context,
                           needlecheck::v1::RecordFeedbackRequest(), &recorded)
          .error_code(),
      grpc::StatusCode::UNIMPLEMENTED);
  (*server)->Drain();
  EXPECT_THAT((*server)->ledger_close_status(), IsOk());
}

TEST_F(ServerTest, StartFailsWhenTheLedgerCannotBeOpened) {
  ServerOptions options = Options();
  std::filesystem::remove_all(options.data_dir);
  std::filesystem::create_directories(options.data_dir + "/ledger.sqlite3");
  EXPECT_THAT(NeedlecheckServer::Start(options),
              StatusIs(absl::StatusCode::kUnavailable,
                       ::testing::HasSubstr("ledger.sqlite3")));
}

TEST_F(ServerTest, ReloadKeepsTheOldKnowledgeBaseWhenTheNewOneIsBad) {
  ServerOptions options = Options();
  options.knowledge_base_path = TempPath("kb.textproto");
  WriteFile(options.knowledge_base_path, KbWithVersion("1.0.0"));
  auto server = NeedlecheckServer::Start(options);
  ASSERT_THAT(server, IsOk());
  Connect(**server);
  EXPECT_EQ(KbVersion(), "1.0.0");

  WriteFile(options.knowledge_base_path, KbWithVersion("2.0.0"));
  EXPECT_THAT((*server)->ReloadKnowledgeBase(), IsOk());
  EXPECT_EQ(KbVersion(), "2.0.0");

  WriteFile(options.knowledge_base_path, "version: \"3.0.0\"\nrules { id: ");
  EXPECT_THAT((*server)->ReloadKnowledgeBase(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(KbVersion(), "2.0.0");
}

TEST_F(ServerTest, StartFailsOnABadKnowledgeBase) {
  ServerOptions options = Options();
  options.knowledge_base_path = TempPath("bad.textproto");
  WriteFile(options.knowledge_base_path, "this is not a knowledge base");
  EXPECT_THAT(NeedlecheckServer::Start(options),
              StatusIs(absl::StatusCode::kInvalidArgument));
  options.knowledge_base_path = TempPath("missing.textproto");
  EXPECT_THAT(NeedlecheckServer::Start(options),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(ServerTest, StartFailsOnBadOptions) {
  ServerOptions options = Options();
  options.max_receive_message_bytes = -1;
  EXPECT_THAT(NeedlecheckServer::Start(options),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// Drain() turns health NOT_SERVING for watchers, and a client that only
// watches health (every needlecheck client does, with round_robin) does
// not hold the drain: its Watch stream gets NOT_SERVING and is then ended
// by the server, and Drain() returns long before the
// grace period (30 s) is over.
TEST_F(ServerTest, DrainEndsHealthWatchesWithoutWaitingForTheGracePeriod) {
  auto server = NeedlecheckServer::Start(Options());
  ASSERT_THAT(server, IsOk());
  Connect(**server);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(60));
  HealthCheckRequest request;
  request.set_service(kScreeningServiceName);
  auto watch = health_->Watch(&context, request);
  HealthCheckResponse response;
  ASSERT_TRUE(watch->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);

  const absl::Time start = absl::Now();
  std::thread drain([&] { (*server)->Drain(); });
  ASSERT_TRUE(watch->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::NOT_SERVING);
  EXPECT_FALSE(watch->Read(&response));  // ended by the server
  EXPECT_EQ(watch->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
  drain.join();
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

}  // namespace
}  // namespace needlecheck::server
