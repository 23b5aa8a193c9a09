#include "adapters/cds_hooks/http_server.h"

#include <arpa/inet.h>

#include <exception>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "httplib.h"

namespace needlecheck::cds_hooks {

namespace {

void Send(const HttpResponse& from, httplib::Response* to) {
  to->status = from.status;
  for (const auto& [name, value] : from.headers) to->set_header(name, value);
  if (!from.content_type.empty()) {
    to->set_content(from.body, from.content_type.c_str());
  }
}

class HttplibServer : public HttpServer {
 public:
  HttplibServer(std::unique_ptr<httplib::Server> server, int port)
      : server_(std::move(server)), port_(port) {}
  ~HttplibServer() override { server_->stop(); }

  int port() const override { return port_; }
  bool Run() override { return server_->listen_after_bind(); }
  void Stop() override { server_->stop(); }

 private:
  std::unique_ptr<httplib::Server> server_;
  const int port_;
};

}  // namespace

bool IsLoopbackHost(const std::string& host) {
  if (absl::EqualsIgnoreCase(host, "localhost")) return true;
  in_addr v4;
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    return IN6_IS_ADDR_LOOPBACK(&v6);
  }
  return false;
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Create(
    const HttpServerOptions& options, CdsHooksService* service) {
  try {
    std::unique_ptr<httplib::Server> server;
    const bool tls =
        !options.tls_cert_file.empty() || !options.tls_key_file.empty();
    if (tls) {
      if (options.tls_cert_file.empty() || options.tls_key_file.empty()) {
        return absl::InvalidArgumentError(
            "TLS needs both a certificate and a key file");
      }
      server = std::make_unique<httplib::SSLServer>(
          options.tls_cert_file.c_str(), options.tls_key_file.c_str());
      if (!server->is_valid()) {
        return absl::InvalidArgumentError(
            "cannot load the TLS certificate or key (PEM expected)");
      }
    } else {
      server = std::make_unique<httplib::Server>();
    }
    const int threads = options.threads > 0 ? options.threads : 1;
    // cpp-httplib owns (and deletes) the queue it is given.
    server->new_task_queue = [threads] {
      return new httplib::ThreadPool(static_cast<size_t>(threads));
    };
    server->set_payload_max_length(options.max_body_bytes);
    server->set_read_timeout(options.io_timeout_seconds, 0);
    server->set_write_timeout(options.io_timeout_seconds, 0);
    server->set_keep_alive_max_count(1000);
    server->set_tcp_nodelay(true);

    auto handler = [service](const httplib::Request& req,
                             httplib::Response& res) {
      HttpRequest request;
      request.method = req.method;
      request.path = req.path;
      for (const auto& [name, value] : req.headers) {
        request.headers.emplace(absl::AsciiStrToLower(name), value);
      }
      request.body = req.body;
      Send(service->Handle(request), &res);
    };
    server->Get(".*", handler);
    server->Post(".*", handler);
    server->Put(".*", handler);
    server->Patch(".*", handler);
    server->Delete(".*", handler);
    server->Options(".*", handler);
    // Errors cpp-httplib produces itself (413 for a body over the limit,
    // 400 for a malformed request line): give them a JSON body too.
    server->set_error_handler(
        [](const httplib::Request&, httplib::Response& res) {
          if (!res.body.empty()) return;
          const HttpResponse e = ErrorResponse(
              res.status, res.status == 413 ? "too-long" : "invalid",
              res.status == 413 ? "request body larger than the limit"
                                : "the HTTP request could not be read");
          res.set_content(e.body, "application/json");
        });
    server->set_exception_handler([](const httplib::Request&,
                                     httplib::Response& res,
                                     std::exception_ptr) {
      const HttpResponse e = ErrorResponse(500, "exception", "internal error");
      res.status = 500;
      res.set_content(e.body, "application/json");
    });

    int port = options.port;
    if (port == 0) {
      port = server->bind_to_any_port(options.host);
      if (port < 0) port = 0;
    } else if (!server->bind_to_port(options.host, port)) {
      port = 0;
    }
    if (port <= 0) {
      return absl::UnavailableError(
          absl::StrCat("cannot listen on ", options.host, ":", options.port));
    }
    return std::unique_ptr<HttpServer>(
        std::make_unique<HttplibServer>(std::move(server), port));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("HTTP server setup: ", e.what()));
  }
}

}  // namespace needlecheck::cds_hooks
