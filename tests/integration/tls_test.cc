// Transport security of the real needlecheckd on 127.0.0.1:0, with real TLS:
// certificates made by the test with the openssl command (a CA, a server
// certificate for IP 127.0.0.1, client certificates with different names,
// one client certificate from another CA).
//
// Covered: clients without a certificate, with one from another CA and in
// plaintext are refused; the policy allows by CN, DNS SAN and URI SAN and
// refuses every other method with PERMISSION_DENIED naming it (every method
// of the service descriptor, so a new method that skips the check fails
// here); policy and certificates reload on SIGHUP, and a bad new version
// keeps the old one; the plaintext health port answers SERVING, then
// NOT_SERVING while draining; plaintext off loopback needs
// --insecure_plaintext; a bad policy line stops start-up with FILE:LINE.
//
// Every wait is bounded and generous.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "needlecheck/v1/screening.grpc.pb.h"
#include "tests/testing/read_file.h"
#include "tests/testing/scoped_temp_dir.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_pki.h"

namespace needlecheck {
namespace {

using ::grpc::health::v1::Health;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using ::needlecheck::testing::BinaryPath;
using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::ReadFile;
using ::needlecheck::testing::ServerProcess;
using ::needlecheck::testing::TestPki;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kPatientId[] = "patient-tls-7731";

std::chrono::system_clock::time_point Deadline(int seconds = 30) {
  return std::chrono::system_clock::now() + std::chrono::seconds(seconds);
}

v1::ScreenRequest MinimalRequest() {
  v1::ScreenRequest request;
  request.set_request_id("tls-test");
  request.mutable_record()->set_patient_id(kPatientId);
  request.mutable_session()->set_date("2026-11-20");
  return request;
}

// A fresh channel (its own connection: new handshake) to `address`.
std::shared_ptr<grpc::Channel> NewChannel(
    const std::string& address,
    const std::shared_ptr<grpc::ChannelCredentials>& credentials) {
  static int counter = 0;
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt("needlecheck.tls_test_channel", ++counter);
  return grpc::CreateCustomChannel(address, credentials, args);
}

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_dir_ = new ::needlecheck::testing::ScopedTempDir();
    pki_ = new TestPki(pki_dir_->path());
    for (const char* ca : {"ca", "other-ca"}) {
      pki_status_.Update(pki_->MakeCa(ca));
    }
    struct Leaf {
      const char* name;
      const char* ca;
      const char* cn;
      const char* san;
    };
    for (const Leaf& leaf : std::vector<Leaf>{
             {"server-a", "ca", "needlecheckd-a", "IP:127.0.0.1"},
             {"server-b", "ca", "needlecheckd-b", "IP:127.0.0.1"},
             {"alice", "ca", "alice", "DNS:alice.clients.test"},
             {"bob", "ca", "bob", "URI:spiffe://needlecheck.test/bob"},
             {"erin", "ca", "erin", "DNS:erin.clients.test"},
             {"carol", "ca", "carol", "DNS:carol.clients.test"},
             // Same CN as an allowed client, but from another CA.
             {"mallory", "other-ca", "alice", "DNS:alice.clients.test"}}) {
      pki_status_.Update(pki_->MakeCert(leaf.name, leaf.ca, leaf.cn, leaf.san));
    }
  }
  static void TearDownTestSuite() {
    delete pki_;
    delete pki_dir_;
  }

  void SetUp() override {
    ASSERT_THAT(pki_status_, IsOk());
    ASSERT_FALSE(dir_.path().empty());
    // The server's files live in the test's folder, so rotation can
    // replace them.
    CopyServerPair("server-a");
    policy_path_ = dir_.WriteFile("policy", kPolicy);
    ASSERT_FALSE(dir_.WriteFile("client-ca.crt", ReadFile(pki_->Path("ca.crt")))
                     .empty());
  }

  void CopyServerPair(const std::string& name) {
    // Written beside and renamed into place, as a deployment would.
    for (const char* ext : {".crt", ".key"}) {
      const std::string tmp = dir_.WriteFile(absl::StrCat("tmp", ext),
                                             ReadFile(pki_->Path(name + ext)));
      ASSERT_FALSE(tmp.empty());
      ASSERT_EQ(std::rename(tmp.c_str(),
                            dir_.Path(absl::StrCat("server", ext)).c_str()),
                0);
    }
  }

  std::vector<std::string> MtlsArgs() const {
    return {"--listen=127.0.0.1:0",
            "--data_dir=" + dir_.Path("data"),
            "--tls_cert=" + dir_.Path("server.crt"),
            "--tls_key=" + dir_.Path("server.key"),
            "--tls_client_ca=" + dir_.Path("client-ca.crt"),
            "--authz_policy=" + policy_path_,
            "--drain_seconds=20"};
  }

  void StartServer(const std::vector<std::string>& args) {
    auto process =
        ServerProcess::Start(BinaryPath("service/needlecheckd"), args);
    ASSERT_THAT(process, IsOk());
    server_ = *std::move(process);
  }

  // Channel credentials trusting our CA, with `client`'s certificate (none
  // when empty).
  static std::shared_ptr<grpc::ChannelCredentials> ClientCredentials(
      const std::string& client) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = ReadFile(pki_->Path("ca.crt"));
    if (!client.empty()) {
      options.pem_private_key = ReadFile(pki_->Path(client + ".key"));
      options.pem_cert_chain = ReadFile(pki_->Path(client + ".crt"));
    }
    return grpc::SslCredentials(options);
  }

  std::unique_ptr<v1::ScreeningService::Stub> Stub(const std::string& client) {
    return v1::ScreeningService::NewStub(
        NewChannel(server_->address(), ClientCredentials(client)));
  }

  // Screen as `client`; `server_cn` gets the server certificate's CN.
  grpc::Status Screen(v1::ScreeningService::Stub& stub,
                      std::string* server_cn = nullptr) {
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    v1::ScreenResponse response;
    grpc::Status status = stub.Screen(&context, MinimalRequest(), &response);
    if (server_cn != nullptr && context.auth_context() != nullptr) {
      for (const auto& cn :
           context.auth_context()->FindPropertyValues("x509_common_name")) {
        *server_cn = std::string(cn.data(), cn.size());
      }
    }
    return status;
  }

  grpc::Status GetKnowledgeBase(v1::ScreeningService::Stub& stub) {
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    v1::KnowledgeBase kb;
    return stub.GetKnowledgeBase(&context, v1::GetKnowledgeBaseRequest(), &kb);
  }

  // SIGHUP, then waits for `event` in the log; returns the log since.
  std::string Sighup(const std::string& event) {
    const size_t mark = server_->output_size();
    EXPECT_THAT(server_->Signal(SIGHUP), IsOk());
    EXPECT_TRUE(server_->WaitForOutput("event=" + event, mark))
        << server_->output().substr(mark);
    return server_->output().substr(mark);
  }

  void StopExitsZero() {
    ASSERT_THAT(server_->Signal(SIGTERM), IsOk());
    absl::StatusOr<int> code = server_->WaitForExit(absl::Seconds(90));
    ASSERT_THAT(code, IsOk());
    EXPECT_EQ(*code, 0);
  }

  static constexpr char kPolicy[] =
      "# who may call what\n"
      "alice Screen,ScreenStream,GetKnowledgeBase   # by CN\n"
      "\n"
      "spiffe://needlecheck.test/bob GetKnowledgeBase\n"
      "erin.clients.test Screen\n";

  static ::needlecheck::testing::ScopedTempDir* pki_dir_;
  static TestPki* pki_;
  static absl::Status pki_status_;
  ::needlecheck::testing::ScopedTempDir dir_;
  std::string policy_path_;
  std::unique_ptr<ServerProcess> server_;
};

::needlecheck::testing::ScopedTempDir* TlsTest::pki_dir_ = nullptr;
TestPki* TlsTest::pki_ = nullptr;
absl::Status TlsTest::pki_status_;

TEST_F(TlsTest, AllowedIdentitiesScreenByCnDnsAndUriNames) {
  ASSERT_NO_FATAL_FAILURE(StartServer(MtlsArgs()));
  EXPECT_THAT(server_->output(), HasSubstr("transport=mtls"));
  auto alice = Stub("alice");  // CN
  std::string server_cn;
  const grpc::Status screened = Screen(*alice, &server_cn);
  EXPECT_TRUE(screened.ok()) << screened.error_message();
  EXPECT_EQ(server_cn, "needlecheckd-a");
  auto erin = Stub("erin");  // DNS SAN
  EXPECT_TRUE(Screen(*erin).ok());
  auto bob = Stub("bob");  // URI SAN
  EXPECT_TRUE(GetKnowledgeBase(*bob).ok());
  StopExitsZero();
}

TEST_F(TlsTest, ClientsWithoutCertificateFromAnotherCaOrInPlaintextAreRefused) {
  ASSERT_NO_FATAL_FAILURE(StartServer(MtlsArgs()));
  for (const std::string client : {"", "mallory"}) {
    auto stub = Stub(client);
    const grpc::Status status = Screen(*stub);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
        << "client \"" << client << "\": " << status.error_message();
  }
  auto plaintext = v1::ScreeningService::NewStub(
      NewChannel(server_->address(), grpc::InsecureChannelCredentials()));
  EXPECT_EQ(Screen(*plaintext).error_code(), grpc::StatusCode::UNAVAILABLE);
  // The server still serves a good client afterwards.
  auto alice = Stub("alice");
  EXPECT_TRUE(Screen(*alice).ok());
  StopExitsZero();
}

TEST_F(TlsTest, EveryMethodRefusesAClientThePolicyDoesNotName) {
  ASSERT_NO_FATAL_FAILURE(StartServer(MtlsArgs()));
  auto channel = NewChannel(server_->address(), ClientCredentials("carol"));
  grpc::GenericStub stub(channel);
  const google::protobuf::ServiceDescriptor* service =
      v1::ScreenRequest::descriptor()->file()->FindServiceByName(
          "ScreeningService");
  ASSERT_NE(service, nullptr);
  ASSERT_GE(service->method_count(), 6);
  for (int i = 0; i < service->method_count(); ++i) {
    const std::string method = service->method(i)->name();
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    grpc::CompletionQueue cq;
    // Sent as one message and a half-close, also to the streaming methods:
    // the refusal comes before any message is read.
    const std::string bytes = MinimalRequest().SerializeAsString();
    grpc::Slice slice(bytes);
    const grpc::ByteBuffer request(&slice, 1);
    auto call = stub.PrepareUnaryCall(
        &context, absl::StrCat("/needlecheck.v1.ScreeningService/", method),
        request, &cq);
    call->StartCall();
    grpc::ByteBuffer response;
    grpc::Status status;
    call->Finish(&response, &status, &cq);
    void* tag = nullptr;
    bool ok = false;
    ASSERT_EQ(cq.AsyncNext(&tag, &ok, Deadline()),
              grpc::CompletionQueue::GOT_EVENT);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
        << method << ": " << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr(method));
    EXPECT_THAT(status.error_message(), Not(HasSubstr(kPatientId)));
    cq.Shutdown();
    while (cq.Next(&tag, &ok)) {
    }
  }
  // A client allowed some methods is refused the others, by name.
  auto bob = Stub("bob");
  const grpc::Status screen = Screen(*bob);
  EXPECT_EQ(screen.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(screen.error_message(), HasSubstr("Screen"));
  EXPECT_TRUE(server_->WaitForOutput("event=call_denied")) << server_->output();
  EXPECT_THAT(server_->output(), Not(HasSubstr(kPatientId)));
  StopExitsZero();
}

TEST_F(TlsTest, PolicyReloadsOnSighupAndABrokenOneKeepsTheOld) {
  ASSERT_NO_FATAL_FAILURE(StartServer(MtlsArgs()));
  auto carol = Stub("carol");
  EXPECT_EQ(Screen(*carol).error_code(), grpc::StatusCode::PERMISSION_DENIED);

  ASSERT_FALSE(dir_.WriteFile("policy", "carol Screen\n").empty());
  EXPECT_THAT(Sighup("authz_policy_reloaded"), HasSubstr("rules=1"));
  EXPECT_TRUE(Screen(*carol).ok());  // same connection, new policy
  auto alice = Stub("alice");
  EXPECT_EQ(Screen(*alice).error_code(), grpc::StatusCode::PERMISSION_DENIED);

  ASSERT_FALSE(dir_.WriteFile("policy", "alice Screen\ncarol Scren\n").empty());
  const std::string log = Sighup("authz_reload_failed");
  EXPECT_THAT(log, HasSubstr(policy_path_ + ":2: unknown method"));
  EXPECT_TRUE(Screen(*carol).ok());
  EXPECT_EQ(Screen(*alice).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  StopExitsZero();
}

TEST_F(TlsTest, CertificatesRotateOnSighupAndABadPairKeepsTheOld) {
  ASSERT_NO_FATAL_FAILURE(StartServer(MtlsArgs()));
  auto before = Stub("alice");
  std::string cn;
  ASSERT_TRUE(Screen(*before, &cn).ok());
  EXPECT_EQ(cn, "needlecheckd-a");

  ASSERT_NO_FATAL_FAILURE(CopyServerPair("server-b"));
  EXPECT_THAT(Sighup("tls_reloaded"), HasSubstr("CN=needlecheckd-b"));
  auto after = Stub("alice");
  ASSERT_TRUE(Screen(*after, &cn).ok());
  EXPECT_EQ(cn, "needlecheckd-b");
  // The connection made before the rotation keeps serving.
  EXPECT_TRUE(Screen(*before).ok());

  // A key that does not match the certificate: refused, B stays.
  ASSERT_FALSE(
      dir_.WriteFile("server.key", ReadFile(pki_->Path("server-a.key")))
          .empty());
  EXPECT_THAT(Sighup("tls_reload_failed"), HasSubstr("does not match"));
  auto bad_pair = Stub("alice");
  ASSERT_TRUE(Screen(*bad_pair, &cn).ok());
  EXPECT_EQ(cn, "needlecheckd-b");

  // An unreadable key (gone): refused, B stays.
  ASSERT_EQ(std::remove(dir_.Path("server.key").c_str()), 0);
  EXPECT_THAT(Sighup("tls_reload_failed"), HasSubstr("server.key"));
  auto missing = Stub("alice");
  ASSERT_TRUE(Screen(*missing, &cn).ok());
  EXPECT_EQ(cn, "needlecheckd-b");
  StopExitsZero();
}

TEST_F(TlsTest, ClientCaRotatesOnSighup) {
  ASSERT_NO_FATAL_FAILURE(StartServer(MtlsArgs()));
  auto alice = Stub("alice");
  EXPECT_TRUE(Screen(*alice).ok());
  auto mallory = Stub("mallory");
  EXPECT_EQ(Screen(*mallory).error_code(), grpc::StatusCode::UNAVAILABLE);

  // Trust the other CA instead: its client is admitted on a new
  // connection, ours no longer is.
  ASSERT_FALSE(
      dir_.WriteFile("client-ca.crt", ReadFile(pki_->Path("other-ca.crt")))
          .empty());
  Sighup("tls_reloaded");
  auto mallory_after = Stub("mallory");
  EXPECT_TRUE(Screen(*mallory_after).ok());
  auto alice_after = Stub("alice");
  EXPECT_EQ(Screen(*alice_after).error_code(), grpc::StatusCode::UNAVAILABLE);

  // A client CA file without a certificate: refused, the other CA stays.
  ASSERT_FALSE(dir_.WriteFile("client-ca.crt", "not a certificate\n").empty());
  EXPECT_THAT(Sighup("tls_reload_failed"), HasSubstr("no PEM certificate"));
  auto mallory_again = Stub("mallory");
  EXPECT_TRUE(Screen(*mallory_again).ok());
  StopExitsZero();
}

TEST_F(TlsTest, ServerOnlyTlsServesClientsWithoutCertificatesAndRotates) {
  ASSERT_NO_FATAL_FAILURE(
      StartServer({"--listen=127.0.0.1:0", "--data_dir=" + dir_.Path("data"),
                   "--tls_cert=" + dir_.Path("server.crt"),
                   "--tls_key=" + dir_.Path("server.key")}));
  EXPECT_THAT(server_->output(), HasSubstr("transport=tls"));
  auto anonymous = Stub("");
  std::string cn;
  EXPECT_TRUE(Screen(*anonymous, &cn).ok());
  EXPECT_EQ(cn, "needlecheckd-a");
  auto plaintext = v1::ScreeningService::NewStub(
      NewChannel(server_->address(), grpc::InsecureChannelCredentials()));
  EXPECT_EQ(Screen(*plaintext).error_code(), grpc::StatusCode::UNAVAILABLE);

  ASSERT_NO_FATAL_FAILURE(CopyServerPair("server-b"));
  Sighup("tls_reloaded");
  auto after = Stub("");
  EXPECT_TRUE(Screen(*after, &cn).ok());
  EXPECT_EQ(cn, "needlecheckd-b");
  StopExitsZero();
}

HealthCheckResponse::ServingStatus HealthOf(Health::Stub& stub,
                                            const std::string& service,
                                            grpc::Status* status) {
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  HealthCheckRequest request;
  request.set_service(service);
  HealthCheckResponse response;
  *status = stub.Check(&context, request, &response);
  return response.status();
}

TEST_F(TlsTest, HealthPortAnswersInPlaintextAndTurnsNotServingWhileDraining) {
  std::vector<std::string> args = MtlsArgs();
  args.push_back("--health_listen=127.0.0.1:0");
  ASSERT_NO_FATAL_FAILURE(StartServer(args));
  const std::string marker = "needlecheckd health listening on 127.0.0.1:";
  const size_t at = server_->output().find(marker);
  ASSERT_NE(at, std::string::npos) << server_->output();
  // The main port's line comes first (tests and scripts parse it).
  EXPECT_LT(server_->output().find("needlecheckd listening on"), at);
  const std::string health_address =
      "127.0.0.1:" +
      std::to_string(std::stoi(server_->output().substr(at + marker.size())));
  auto health_channel =
      NewChannel(health_address, grpc::InsecureChannelCredentials());
  auto health = Health::NewStub(health_channel);
  grpc::Status status;
  EXPECT_EQ(HealthOf(*health, "", &status), HealthCheckResponse::SERVING);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(HealthOf(*health, "needlecheck.v1.ScreeningService", &status),
            HealthCheckResponse::SERVING);

  // Nothing else is served there: not screening, not reflection.
  auto screening = v1::ScreeningService::NewStub(health_channel);
  EXPECT_EQ(Screen(*screening).error_code(), grpc::StatusCode::UNIMPLEMENTED);
  {
    auto reflection =
        grpc::reflection::v1alpha::ServerReflection::NewStub(health_channel);
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    auto stream = reflection->ServerReflectionInfo(&context);
    grpc::reflection::v1alpha::ServerReflectionRequest request;
    request.set_list_services("");
    stream->Write(request);
    stream->WritesDone();
    grpc::reflection::v1alpha::ServerReflectionResponse response;
    while (stream->Read(&response)) {
    }
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::UNIMPLEMENTED);
  }
  // The main port serves health to a verified client too.
  auto main_health = Health::NewStub(
      NewChannel(server_->address(), ClientCredentials("carol")));
  EXPECT_EQ(HealthOf(*main_health, "", &status), HealthCheckResponse::SERVING);

  // A stream held open keeps the drain going, so NOT_SERVING is observable.
  auto alice = Stub("alice");
  grpc::ClientContext stream_context;
  stream_context.set_deadline(Deadline(120));
  auto stream = alice->ScreenStream(&stream_context);
  ASSERT_TRUE(stream->Write(MinimalRequest()));
  v1::ScreenResponse first;
  ASSERT_TRUE(stream->Read(&first));
  ASSERT_THAT(server_->Signal(SIGTERM), IsOk());
  bool not_serving = false;
  for (int i = 0; i < 200 && !not_serving; ++i) {
    not_serving =
        HealthOf(*health, "", &status) == HealthCheckResponse::NOT_SERVING;
    if (!not_serving) absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_TRUE(not_serving) << status.error_message();
  stream->WritesDone();
  while (stream->Read(&first)) {
  }
  EXPECT_TRUE(stream->Finish().ok());
  absl::StatusOr<int> code = server_->WaitForExit(absl::Seconds(90));
  ASSERT_THAT(code, IsOk());
  EXPECT_EQ(*code, 0);
}

TEST_F(TlsTest, PlaintextOffLoopbackNeedsInsecurePlaintext) {
  auto refused = ServerProcess::Spawn(
      BinaryPath("service/needlecheckd"),
      {"--listen=0.0.0.0:0", "--data_dir=" + dir_.Path("data")}, {});
  ASSERT_THAT(refused, IsOk());
  absl::StatusOr<int> code = (*refused)->WaitForExit(absl::Seconds(60));
  ASSERT_THAT(code, IsOk());
  EXPECT_NE(*code, 0);
  EXPECT_THAT((*refused)->output(), HasSubstr("--insecure_plaintext"));
  EXPECT_THAT((*refused)->output(), Not(HasSubstr("listening on")));

  ASSERT_NO_FATAL_FAILURE(
      StartServer({"--listen=0.0.0.0:0", "--data_dir=" + dir_.Path("data"),
                   "--insecure_plaintext"}));
  StopExitsZero();
}

TEST_F(TlsTest, ABadPolicyLineStopsStartUpWithFileAndLine) {
  policy_path_ = dir_.WriteFile("policy", "# ok so far\nalice Screen\nalice\n");
  auto process =
      ServerProcess::Spawn(BinaryPath("service/needlecheckd"), MtlsArgs(), {});
  ASSERT_THAT(process, IsOk());
  absl::StatusOr<int> code = (*process)->WaitForExit(absl::Seconds(60));
  ASSERT_THAT(code, IsOk());
  EXPECT_NE(*code, 0);
  EXPECT_THAT((*process)->output(), HasSubstr(policy_path_ + ":3: expected"));
  EXPECT_THAT((*process)->output(), Not(HasSubstr("listening on")));
}

}  // namespace
}  // namespace needlecheck
