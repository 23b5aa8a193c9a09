// TlsTestCerts: a throw-away set of TLS certificates for client tests, made
// with the `openssl` command-line tool in a folder the test owns. Test-only
// (target needlecheck_test_tls_certs).
//
// Contract
// - CreateTlsTestCerts(dir) writes, valid for two days from now (EC P-256,
//   unencrypted PKCS#8 keys):
//     ca.pem/ca.key                 the CA that signs everything below
//     server.pem/server.key         needlecheckd's: CN and subjectAltName
//                                   IP 127.0.0.1, DNS localhost
//     client.pem/client.key         a client certificate (CN test-client)
//     other_ca.pem/other_ca.key     an unrelated CA
//     other_client.pem/.key         a client certificate signed by other_ca
//     expired_client.pem/.key       signed by ca, expired yesterday
//   and returns their paths. UNAVAILABLE when the openssl tool is missing
//   or fails (tests then skip or fail with its message).
// - Not thread-safe against another CreateTlsTestCerts() on the same folder.
#ifndef TESTS_TESTING_TLS_TEST_CERTS_H_
#define TESTS_TESTING_TLS_TEST_CERTS_H_

#include <string>

#include "absl/status/statusor.h"

namespace needlecheck::testing {

struct TlsTestCerts {
  std::string ca_cert, ca_key;
  std::string server_cert, server_key;
  std::string client_cert, client_key;
  std::string other_ca_cert, other_ca_key;
  std::string other_client_cert, other_client_key;
  std::string expired_client_cert, expired_client_key;
};

absl::StatusOr<TlsTestCerts> CreateTlsTestCerts(const std::string& dir);

}  // namespace needlecheck::testing

#endif  // TESTS_TESTING_TLS_TEST_CERTS_H_
