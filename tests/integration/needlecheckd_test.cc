// Integration tests: the real needlecheckd binary, started on 127.0.0.1:0,
// driven over real gRPC: unary and streaming screening, input validation
// with field-level details, message-size limits, deadlines, health
// checking, server reflection, SIGHUP reload and SIGTERM drain.
//
// No timing assertions; every wait is bounded and generous.
#include <signal.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/text_format.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "needlecheck/v1/screening.grpc.pb.h"
#include "tests/testing/read_file.h"
#include "tests/testing/scoped_temp_dir.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck {
namespace {

using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using ::needlecheck::testing::BinaryPath;
using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::ServerProcess;
using ::needlecheck::v1::ScreenRequest;
using ::needlecheck::v1::ScreenResponse;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kBundledVersion[] = "2026.11.1";
constexpr char kPatientSecret[] = "PATIENT-SECRET-0001";

// A path for this test under one fresh folder per test process (removed at
// exit), so runs never see each other's files (a ledger left by another
// build, for one).
std::string TempPath(absl::string_view name) {
  static const needlecheck::testing::ScopedTempDir dir;
  const ::testing::TestInfo* info =
      ::testing::UnitTest::GetInstance()->current_test_info();
  return dir.Path(
      absl::StrCat(info->test_suite_name(), "_", info->name(), "_", name));
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::trunc);
  out << content;
}

using ::needlecheck::testing::ReadFile;

std::string BundledKbText() { return ReadFile(NEEDLECHECK_BUNDLED_KB_PATH); }

std::string KbWithVersion(absl::string_view version) {
  return absl::StrReplaceAll(
      BundledKbText(), {{absl::StrCat("version: \"", kBundledVersion, "\""),
                         absl::StrCat("version: \"", version, "\"")}});
}

std::chrono::system_clock::time_point Deadline() {
  return std::chrono::system_clock::now() + std::chrono::seconds(60);
}

// Active atopic dermatitis (SNOMED 24079001): MN-CI-ECZEMA, CRITICAL. The
// record carries ids and notes that must never reach the server's log.
ScreenRequest EczemaRequest(absl::string_view id) {
  ScreenRequest request;
  const std::string text = absl::StrCat(R"pb(
                                          request_id: ")pb",
                                        id, R"pb("
                                                 record { patient_id: ")pb",
                                        kPatientSecret, R"pb(                                                                                                                                                                                                                                                                                                                                                                              "
      birth_date: "1990-04-02"
      fitzpatrick_skin_type: 2
      conditions {
        id: "COND-SECRET-ID"
        code {
          codings {
            system: "http://snomed.info/sct"
            code: "24079001"
            display: "Atopic dermatitis"
          }
          text: "Atopic dermatitis, flare on cheeks"
        }
        clinical_status: "active"
        verification_status: "confirmed"
        onset: "2026-01-10"
      }
      allergies {
        id: "ALLERGY-SECRET-ID"
        substance { text: "penicillin" }
        clinical_status: "active"
        recorded_date: "2020-05-01"
        notes: "Jane Secretname reported hives"
      }
    }
                                                                                                                                                                                                                                                                                                                                                                                                                                           session {
      date: "2026-12-01"
      areas { area: TREATMENT_AREA_FULL_FACE needle_depth_mm: 1.0 }
    }
  )pb");
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &request));
  return request;
}

// The field paths of the google.rpc.BadRequest in a status's details.
std::vector<std::string> ViolatedFields(const grpc::Status& status) {
  std::vector<std::string> fields;
  google::rpc::Status rpc;
  EXPECT_TRUE(rpc.ParseFromString(status.error_details()))
      << "no google.rpc.Status in the trailers";
  EXPECT_EQ(rpc.code(), static_cast<int>(status.error_code()));
  for (const google::protobuf::Any& any : rpc.details()) {
    google::rpc::BadRequest bad_request;
    if (!any.UnpackTo(&bad_request)) continue;
    for (const auto& v : bad_request.field_violations()) {
      fields.push_back(v.field());
      EXPECT_FALSE(v.description().empty()) << v.field();
    }
  }
  return fields;
}

class NeedlecheckdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    binary_ = BinaryPath("service/needlecheckd");
    ASSERT_FALSE(binary_.empty()) << "NEEDLECHECK_BINARY_DIR is not set";
  }

  // Starts needlecheckd with `extra_args` on 127.0.0.1:0.
  void StartServer(std::vector<std::string> extra_args = {}) {
    std::vector<std::string> args = {"--listen=127.0.0.1:0",
                                     "--data_dir=" + TempPath("data"),
                                     "--drain_seconds=30"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    auto process = ServerProcess::Start(binary_, args);
    ASSERT_THAT(process, IsOk());
    server_ = std::move(process).value();
    channel_ = grpc::CreateChannel(server_->address(),
                                   grpc::InsecureChannelCredentials());
    stub_ = needlecheck::v1::ScreeningService::NewStub(channel_);
    health_ = grpc::health::v1::Health::NewStub(channel_);
  }

  grpc::Status Screen(const ScreenRequest& request, ScreenResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    return stub_->Screen(&context, request, response);
  }

  std::string KbVersion() {
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    needlecheck::v1::KnowledgeBase kb;
    const grpc::Status status = stub_->GetKnowledgeBase(
        &context, needlecheck::v1::GetKnowledgeBaseRequest(), &kb);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return kb.version();
  }

  HealthCheckResponse::ServingStatus Health(const std::string& service,
                                            grpc::Status* status) {
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    HealthCheckRequest request;
    request.set_service(service);
    HealthCheckResponse response;
    *status = health_->Check(&context, request, &response);
    return response.status();
  }

  // Sends SIGHUP and waits for the reload's log line; true when it
  // reloaded, false when it kept the old one.
  bool Reload() {
    const size_t mark = server_->output_size();
    EXPECT_THAT(server_->Signal(SIGHUP), IsOk());
    EXPECT_TRUE(server_->WaitForOutput("event=kb_reload", mark));
    return server_->output().find("event=kb_reloaded", mark) !=
           std::string::npos;
  }

  // SIGTERM, then the exit code.
  // Closes this test's connection first: an idle client connection delays
  // the server's graceful GOAWAY until a ping times out (about 5 s).
  int Stop() {
    stub_.reset();
    health_.reset();
    channel_.reset();
    EXPECT_THAT(server_->Signal(SIGTERM), IsOk());
    absl::StatusOr<int> code = server_->WaitForExit(absl::Seconds(120));
    EXPECT_THAT(code, IsOk());
    return code.ok() ? *code : -1;
  }

  std::string binary_;
  std::unique_ptr<ServerProcess> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<needlecheck::v1::ScreeningService::Stub> stub_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_;
};

TEST_F(NeedlecheckdTest, UnaryScreenFiresEczema) {
  StartServer();
  ScreenResponse response;
  const grpc::Status status = Screen(EczemaRequest("unary-1"), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.request_id(), "unary-1");
  EXPECT_EQ(response.knowledge_base_version(), kBundledVersion);
  bool found = false;
  for (const auto& alert : response.alerts()) {
    if (alert.rule_id() != "MN-CI-ECZEMA") continue;
    found = true;
    EXPECT_EQ(alert.severity(), needlecheck::v1::SEVERITY_CRITICAL);
    ASSERT_GT(alert.evidence_size(), 0);
    EXPECT_EQ(alert.evidence(0).entry_id(), "COND-SECRET-ID");
  }
  EXPECT_TRUE(found) << response.DebugString();
}

TEST_F(NeedlecheckdTest, UnaryScreenGeneratesARequestId) {
  StartServer();
  ScreenResponse response;
  ASSERT_TRUE(Screen(EczemaRequest(""), &response).ok());
  EXPECT_EQ(response.request_id().size(), 36u);
}

TEST_F(NeedlecheckdTest, StreamAnswersEveryRequestInOrder) {
  StartServer();
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  auto stream = stub_->ScreenStream(&context);
  constexpr int kRequests = 50;
  // Write all requests first (the server applies flow control), then read.
  std::thread writer([&] {
    for (int i = 0; i < kRequests; ++i) {
      if (!stream->Write(EczemaRequest(absl::StrCat("stream-", i)))) break;
    }
    stream->WritesDone();
  });
  std::vector<std::string> ids;
  ScreenResponse response;
  while (stream->Read(&response)) {
    ids.push_back(response.request_id());
    EXPECT_EQ(response.knowledge_base_version(), kBundledVersion);
    EXPECT_GT(response.alerts_size(), 0);
  }
  writer.join();
  const grpc::Status status = stream->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(ids.size(), static_cast<size_t>(kRequests));
  for (int i = 0; i < kRequests; ++i) {
    EXPECT_EQ(ids[i], absl::StrCat("stream-", i));
  }
}

TEST_F(NeedlecheckdTest, StreamEndsAtABadRequestNamingIt) {
  StartServer();
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  auto stream = stub_->ScreenStream(&context);
  std::vector<ScreenRequest> requests;
  for (int i = 0; i < 5; ++i) {
    requests.push_back(EczemaRequest(absl::StrCat("s", i)));
  }
  requests[3].mutable_session()->set_date("2026-11-31");
  std::thread writer([&] {
    for (const ScreenRequest& r : requests) {
      if (!stream->Write(r)) break;
    }
    stream->WritesDone();
  });
  std::vector<std::string> ids;
  ScreenResponse response;
  while (stream->Read(&response)) ids.push_back(response.request_id());
  writer.join();
  const grpc::Status status = stream->Finish();
  EXPECT_EQ(ids, (std::vector<std::string>{"s0", "s1", "s2"}));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("index 3"));
  EXPECT_THAT(status.error_message(), HasSubstr("s3"));
  EXPECT_THAT(ViolatedFields(status), Contains("session.date"));
}

struct BadInputCase {
  std::string name;
  std::function<void(ScreenRequest*)> mutate;
  std::string field;  // a violation must name this field (prefix)
};

TEST_F(NeedlecheckdTest, BadInputIsInvalidArgumentWithFieldViolations) {
  StartServer();
  const std::vector<BadInputCase> cases = {
      {"bad session date",
       [](ScreenRequest* r) { r->mutable_session()->set_date("2026-02-30"); },
       "session.date"},
      {"missing session date",
       [](ScreenRequest* r) { r->mutable_session()->clear_date(); },
       "session.date"},
      {"bad record date",
       [](ScreenRequest* r) {
         r->mutable_record()->mutable_conditions(0)->set_onset("2026-13");
       },
       "record.conditions[0].onset"},
      {"unknown area enum value",
       [](ScreenRequest* r) {
         r->mutable_session()->mutable_areas(0)->set_area(
             static_cast<needlecheck::v1::TreatmentArea>(99));
       },
       "session.areas[0]"},
      {"depth out of range",
       [](ScreenRequest* r) {
         r->mutable_session()->mutable_areas(0)->set_needle_depth_mm(4.0);
       },
       "session.areas[0].needle_depth_mm"},
      {"negative depth",
       [](ScreenRequest* r) {
         r->mutable_session()->mutable_areas(0)->set_needle_depth_mm(-0.5);
       },
       "session.areas[0].needle_depth_mm"},
      {"missing session", [](ScreenRequest* r) { r->clear_session(); },
       "session"},
      {"missing record", [](ScreenRequest* r) { r->clear_record(); }, "record"},
  };
  for (const BadInputCase& c : cases) {
    SCOPED_TRACE(c.name);
    ScreenRequest request = EczemaRequest("bad-" + c.name);
    c.mutate(&request);
    ScreenResponse response;
    const grpc::Status status = Screen(request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr(c.field));
    EXPECT_THAT(ViolatedFields(status),
                Contains(::testing::StartsWith(c.field)));
    EXPECT_THAT(status.error_message(), Not(HasSubstr(kPatientSecret)));
  }
}

TEST_F(NeedlecheckdTest, OversizedMessageIsResourceExhausted) {
  StartServer({"--max_message_bytes=4096"});
  ScreenRequest request = EczemaRequest("big");
  request.mutable_record()->mutable_allergies(0)->add_notes(
      std::string(16 * 1024, 'n'));
  ScreenResponse response;
  EXPECT_EQ(Screen(request, &response).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  // A normal-sized request still works.
  EXPECT_TRUE(Screen(EczemaRequest("small"), &response).ok());
}

TEST_F(NeedlecheckdTest, ExpiredDeadlineIsDeadlineExceeded) {
  StartServer();
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() -
                       std::chrono::seconds(1));
  ScreenResponse response;
  EXPECT_EQ(
      stub_->Screen(&context, EczemaRequest("late"), &response).error_code(),
      grpc::StatusCode::DEADLINE_EXCEEDED);
}

TEST_F(NeedlecheckdTest, HealthIsServing) {
  StartServer();
  grpc::Status status;
  EXPECT_EQ(Health("", &status), HealthCheckResponse::SERVING);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(Health("needlecheck.v1.ScreeningService", &status),
            HealthCheckResponse::SERVING);
  EXPECT_TRUE(status.ok()) << status.error_message();
  Health("no.such.Service", &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(NeedlecheckdTest, ReflectionListsTheService) {
  StartServer();
  auto reflection =
      grpc::reflection::v1alpha::ServerReflection::NewStub(channel_);
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  auto stream = reflection->ServerReflectionInfo(&context);

  grpc::reflection::v1alpha::ServerReflectionRequest request;
  request.set_list_services("");
  ASSERT_TRUE(stream->Write(request));
  grpc::reflection::v1alpha::ServerReflectionResponse response;
  ASSERT_TRUE(stream->Read(&response));
  std::vector<std::string> services;
  for (const auto& s : response.list_services_response().service()) {
    services.push_back(s.name());
  }
  EXPECT_THAT(services, Contains("needlecheck.v1.ScreeningService"));
  EXPECT_THAT(services, Contains("grpc.health.v1.Health"));

  // The service's file descriptor is served too.
  request.set_file_containing_symbol("needlecheck.v1.ScreeningService");
  ASSERT_TRUE(stream->Write(request));
  ASSERT_TRUE(stream->Read(&response));
  ASSERT_GT(response.file_descriptor_response().file_descriptor_proto_size(),
            0);
  google::protobuf::FileDescriptorProto file;
  ASSERT_TRUE(file.ParseFromString(
      response.file_descriptor_response().file_descriptor_proto(0)));
  EXPECT_EQ(file.name(), "needlecheck/v1/screening.proto");
  ASSERT_EQ(file.service_size(), 1);
  std::vector<std::string> methods;
  for (const auto& m : file.service(0).method()) methods.push_back(m.name());
  EXPECT_THAT(methods, ::testing::IsSupersetOf(
                           {"Screen", "ScreenStream", "GetKnowledgeBase"}));

  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(NeedlecheckdTest, SighupReloadsAndKeepsTheOldKbWhenTheNewOneIsBad) {
  const std::string kb_path = TempPath("kb.textproto");
  ASSERT_FALSE(BundledKbText().empty());
  WriteFile(kb_path, KbWithVersion("2026.11.1-test1"));
  StartServer({"--knowledge_base=" + kb_path});
  EXPECT_EQ(KbVersion(), "2026.11.1-test1");

  WriteFile(kb_path, KbWithVersion("2026.11.1-test2"));
  EXPECT_TRUE(Reload());
  EXPECT_EQ(KbVersion(), "2026.11.1-test2");
  ScreenResponse response;
  ASSERT_TRUE(Screen(EczemaRequest("after-reload"), &response).ok());
  EXPECT_EQ(response.knowledge_base_version(), "2026.11.1-test2");

  WriteFile(kb_path, "version: \"broken\"\nthresholds { min_interval_days: ");
  EXPECT_FALSE(Reload());
  EXPECT_EQ(KbVersion(), "2026.11.1-test2");
  // The error names the file; the server still serves.
  EXPECT_THAT(server_->output(), HasSubstr("kb.textproto"));
  grpc::Status status;
  EXPECT_EQ(Health("", &status), HealthCheckResponse::SERVING);

  EXPECT_EQ(Stop(), 0);
}

TEST_F(NeedlecheckdTest, SighupWithTheBundledKbReloadsIt) {
  StartServer();
  EXPECT_TRUE(Reload());
  EXPECT_EQ(KbVersion(), kBundledVersion);
}

TEST_F(NeedlecheckdTest, SigtermDrainsAndExitsZero) {
  StartServer({"--ready_file=" + TempPath("ready")});
  EXPECT_EQ(ReadFile(TempPath("ready")), server_->address() + "\n");

  grpc::ClientContext watch_context;
  watch_context.set_deadline(Deadline());
  HealthCheckRequest request;
  auto watch = health_->Watch(&watch_context, request);
  HealthCheckResponse response;
  ASSERT_TRUE(watch->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);

  ASSERT_THAT(server_->Signal(SIGTERM), IsOk());
  ASSERT_TRUE(watch->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::NOT_SERVING);
  watch_context.TryCancel();
  watch->Finish().IgnoreError();
  watch.reset();
  stub_.reset();  // close the connection (see Stop())
  health_.reset();
  channel_.reset();

  absl::StatusOr<int> code = server_->WaitForExit(absl::Seconds(120));
  ASSERT_THAT(code, IsOk());
  EXPECT_EQ(*code, 0);
  EXPECT_THAT(server_->output(), HasSubstr("event=stopped"));
  EXPECT_FALSE(std::ifstream(TempPath("ready")).good());
}

TEST_F(NeedlecheckdTest, LogsCarryNoPatientData) {
  StartServer();
  ScreenResponse response;
  ASSERT_TRUE(Screen(EczemaRequest("log-ok"), &response).ok());
  ScreenRequest bad = EczemaRequest("log-bad");
  bad.mutable_session()->set_date("not a date");
  EXPECT_FALSE(Screen(bad, &response).ok());
  EXPECT_EQ(Stop(), 0);
  const std::string log = server_->output();
  // The request id only as its hash (the caller's text never).
  EXPECT_THAT(log, HasSubstr("event=screen_failed request_id_hash="));
  for (const char* secret :
       {kPatientSecret, "COND-SECRET-ID", "ALLERGY-SECRET-ID", "Secretname",
        "24079001", "dermatitis", "not a date", "log-bad"}) {
    EXPECT_THAT(log, Not(HasSubstr(secret))) << secret;
  }
}

TEST_F(NeedlecheckdTest, StartupFailsOnAnInvalidKnowledgeBase) {
  const std::string kb_path = TempPath("bad.textproto");
  WriteFile(kb_path, "this is not a knowledge base\n");
  auto process = ServerProcess::Spawn(
      binary_,
      {"--listen=127.0.0.1:0", "--data_dir=" + TempPath("data"),
       "--knowledge_base=" + kb_path},
      ServerProcess::Options());
  ASSERT_THAT(process, IsOk());
  absl::StatusOr<int> code = (*process)->WaitForExit(absl::Seconds(120));
  ASSERT_THAT(code, IsOk());
  EXPECT_NE(*code, 0);
  EXPECT_THAT((*process)->output(), HasSubstr("bad.textproto"));
  EXPECT_THAT((*process)->output(), Not(HasSubstr("listening on")));
}

TEST_F(NeedlecheckdTest, CreatesTheDataDir) {
  const std::string data_dir = TempPath("new/data");
  auto process = ServerProcess::Start(
      binary_, {"--listen=127.0.0.1:0", "--data_dir=" + data_dir});
  ASSERT_THAT(process, IsOk());
  EXPECT_TRUE(std::ifstream(data_dir).good());
}

}  // namespace
}  // namespace needlecheck
