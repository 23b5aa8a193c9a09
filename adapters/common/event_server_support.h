// What the libevent-based servers of the adapters share (the CDS Hooks HTTP
// server and the MLLP server of needlecheck-hl7): binding a listening
// socket, the peer's printable address, the server-side OpenSSL context with
// the project's TLS policy, owning pointers for libevent and OpenSSL
// objects, and the process-wide set-up both need.
//
// TLS policy (NewServerTlsContext): OpenSSL 3, TLS 1.2 and 1.3 only; the
// TLS 1.2 suites are ECDHE with AES-GCM or ChaCha20-Poly1305 only (no
// static-RSA key exchange, no CBC), TLS 1.3 suites OpenSSL's defaults;
// renegotiation and compression off. With a client CA file the server asks
// every client for a certificate, refuses the handshake without one or with
// one that CA did not sign (mutual TLS).
//
// Errors: ListenSocket() returns UNAVAILABLE when the address cannot be
// resolved or bound; NewServerTlsContext() INVALID_ARGUMENT when a PEM file
// cannot be loaded, INTERNAL when OpenSSL fails otherwise. Addresses
// ("HOST:PORT") and ports of sockets: common/net/host_port.h.
// Everything here is thread-safe (PrepareProcessForEventServers() runs its
// work once).
#ifndef ADAPTERS_COMMON_EVENT_SERVER_SUPPORT_H_
#define ADAPTERS_COMMON_EVENT_SERVER_SUPPORT_H_

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace needlecheck::event_server {

struct EventBaseDeleter {
  void operator()(event_base* b) const { event_base_free(b); }
};
struct EventDeleter {
  void operator()(event* e) const { event_free(e); }
};
struct ListenerDeleter {
  void operator()(evconnlistener* l) const { evconnlistener_free(l); }
};
struct SslCtxDeleter {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
using EventBasePtr = std::unique_ptr<event_base, EventBaseDeleter>;
using EventPtr = std::unique_ptr<event, EventDeleter>;
using ListenerPtr = std::unique_ptr<evconnlistener, ListenerDeleter>;
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxDeleter>;

// Ignores SIGPIPE (a peer closing while an answer is written must not kill
// the process) and makes libevent thread-aware (evthread_use_pthreads).
// Once per process; call before creating an event base.
void PrepareProcessForEventServers();

// A non-blocking, close-on-exec listening socket bound to host:port (port 0:
// any free port), with SO_REUSEADDR and a backlog of 1024.
absl::StatusOr<evutil_socket_t> ListenSocket(const std::string& host, int port);

// The IP address of an AF_INET/AF_INET6 peer in text (an IPv4-mapped IPv6
// address as IPv4); "" for other families.
std::string PeerAddress(const sockaddr* sa);

timeval Millis(int ms);
timeval ToTimeval(absl::Duration d);

// A server SSL_CTX with the policy above. `client_ca_file` empty: no client
// certificate asked; else mutual TLS against that CA.
absl::StatusOr<SslCtxPtr> NewServerTlsContext(
    const std::string& cert_file, const std::string& key_file,
    const std::string& client_ca_file = "");

// A bufferevent for an accepted socket, with TCP_NODELAY: server-side TLS
// (handshake pending, a peer's dirty shutdown read as EOF) when `tls` is
// set, plain otherwise. It owns the socket (and the SSL): freeing it closes
// them. nullptr (and `fd` closed) when libevent or OpenSSL fails.
bufferevent* NewServerBufferevent(event_base* base, evutil_socket_t fd,
                                  SSL_CTX* tls);

// The subject of the peer's verified certificate in one line (RFC 2253), ""
// when it sent none.
std::string PeerCertificateSubject(const SSL* ssl);

}  // namespace needlecheck::event_server

#endif  // ADAPTERS_COMMON_EVENT_SERVER_SUPPORT_H_
