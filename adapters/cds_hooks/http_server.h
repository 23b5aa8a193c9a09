// The HTTP/1.1 (optionally HTTPS) front of the CDS Hooks service: binds,
// runs worker threads and hands each request to CdsHooksService::Handle().
//
// Library: cpp-httplib 0.11 (Debian 12 libcpp-httplib-dev). Chosen because
// it is packaged by Debian as a shared library built WITH OpenSSL, zlib and
// brotli (pkg-config cpp-httplib gives -DCPPHTTPLIB_OPENSSL_SUPPORT, which
// must match the library build, so CMake takes the flags from pkg-config);
// it is maintained upstream with regular releases (and Debian patches its
// security fixes, 0.11.4+ds-1+deb12u1); its blocking thread-pool model fits
// a service whose work per request is a JSON parse and one gRPC call; and
// its whole surface is a few calls, all confined to http_server.cc, so the
// rest of the service is independent of it. Boost.Beast would need us to
// write the connection state machines and TLS plumbing ourselves;
// libmicrohttpd is C with callback-per-chunk uploads and GnuTLS rather
// than OpenSSL.
//
// Exceptions: cpp-httplib may throw (std::regex, allocation); a handler
// exception is caught by the exception handler and answered 500 with a JSON
// body, never crossing into the caller.
//
// Thread safety: Run() blocks; Stop() may be called from another thread (or
// a signal-watching thread).
#ifndef ADAPTERS_CDS_HOOKS_HTTP_SERVER_H_
#define ADAPTERS_CDS_HOOKS_HTTP_SERVER_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "adapters/cds_hooks/cds_service.h"

namespace needlecheck::cds_hooks {

struct HttpServerOptions {
  // Address to bind; port 0 picks a free port. Default 127.0.0.1:8080.
  std::string host = "127.0.0.1";
  int port = 8080;
  // PEM certificate chain and private key; both set: HTTPS.
  std::string tls_cert_file;
  std::string tls_key_file;
  // Worker threads. Default 16.
  int threads = 16;
  // Largest request body read; larger ones get 413 (with a JSON body).
  size_t max_body_bytes = size_t{16} << 20;
  // Socket read/write timeout in seconds. Default 10.
  int io_timeout_seconds = 10;
};

class HttpServer {
 public:
  // Binds (INVALID_ARGUMENT for bad TLS files, UNAVAILABLE when the address
  // cannot be bound). `service` must outlive the server.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Create(
      const HttpServerOptions& options, CdsHooksService* service);
  virtual ~HttpServer() = default;

  // The bound port.
  virtual int port() const = 0;
  // Serves until Stop(). False when the listener failed.
  virtual bool Run() = 0;
  virtual void Stop() = 0;
};

// True for 127.0.0.0/8, ::1 and "localhost".
bool IsLoopbackHost(const std::string& host);

}  // namespace needlecheck::cds_hooks

#endif  // ADAPTERS_CDS_HOOKS_HTTP_SERVER_H_
