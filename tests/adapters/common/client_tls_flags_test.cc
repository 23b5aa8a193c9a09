// NEEDLECHECK_CLIENT_TLS_FLAGS / _FROM_FLAGS (adapters/common/
// client_tls_flags.h): the names, defaults and help texts the mains get,
// with a prefix (needlecheck-cds-hooks, needlecheck-hl7) and without
// (needlecheck-audit).
#include "adapters/common/client_tls_flags.h"

#include <string>

#include "absl/flags/reflection.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

NEEDLECHECK_CLIENT_TLS_FLAGS(screening_, screening_service);
NEEDLECHECK_CLIENT_TLS_FLAGS(, service);

namespace needlecheck::grpc_client {
namespace {

using ::testing::HasSubstr;

std::string Help(absl::string_view name) {
  const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
  if (flag == nullptr) return "(no flag --" + std::string(name) + ")";
  EXPECT_EQ(flag->DefaultValue(), "") << name;
  return flag->Help();
}

TEST(ClientTlsFlagsTest, PrefixedNamesAndHelp) {
  EXPECT_THAT(Help("screening_tls_ca"),
              HasSubstr("TLS to --screening_service"));
  EXPECT_THAT(Help("screening_tls_cert"),
              HasSubstr("needs --screening_tls_key and --screening_tls_ca"));
  EXPECT_THAT(Help("screening_tls_key"),
              HasSubstr("(unencrypted) of --screening_tls_cert."));
  EXPECT_THAT(Help("screening_tls_server_name"),
              HasSubstr("not the host of --screening_service; required for an "
                        "ipv4:/ipv6: list"));
}

TEST(ClientTlsFlagsTest, UnprefixedNamesAndHelp) {
  EXPECT_THAT(Help("tls_ca"), HasSubstr("TLS to --service,"));
  EXPECT_THAT(Help("tls_cert"), HasSubstr("needs --tls_key and --tls_ca."));
  EXPECT_THAT(Help("tls_key"), HasSubstr("of --tls_cert."));
  EXPECT_THAT(Help("tls_server_name"), HasSubstr("not the host of --service;"));
}

TEST(ClientTlsFlagsTest, FromFlagsReadsTheirValues) {
  ClientTlsOptions none = NEEDLECHECK_CLIENT_TLS_FROM_FLAGS(screening_);
  EXPECT_FALSE(none.tls());
  EXPECT_EQ(none.server_name, "");

  absl::SetFlag(&FLAGS_screening_tls_ca, "ca.pem");
  absl::SetFlag(&FLAGS_screening_tls_cert, "cert.pem");
  absl::SetFlag(&FLAGS_screening_tls_key, "key.pem");
  absl::SetFlag(&FLAGS_screening_tls_server_name, "needlecheckd.internal");
  absl::SetFlag(&FLAGS_tls_ca, "other-ca.pem");
  const ClientTlsOptions screening =
      NEEDLECHECK_CLIENT_TLS_FROM_FLAGS(screening_);
  EXPECT_EQ(screening.ca_file, "ca.pem");
  EXPECT_EQ(screening.cert_file, "cert.pem");
  EXPECT_EQ(screening.key_file, "key.pem");
  EXPECT_EQ(screening.server_name, "needlecheckd.internal");
  EXPECT_TRUE(screening.mutual());

  const ClientTlsOptions plain = NEEDLECHECK_CLIENT_TLS_FROM_FLAGS();
  EXPECT_EQ(plain.ca_file, "other-ca.pem");
  EXPECT_EQ(plain.cert_file, "");
  EXPECT_FALSE(plain.mutual());
}

}  // namespace
}  // namespace needlecheck::grpc_client
