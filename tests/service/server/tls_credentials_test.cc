// ReloadableTlsCredentials with certificates made by openssl: what Create()
// and Reload() accept and refuse, and that a refused reload keeps the
// current set. (Handshakes with the real server: tests/integration/tls_test.)
#include "service/server/tls_credentials.h"

#include <cstdio>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/read_file.h"
#include "tests/testing/scoped_temp_dir.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_pki.h"

namespace needlecheck::server {
namespace {

using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::ReadFile;
using ::needlecheck::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

class TlsCredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    ASSERT_THAT(pki_.MakeCa("ca"), IsOk());
    ASSERT_THAT(pki_.MakeCert("a", "ca", "server-a", "IP:127.0.0.1"), IsOk());
    ASSERT_THAT(pki_.MakeCert("b", "ca", "server-b", "IP:127.0.0.1"), IsOk());
    Install("a");
  }

  // Copies pair `name` to server.crt / server.key.
  void Install(const std::string& name) {
    ASSERT_FALSE(
        dir_.WriteFile("server.crt", ReadFile(pki_.Path(name + ".crt")))
            .empty());
    ASSERT_FALSE(
        dir_.WriteFile("server.key", ReadFile(pki_.Path(name + ".key")))
            .empty());
  }

  TlsFiles Files() const {
    return {dir_.Path("server.crt"), dir_.Path("server.key"),
            pki_.Path("ca.crt")};
  }

  ::needlecheck::testing::ScopedTempDir dir_;
  ::needlecheck::testing::TestPki pki_{dir_.path()};
};

TEST_F(TlsCredentialsTest, LoadsAndDescribesTheLeaf) {
  auto credentials = ReloadableTlsCredentials::Create(Files());
  ASSERT_THAT(credentials, IsOk());
  EXPECT_TRUE((*credentials)->requires_client_certificate());
  const auto d = (*credentials)->Current();
  EXPECT_EQ(d.subject, "CN=server-a");
  EXPECT_EQ(d.sha256.size(), 16u);
  EXPECT_FALSE(d.not_after.empty());
  EXPECT_NE((*credentials)->NewServerCredentials(), nullptr);
  TlsFiles no_ca = Files();
  no_ca.client_ca_path.clear();
  auto server_only = ReloadableTlsCredentials::Create(no_ca);
  ASSERT_THAT(server_only, IsOk());
  EXPECT_FALSE((*server_only)->requires_client_certificate());
}

TEST_F(TlsCredentialsTest, RefusesBadFilesNamingThem) {
  // A key that belongs to another certificate.
  ASSERT_FALSE(
      dir_.WriteFile("server.key", ReadFile(pki_.Path("b.key"))).empty());
  EXPECT_THAT(ReloadableTlsCredentials::Create(Files()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("does not match")));
  Install("a");

  TlsFiles files = Files();
  files.cert_path = "/dev/zero";
  EXPECT_THAT(ReloadableTlsCredentials::Create(files),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("not a regular file")));
  files = Files();
  files.key_path = dir_.Path("missing.key");
  EXPECT_THAT(ReloadableTlsCredentials::Create(files),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("missing.key")));
  files = Files();
  files.client_ca_path = dir_.WriteFile("ca.txt", "not a certificate\n");
  EXPECT_THAT(ReloadableTlsCredentials::Create(files),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("no PEM certificate")));
  files = Files();
  files.cert_path = files.key_path;  // a key where the certificate goes
  EXPECT_THAT(ReloadableTlsCredentials::Create(files),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("no PEM certificate")));
}

TEST_F(TlsCredentialsTest, AnEncryptedKeyIsRefusedWithoutAPrompt) {
  ASSERT_THAT(
      pki_.Run({"pkey", "-in", pki_.Path("a.key"), "-aes256", "-passout",
                "pass:secret", "-out", dir_.Path("server.key")}),
      IsOk());
  const absl::Status status =
      ReloadableTlsCredentials::Create(Files()).status();
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument,
                               HasSubstr("no unencrypted PEM private key")));
  // Never any key material in the message.
  EXPECT_THAT(status.message(), Not(HasSubstr("BEGIN")));
}

TEST_F(TlsCredentialsTest, ReloadSwitchesOnlyToAGoodSet) {
  auto created = ReloadableTlsCredentials::Create(Files());
  ASSERT_THAT(created, IsOk());
  ReloadableTlsCredentials& credentials = **created;
  const std::string a = credentials.Current().sha256;

  Install("b");
  ASSERT_THAT(credentials.Reload(), IsOk());
  EXPECT_EQ(credentials.Current().subject, "CN=server-b");
  const std::string b = credentials.Current().sha256;
  EXPECT_NE(a, b);

  // b's certificate with a's key: refused, b stays.
  ASSERT_FALSE(
      dir_.WriteFile("server.key", ReadFile(pki_.Path("a.key"))).empty());
  EXPECT_THAT(credentials.Reload(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(credentials.Current().sha256, b);
  ASSERT_EQ(std::remove(dir_.Path("server.crt").c_str()), 0);
  EXPECT_THAT(credentials.Reload(), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(credentials.Current().sha256, b);
}

}  // namespace
}  // namespace needlecheck::server
