// MetricsHttpEndpoint: serves a Registry as `GET /metrics` (Prometheus text
// format 0.0.4) on its own HOST:PORT, from its own thread, for
// needlecheckd's and needlecheck-cds-hooks' --metrics_listen.
//
// Why libevent's evhttp: needlecheckd has no HTTP server of its own, and
// the gateway's hardened server (adapters/cds_hooks/http_server.h) may not
// be used from service/. One small endpoint for both processes, on a port
// of its own that only a scraper on the operators' network should reach,
// keeps one implementation. evhttp (Debian libevent-dev 2.1) is
// event-driven, so a held or slow connection costs a descriptor, never the
// thread; it has no connection cap in 2.1, which is why the port is meant
// for a private network (bind it to loopback or an internal address).
//
// Contract
// - Start() binds `listen_address` ("HOST:PORT", "[::1]:PORT"; port 0
//   picks a free port) and starts the thread. INVALID_ARGUMENT for an
//   address that is not HOST:PORT, UNAVAILABLE when it cannot be bound.
// - StartIfListed() is Start() for a --metrics_listen value that may be
//   empty: empty means "no endpoint" and gives a null pointer.
// - Answers: GET or HEAD /metrics (a query string is ignored): 200,
//   Content-Type "text/plain; version=0.0.4; charset=utf-8", the registry
//   rendered at that moment. Any other path: 404; any other method: 501
//   (evhttp's answer to a method it was told not to allow). Request heads over
//   8 KiB and any request body are refused; a connection idle or stalled for 10
//   s is closed.
// - Process-wide effects: ignores SIGPIPE (a scraper closing early must not
//   kill the process) and makes libevent thread-aware
//   (evthread_use_pthreads), as the gateway's server does.
// - The destructor stops the thread (answers in progress are finished or
//   dropped) and closes the port. `registry` must outlive the endpoint.
// - Thread safety: address()/port() from any thread; destroy from one.
#ifndef COMMON_METRICS_HTTP_ENDPOINT_H_
#define COMMON_METRICS_HTTP_ENDPOINT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/metrics/registry.h"

namespace needlecheck::metrics {

class MetricsHttpEndpoint {
 public:
  static absl::StatusOr<std::unique_ptr<MetricsHttpEndpoint>> Start(
      const std::string& listen_address, const Registry* registry);
  static absl::StatusOr<std::unique_ptr<MetricsHttpEndpoint>> StartIfListed(
      const std::string& listen_address, const Registry* registry);
  virtual ~MetricsHttpEndpoint() = default;

  // The bound port, and "HOST:PORT" with the host as given.
  virtual int port() const = 0;
  virtual const std::string& address() const = 0;
};

}  // namespace needlecheck::metrics

#endif  // COMMON_METRICS_HTTP_ENDPOINT_H_
