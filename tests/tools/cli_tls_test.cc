// The `needlecheck` CLI over TLS, end to end: the real needlecheckd serving
// TLS (and mutual TLS) with certificates this test makes with the openssl
// tool, the real `needlecheck` binary against it. Also `needlecheck health`:
// SERVING (exit 0), NOT_SERVING while needlecheckd drains (exit 1),
// unreachable (exit 1).
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "adapters/common/grpc_client_channel.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "needlecheck/v1/screening.grpc.pb.h"
#include "tests/integration/ledger_client.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/tls_test_certs.h"
#include "tests/tools/run_command.h"

namespace needlecheck::testing {
namespace {

using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kExampleRecord[] = "deploy/examples/record.json";
constexpr char kSessionDate[] = "2026-12-01";

// A loopback port nobody listens on (bound, then released).
int UnusedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) close(fd);
    return 1;
  }
  const int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

class CliTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cli_ = BinaryPath("tools/cli/needlecheck");
    record_ = SourcePath(kExampleRecord);
    ASSERT_FALSE(cli_.empty()) << "NEEDLECHECK_BINARY_DIR is not set";
    ASSERT_FALSE(record_.empty()) << "NEEDLECHECK_SOURCE_DIR is not set";
    ASSERT_FALSE(tmp_.path().empty());
    absl::StatusOr<TlsTestCerts> pki = CreateTlsTestCerts(tmp_.path());
    if (!pki.ok()) GTEST_SKIP() << pki.status();
    pki_ = *std::move(pki);
  }

  // needlecheckd serving TLS (mutual TLS when `mutual`) on 127.0.0.1:0 and
  // plaintext health on another port.
  void StartServer(bool mutual, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {
        "--listen=127.0.0.1:0", "--data_dir=" + tmp_.Path("data"),
        "--tls_cert=" + pki_.server_cert, "--tls_key=" + pki_.server_key,
        "--health_listen=127.0.0.1:0"};
    if (mutual) args.push_back("--tls_client_ca=" + pki_.ca_cert);
    args.insert(args.end(), extra.begin(), extra.end());
    absl::StatusOr<std::unique_ptr<ServerProcess>> process =
        ServerProcess::Start(BinaryPath("service/needlecheckd"), args);
    ASSERT_THAT(process, IsOk());
    server_ = *std::move(process);
    address_ = absl::StrCat("127.0.0.1:", server_->port());
    constexpr char kHealthLine[] = "health listening on ";
    ASSERT_TRUE(server_->WaitForOutput(kHealthLine));
    const std::string output = server_->output();
    const size_t start = output.find(kHealthLine) + sizeof(kHealthLine) - 1;
    health_address_ = output.substr(start, output.find('\n', start) - start);
  }

  std::vector<std::string> MutualFlags() const {
    return {"--tls_ca=" + pki_.ca_cert, "--tls_cert=" + pki_.client_cert,
            "--tls_key=" + pki_.client_key};
  }

  CommandResult Cli(const std::vector<std::string>& args) {
    absl::StatusOr<CommandResult> result = RunCommand(cli_, args);
    EXPECT_THAT(result, IsOk());
    return result.ok() ? *result : CommandResult();
  }

  // `needlecheck screen` on the example record with `flags`.
  CommandResult Screen(const std::vector<std::string>& flags) {
    std::vector<std::string> args = {
        "screen", "--record", record_,    "--date", kSessionDate,
        "--area", "cheeks",   "--server", address_, "--timeout=30s"};
    args.insert(args.end(), flags.begin(), flags.end());
    return Cli(args);
  }

  // `needlecheck health --server server` with `flags`.
  CommandResult Health(const std::string& server,
                       const std::vector<std::string>& flags = {}) {
    std::vector<std::string> args = {"health", "--server", server,
                                     "--timeout=30s"};
    args.insert(args.end(), flags.begin(), flags.end());
    return Cli(args);
  }

  // Declared before server_: the server stops before its files go away.
  ScopedTempDir tmp_;
  TlsTestCerts pki_;
  std::string cli_;
  std::string record_;
  std::unique_ptr<ServerProcess> server_;
  std::string address_;
  std::string health_address_;
};

TEST_F(CliTlsTest, EveryCommandWorksOverMutualTls) {
  ASSERT_NO_FATAL_FAILURE(StartServer(/*mutual=*/true));
  const std::vector<std::string> mutual = MutualFlags();
  const CommandResult screen = Screen(MutualFlags());
  ASSERT_EQ(screen.exit_code, 0) << screen.stderr_text;
  EXPECT_THAT(screen.stdout_text, HasSubstr("[CRITICAL] MN-CI-ECZEMA"));

  std::vector<std::string> kb = {"kb", "show", "--server", address_};
  kb.insert(kb.end(), mutual.begin(), mutual.end());
  const CommandResult kb_show = Cli(kb);
  EXPECT_EQ(kb_show.exit_code, 0) << kb_show.stderr_text;
  EXPECT_THAT(kb_show.stdout_text, HasSubstr("MN-CI-ECZEMA"));

  std::vector<std::string> stats = {"stats", "--server", address_};
  stats.insert(stats.end(), mutual.begin(), mutual.end());
  const CommandResult stats_result = Cli(stats);
  EXPECT_EQ(stats_result.exit_code, 0) << stats_result.stderr_text;
  EXPECT_THAT(stats_result.stdout_text, HasSubstr("MN-CI-ECZEMA"));
}

TEST_F(CliTlsTest, TlsWithoutClientCertificate) {
  ASSERT_NO_FATAL_FAILURE(StartServer(/*mutual=*/false));
  const CommandResult result = Screen({"--tls_ca=" + pki_.ca_cert});
  ASSERT_EQ(result.exit_code, 0) << result.stderr_text;
  EXPECT_THAT(result.stdout_text, HasSubstr("[CRITICAL] MN-CI-ECZEMA"));
  // The certificate names 127.0.0.1 and localhost.
  std::vector<std::string> args = {"health", "--server",
                                   absl::StrCat("localhost:", server_->port()),
                                   "--tls_ca=" + pki_.ca_cert};
  EXPECT_EQ(Cli(args).exit_code, 0);
  args.push_back("--tls_server_name=needlecheckd.example.org");
  const CommandResult wrong_name = Cli(args);
  EXPECT_EQ(wrong_name.exit_code, 1);
  EXPECT_THAT(wrong_name.stderr_text, HasSubstr("--tls_server_name"));
}

TEST_F(CliTlsTest, NoClientCertificateAgainstMutualTlsFailsClearly) {
  ASSERT_NO_FATAL_FAILURE(StartServer(/*mutual=*/true));
  const CommandResult result = Screen({"--tls_ca=" + pki_.ca_cert});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.stderr_text,
              AllOf(HasSubstr("Screen failed: UNAVAILABLE"),
                    HasSubstr("requires client certificates, give --tls_cert "
                              "and --tls_key")));
  // Nothing was screened.
  EXPECT_THAT(result.stdout_text, Not(HasSubstr("MN-CI-ECZEMA")));
}

TEST_F(CliTlsTest, WrongCaFails) {
  ASSERT_NO_FATAL_FAILURE(StartServer(/*mutual=*/true));
  const CommandResult result = Screen({"--tls_ca=" + pki_.other_ca_cert,
                                       "--tls_cert=" + pki_.client_cert,
                                       "--tls_key=" + pki_.client_key});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.stderr_text,
              AllOf(HasSubstr("UNAVAILABLE"),
                    HasSubstr("--tls_ca must hold the CA that signed")));
}

TEST_F(CliTlsTest, ClientCertificateFromAnotherCaIsRefused) {
  ASSERT_NO_FATAL_FAILURE(StartServer(/*mutual=*/true));
  const CommandResult result = Screen({"--tls_ca=" + pki_.ca_cert,
                                       "--tls_cert=" + pki_.other_client_cert,
                                       "--tls_key=" + pki_.other_client_key});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.stderr_text, HasSubstr("Screen failed: UNAVAILABLE"));
}

TEST_F(CliTlsTest, PlaintextAgainstTlsFailsWithAHint) {
  ASSERT_NO_FATAL_FAILURE(StartServer(/*mutual=*/true));
  const CommandResult result = Screen({});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.stderr_text, HasSubstr("if it serves TLS, give --tls_ca"));
}

TEST_F(CliTlsTest, BadTlsFlagsAndFilesAreUsageErrors) {
  ASSERT_NO_FATAL_FAILURE(StartServer(/*mutual=*/true));
  struct Case {
    std::vector<std::string> flags;
    std::string message;
  };
  const std::string missing = tmp_.Path("missing.pem");
  const std::vector<Case> cases = {
      {{"--tls_ca=" + missing}, "--tls_ca " + missing + ": cannot open"},
      {{"--tls_ca=" + pki_.ca_key},
       "--tls_ca " + pki_.ca_key + ": holds no PEM certificate"},
      {{"--tls_ca=" + pki_.ca_cert, "--tls_cert=" + pki_.client_cert},
       "--tls_cert needs --tls_key"},
      {{"--tls_ca=" + pki_.ca_cert, "--tls_cert=" + pki_.client_cert,
        "--tls_key=" + pki_.server_key},
       "does not belong to the certificate in --tls_cert"},
      {{"--tls_ca=" + pki_.ca_cert, "--tls_cert=" + pki_.expired_client_cert,
        "--tls_key=" + pki_.expired_client_key},
       "expired on"},
  };
  for (const Case& c : cases) {
    for (const std::string command : {"screen", "health", "stats"}) {
      SCOPED_TRACE(absl::StrCat(command, " ", c.message));
      const CommandResult result =
          command == std::string("screen") ? Screen(c.flags)
          : command == std::string("health")
              ? Health(address_, c.flags)
              : Cli([&] {
                  std::vector<std::string> args = {"stats", "--server",
                                                   address_};
                  args.insert(args.end(), c.flags.begin(), c.flags.end());
                  return args;
                }());
      EXPECT_EQ(result.exit_code, 2);
      EXPECT_THAT(result.stderr_text, HasSubstr(c.message));
    }
  }
}

TEST_F(CliTlsTest, HealthServingOverMutualTlsAndOnTheHealthPort) {
  ASSERT_NO_FATAL_FAILURE(StartServer(/*mutual=*/true));
  const CommandResult tls = Health(address_, MutualFlags());
  EXPECT_EQ(tls.exit_code, 0) << tls.stderr_text;
  EXPECT_EQ(tls.stdout_text, "SERVING\n");
  std::vector<std::string> json_flags = MutualFlags();
  json_flags.push_back("--json");
  const CommandResult json = Health(address_, json_flags);
  EXPECT_EQ(json.exit_code, 0) << json.stderr_text;
  EXPECT_THAT(json.stdout_text, HasSubstr("\"SERVING\""));
  // The plaintext health port, for probes without a client certificate.
  const CommandResult plain = Health(health_address_);
  EXPECT_EQ(plain.exit_code, 0) << plain.stderr_text;
  EXPECT_EQ(plain.stdout_text, "SERVING\n");
  // The main port refuses a client without a certificate.
  EXPECT_EQ(Health(address_, {"--tls_ca=" + pki_.ca_cert}).exit_code, 1);
}

TEST_F(CliTlsTest, HealthWhileDrainingIsNotServing) {
  ASSERT_NO_FATAL_FAILURE(
      StartServer(/*mutual=*/true, {"--drain_seconds=120"}));
  // Health over mutual TLS while the server drains.
  grpc_client::ClientTlsOptions tls;
  tls.ca_file = pki_.ca_cert;
  tls.cert_file = pki_.client_cert;
  tls.key_file = pki_.client_key;
  absl::StatusOr<grpc_client::ClientChannelSecurity> security =
      grpc_client::LoadClientChannelSecurity(tls, "");
  ASSERT_THAT(security, IsOk());
  auto health = grpc::health::v1::Health::NewStub(
      grpc_client::NewClientChannel(address_, *security));
  grpc::ClientContext watch_context;
  watch_context.set_deadline(
      absl::ToChronoTime(absl::Now() + absl::Seconds(300)));
  auto watch = health->Watch(&watch_context, HealthCheckRequest());
  HealthCheckResponse response;
  ASSERT_TRUE(watch->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);
  // A real call in flight keeps the drain going (health Watch streams do
  // not): a ScreenStream that has been answered once and stays open.
  auto screening = needlecheck::v1::ScreeningService::NewStub(
      grpc_client::NewClientChannel(address_, *security));
  grpc::ClientContext stream_context;
  stream_context.set_deadline(
      absl::ToChronoTime(absl::Now() + absl::Seconds(300)));
  auto stream = screening->ScreenStream(&stream_context);
  needlecheck::v1::ScreenResponse screened;
  ASSERT_TRUE(stream->Write(AlertingRequest("held-open")));
  ASSERT_TRUE(stream->Read(&screened));

  ASSERT_THAT(server_->Signal(SIGTERM), IsOk());
  ASSERT_TRUE(watch->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::NOT_SERVING);
  const CommandResult draining = Health(health_address_);
  EXPECT_EQ(draining.exit_code, 1) << draining.stderr_text;
  EXPECT_EQ(draining.stdout_text, "NOT_SERVING\n");
  // The main port takes no new connection while it drains.
  EXPECT_NE(Health(address_, MutualFlags()).exit_code, 0);

  ASSERT_TRUE(stream->WritesDone());
  EXPECT_FALSE(stream->Read(&screened));
  EXPECT_TRUE(stream->Finish().ok());
  watch_context.TryCancel();
  watch->Finish().IgnoreError();
  watch.reset();
  health.reset();
  absl::StatusOr<int> code = server_->WaitForExit(absl::Seconds(120));
  ASSERT_THAT(code, IsOk());
  EXPECT_EQ(*code, 0);
}

TEST_F(CliTlsTest, HealthOfAnUnreachableServerIsOne) {
  const CommandResult result =
      Cli({"health", "--server", absl::StrCat("127.0.0.1:", UnusedPort()),
           "--timeout=5s", "--tls_ca=" + pki_.ca_cert});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.stderr_text, HasSubstr("Health/Check failed"));
  EXPECT_EQ(result.stdout_text, "");
}

}  // namespace
}  // namespace needlecheck::testing
