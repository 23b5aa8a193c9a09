// The HTTP/1.1 (optionally HTTPS) front of the CDS Hooks service: accepts
// connections, reads requests, hands each complete request to
// CdsHooksService::Handle() on a worker thread and writes the answer.
//
// Model: one event-loop thread (the one calling Run()) owns every
// connection: accepting, TLS handshakes, reading and parsing requests
// (http_request_parser.h), deadlines and writing answers. A connection that
// is idle, slow or stalled costs a file descriptor and a few KiB, never a
// thread. Only a complete request reaches the worker pool (`threads`
// threads run CdsHooksService::HandleAsync(): validation and FHIR mapping;
// a hook call's Screen is asynchronous, so no worker waits for
// needlecheckd), and the answer goes back to the loop through a queue. A
// connection has at most one request in flight; pipelined requests wait in its
// buffer.
//
// Limits (HttpServerOptions):
// - at most max_connections connections, and max_connections_per_client
//   per peer IP address. At either cap a new connection first takes the
//   place of the longest-idle connection (no request in progress) in that
//   scope, as nginx reuses keep-alive connections; with none idle it is
//   refused: plain HTTP gets a 503 OperationOutcome and is closed, HTTPS is
//   closed.
// - the request head (request line + headers) must arrive within
//   header_timeout_ms, counted from the connection's accept for its first
//   request and from the request's first byte after that; the body within
//   body_timeout_ms of the end of the head. Past either: 408, then close.
//   These are totals, not per-read idle timeouts, so a client trickling a
//   byte at a time gains nothing.
// - a keep-alive connection waiting for its next request is closed after
//   idle_timeout_ms (silently); writing an answer may take write_timeout_ms.
// - a head over max_header_bytes: 431; a body over max_body_bytes: 413
//   (from Content-Length, before the body is read). Every error the server
//   produces itself (400, 408, 413, 431, 501, 503, 505) is a FHIR
//   OperationOutcome JSON (ErrorResponse) and closes the connection after a
//   short lingering read, so the client sees the answer rather than a reset.
//
// TLS (tls_cert_file + tls_key_file): OpenSSL 3, TLS 1.2 and 1.3 only; the
// TLS 1.2 suites are ECDHE with AES-GCM or ChaCha20-Poly1305 only (no
// static-RSA key exchange, no CBC), TLS 1.3 suites OpenSSL's defaults;
// renegotiation off.
//
// Why this and not a library: cpp-httplib (Debian 12) gives each connection
// a worker thread for its whole keep-alive life, so 16 slow or idle
// connections stall the service. libevent 2.1's evhttp is event-driven but
// answers its own errors with HTML bodies (no error callback before 2.2),
// has only per-read idle timeouts, no connection cap and no per-request hook
// before the whole request is read (all 2.2 features). So the server is
// libevent's portable core (listener, bufferevents, bufferevent_openssl,
// timers; Debian libevent-dev 2.1.12) plus the small strict parser, which has
// unit tests and a fuzz target.
//
// Errors: Create() returns INVALID_ARGUMENT for bad options or TLS files,
// UNAVAILABLE when the address cannot be bound. Nothing throws.
//
// Process-wide effects: Create() ignores SIGPIPE (a client closing while an
// answer is written must not kill the process) and makes libevent
// thread-aware (evthread_use_pthreads).
//
// Thread safety: Run() blocks on the calling thread until Stop(); Stop() may
// be called from any thread (a signal-watching one), before or during Run().
// On Stop() the server stops accepting, closes connections with no request
// in progress, finishes the requests in progress (answering them with
// "Connection: close", for at most write_timeout_ms more) and Run() returns.
// Destroy the server only after Run() has returned (or if it never ran).
#ifndef ADAPTERS_CDS_HOOKS_HTTP_SERVER_H_
#define ADAPTERS_CDS_HOOKS_HTTP_SERVER_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "adapters/cds_hooks/cds_service.h"
#include "adapters/common/client_tls_options.h"

namespace needlecheck::cds_hooks {

struct HttpServerOptions {
  // Address to bind; port 0 picks a free port. Default 127.0.0.1:8080.
  std::string host = "127.0.0.1";
  int port = 8080;
  // PEM certificate chain and private key; both set: HTTPS.
  std::string tls_cert_file;
  std::string tls_key_file;
  // Worker threads running CdsHooksService::HandleAsync(). Default 16.
  int threads = 16;
  // Largest request body read; larger ones get 413 (with a JSON body).
  // Default 16 MiB.
  size_t max_body_bytes = size_t{16} << 20;
  // Largest request head (request line + headers); larger: 431. Default
  // 32 KiB.
  size_t max_header_bytes = size_t{32} << 10;
  // Open connections in all. Default 1024.
  int max_connections = 1024;
  // Open connections from one peer IP address. Default 256 (an EHR's
  // connection pool usually comes from one address).
  int max_connections_per_client = 256;
  // Deadline for a request's head, milliseconds. Default 5000.
  int header_timeout_ms = 5000;
  // Deadline for a request's body after its head, milliseconds. Default
  // 10000.
  int body_timeout_ms = 10000;
  // How long a keep-alive connection may wait for its next request,
  // milliseconds. Default 5000.
  int idle_timeout_ms = 5000;
  // Deadline for writing an answer, milliseconds. Default 10000.
  int write_timeout_ms = 10000;
};

class HttpServer {
 public:
  // Binds (INVALID_ARGUMENT for bad options or TLS files, UNAVAILABLE when
  // the address cannot be bound) and starts the worker threads. `service`
  // must outlive the server.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Create(
      const HttpServerOptions& options, CdsHooksService* service);
  virtual ~HttpServer() = default;

  // The bound port.
  virtual int port() const = 0;
  // Serves until Stop(). False when the event loop failed.
  virtual bool Run() = 0;
  virtual void Stop() = 0;
};

// True for 127.0.0.0/8, ::1 and "localhost"
// (adapters/common/client_tls_options.h).
using ::needlecheck::grpc_client::IsLoopbackHost;

}  // namespace needlecheck::cds_hooks

#endif  // ADAPTERS_CDS_HOOKS_HTTP_SERVER_H_
