#include "common/metrics/http_endpoint.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <signal.h>
#include <sys/socket.h>

#include <cstring>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/net/host_port.h"

namespace needlecheck::metrics {
namespace {

constexpr int kTimeoutSeconds = 10;
constexpr ev_ssize_t kMaxHeaderBytes = 8 << 10;

struct EventBaseDeleter {
  void operator()(event_base* p) const { event_base_free(p); }
};
struct EvhttpDeleter {
  void operator()(evhttp* p) const { evhttp_free(p); }
};

class Endpoint final : public MetricsHttpEndpoint {
 public:
  Endpoint(const Registry* registry,
           std::unique_ptr<event_base, EventBaseDeleter> base,
           std::unique_ptr<evhttp, EvhttpDeleter> http)
      : registry_(registry), base_(std::move(base)), http_(std::move(http)) {}

  ~Endpoint() override {
    if (thread_.joinable()) {
      event_base_loopbreak(base_.get());
      thread_.join();
    }
    http_.reset();  // before the base it uses
  }

  absl::Status Bind(const std::string& listen_address) {
    std::string host;
    int port = 0;
    if (!net::SplitHostPort(listen_address, &host, &port).ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "metrics address \"", listen_address, "\" is not HOST:PORT"));
    }
    evhttp_bound_socket* bound = evhttp_bind_socket_with_handle(
        http_.get(), host.c_str(), static_cast<ev_uint16_t>(port));
    if (bound == nullptr) {
      return absl::UnavailableError(absl::StrCat(
          "cannot listen on \"", listen_address, "\" for metrics"));
    }
    port_ = net::BoundPort(evhttp_bound_socket_get_fd(bound));
    const bool v6 = host.find(':') != std::string::npos;
    address_ = absl::StrCat(v6 ? "[" : "", host, v6 ? "]" : "", ":", port_);
    evhttp_set_gencb(http_.get(), &Endpoint::OnRequest, this);
    return absl::OkStatus();
  }

  void Run() {
    thread_ = std::thread([this] { event_base_dispatch(base_.get()); });
  }

  int port() const override { return port_; }
  const std::string& address() const override { return address_; }

 private:
  static void OnRequest(evhttp_request* request, void* arg) {
    static_cast<Endpoint*>(arg)->Answer(request);
  }

  void Answer(evhttp_request* request) {
    const char* path =
        evhttp_uri_get_path(evhttp_request_get_evhttp_uri(request));
    evkeyvalq* headers = evhttp_request_get_output_headers(request);
    evhttp_add_header(headers, "Cache-Control", "no-store");
    if (path == nullptr || std::strcmp(path, "/metrics") != 0) {
      evhttp_add_header(headers, "Content-Type", "text/plain; charset=utf-8");
      evbuffer* body = evbuffer_new();
      evbuffer_add_printf(body, "not found: the metrics are at /metrics\n");
      evhttp_send_reply(request, HTTP_NOTFOUND, "Not Found", body);
      evbuffer_free(body);
      return;
    }
    const std::string text = registry_->Render();
    evhttp_add_header(headers, "Content-Type", kTextFormatContentType);
    evbuffer* body = evbuffer_new();
    evbuffer_add(body, text.data(), text.size());
    evhttp_send_reply(request, HTTP_OK, "OK", body);
    evbuffer_free(body);
  }

  const Registry* const registry_;
  std::unique_ptr<event_base, EventBaseDeleter> base_;
  std::unique_ptr<evhttp, EvhttpDeleter> http_;
  std::thread thread_;
  int port_ = 0;
  std::string address_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsHttpEndpoint>>
MetricsHttpEndpoint::StartIfListed(const std::string& listen_address,
                                   const Registry* registry) {
  if (listen_address.empty()) return nullptr;
  return Start(listen_address, registry);
}

absl::StatusOr<std::unique_ptr<MetricsHttpEndpoint>> MetricsHttpEndpoint::Start(
    const std::string& listen_address, const Registry* registry) {
  signal(SIGPIPE, SIG_IGN);
  evthread_use_pthreads();
  std::unique_ptr<event_base, EventBaseDeleter> base(event_base_new());
  if (base == nullptr) {
    return absl::InternalError("libevent could not create an event base");
  }
  std::unique_ptr<evhttp, EvhttpDeleter> http(evhttp_new(base.get()));
  if (http == nullptr) {
    return absl::InternalError("libevent could not create an HTTP server");
  }
  evhttp_set_allowed_methods(http.get(), EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
  evhttp_set_max_headers_size(http.get(), kMaxHeaderBytes);
  evhttp_set_max_body_size(http.get(), 0);
  evhttp_set_timeout(http.get(), kTimeoutSeconds);
  auto endpoint =
      std::make_unique<Endpoint>(registry, std::move(base), std::move(http));
  if (absl::Status s = endpoint->Bind(listen_address); !s.ok()) return s;
  endpoint->Run();
  return endpoint;
}

}  // namespace needlecheck::metrics
