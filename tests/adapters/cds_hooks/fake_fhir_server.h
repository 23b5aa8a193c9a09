// A tiny HTTP/1.1 server on 127.0.0.1:0 standing in for an EHR's FHIR
// server in the gateway's integration tests. Test-only.
//
// It answers every request the same way (Behavior), one connection per
// request (it always closes), and records what came: the number of
// requests, their targets and their Authorization headers, and how many
// body bytes it managed to send. The gateway is a real process; this
// server runs on threads of the test.
//
// Thread-safety: the accessors may be called while serving. The destructor
// stops serving (a hanging answer is released) and joins every thread.
#ifndef TESTS_ADAPTERS_CDS_HOOKS_FAKE_FHIR_SERVER_H_
#define TESTS_ADAPTERS_CDS_HOOKS_FAKE_FHIR_SERVER_H_

#include <cstddef>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

namespace needlecheck::cds_hooks::testing {

enum class Behavior {
  kEmptyBundle,  // 200, an empty searchset Bundle
  kStatus500,    // 500 with a small body
  kCloseAtOnce,  // closes the connection without answering
  kHang,         // reads the request, then sends nothing until stopped
  kEndless,      // 200 without Content-Length, then body bytes until the
                 // peer goes away or `endless_limit` bytes were sent
  kPaged,        // 200, searchset Bundles of ~`page_bytes` bytes, each with
                 // a `next` link to the following page on this server
  kRedirect,     // 302 to `redirect_to`
};

class FakeFhirServer {
 public:
  struct Options {
    Behavior behavior = Behavior::kEmptyBundle;
    std::string redirect_to;
    size_t endless_limit = size_t{1} << 30;
    size_t page_bytes = 600 << 10;
  };

  static absl::StatusOr<std::unique_ptr<FakeFhirServer>> Start(
      const Options& options);
  ~FakeFhirServer();

  int port() const { return port_; }
  // "http://127.0.0.1:PORT/fhir".
  std::string base() const;

  // TCP connections accepted, and HTTP requests read.
  int connections() const;
  int requests() const;
  std::vector<std::string> targets() const;
  std::vector<std::string> authorizations() const;
  size_t bytes_sent() const;

 private:
  FakeFhirServer() = default;
  void AcceptLoop();
  void Serve(int fd);
  bool Send(int fd, const std::string& data);

  Options options_;
  int listen_fd_ = -1;
  int port_ = 0;
  absl::Notification stop_;
  std::thread acceptor_;

  mutable absl::Mutex mu_;
  std::vector<std::thread> workers_ ABSL_GUARDED_BY(mu_);
  std::vector<int> open_fds_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> targets_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> authorizations_ ABSL_GUARDED_BY(mu_);
  size_t bytes_sent_ ABSL_GUARDED_BY(mu_) = 0;
  int connections_ ABSL_GUARDED_BY(mu_) = 0;
};

// A TCP port on 127.0.0.1 with nothing listening (bound, then closed).
int ClosedLoopbackPort();

}  // namespace needlecheck::cds_hooks::testing

#endif  // TESTS_ADAPTERS_CDS_HOOKS_FAKE_FHIR_SERVER_H_
