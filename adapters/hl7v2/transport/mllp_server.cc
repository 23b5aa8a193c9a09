#include "adapters/hl7v2/transport/mllp_server.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "adapters/common/event_server_support.h"
#include "adapters/common/loop_worker_pool.h"
#include "common/net/host_port.h"

namespace needlecheck::hl7v2 {

namespace {

using event_server::EventBasePtr;
using event_server::EventPtr;
using event_server::ListenerPtr;
using event_server::SslCtxPtr;
using Clock = std::chrono::steady_clock;

constexpr int kDefaultWorkerThreads = 16;

class EventMllpServer : public MllpServer {
 public:
  EventMllpServer(const MllpServerOptions& options, MllpHandler handler)
      : options_(options), handler_(std::move(handler)) {}
  ~EventMllpServer() override;

  absl::Status Init();
  int port() const override { return port_; }
  MllpServerCounters counters() const override;
  void Shutdown(absl::Duration drain) override;

 private:
  struct Connection {
    Connection(EventMllpServer* s, uint64_t i, std::string client_ip,
               const MllpDeframerOptions& deframer_options)
        : server(s),
          id(i),
          ip(std::move(client_ip)),
          deframer(deframer_options) {}
    EventMllpServer* const server;
    const uint64_t id;
    const std::string ip;
    std::shared_ptr<MllpPeer> peer;
    bufferevent* bev = nullptr;
    EventPtr timer;
    MllpDeframer deframer;
    std::deque<MllpEvent> queued;  // read, not yet handed to a worker
    size_t queued_bytes = 0;
    bool busy = false;         // a handler call is in progress
    bool reading = true;       // EV_READ enabled
    bool peer_closed = false;  // EOF: finish what is queued, then close
    bool subject_read = false;
    Clock::time_point last_activity;
  };

  struct Job {
    uint64_t connection = 0;
    MllpEvent event;
    std::shared_ptr<const MllpPeer> peer;
  };
  struct Answer {
    uint64_t connection = 0;
    std::string reply;
  };

  // Loop-thread callbacks.
  static void OnAccept(evconnlistener*, evutil_socket_t fd, sockaddr* sa, int,
                       void* self);
  static void OnAcceptError(evconnlistener*, void* self);
  static void OnResumeAccept(evutil_socket_t, short, void* self);
  static void OnRead(bufferevent*, void* arg);
  static void OnWrite(bufferevent*, void* arg);
  static void OnEvent(bufferevent*, short what, void* arg);
  static void OnTimer(evutil_socket_t, short, void* arg);
  static void OnStop(evutil_socket_t, short, void* self);
  static void OnDrainDeadline(evutil_socket_t, short, void* self);

  void Accept(evutil_socket_t fd, const sockaddr* sa);
  void Read(Connection* c);
  void Queue(Connection* c, std::vector<MllpEvent>* events);
  // Hands the next queued frame to a worker when allowed, adjusts reading,
  // and closes a connection that is finished.
  void Pump(Connection* c);
  void Close(Connection* c);
  void BeginStop();
  void ArmTimer(Connection* c, absl::Duration after);
  bool InHand(const Connection* c) const;
  size_t OutputBytes(const Connection* c) const;
  // Pool thread: the handler call.
  Answer Handle(Job& job);
  // Loop thread: writes the reply and moves on to the next frame.
  void Deliver(Answer& answer);

  const MllpServerOptions options_;
  const MllpHandler handler_;
  std::string host_;
  int port_ = 0;
  SslCtxPtr tls_;
  EventBasePtr base_;
  ListenerPtr listener_;
  EventPtr resume_accept_;
  EventPtr stop_event_;
  EventPtr drain_deadline_;
  std::thread loop_thread_;
  std::unique_ptr<event_server::LoopWorkerPool<Job, Answer>> workers_;

  // Loop thread only.
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> connections_;
  std::unordered_map<std::string, int> per_client_;
  uint64_t next_id_ = 1;
  bool stopping_ = false;

  absl::Mutex mu_;
  absl::Duration drain_ ABSL_GUARDED_BY(mu_);

  std::mutex shutdown_mu_;
  bool shut_down_ = false;  // guarded by shutdown_mu_

  std::atomic<int64_t> open_{0};
  std::atomic<uint64_t> total_{0}, refused_{0}, idle_timeouts_{0},
      tls_failures_{0}, bytes_received_{0}, bytes_sent_{0}, replies_{0};
  std::array<std::atomic<uint64_t>, 6> frames_{};
};

absl::Status EventMllpServer::Init() {
  if (absl::Status s = net::SplitHostPort(options_.listen, &host_, &port_);
      !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("listen: ", s.message()));
  }
  if (!options_.tls_cert_file.empty() || !options_.tls_key_file.empty() ||
      !options_.tls_client_ca_file.empty()) {
    if (options_.tls_cert_file.empty() || options_.tls_key_file.empty()) {
      return absl::InvalidArgumentError(
          "TLS needs both a certificate and a key file (a client CA file "
          "alone is not enough)");
    }
    absl::StatusOr<SslCtxPtr> ctx = event_server::NewServerTlsContext(
        options_.tls_cert_file, options_.tls_key_file,
        options_.tls_client_ca_file);
    if (!ctx.ok()) return ctx.status();
    tls_ = std::move(*ctx);
  }
  base_.reset(event_base_new());
  if (base_ == nullptr) return absl::InternalError("event_base_new failed");
  absl::StatusOr<evutil_socket_t> fd = event_server::ListenSocket(host_, port_);
  if (!fd.ok()) return fd.status();
  port_ = net::BoundPort(*fd);
  // Backlog 0: the socket already listens with ListenSocket's backlog
  // (libevent's -1 would listen() again with 128).
  listener_.reset(evconnlistener_new(base_.get(), &OnAccept, this,
                                     LEV_OPT_CLOSE_ON_FREE, 0, *fd));
  if (listener_ == nullptr) {
    close(*fd);
    return absl::InternalError("evconnlistener_new failed");
  }
  evconnlistener_set_error_cb(listener_.get(), &OnAcceptError);
  resume_accept_.reset(evtimer_new(base_.get(), &OnResumeAccept, this));
  stop_event_.reset(event_new(base_.get(), -1, 0, &OnStop, this));
  drain_deadline_.reset(evtimer_new(base_.get(), &OnDrainDeadline, this));
  if (resume_accept_ == nullptr || stop_event_ == nullptr ||
      drain_deadline_ == nullptr) {
    return absl::InternalError("event_new failed");
  }
  const int threads = options_.worker_threads > 0 ? options_.worker_threads
                                                  : kDefaultWorkerThreads;
  workers_ = std::make_unique<event_server::LoopWorkerPool<Job, Answer>>(
      base_.get(), threads, [this](Job& job) { return Handle(job); },
      [this](Answer& answer) { Deliver(answer); });
  // The loop runs while anything is pending: the listener, connections,
  // timers. After BeginStop() it ends by itself once the last connection
  // is closed (and libevent has run its finalizers, which close sockets).
  loop_thread_ = std::thread([this] { event_base_dispatch(base_.get()); });
  return absl::OkStatus();
}

EventMllpServer::~EventMllpServer() { Shutdown(absl::ZeroDuration()); }

MllpServerCounters EventMllpServer::counters() const {
  MllpServerCounters c;
  c.connections_open = open_.load();
  c.connections_total = total_.load();
  c.connections_refused = refused_.load();
  c.idle_timeouts = idle_timeouts_.load();
  c.tls_failures = tls_failures_.load();
  for (size_t i = 0; i < frames_.size(); ++i) {
    c.frames_by_kind[i] = frames_[i].load();
  }
  c.bytes_received = bytes_received_.load();
  c.bytes_sent = bytes_sent_.load();
  c.replies = replies_.load();
  return c;
}

void EventMllpServer::Shutdown(absl::Duration drain) {
  std::lock_guard<std::mutex> once(shutdown_mu_);
  if (shut_down_) return;
  shut_down_ = true;
  if (loop_thread_.joinable()) {
    {
      absl::MutexLock lock(&mu_);
      drain_ = drain;
    }
    // Thread-safe (evthread_use_pthreads): OnStop runs on the loop thread.
    event_active(stop_event_.get(), EV_READ, 0);
    loop_thread_.join();
  }
  if (workers_ != nullptr) workers_->Stop();
  // The loop has returned: free what it still holds.
  while (!connections_.empty()) Close(connections_.begin()->second.get());
  listener_.reset();
}

void EventMllpServer::OnStop(evutil_socket_t, short, void* self) {
  static_cast<EventMllpServer*>(self)->BeginStop();
}

void EventMllpServer::BeginStop() {
  stopping_ = true;
  listener_.reset();
  event_del(resume_accept_.get());
  std::vector<Connection*> all;
  for (auto& [id, c] : connections_) all.push_back(c.get());
  // Pump() reads nothing more once stopping_ and closes what is finished.
  for (Connection* c : all) Pump(c);
  if (connections_.empty()) return;
  absl::Duration drain;
  {
    absl::MutexLock lock(&mu_);
    drain = drain_;
  }
  const timeval tv = event_server::ToTimeval(std::min(drain, absl::Hours(24)));
  evtimer_add(drain_deadline_.get(), &tv);
}

void EventMllpServer::OnDrainDeadline(evutil_socket_t, short, void* self) {
  auto* s = static_cast<EventMllpServer*>(self);
  while (!s->connections_.empty()) {
    s->Close(s->connections_.begin()->second.get());
  }
}

void EventMllpServer::OnAccept(evconnlistener*, evutil_socket_t fd,
                               sockaddr* sa, int, void* self) {
  static_cast<EventMllpServer*>(self)->Accept(fd, sa);
}

void EventMllpServer::OnAcceptError(evconnlistener*, void* self) {
  // Out of file descriptors (or similar): pause accepting instead of
  // spinning on the pending connection.
  auto* s = static_cast<EventMllpServer*>(self);
  std::fprintf(stderr, "event=mllp_accept_error errno=%d\n",
               EVUTIL_SOCKET_ERROR());
  if (s->listener_ == nullptr) return;
  evconnlistener_disable(s->listener_.get());
  const timeval tv = event_server::Millis(100);
  evtimer_add(s->resume_accept_.get(), &tv);
}

void EventMllpServer::OnResumeAccept(evutil_socket_t, short, void* self) {
  auto* s = static_cast<EventMllpServer*>(self);
  if (s->listener_ != nullptr) evconnlistener_enable(s->listener_.get());
}

void EventMllpServer::Accept(evutil_socket_t fd, const sockaddr* sa) {
  const std::string ip = event_server::PeerAddress(sa);
  if (stopping_) {
    close(fd);
    return;
  }
  const bool over_total =
      static_cast<int>(connections_.size()) >= options_.max_connections;
  bool over_client = false;
  if (options_.max_connections_per_client > 0) {
    auto it = per_client_.find(ip);
    over_client = it != per_client_.end() &&
                  it->second >= options_.max_connections_per_client;
  }
  if (over_total || over_client) {
    const uint64_t refused = ++refused_;
    if (refused % 1000 == 1) {
      std::fprintf(
          stderr, "event=mllp_refused reason=%s refused_total=%llu\n",
          over_total ? "max_connections" : "max_connections_per_client",
          static_cast<unsigned long long>(refused));
    }
    close(fd);
    return;
  }
  bufferevent* bev =
      event_server::NewServerBufferevent(base_.get(), fd, tls_.get());
  if (bev == nullptr) return;
  const uint64_t id = next_id_++;
  MllpDeframerOptions deframer_options;
  deframer_options.max_frame_bytes = options_.max_frame_bytes;
  auto owned = std::make_unique<Connection>(this, id, ip, deframer_options);
  Connection* c = owned.get();
  c->bev = bev;
  c->peer = std::make_shared<MllpPeer>();
  c->peer->address = sa->sa_family == AF_INET6
                         ? absl::StrCat("[", ip, "]:", net::PortOf(sa))
                         : absl::StrCat(ip, ":", net::PortOf(sa));
  c->peer->connection_id = id;
  c->timer.reset(evtimer_new(base_.get(), &OnTimer, c));
  c->last_activity = Clock::now();
  connections_.emplace(id, std::move(owned));
  ++per_client_[ip];
  ++open_;
  ++total_;
  bufferevent_setcb(bev, &OnRead, &OnWrite, &OnEvent, c);
  // OnWrite runs whenever the unsent replies fall to half the cap: the
  // peer is taking them, so reading and handling may resume.
  bufferevent_setwatermark(bev, EV_WRITE, kMaxOutputBytes / 2, 0);
  bufferevent_enable(bev, EV_READ | EV_WRITE);
  ArmTimer(c, options_.idle_timeout);
}

void EventMllpServer::ArmTimer(Connection* c, absl::Duration after) {
  // At most a day at a time (OnTimer re-arms for the rest), so that a huge
  // idle_timeout cannot overflow libevent's clock arithmetic.
  const timeval tv = event_server::ToTimeval(std::min(after, absl::Hours(24)));
  evtimer_add(c->timer.get(), &tv);
}

void EventMllpServer::OnRead(bufferevent*, void* arg) {
  auto* c = static_cast<Connection*>(arg);
  c->server->Read(c);
}

void EventMllpServer::Read(Connection* c) {
  evbuffer* in = bufferevent_get_input(c->bev);
  const size_t length = evbuffer_get_length(in);
  if (length == 0) return;
  c->last_activity = Clock::now();
  bytes_received_ += length;
  std::vector<MllpEvent> events;
  const int chunks = evbuffer_peek(in, -1, nullptr, nullptr, 0);
  std::vector<evbuffer_iovec> vec(chunks > 0 ? chunks : 0);
  if (chunks > 0) evbuffer_peek(in, -1, nullptr, vec.data(), chunks);
  for (const evbuffer_iovec& v : vec) {
    c->deframer.Feed(
        absl::string_view(static_cast<const char*>(v.iov_base), v.iov_len),
        &events);
  }
  evbuffer_drain(in, length);
  Queue(c, &events);
  Pump(c);
}

void EventMllpServer::Queue(Connection* c, std::vector<MllpEvent>* events) {
  for (MllpEvent& e : *events) {
    ++frames_[static_cast<size_t>(e.kind)];
    if (e.kind == MllpEventKind::kStrayBytes) continue;
    c->queued_bytes += e.payload.size();
    c->queued.push_back(std::move(e));
  }
}

size_t EventMllpServer::OutputBytes(const Connection* c) const {
  return evbuffer_get_length(bufferevent_get_output(c->bev));
}

bool EventMllpServer::InHand(const Connection* c) const {
  return c->busy || !c->queued.empty() || OutputBytes(c) > 0;
}

void EventMllpServer::Pump(Connection* c) {
  const bool output_full = OutputBytes(c) > kMaxOutputBytes;
  if (!c->busy && !c->queued.empty() && !output_full) {
    if (tls_ != nullptr && !c->subject_read) {
      c->peer->tls_subject = event_server::PeerCertificateSubject(
          bufferevent_openssl_get_ssl(c->bev));
      c->subject_read = true;
    }
    Job job{c->id, std::move(c->queued.front()), c->peer};
    c->queued.pop_front();
    c->queued_bytes -= job.event.payload.size();
    c->busy = true;
    workers_->Submit(std::move(job));
  }
  const bool want_read = !stopping_ && !c->peer_closed && !output_full &&
                         c->queued_bytes < options_.max_frame_bytes &&
                         c->queued.size() < kMaxQueuedFrames;
  if (want_read != c->reading) {
    c->reading = want_read;
    if (want_read) {
      bufferevent_enable(c->bev, EV_READ);
    } else {
      bufferevent_disable(c->bev, EV_READ);
    }
  }
  if ((stopping_ || c->peer_closed) && !InHand(c)) Close(c);
}

void EventMllpServer::OnWrite(bufferevent*, void* arg) {
  auto* c = static_cast<Connection*>(arg);
  c->last_activity = Clock::now();  // the peer takes its replies
  c->server->Pump(c);
}

void EventMllpServer::OnEvent(bufferevent*, short what, void* arg) {
  auto* c = static_cast<Connection*>(arg);
  EventMllpServer* s = c->server;
  if (what & BEV_EVENT_CONNECTED) return;  // TLS handshake done
  if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR)) {
    // The peer is done sending: a partial frame is handled as kTruncated,
    // the frames read are still handled and their replies written (the
    // peer may only have half-closed), then the connection closes.
    c->peer_closed = true;
    std::vector<MllpEvent> events;
    c->deframer.Finish(&events);
    s->Queue(c, &events);
    s->Pump(c);
    return;
  }
  if (s->tls_ != nullptr) {
    const unsigned long tls_error = bufferevent_get_openssl_error(c->bev);
    if (tls_error != 0) {
      ++s->tls_failures_;
      while (bufferevent_get_openssl_error(c->bev) != 0) {
      }
    }
  }
  // A socket or TLS error: nothing more can be read or written.
  s->Close(c);
}

void EventMllpServer::OnTimer(evutil_socket_t, short, void* arg) {
  auto* c = static_cast<Connection*>(arg);
  EventMllpServer* s = c->server;
  const absl::Duration idle = absl::FromChrono(Clock::now() - c->last_activity);
  if (c->busy) {
    // A message being handled is not idleness.
    s->ArmTimer(c, s->options_.idle_timeout);
  } else if (idle < s->options_.idle_timeout) {
    s->ArmTimer(c, s->options_.idle_timeout - idle);
  } else {
    ++s->idle_timeouts_;
    s->Close(c);
  }
}

void EventMllpServer::Close(Connection* c) {
  auto client = per_client_.find(c->ip);
  if (client != per_client_.end() && --client->second <= 0) {
    per_client_.erase(client);
  }
  bufferevent_free(c->bev);   // closes the socket (and frees the SSL)
  connections_.erase(c->id);  // frees c and its timer
  --open_;
  if (stopping_ && connections_.empty()) event_del(drain_deadline_.get());
}

EventMllpServer::Answer EventMllpServer::Handle(Job& job) {
  Answer answer{job.connection, {}};
  try {
    answer.reply = handler_(job.event, *job.peer);
  } catch (...) {
    answer.reply.clear();
  }
  return answer;
}

void EventMllpServer::Deliver(Answer& answer) {
  auto it = connections_.find(answer.connection);
  if (it == connections_.end()) return;  // closed meanwhile
  Connection* c = it->second.get();
  c->busy = false;
  c->last_activity = Clock::now();
  if (!answer.reply.empty()) {
    const std::string framed = MllpFrame(answer.reply);
    bufferevent_write(c->bev, framed.data(), framed.size());
    bytes_sent_ += framed.size();
    ++replies_;
  }
  Pump(c);
}

}  // namespace

absl::StatusOr<std::unique_ptr<MllpServer>> MllpServer::Start(
    const MllpServerOptions& options, MllpHandler handler) {
  if (options.max_connections < 1 || options.max_connections_per_client < 0 ||
      options.worker_threads < 0 || options.max_frame_bytes < 1 ||
      options.idle_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "MLLP limits must be positive (max_connections, max_frame_bytes, "
        "idle_timeout) or zero for defaults (worker_threads, "
        "max_connections_per_client)");
  }
  if (handler == nullptr) {
    return absl::InvalidArgumentError("an MLLP server needs a handler");
  }
  event_server::PrepareProcessForEventServers();
  auto server = std::make_unique<EventMllpServer>(options, std::move(handler));
  if (absl::Status s = server->Init(); !s.ok()) return s;
  return std::unique_ptr<MllpServer>(std::move(server));
}

}  // namespace needlecheck::hl7v2
