// TestPki: certificates for TLS tests, made with the `openssl` command in a
// test's own folder. Test-only (target needlecheck_test_pki).
//
// Contract
// - MakeCa(name) writes NAME.crt and NAME.key: a self-signed CA (EC P-256,
//   valid 30 days) with subject CN=NAME.
// - MakeCert(name, ca, cn, san) writes NAME.crt and NAME.key: a leaf
//   certificate signed by CA `ca` (made before by MakeCa), subject CN=cn,
//   with the subjectAltName `san` in openssl's syntax ("IP:127.0.0.1",
//   "DNS:a.test,URI:spiffe://test/a"; empty: none).
// - Run(args) runs `openssl args...` (for anything else a test needs).
// - Errors: INTERNAL with openssl's output when a command fails (or cannot
//   be started: `openssl` must be on PATH).
// - Path(name) is dir/name. Not thread-safe; one per test or suite.
#ifndef TESTS_TESTING_TEST_PKI_H_
#define TESTS_TESTING_TEST_PKI_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace needlecheck::testing {

class TestPki {
 public:
  explicit TestPki(std::string dir) : dir_(std::move(dir)) {}

  absl::Status MakeCa(const std::string& name) const;
  absl::Status MakeCert(const std::string& name, const std::string& ca,
                        const std::string& cn, const std::string& san) const;

  absl::Status Run(const std::vector<std::string>& args) const;

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

 private:
  std::string dir_;
};

}  // namespace needlecheck::testing

#endif  // TESTS_TESTING_TEST_PKI_H_
