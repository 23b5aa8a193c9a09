#include "adapters/cds_hooks/http_server.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "adapters/cds_hooks/http_request_parser.h"
#include "adapters/common/event_server_support.h"
#include "adapters/common/loop_worker_pool.h"
#include "common/net/host_port.h"

namespace needlecheck::cds_hooks {

namespace {

using event_server::EventBasePtr;
using event_server::EventPtr;
using event_server::ListenerPtr;
using event_server::Millis;
using event_server::PeerAddress;
using event_server::SslCtxPtr;

// After an error answer the connection reads (and drops) what the client
// still sends for this long, or this many bytes, before closing, so the
// client reads the answer instead of a reset.
constexpr int kLingerMs = 2000;
constexpr size_t kLingerBytes = size_t{1} << 20;
// Refused connections draining their request at once, at most.
constexpr int kMaxRefusedLingering = 256;

const char* Reason(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Content";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Status";
  }
}

// The FHIR IssueType code for an error the server produces itself.
const char* IssueCode(int status) {
  switch (status) {
    case 408:
      return "timeout";
    case 413:
    case 431:
      return "too-long";
    case 501:
    case 505:
      return "not-supported";
    case 503:
      return "throttled";
    case 500:
      return "exception";
    default:
      return "invalid";
  }
}

bool HasLineBreak(const std::string& s) {
  return s.find_first_of("\r\n") != std::string::npos;
}

// Status line and headers; `*with_body` says whether a body follows.
std::string ResponseHead(const HttpResponse& r, bool head_request, bool close,
                         bool http11, int idle_timeout_ms, bool* with_body) {
  std::string out =
      absl::StrCat("HTTP/1.1 ", r.status, " ", Reason(r.status), "\r\n");
  for (const auto& [name, value] : r.headers) {
    // Our own headers never hold line breaks; refuse to split a response.
    if (name.empty() || HasLineBreak(name) || HasLineBreak(value)) continue;
    absl::StrAppend(&out, name, ": ", value, "\r\n");
  }
  const bool bodyless = r.status < 200 || r.status == 204 || r.status == 304;
  if (!bodyless) {
    if (!r.content_type.empty() && !HasLineBreak(r.content_type)) {
      absl::StrAppend(&out, "Content-Type: ", r.content_type, "\r\n");
    }
    absl::StrAppend(&out, "Content-Length: ", r.body.size(), "\r\n");
  }
  if (close) {
    out.append("Connection: close\r\n");
  } else {
    if (!http11) out.append("Connection: keep-alive\r\n");
    if (idle_timeout_ms >= 1000) {
      absl::StrAppend(&out, "Keep-Alive: timeout=", idle_timeout_ms / 1000,
                      "\r\n");
    }
  }
  out.append("\r\n");
  *with_body = !bodyless && !head_request;
  return out;
}

class EventHttpServer : public HttpServer {
 public:
  EventHttpServer(const HttpServerOptions& options, CdsHooksService* service)
      : options_(options),
        service_(service),
        limits_{options.max_header_bytes, 100, options.max_body_bytes} {}
  ~EventHttpServer() override;

  absl::Status Init();
  int port() const override { return port_; }
  bool Run() override;
  void Stop() override;

 private:
  enum class Phase {
    kWaiting,    // no byte of the next request yet (evictable)
    kReading,    // part of a request read
    kHandling,   // the request is with a worker
    kWriting,    // the answer is being written
    kLingering,  // after an error answer: dropping input until close
  };

  struct Connection {
    Connection(EventHttpServer* s, uint64_t i, std::string address,
               const HttpParserLimits& limits)
        : server(s), id(i), ip(std::move(address)), parser(limits) {}
    EventHttpServer* const server;
    const uint64_t id;
    const std::string ip;
    bufferevent* bev = nullptr;
    EventPtr timer;
    HttpRequestParser parser;
    Phase phase = Phase::kWaiting;
    bool head_deadline_armed = false;
    bool close_after_write = false;
    bool linger_after_write = false;
    bool http11 = true;
    bool head_request = false;
    size_t lingered = 0;
    std::list<Connection*>::iterator idle_pos;
  };

  struct Job {
    uint64_t connection;
    HttpRequest request;
  };
  struct Answer {
    uint64_t connection;
    HttpResponse response;
  };

  static void OnAccept(evconnlistener*, evutil_socket_t fd, sockaddr* sa, int,
                       void* self);
  static void OnAcceptError(evconnlistener*, void* self);
  static void OnResumeAccept(evutil_socket_t, short, void* self);
  static void OnRead(bufferevent*, void* c);
  static void OnWrite(bufferevent*, void* c);
  static void OnEvent(bufferevent*, short what, void* c);
  static void OnTimer(evutil_socket_t, short, void* c);
  static void OnStop(evutil_socket_t, short, void* self);
  static void OnDrainDeadline(evutil_socket_t, short, void* self);
  static void OnRefusedReadable(evutil_socket_t fd, short what, void* self);

  // Makes room for a connection from `ip`; false when it must be refused.
  bool Admit(const std::string& ip);
  bool EvictIdle(const std::string* ip);
  void Refuse(evutil_socket_t fd, const char* reason);
  void Accept(evutil_socket_t fd, const std::string& ip);
  void Process(Connection* c);
  void Dispatch(Connection* c);
  void Reply(Connection* c, const HttpResponse& response, bool close);
  void ReplyError(Connection* c, int status, const std::string& problem);
  void AfterWrite(Connection* c);
  void Wait(Connection* c);
  void LeaveWaiting(Connection* c);
  void Arm(Connection* c, int ms);
  void Close(Connection* c);
  void BeginStop();
  // Pool thread: CdsHooksService::HandleAsync(); its answer is Post()ed
  // to the loop when ready (a hook call's by the gRPC thread that receives
  // needlecheckd's answer), so the result of the job itself is empty.
  std::optional<Answer> Handle(Job& job);
  // Loop thread: writes the answer.
  void Deliver(std::optional<Answer>& answer);

  const HttpServerOptions options_;
  CdsHooksService* const service_;
  const HttpParserLimits limits_;
  int port_ = 0;

  // Loop-thread state.
  EventBasePtr base_;
  SslCtxPtr tls_;
  ListenerPtr listener_;
  EventPtr stop_event_;
  EventPtr resume_accept_;
  EventPtr drain_deadline_;
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> connections_;
  std::unordered_map<std::string, int> per_client_;
  std::list<Connection*> waiting_;  // kWaiting, longest waiting first
  uint64_t next_id_ = 1;
  bool stopping_ = false;
  int64_t refused_ = 0;
  int refused_lingering_ = 0;  // refused sockets still draining

  std::unique_ptr<event_server::LoopWorkerPool<Job, std::optional<Answer>>>
      workers_;
  // Requests handed to the service and not answered yet: the server is not
  // destroyed before every reply has been posted.
  absl::Mutex replies_mu_;
  int replies_pending_ ABSL_GUARDED_BY(replies_mu_) = 0;
};

absl::Status EventHttpServer::Init() {
  const bool tls =
      !options_.tls_cert_file.empty() || !options_.tls_key_file.empty();
  if (tls) {
    if (options_.tls_cert_file.empty() || options_.tls_key_file.empty()) {
      return absl::InvalidArgumentError(
          "TLS needs both a certificate and a key file");
    }
    auto ctx = event_server::NewServerTlsContext(options_.tls_cert_file,
                                                 options_.tls_key_file);
    if (!ctx.ok()) return ctx.status();
    tls_ = std::move(ctx).value();
  }
  base_.reset(event_base_new());
  if (base_ == nullptr) return absl::InternalError("event_base_new failed");
  absl::StatusOr<evutil_socket_t> fd =
      event_server::ListenSocket(options_.host, options_.port);
  if (!fd.ok()) return fd.status();
  listener_.reset(evconnlistener_new(
      base_.get(), &OnAccept, this,
      LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, *fd));
  if (listener_ == nullptr) {
    close(*fd);
    return absl::InternalError("evconnlistener_new failed");
  }
  evconnlistener_set_error_cb(listener_.get(), &OnAcceptError);
  port_ = net::BoundPort(*fd);
  stop_event_.reset(event_new(base_.get(), -1, 0, &OnStop, this));
  resume_accept_.reset(evtimer_new(base_.get(), &OnResumeAccept, this));
  drain_deadline_.reset(evtimer_new(base_.get(), &OnDrainDeadline, this));
  if (!stop_event_ || !resume_accept_ || !drain_deadline_) {
    return absl::InternalError("event_new failed");
  }
  const int threads = options_.threads > 0 ? options_.threads : 1;
  workers_ = std::make_unique<
      event_server::LoopWorkerPool<Job, std::optional<Answer>>>(
      base_.get(), threads, [this](Job& job) { return Handle(job); },
      [this](std::optional<Answer>& answer) { Deliver(answer); });
  return absl::OkStatus();
}

EventHttpServer::~EventHttpServer() {
  if (workers_ != nullptr) workers_->Stop();
  {
    // Answers still on their way (each within the service's hook deadline)
    // post to the pool, so it must outlive them.
    absl::MutexLock lock(&replies_mu_);
    replies_mu_.Await(absl::Condition(
        +[](int* pending) { return *pending == 0; }, &replies_pending_));
  }
  // Run() has returned (or never ran): free what the loop still holds.
  while (!connections_.empty()) Close(connections_.begin()->second.get());
}

bool EventHttpServer::Run() { return event_base_dispatch(base_.get()) >= 0; }

void EventHttpServer::Stop() {
  // Thread-safe (evthread_use_pthreads): OnStop runs on the loop thread,
  // also when Run() starts later.
  event_active(stop_event_.get(), EV_READ, 0);
}

void EventHttpServer::OnStop(evutil_socket_t, short, void* self) {
  static_cast<EventHttpServer*>(self)->BeginStop();
}

void EventHttpServer::BeginStop() {
  if (stopping_) return;
  stopping_ = true;
  listener_.reset();
  event_del(resume_accept_.get());
  std::vector<Connection*> idle;
  for (auto& [id, c] : connections_) {
    if (c->phase != Phase::kHandling && c->phase != Phase::kWriting) {
      idle.push_back(c.get());
    }
  }
  for (Connection* c : idle) Close(c);
  if (connections_.empty()) {
    event_base_loopbreak(base_.get());
    return;
  }
  const timeval tv = Millis(options_.write_timeout_ms);
  evtimer_add(drain_deadline_.get(), &tv);
}

void EventHttpServer::OnDrainDeadline(evutil_socket_t, short, void* self) {
  event_base_loopbreak(static_cast<EventHttpServer*>(self)->base_.get());
}

std::optional<EventHttpServer::Answer> EventHttpServer::Handle(Job& job) {
  {
    absl::MutexLock lock(&replies_mu_);
    ++replies_pending_;
  }
  const uint64_t connection = job.connection;
  service_->HandleAsync(job.request, [this, connection](HttpResponse r) {
    workers_->Post(Answer{connection, std::move(r)});
    absl::MutexLock lock(&replies_mu_);
    --replies_pending_;
  });
  return std::nullopt;
}

void EventHttpServer::Deliver(std::optional<Answer>& answer) {
  if (!answer.has_value()) return;  // posted later by the reply
  auto it = connections_.find(answer->connection);
  if (it == connections_.end()) return;  // closed meanwhile
  Connection* c = it->second.get();
  if (c->phase != Phase::kHandling) return;
  Reply(c, answer->response, !c->parser.keep_alive());
}

void EventHttpServer::OnAccept(evconnlistener*, evutil_socket_t fd,
                               sockaddr* sa, int, void* self) {
  auto* s = static_cast<EventHttpServer*>(self);
  const std::string ip = PeerAddress(sa);
  if (s->stopping_) {
    close(fd);
  } else if (!s->Admit(ip)) {
    s->Refuse(fd, static_cast<int>(s->connections_.size()) >=
                          s->options_.max_connections
                      ? "max_connections"
                      : "max_connections_per_client");
  } else {
    s->Accept(fd, ip);
  }
}

void EventHttpServer::OnAcceptError(evconnlistener*, void* self) {
  // Out of file descriptors (or similar): pause accepting instead of
  // spinning on the pending connection.
  auto* s = static_cast<EventHttpServer*>(self);
  std::fprintf(stderr, "event=http_accept_error errno=%d\n",
               EVUTIL_SOCKET_ERROR());
  if (s->listener_ == nullptr) return;
  evconnlistener_disable(s->listener_.get());
  const timeval tv = Millis(100);
  evtimer_add(s->resume_accept_.get(), &tv);
}

void EventHttpServer::OnResumeAccept(evutil_socket_t, short, void* self) {
  auto* s = static_cast<EventHttpServer*>(self);
  if (s->listener_ != nullptr) evconnlistener_enable(s->listener_.get());
}

bool EventHttpServer::Admit(const std::string& ip) {
  auto it = per_client_.find(ip);
  if (it != per_client_.end() &&
      it->second >= options_.max_connections_per_client && !EvictIdle(&ip)) {
    return false;
  }
  if (static_cast<int>(connections_.size()) >= options_.max_connections &&
      !EvictIdle(nullptr)) {
    return false;
  }
  return true;
}

bool EventHttpServer::EvictIdle(const std::string* ip) {
  for (Connection* c : waiting_) {
    if (ip == nullptr || c->ip == *ip) {
      Close(c);
      return true;
    }
  }
  return false;
}

void EventHttpServer::Refuse(evutil_socket_t fd, const char* reason) {
  if (refused_++ % 1000 == 0) {
    std::fprintf(stderr, "event=http_refused reason=%s refused_total=%lld\n",
                 reason, static_cast<long long>(refused_));
  }
  if (tls_ == nullptr) {
    const HttpResponse r = ErrorResponse(
        503, "throttled", "too many connections; try again shortly");
    HttpResponse with_retry = r;
    with_retry.headers.emplace_back("Retry-After", "1");
    bool with_body = false;
    const std::string text =
        ResponseHead(with_retry, false, true, true, 0, &with_body) + r.body;
    // The socket is fresh, so its send buffer takes the whole answer.
    if (send(fd, text.data(), text.size(), MSG_NOSIGNAL | MSG_DONTWAIT) > 0 &&
        refused_lingering_ < kMaxRefusedLingering) {
      // Half-close and drop the request the client may be sending, so that
      // it reads the 503 rather than a reset.
      shutdown(fd, SHUT_WR);
      const timeval tv = Millis(kLingerMs);
      if (event_base_once(base_.get(), fd, EV_READ, &OnRefusedReadable, this,
                          &tv) == 0) {
        ++refused_lingering_;
        return;
      }
    }
  }
  close(fd);
}

void EventHttpServer::OnRefusedReadable(evutil_socket_t fd, short what,
                                        void* self) {
  auto* s = static_cast<EventHttpServer*>(self);
  char sink[4096];
  ssize_t n = 0;
  size_t total = 0;
  while (total < kLingerBytes &&
         (n = recv(fd, sink, sizeof(sink), MSG_DONTWAIT)) > 0) {
    total += static_cast<size_t>(n);
  }
  const bool more = (what & EV_READ) && n < 0 && errno == EAGAIN &&
                    total < kLingerBytes && !s->stopping_;
  const timeval tv = Millis(kLingerMs);
  if (more && event_base_once(s->base_.get(), fd, EV_READ, &OnRefusedReadable,
                              s, &tv) == 0) {
    return;
  }
  close(fd);
  --s->refused_lingering_;
}

void EventHttpServer::Accept(evutil_socket_t fd, const std::string& ip) {
  bufferevent* bev =
      event_server::NewServerBufferevent(base_.get(), fd, tls_.get());
  if (bev == nullptr) return;
  const uint64_t id = next_id_++;
  auto owned = std::make_unique<Connection>(this, id, ip, limits_);
  Connection* c = owned.get();
  c->bev = bev;
  c->timer.reset(evtimer_new(base_.get(), &OnTimer, c));
  connections_.emplace(id, std::move(owned));
  ++per_client_[ip];
  bufferevent_setcb(bev, &OnRead, &OnWrite, &OnEvent, c);
  bufferevent_enable(bev, EV_READ | EV_WRITE);
  // The first request's head deadline runs from the accept (it covers the
  // TLS handshake too).
  Wait(c);
  Arm(c, options_.header_timeout_ms);
  c->head_deadline_armed = true;
}

void EventHttpServer::Wait(Connection* c) {
  c->phase = Phase::kWaiting;
  c->idle_pos = waiting_.insert(waiting_.end(), c);
}

void EventHttpServer::LeaveWaiting(Connection* c) {
  if (c->phase == Phase::kWaiting) waiting_.erase(c->idle_pos);
}

void EventHttpServer::Arm(Connection* c, int ms) {
  const timeval tv = Millis(ms);
  evtimer_add(c->timer.get(), &tv);
}

void EventHttpServer::Close(Connection* c) {
  LeaveWaiting(c);
  auto client = per_client_.find(c->ip);
  if (client != per_client_.end() && --client->second <= 0) {
    per_client_.erase(client);
  }
  bufferevent_free(c->bev);   // closes the socket (and frees the SSL)
  connections_.erase(c->id);  // frees c and its timer
  if (stopping_ && connections_.empty()) event_base_loopbreak(base_.get());
}

void EventHttpServer::OnRead(bufferevent*, void* arg) {
  auto* c = static_cast<Connection*>(arg);
  c->server->Process(c);
}

void EventHttpServer::Process(Connection* c) {
  evbuffer* in = bufferevent_get_input(c->bev);
  if (c->phase == Phase::kLingering) {
    c->lingered += evbuffer_get_length(in);
    evbuffer_drain(in, evbuffer_get_length(in));
    if (c->lingered > kLingerBytes) Close(c);
    return;
  }
  while (c->phase == Phase::kWaiting || c->phase == Phase::kReading) {
    const size_t available = evbuffer_get_length(in);
    if (available == 0) return;
    if (c->phase == Phase::kWaiting) {
      LeaveWaiting(c);
      c->phase = Phase::kReading;
      if (!c->head_deadline_armed) {
        Arm(c, options_.header_timeout_ms);
        c->head_deadline_armed = true;
      }
    }
    const bool had_head = c->parser.head_complete();
    size_t n = static_cast<size_t>(evbuffer_get_contiguous_space(in));
    // An empty first chain: make a piece contiguous.
    if (n == 0) n = std::min<size_t>(available, 16384);
    const char* data = reinterpret_cast<const char*>(
        evbuffer_pullup(in, static_cast<ev_ssize_t>(n)));
    const size_t used = c->parser.Feed(absl::string_view(data, n));
    evbuffer_drain(in, used);
    HttpRequestParser& p = c->parser;
    if (p.state() == HttpRequestParser::State::kError) {
      ReplyError(c, p.error_status(), p.error_message());
      return;
    }
    if (!had_head && p.head_complete()) {
      if (p.state() == HttpRequestParser::State::kNeedMore) {
        Arm(c, options_.body_timeout_ms);
        if (p.expects_continue() && evbuffer_get_length(in) == 0) {
          bufferevent_write(c->bev, "HTTP/1.1 100 Continue\r\n\r\n", 25);
        }
      }
    }
    if (p.state() == HttpRequestParser::State::kComplete) {
      Dispatch(c);
      return;
    }
  }
}

void EventHttpServer::Dispatch(Connection* c) {
  c->phase = Phase::kHandling;
  evtimer_del(c->timer.get());
  // Pipelined bytes wait in the buffer until this request is answered.
  bufferevent_disable(c->bev, EV_READ);
  ParsedHttpRequest& parsed = c->parser.request();
  c->http11 = parsed.http11;
  c->head_request = parsed.method == "HEAD";
  Job job{c->id, {}};
  job.request.method = std::move(parsed.method);
  job.request.path = std::move(parsed.path);
  job.request.headers = std::move(parsed.headers);
  job.request.body = std::move(parsed.body);
  workers_->Submit(std::move(job));
}

void EventHttpServer::Reply(Connection* c, const HttpResponse& response,
                            bool close) {
  close = close || stopping_;
  bool with_body = false;
  const std::string head =
      ResponseHead(response, c->head_request, close, c->http11,
                   options_.idle_timeout_ms, &with_body);
  bufferevent_write(c->bev, head.data(), head.size());
  if (with_body) {
    bufferevent_write(c->bev, response.body.data(), response.body.size());
  }
  LeaveWaiting(c);
  c->phase = Phase::kWriting;
  c->close_after_write = close;
  bufferevent_disable(c->bev, EV_READ);
  Arm(c, options_.write_timeout_ms);
}

void EventHttpServer::ReplyError(Connection* c, int status,
                                 const std::string& problem) {
  HttpResponse r = ErrorResponse(status, IssueCode(status), problem);
  if (status == 503) r.headers.emplace_back("Retry-After", "1");
  c->linger_after_write = true;
  Reply(c, r, /*close=*/true);
}

void EventHttpServer::OnWrite(bufferevent*, void* arg) {
  auto* c = static_cast<Connection*>(arg);
  // Also called after a "100 Continue"; only a written answer matters.
  if (c->phase == Phase::kWriting) c->server->AfterWrite(c);
}

void EventHttpServer::AfterWrite(Connection* c) {
  if (c->close_after_write || stopping_) {
    if (!c->linger_after_write || stopping_) {
      Close(c);
      return;
    }
    // Half-close, then drop what the client still sends until it closes
    // too (or the linger time or byte budget ends).
    c->phase = Phase::kLingering;
    shutdown(bufferevent_getfd(c->bev), SHUT_WR);
    evbuffer_drain(bufferevent_get_input(c->bev),
                   evbuffer_get_length(bufferevent_get_input(c->bev)));
    bufferevent_enable(c->bev, EV_READ);
    Arm(c, kLingerMs);
    return;
  }
  c->parser.Reset();
  c->head_deadline_armed = false;
  c->head_request = false;
  Wait(c);
  Arm(c, options_.idle_timeout_ms);
  bufferevent_enable(c->bev, EV_READ);
  Process(c);  // a pipelined request may be buffered already
}

void EventHttpServer::OnEvent(bufferevent*, short what, void* arg) {
  auto* c = static_cast<Connection*>(arg);
  if (what & BEV_EVENT_CONNECTED) return;  // TLS handshake done
  // EOF, a socket or TLS error: nothing more can be read or written.
  c->server->Close(c);
}

void EventHttpServer::OnTimer(evutil_socket_t, short, void* arg) {
  auto* c = static_cast<Connection*>(arg);
  EventHttpServer* s = c->server;
  switch (c->phase) {
    case Phase::kReading:
      if (c->parser.head_complete()) {
        s->ReplyError(c, 408,
                      absl::StrCat("request body not received within ",
                                   s->options_.body_timeout_ms, " ms"));
      } else {
        s->ReplyError(c, 408,
                      absl::StrCat("request header not received within ",
                                   s->options_.header_timeout_ms, " ms"));
      }
      return;
    case Phase::kHandling:
      return;                // no deadline here: Handle() has its own
    case Phase::kWaiting:    // idle keep-alive (or a silent new connection)
    case Phase::kWriting:    // the client does not read its answer
    case Phase::kLingering:  // linger time over
      s->Close(c);
      return;
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Create(
    const HttpServerOptions& options, CdsHooksService* service) {
  if (options.max_connections < 1 || options.max_connections_per_client < 1 ||
      options.header_timeout_ms < 1 || options.body_timeout_ms < 1 ||
      options.idle_timeout_ms < 1 || options.write_timeout_ms < 1 ||
      options.max_body_bytes < 1 || options.max_header_bytes < 64) {
    return absl::InvalidArgumentError(
        "HTTP limits and timeouts must be positive (max_header_bytes >= 64)");
  }
  event_server::PrepareProcessForEventServers();
  auto server = std::make_unique<EventHttpServer>(options, service);
  if (absl::Status s = server->Init(); !s.ok()) return s;
  return std::unique_ptr<HttpServer>(std::move(server));
}

}  // namespace needlecheck::cds_hooks
