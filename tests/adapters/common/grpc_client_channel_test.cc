// LoadClientChannelSecurity() and NewClientChannel() (the TLS client side
// shared by the CLI, needlecheck-audit and needlecheck-cds-hooks): the usage
// rules, every kind of bad file, and real handshakes against a TLS gRPC
// server (a health service) run in this process on 127.0.0.1:0, with
// certificates made by the openssl tool.
#include "adapters/common/grpc_client_channel.h"

#include <sys/stat.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/testing/read_file.h"
#include "tests/testing/scoped_temp_dir.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/tls_test_certs.h"

namespace needlecheck::grpc_client {
namespace {

using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::ReadFile;
using ::needlecheck::testing::ScopedTempDir;
using ::needlecheck::testing::StatusIs;
using ::needlecheck::testing::TlsTestCerts;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

// The code of a usage or file error, and the words it must contain.
auto BadFlag(const std::string& flag, const std::string& words) {
  return StatusIs(absl::StatusCode::kInvalidArgument,
                  AllOf(HasSubstr(flag), HasSubstr(words)));
}

// A health service that always answers SERVING (a synchronous service, so
// the server polls its own completion queue).
class ServingHealth : public grpc::health::v1::Health::Service {
 public:
  grpc::Status Check(grpc::ServerContext*, const HealthCheckRequest*,
                     HealthCheckResponse* response) override {
    response->set_status(HealthCheckResponse::SERVING);
    return grpc::Status::OK;
  }
};

class ClientChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    absl::StatusOr<TlsTestCerts> pki =
        needlecheck::testing::CreateTlsTestCerts(tmp_.path());
    if (!pki.ok()) GTEST_SKIP() << pki.status();
    pki_ = *std::move(pki);
  }

  void TearDown() override {
    if (server_ != nullptr) {
      server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    }
  }

  ClientTlsOptions CaOnly() const {
    ClientTlsOptions options;
    options.ca_file = pki_.ca_cert;
    return options;
  }
  ClientTlsOptions Mutual() const {
    ClientTlsOptions options = CaOnly();
    options.cert_file = pki_.client_cert;
    options.key_file = pki_.client_key;
    return options;
  }

  // A gRPC server with the health service on 127.0.0.1:0, TLS with the
  // test server certificate; client certificates required when `mutual`.
  void StartTlsServer(bool mutual) {
    grpc::SslServerCredentialsOptions ssl(
        mutual ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
               : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    ssl.pem_root_certs = ReadFile(pki_.ca_cert);
    ssl.pem_key_cert_pairs.push_back(
        {ReadFile(pki_.server_key), ReadFile(pki_.server_cert)});
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(ssl),
                             &port_);
    builder.RegisterService(&health_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
  }

  // Health/Check over a channel built from `options`.
  grpc::Status Check(const ClientTlsOptions& options,
                     const std::string& host = "127.0.0.1") {
    return CheckTarget(options, absl::StrCat(host, ":", port_));
  }
  grpc::Status CheckTarget(const ClientTlsOptions& options,
                           const std::string& target) {
    absl::StatusOr<ClientChannelSecurity> security =
        LoadClientChannelSecurity(options, "");
    EXPECT_THAT(security, IsOk());
    if (!security.ok()) return grpc::Status(grpc::StatusCode::INTERNAL, "");
    auto stub =
        grpc::health::v1::Health::NewStub(NewClientChannel(target, *security));
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    HealthCheckResponse response;
    grpc::Status status =
        stub->Check(&context, HealthCheckRequest(), &response);
    if (status.ok()) {
      EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);
    }
    return status;
  }

  ScopedTempDir tmp_;
  TlsTestCerts pki_;
  ServingHealth health_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

TEST_F(ClientChannelTest, NoFlagsIsPlaintext) {
  absl::StatusOr<ClientChannelSecurity> security =
      LoadClientChannelSecurity(ClientTlsOptions(), "");
  ASSERT_THAT(security, IsOk());
  EXPECT_FALSE(security->tls);
  EXPECT_FALSE(security->mutual);
  EXPECT_NE(security->credentials, nullptr);
}

TEST_F(ClientChannelTest, CaOnlyIsTlsAndCertWithKeyIsMutual) {
  absl::StatusOr<ClientChannelSecurity> tls =
      LoadClientChannelSecurity(CaOnly(), "");
  ASSERT_THAT(tls, IsOk());
  EXPECT_TRUE(tls->tls);
  EXPECT_FALSE(tls->mutual);
  absl::StatusOr<ClientChannelSecurity> mutual =
      LoadClientChannelSecurity(Mutual(), "");
  ASSERT_THAT(mutual, IsOk());
  EXPECT_TRUE(mutual->tls);
  EXPECT_TRUE(mutual->mutual);
}

TEST_F(ClientChannelTest, HalfPairsAreUsageErrorsNamingTheFlags) {
  ClientTlsOptions cert_only = CaOnly();
  cert_only.cert_file = pki_.client_cert;
  EXPECT_THAT(LoadClientChannelSecurity(cert_only, ""),
              BadFlag("--tls_cert needs --tls_key", "private key"));
  ClientTlsOptions key_only = CaOnly();
  key_only.key_file = pki_.client_key;
  EXPECT_THAT(LoadClientChannelSecurity(key_only, "screening_"),
              BadFlag("--screening_tls_key needs --screening_tls_cert", ""));
  ClientTlsOptions no_ca = Mutual();
  no_ca.ca_file.clear();
  EXPECT_THAT(LoadClientChannelSecurity(no_ca, ""),
              BadFlag("need --tls_ca", "signed needlecheckd's certificate"));
  ClientTlsOptions name_only;
  name_only.server_name = "needlecheckd.internal";
  EXPECT_THAT(LoadClientChannelSecurity(name_only, ""),
              BadFlag("--tls_server_name needs --tls_ca", ""));
}

TEST_F(ClientChannelTest, UnreadableFilesNameFlagAndPath) {
  ClientTlsOptions missing = CaOnly();
  missing.ca_file = tmp_.Path("no-such.pem");
  EXPECT_THAT(LoadClientChannelSecurity(missing, ""),
              BadFlag("--tls_ca " + missing.ca_file, "cannot open"));
  ClientTlsOptions dir = CaOnly();
  dir.ca_file = tmp_.path();
  EXPECT_THAT(LoadClientChannelSecurity(dir, ""),
              BadFlag("--tls_ca", "not a regular file"));
  // A FIFO without a writer: refused at once, not waited on.
  const std::string fifo = tmp_.Path("fifo.pem");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  ClientTlsOptions from_fifo = Mutual();
  from_fifo.key_file = fifo;
  EXPECT_THAT(LoadClientChannelSecurity(from_fifo, ""),
              BadFlag("--tls_key", "not a regular file"));
  ClientTlsOptions large = CaOnly();
  large.ca_file =
      tmp_.WriteFile("large.pem", std::string(kMaxPemFileBytes + 1, 'A'));
  EXPECT_THAT(LoadClientChannelSecurity(large, ""),
              BadFlag("--tls_ca", "larger than 1048576 bytes"));
}

TEST_F(ClientChannelTest, FilesThatAreNotWhatTheFlagWantsAreClearErrors) {
  ClientTlsOptions not_pem = CaOnly();
  not_pem.ca_file = tmp_.WriteFile("ca.txt", "this is not a certificate\n");
  EXPECT_THAT(LoadClientChannelSecurity(not_pem, "screening_"),
              BadFlag("--screening_tls_ca", "holds no PEM certificate"));
  ClientTlsOptions damaged = CaOnly();
  damaged.ca_file =
      tmp_.WriteFile("damaged.pem",
                     "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n"
                     "-----END CERTIFICATE-----\n");
  EXPECT_THAT(LoadClientChannelSecurity(damaged, ""),
              BadFlag("--tls_ca", "damaged"));
  // The key where the certificate belongs, and the other way round.
  ClientTlsOptions swapped = Mutual();
  swapped.cert_file = pki_.client_key;
  swapped.key_file = pki_.client_cert;
  EXPECT_THAT(LoadClientChannelSecurity(swapped, ""),
              BadFlag("--tls_cert", "holds no PEM certificate"));
  ClientTlsOptions cert_as_key = Mutual();
  cert_as_key.key_file = pki_.client_cert;
  EXPECT_THAT(LoadClientChannelSecurity(cert_as_key, ""),
              BadFlag("--tls_key", "holds no PEM private key"));
}

TEST_F(ClientChannelTest, KeyMustBelongToTheCertificate) {
  ClientTlsOptions mismatch = Mutual();
  mismatch.key_file = pki_.server_key;
  EXPECT_THAT(LoadClientChannelSecurity(mismatch, ""),
              BadFlag("--tls_key " + pki_.server_key,
                      "does not belong to the certificate in --tls_cert"));
}

TEST_F(ClientChannelTest, EncryptedKeyIsRefusedWithoutPrompting) {
  const std::string encrypted = tmp_.Path("encrypted.key");
  const std::string command =
      absl::StrCat("openssl pkcs8 -topk8 -in ", pki_.client_key, " -out ",
                   encrypted, " -passout pass:secret >/dev/null 2>&1");
  ASSERT_EQ(std::system(command.c_str()), 0);
  ClientTlsOptions options = Mutual();
  options.key_file = encrypted;
  EXPECT_THAT(LoadClientChannelSecurity(options, ""),
              BadFlag("--tls_key", "encrypted"));
}

TEST_F(ClientChannelTest, ExpiredClientCertificateIsRefused) {
  ClientTlsOptions options = Mutual();
  options.cert_file = pki_.expired_client_cert;
  options.key_file = pki_.expired_client_key;
  EXPECT_THAT(LoadClientChannelSecurity(options, ""),
              BadFlag("--tls_cert", "expired on"));
}

TEST_F(ClientChannelTest, TlsHandshakeVerifiesTheServer) {
  StartTlsServer(/*mutual=*/false);
  EXPECT_TRUE(Check(CaOnly()).ok());
  // A client certificate the server did not ask for does no harm.
  EXPECT_TRUE(Check(Mutual()).ok());
  ClientTlsOptions wrong_ca = CaOnly();
  wrong_ca.ca_file = pki_.other_ca_cert;
  EXPECT_EQ(Check(wrong_ca).error_code(), grpc::StatusCode::UNAVAILABLE);
  // Plaintext to a TLS port gets nowhere.
  EXPECT_FALSE(Check(ClientTlsOptions()).ok());
}

TEST_F(ClientChannelTest, ServerNameOverrideIsCheckedAgainstTheCertificate) {
  StartTlsServer(/*mutual=*/false);
  ClientTlsOptions right = CaOnly();
  right.server_name = "localhost";
  EXPECT_TRUE(Check(right).ok());
  ClientTlsOptions wrong = CaOnly();
  wrong.server_name = "needlecheckd.example.org";
  EXPECT_EQ(Check(wrong).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(ClientChannelTest, MutualTlsNeedsATrustedClientCertificate) {
  StartTlsServer(/*mutual=*/true);
  EXPECT_TRUE(Check(Mutual()).ok());
  EXPECT_FALSE(Check(CaOnly()).ok());
  ClientTlsOptions untrusted = CaOnly();
  untrusted.cert_file = pki_.other_client_cert;
  untrusted.key_file = pki_.other_client_key;
  EXPECT_FALSE(Check(untrusted).ok());
}

// An ipv4: list of replicas: gRPC checks each certificate against the
// target's authority, which for a list is the list itself
// ("127.0.0.1:P,127.0.0.1:P"): it fails without a server name, so
// CheckClientTarget refuses that combination up front; with the name (or
// a dns:/// name, whose authority is the host) it works.
TEST_F(ClientChannelTest, TlsToAnAddressListNeedsTheServerName) {
  StartTlsServer(/*mutual=*/false);
  const std::string list =
      absl::StrCat("ipv4:127.0.0.1:", port_, ",127.0.0.1:", port_);
  absl::StatusOr<ClientChannelSecurity> no_name =
      LoadClientChannelSecurity(CaOnly(), "screening_");
  ASSERT_THAT(no_name, IsOk());
  EXPECT_THAT(CheckClientTarget(list, *no_name, "--screening_service"),
              BadFlag("--screening_service", "--screening_tls_server_name"));
  EXPECT_EQ(CheckTarget(CaOnly(), list).error_code(),
            grpc::StatusCode::UNAVAILABLE);

  ClientTlsOptions named = CaOnly();
  named.server_name = "localhost";
  absl::StatusOr<ClientChannelSecurity> with_name =
      LoadClientChannelSecurity(named, "");
  ASSERT_THAT(with_name, IsOk());
  EXPECT_THAT(CheckClientTarget(list, *with_name, "--server"), IsOk());
  EXPECT_TRUE(CheckTarget(named, list).ok());
  ClientTlsOptions wrong = CaOnly();
  wrong.server_name = "needlecheckd.example.org";
  EXPECT_EQ(CheckTarget(wrong, list).error_code(),
            grpc::StatusCode::UNAVAILABLE);

  // One address, or a DNS name: the authority is a host the certificate
  // carries (IP:127.0.0.1, DNS:localhost).
  const std::string one = absl::StrCat("ipv4:127.0.0.1:", port_);
  EXPECT_THAT(CheckClientTarget(one, *no_name, "--server"), IsOk());
  EXPECT_TRUE(CheckTarget(CaOnly(), one).ok());
  const std::string dns = absl::StrCat("dns:///localhost:", port_);
  EXPECT_THAT(CheckClientTarget(dns, *no_name, "--server"), IsOk());
  EXPECT_TRUE(CheckTarget(CaOnly(), dns).ok());
  // Plaintext lists need no name.
  absl::StatusOr<ClientChannelSecurity> plain =
      LoadClientChannelSecurity(ClientTlsOptions(), "");
  ASSERT_THAT(plain, IsOk());
  EXPECT_THAT(CheckClientTarget(list, *plain, "--server"), IsOk());
  EXPECT_THAT(CheckClientTarget("", *plain, "--server"),
              BadFlag("--server", "is empty"));
}

TEST(TargetHostsTest, EveryFormOfTarget) {
  using ::testing::ElementsAre;
  EXPECT_THAT(TargetHosts("127.0.0.1:50051"), ElementsAre("127.0.0.1"));
  EXPECT_THAT(TargetHosts("localhost"), ElementsAre("localhost"));
  EXPECT_THAT(TargetHosts("[::1]:50051"), ElementsAre("::1"));
  EXPECT_THAT(TargetHosts("dns:///needlecheckd.internal:50051"),
              ElementsAre("needlecheckd.internal"));
  EXPECT_THAT(TargetHosts("dns://8.8.8.8/needlecheckd.internal:50051"),
              ElementsAre("needlecheckd.internal"));
  EXPECT_THAT(TargetHosts("dns:localhost:1"), ElementsAre("localhost"));
  EXPECT_THAT(TargetHosts("ipv4:127.0.0.1:1,10.0.0.2:2"),
              ElementsAre("127.0.0.1", "10.0.0.2"));
  EXPECT_THAT(TargetHosts("ipv6:[::1]:1,[fe80::1]:2"),
              ElementsAre("::1", "fe80::1"));
  EXPECT_THAT(TargetHosts("unix:/run/needlecheckd.sock"), ElementsAre());
  EXPECT_THAT(TargetHosts(""), ElementsAre());
}

// A health service that counts its calls.
class CountingHealth : public grpc::health::v1::Health::Service {
 public:
  grpc::Status Check(grpc::ServerContext*, const HealthCheckRequest*,
                     HealthCheckResponse* response) override {
    ++calls;
    response->set_status(HealthCheckResponse::SERVING);
    return grpc::Status::OK;
  }
  std::atomic<int> calls{0};
};

// NewClientChannel's round_robin: three servers behind one ipv4: list all
// get calls (pick_first, gRPC's default, would send all to the first).
TEST(RoundRobinTest, CallsSpreadOverEveryAddressOfTheList) {
  constexpr int kServers = 3;
  CountingHealth health[kServers];
  std::unique_ptr<grpc::Server> servers[kServers];
  std::vector<std::string> addresses;
  for (int i = 0; i < kServers; ++i) {
    int port = 0;
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(&health[i]);
    servers[i] = builder.BuildAndStart();
    ASSERT_NE(servers[i], nullptr);
    addresses.push_back(absl::StrCat("127.0.0.1:", port));
  }
  absl::StatusOr<ClientChannelSecurity> plain =
      LoadClientChannelSecurity(ClientTlsOptions(), "");
  ASSERT_THAT(plain, IsOk());
  std::shared_ptr<grpc::Channel> channel = NewClientChannel(
      absl::StrCat("ipv4:", absl::StrJoin(addresses, ",")), *plain);
  auto stub = grpc::health::v1::Health::NewStub(channel);
  auto check = [&stub] {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    HealthCheckResponse response;
    return stub->Check(&context, HealthCheckRequest(), &response).ok();
  };
  // round_robin starts calls only on ready connections, and each connection
  // gets ready on its own time (its health-check stream answers first): on a
  // busy machine the first calls may all go to the first ones ready. Call
  // until every server has had one (pick_first never gets there), then count.
  const absl::Time give_up = absl::Now() + absl::Seconds(60);
  auto every_server_called = [&health] {
    for (const CountingHealth& h : health) {
      if (h.calls.load() == 0) return false;
    }
    return true;
  };
  while (!every_server_called() && absl::Now() < give_up) {
    ASSERT_TRUE(check());
  }
  ASSERT_TRUE(every_server_called())
      << "round_robin never reached every address in 60 s";
  int before[kServers];
  for (int i = 0; i < kServers; ++i) before[i] = health[i].calls.load();
  constexpr int kCalls = 60;
  for (int i = 0; i < kCalls; ++i) ASSERT_TRUE(check());
  int total = 0;
  for (int i = 0; i < kServers; ++i) {
    const int calls = health[i].calls.load() - before[i];
    EXPECT_GE(calls, kCalls / kServers / 2) << i;
    total += calls;
  }
  EXPECT_EQ(total, kCalls);
  for (auto& server : servers) {
    server->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  }
}

TEST(ConnectionHintTest, NamesTheFlagsToCheck) {
  ClientChannelSecurity plain;
  EXPECT_THAT(ConnectionHint(plain, "127.0.0.1:1", "--server"),
              AllOf(HasSubstr("127.0.0.1:1"), HasSubstr("--server"),
                    HasSubstr("give --tls_ca")));
  ClientChannelSecurity tls;
  tls.tls = true;
  tls.flag_prefix = "screening_";
  EXPECT_THAT(
      ConnectionHint(tls, "h:1", "--screening_service"),
      AllOf(HasSubstr("--screening_tls_ca"), HasSubstr("--screening_tls_cert"),
            HasSubstr("--screening_tls_server_name")));
  tls.mutual = true;
  EXPECT_THAT(ConnectionHint(tls, "h:1", "--screening_service"),
              Not(HasSubstr("give --screening_tls_cert")));
}

}  // namespace
}  // namespace needlecheck::grpc_client
