// TlsTestCerts: a throw-away set of TLS certificates for client tests, made
// with the `openssl` command-line tool in a folder the test owns. Test-only
// (target needlecheck_test_tls_certs).
//
// Contract
// - CreateTlsTestCerts(dir) writes into `dir` (which must exist), with
//   TestPki (test_pki.h: EC P-256, unencrypted keys, valid 30 days):
//     ca.crt/ca.key                 the CA that signs everything below
//     server.crt/server.key         needlecheckd's: CN 127.0.0.1,
//                                   subjectAltName IP 127.0.0.1, DNS localhost
//     client.crt/client.key         a client certificate (CN test-client)
//     other_ca.crt/other_ca.key     an unrelated CA
//     other_client.crt/.key         a client certificate signed by other_ca
//     expired_client.crt/.key       signed by ca, expired yesterday (made
//                                   with the OpenSSL library)
//   and returns their paths. An error with openssl's output when the tool
//   is missing or fails (tests then skip).
// - Not thread-safe against another call on the same folder.
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
