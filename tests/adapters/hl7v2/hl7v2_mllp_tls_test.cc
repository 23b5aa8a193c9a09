// MllpServer and MllpClient over TLS and mutual TLS on loopback, with
// certificates the openssl tool makes for the test (tls_test_certs.h).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "adapters/hl7v2/mllp_framer.h"
#include "adapters/hl7v2/transport/mllp_client.h"
#include "adapters/hl7v2/transport/mllp_server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/scoped_temp_dir.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/tls_test_certs.h"

namespace needlecheck::hl7v2 {
namespace {

using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::ScopedTempDir;
using ::needlecheck::testing::StatusIs;
using ::needlecheck::testing::TlsTestCerts;
using ::testing::HasSubstr;
using ::testing::Not;

class MllpTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    absl::StatusOr<TlsTestCerts> pki =
        needlecheck::testing::CreateTlsTestCerts(tmp_.path());
    if (!pki.ok()) GTEST_SKIP() << pki.status();
    pki_ = *std::move(pki);
  }

  // A TLS server (mutual when `client_ca` is set) answering
  // "<payload>|<client certificate subject>".
  void StartServer(bool client_ca,
                   absl::Duration idle_timeout = absl::Minutes(5)) {
    MllpServerOptions options;
    options.listen = "127.0.0.1:0";
    options.idle_timeout = idle_timeout;
    options.tls_cert_file = pki_.server_cert;
    options.tls_key_file = pki_.server_key;
    if (client_ca) options.tls_client_ca_file = pki_.ca_cert;
    absl::StatusOr<std::unique_ptr<MllpServer>> server = MllpServer::Start(
        options, [](const MllpEvent& e, const MllpPeer& peer) {
          return absl::StrCat(e.payload, "|", peer.tls_subject);
        });
    ASSERT_THAT(server.status(), IsOk());
    server_ = std::move(*server);
  }

  std::string Address() const {
    return absl::StrCat("127.0.0.1:", server_->port());
  }

  MllpClientOptions ClientOptions(bool with_cert) const {
    MllpClientOptions options;
    options.tls_ca_file = pki_.ca_cert;
    if (with_cert) {
      options.tls_cert_file = pki_.client_cert;
      options.tls_key_file = pki_.client_key;
    }
    return options;
  }

  // Connect + one Send; the first error of either.
  absl::StatusOr<std::string> RoundTrip(const MllpClientOptions& options) {
    absl::StatusOr<std::unique_ptr<MllpClient>> client =
        MllpClient::Connect(Address(), options);
    if (!client.ok()) return client.status();
    return (*client)->Send("MSH|tls");
  }

  // A client presenting this certificate gets no reply and the server
  // counts a TLS failure.
  void ExpectRefused(const std::string& cert, const std::string& key) {
    MllpClientOptions options = ClientOptions(false);
    options.tls_cert_file = cert;
    options.tls_key_file = key;
    EXPECT_THAT(RoundTrip(options).status(), Not(IsOk()));
    EXPECT_TRUE(TlsFailureCounted());
    EXPECT_EQ(server_->counters().replies, 0u);
  }

  // Waits (bounded) for the server to count a failed TLS connection.
  bool TlsFailureCounted() const {
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (server_->counters().tls_failures == 0) {
      if (absl::Now() > deadline) return false;
      absl::SleepFor(absl::Milliseconds(10));
    }
    return true;
  }

  ScopedTempDir tmp_;
  TlsTestCerts pki_;
  std::unique_ptr<MllpServer> server_;
};

TEST_F(MllpTlsTest, TlsRoundTrip) {
  StartServer(/*client_ca=*/false);
  absl::StatusOr<std::string> reply = RoundTrip(ClientOptions(false));
  ASSERT_THAT(reply.status(), IsOk());
  EXPECT_EQ(*reply, "MSH|tls|");
}

TEST_F(MllpTlsTest, ServerNameIsVerified) {
  StartServer(/*client_ca=*/false);
  MllpClientOptions options = ClientOptions(false);
  options.tls_server_name = "localhost";  // a DNS SAN of the certificate
  EXPECT_THAT(RoundTrip(options).status(), IsOk());
  options.tls_server_name = "other.example";
  EXPECT_THAT(RoundTrip(options).status(),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(MllpTlsTest, ClientRefusesServerFromAnotherCa) {
  StartServer(/*client_ca=*/false);
  MllpClientOptions options;
  options.tls_ca_file = pki_.other_ca_cert;
  EXPECT_THAT(RoundTrip(options).status(),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(MllpTlsTest, PlainClientGetsNoReplyFromTlsServer) {
  StartServer(/*client_ca=*/false);
  MllpClientOptions options;
  options.reply_timeout = absl::Seconds(30);
  EXPECT_THAT(RoundTrip(options).status(), Not(IsOk()));
}

TEST_F(MllpTlsTest, SilentConnectionIsClosedBeforeAnyHandshake) {
  StartServer(/*client_ca=*/true, /*idle_timeout=*/absl::Milliseconds(300));
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(server_->port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  // Say nothing: the server closes the connection (read returns 0) after
  // idle_timeout; a generous bound in case of a busy machine.
  timeval patience{60, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof(patience));
  char byte = 0;
  EXPECT_EQ(recv(fd, &byte, 1, 0), 0);
  close(fd);
  EXPECT_EQ(server_->counters().idle_timeouts, 1u);
}

TEST_F(MllpTlsTest, MutualTlsPassesTheClientSubject) {
  StartServer(/*client_ca=*/true);
  absl::StatusOr<std::string> reply = RoundTrip(ClientOptions(true));
  ASSERT_THAT(reply.status(), IsOk());
  EXPECT_THAT(*reply, HasSubstr("CN=test-client"));
}

TEST_F(MllpTlsTest, MutualTlsRefusesClientWithoutCertificate) {
  StartServer(/*client_ca=*/true);
  EXPECT_THAT(RoundTrip(ClientOptions(false)).status(), Not(IsOk()));
  EXPECT_TRUE(TlsFailureCounted());
  EXPECT_EQ(server_->counters().replies, 0u);
}

TEST_F(MllpTlsTest, MutualTlsRefusesCertificateFromAnotherCa) {
  StartServer(/*client_ca=*/true);
  ExpectRefused(pki_.other_client_cert, pki_.other_client_key);
}

TEST_F(MllpTlsTest, MutualTlsRefusesExpiredCertificate) {
  StartServer(/*client_ca=*/true);
  ExpectRefused(pki_.expired_client_cert, pki_.expired_client_key);
}

TEST_F(MllpTlsTest, ClientOptionsAreChecked) {
  StartServer(/*client_ca=*/false);
  MllpClientOptions options;
  options.tls_cert_file = pki_.client_cert;  // no CA
  options.tls_key_file = pki_.client_key;
  EXPECT_THAT(MllpClient::Connect(Address(), options).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  options = ClientOptions(false);
  options.tls_ca_file = tmp_.Path("missing.pem");
  EXPECT_THAT(MllpClient::Connect(Address(), options).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace needlecheck::hl7v2
