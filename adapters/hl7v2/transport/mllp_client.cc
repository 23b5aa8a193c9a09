#include "adapters/hl7v2/transport/mllp_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "adapters/common/event_server_support.h"
#include "adapters/hl7v2/mllp_framer.h"
#include "common/net/host_port.h"

namespace needlecheck::hl7v2 {

namespace {

using event_server::SslCtxPtr;

struct SslDeleter {
  void operator()(SSL* s) const { SSL_free(s); }
};

// Waits until `fd` is ready for `events` or `deadline` passes.
absl::Status WaitFd(int fd, short events, absl::Time deadline,
                    absl::string_view what) {
  for (;;) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(
          absl::StrCat("MLLP ", what, " timed out"));
    }
    pollfd p{fd, events, 0};
    const int64_t ms = absl::ToInt64Milliseconds(left) + 1;
    const int n = poll(&p, 1, ms > 1 << 30 ? 1 << 30 : static_cast<int>(ms));
    if (n > 0) return absl::OkStatus();
    if (n < 0 && errno != EINTR) {
      return absl::UnavailableError(
          absl::StrCat("MLLP ", what, ": poll ", errno));
    }
  }
}

std::string TlsErrorText() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "TLS error";
  char text[256];
  ERR_error_string_n(e, text, sizeof(text));
  return text;
}

// Connects a non-blocking socket to host:port within `deadline`.
absl::StatusOr<int> ConnectTcp(const std::string& host, int port,
                               absl::Time deadline) {
  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (getaddrinfo(host.c_str(), service.c_str(), &hints, &found) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot resolve ", host));
  }
  absl::Status last = absl::UnavailableError(
      absl::StrCat("cannot connect to ", host, ":", port));
  int fd = -1;
  for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                a->ai_protocol);
    if (fd < 0) continue;
    int rc = connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      absl::Status waited = WaitFd(fd, POLLOUT, deadline, "connect");
      int error = 0;
      socklen_t len = sizeof(error);
      if (waited.ok() &&
          getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == 0 &&
          error == 0) {
        rc = 0;
      } else if (!waited.ok()) {
        last = waited;
      }
    }
    if (rc != 0) {
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(found);
  if (fd < 0) return last;
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

absl::StatusOr<SslCtxPtr> NewClientTlsContext(const MllpClientOptions& o) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (ctx == nullptr) return absl::InternalError("SSL_CTX_new failed");
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION |
                                     SSL_OP_NO_COMPRESSION |
                                     SSL_OP_IGNORE_UNEXPECTED_EOF);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  if (SSL_CTX_load_verify_locations(ctx.get(), o.tls_ca_file.c_str(),
                                    nullptr) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError("cannot load the TLS CA file (PEM)");
  }
  if (!o.tls_cert_file.empty() &&
      (SSL_CTX_use_certificate_chain_file(ctx.get(), o.tls_cert_file.c_str()) !=
           1 ||
       SSL_CTX_use_PrivateKey_file(ctx.get(), o.tls_key_file.c_str(),
                                   SSL_FILETYPE_PEM) != 1 ||
       SSL_CTX_check_private_key(ctx.get()) != 1)) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        "cannot load the TLS client certificate or key (PEM)");
  }
  return ctx;
}

class SocketMllpClient : public MllpClient {
 public:
  SocketMllpClient(const MllpClientOptions& options, int fd)
      : options_(options), fd_(fd), deframer_(DeframerOptions(options)) {}
  ~SocketMllpClient() override {
    if (ssl_ != nullptr) SSL_shutdown(ssl_.get());  // best effort
    ssl_.reset();
    close(fd_);
  }

  absl::Status StartTls(SslCtxPtr ctx, const std::string& name,
                        absl::Time deadline);
  absl::StatusOr<std::string> Send(absl::string_view message) override;

 private:
  static MllpDeframerOptions DeframerOptions(const MllpClientOptions& o) {
    MllpDeframerOptions d;
    d.max_frame_bytes = o.max_frame_bytes;
    return d;
  }
  // Waits for what an SSL call asked for (or fails with its error).
  absl::Status WaitTls(int result, absl::Time deadline, absl::string_view what);
  absl::Status WriteAll(absl::string_view data, absl::Time deadline);
  // Bytes read (0: the server closed).
  absl::StatusOr<size_t> ReadSome(char* buf, size_t size, absl::Time deadline);
  absl::StatusOr<std::string> ReadReply(absl::Time deadline);

  const MllpClientOptions options_;
  const int fd_;
  SslCtxPtr ctx_;
  std::unique_ptr<SSL, SslDeleter> ssl_;
  MllpDeframer deframer_;
  std::deque<MllpEvent> events_;
  bool broken_ = false;
};

absl::Status SocketMllpClient::WaitTls(int result, absl::Time deadline,
                                       absl::string_view what) {
  const int error = SSL_get_error(ssl_.get(), result);
  if (error == SSL_ERROR_WANT_READ) return WaitFd(fd_, POLLIN, deadline, what);
  if (error == SSL_ERROR_WANT_WRITE) {
    return WaitFd(fd_, POLLOUT, deadline, what);
  }
  return absl::UnavailableError(
      absl::StrCat("MLLP TLS ", what, " failed: ", TlsErrorText()));
}

absl::Status SocketMllpClient::StartTls(SslCtxPtr ctx, const std::string& name,
                                        absl::Time deadline) {
  ctx_ = std::move(ctx);
  ssl_.reset(SSL_new(ctx_.get()));
  if (ssl_ == nullptr || SSL_set_fd(ssl_.get(), fd_) != 1) {
    return absl::InternalError("SSL_new failed");
  }
  in6_addr v6;
  in_addr v4;
  const bool is_ip = inet_pton(AF_INET, name.c_str(), &v4) == 1 ||
                     inet_pton(AF_INET6, name.c_str(), &v6) == 1;
  if (is_ip) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_.get()), name.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl_.get(), name.c_str());
    SSL_set1_host(ssl_.get(), name.c_str());
  }
  for (;;) {
    const int rc = SSL_connect(ssl_.get());
    if (rc == 1) return absl::OkStatus();
    if (absl::Status s = WaitTls(rc, deadline, "handshake"); !s.ok()) return s;
  }
}

absl::Status SocketMllpClient::WriteAll(absl::string_view data,
                                        absl::Time deadline) {
  while (!data.empty()) {
    if (ssl_ != nullptr) {
      size_t written = 0;
      const int rc =
          SSL_write_ex(ssl_.get(), data.data(), data.size(), &written);
      if (rc == 1) {
        data.remove_prefix(written);
        continue;
      }
      if (absl::Status s = WaitTls(0, deadline, "write"); !s.ok()) return s;
      continue;
    }
    const ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (absl::Status s = WaitFd(fd_, POLLOUT, deadline, "write"); !s.ok()) {
        return s;
      }
    } else if (n < 0 && errno != EINTR) {
      return absl::UnavailableError(
          absl::StrCat("MLLP write failed: errno ", errno));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> SocketMllpClient::ReadSome(char* buf, size_t size,
                                                  absl::Time deadline) {
  for (;;) {
    if (ssl_ != nullptr) {
      size_t got = 0;
      const int rc = SSL_read_ex(ssl_.get(), buf, size, &got);
      if (rc == 1) return got;
      const int error = SSL_get_error(ssl_.get(), rc);
      if (error == SSL_ERROR_ZERO_RETURN) return size_t{0};
      if (absl::Status s = WaitTls(rc, deadline, "read"); !s.ok()) return s;
      continue;
    }
    const ssize_t n = recv(fd_, buf, size, 0);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (absl::Status s = WaitFd(fd_, POLLIN, deadline, "reply"); !s.ok()) {
        return s;
      }
    } else if (errno != EINTR) {
      return absl::UnavailableError(
          absl::StrCat("MLLP read failed: errno ", errno));
    }
  }
}

absl::StatusOr<std::string> SocketMllpClient::ReadReply(absl::Time deadline) {
  std::vector<MllpEvent> fed;
  char buf[16384];
  while (events_.empty()) {
    absl::StatusOr<size_t> n = ReadSome(buf, sizeof(buf), deadline);
    if (!n.ok()) return n.status();
    if (*n == 0) {
      return absl::UnavailableError(
          deframer_.in_frame()
              ? "the MLLP server closed the connection inside a reply"
              : "the MLLP server closed the connection before replying");
    }
    fed.clear();
    deframer_.Feed(absl::string_view(buf, *n), &fed);
    for (MllpEvent& e : fed) {
      if (e.kind != MllpEventKind::kStrayBytes) events_.push_back(std::move(e));
    }
  }
  MllpEvent event = std::move(events_.front());
  events_.pop_front();
  switch (event.kind) {
    case MllpEventKind::kMessage:
      return std::move(event.payload);
    case MllpEventKind::kOversized:
      return absl::ResourceExhaustedError(absl::StrCat(
          "MLLP reply larger than ", options_.max_frame_bytes, " bytes"));
    default:
      return absl::DataLossError(absl::StrCat(
          "malformed MLLP reply frame (", MllpEventKindName(event.kind), ")"));
  }
}

absl::StatusOr<std::string> SocketMllpClient::Send(absl::string_view message) {
  if (broken_) {
    return absl::FailedPreconditionError(
        "an earlier MLLP send failed; connect again");
  }
  if (message.find_first_of("\x0B\x1C") != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        "an MLLP message may not contain 0x0B or 0x1C");
  }
  const absl::Time deadline = absl::Now() + options_.reply_timeout;
  absl::StatusOr<std::string> reply = [&]() -> absl::StatusOr<std::string> {
    if (absl::Status s = WriteAll(MllpFrame(message), deadline); !s.ok()) {
      return s;
    }
    return ReadReply(deadline);
  }();
  if (!reply.ok()) broken_ = true;
  return reply;
}

}  // namespace

absl::StatusOr<std::unique_ptr<MllpClient>> MllpClient::Connect(
    const std::string& host_port, const MllpClientOptions& options) {
  std::string host;
  int port = 0;
  if (absl::Status s = net::SplitHostPort(host_port, &host, &port);
      !s.ok() || port == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "MLLP address: expected HOST:PORT, got \"", host_port, "\""));
  }
  if (options.tls_ca_file.empty() &&
      (!options.tls_cert_file.empty() || !options.tls_server_name.empty())) {
    return absl::InvalidArgumentError(
        "an MLLP client certificate or server name needs a CA file");
  }
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        "an MLLP client certificate needs its key and the key its "
        "certificate");
  }
  if (options.max_frame_bytes < 1) {
    return absl::InvalidArgumentError("max_frame_bytes must be positive");
  }
  SslCtxPtr ctx;
  if (!options.tls_ca_file.empty()) {
    absl::StatusOr<SslCtxPtr> made = NewClientTlsContext(options);
    if (!made.ok()) return made.status();
    ctx = std::move(*made);
  }
  const absl::Time deadline = absl::Now() + options.connect_timeout;
  absl::StatusOr<int> fd = ConnectTcp(host, port, deadline);
  if (!fd.ok()) return fd.status();
  auto client = std::make_unique<SocketMllpClient>(options, *fd);
  if (ctx != nullptr) {
    const std::string name =
        options.tls_server_name.empty() ? host : options.tls_server_name;
    if (absl::Status s = client->StartTls(std::move(ctx), name, deadline);
        !s.ok()) {
      return s;
    }
  }
  return std::unique_ptr<MllpClient>(std::move(client));
}

}  // namespace needlecheck::hl7v2
