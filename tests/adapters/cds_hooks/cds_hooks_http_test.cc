// The HTTP layer of the real needlecheck-cds-hooks (with a real needlecheckd
// behind it) on 127.0.0.1:0, driven over raw sockets, libcurl and the
// openssl tool: held connections (slowloris, idle keep-alive pools) do not
// stall other clients; header, body and idle deadlines; connection caps;
// errors the server produces itself are OperationOutcome JSON; chunked
// bodies, 100-continue and pipelining; SIGTERM answers requests in flight;
// non-positive limit flags exit 2; TLS 1.2 offers ECDHE suites only.
//
// One bound is pinned by the task and asserted: with 32 slowloris
// connections and 200 held keep-alive connections, a fresh request is
// answered within 2 s. Everything else waits with generous, bounded
// deadlines.
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/http_request.h"
#include "tests/testing/read_file.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::cds_hooks {
namespace {

using ::needlecheck::testing::Http;
using ::needlecheck::testing::HttpResult;

using ::needlecheck::testing::BinaryPath;
using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::ReadFile;
using ::needlecheck::testing::ServerProcess;
using ::testing::HasSubstr;
using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string TempDir(const std::string& name) {
  std::string path = absl::StrCat(::testing::TempDir(), "/cds_hooks_http_",
                                  getpid(), "_", name);
  mkdir(path.c_str(), 0700);
  return path;
}

struct RawResponse {
  int status = 0;
  std::string head;
  std::string body;
};

// A plain TCP client connection with deadline-bounded reads.
class RawConnection {
 public:
  static std::unique_ptr<RawConnection> Open(int port) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return nullptr;
    sockaddr_in addr = {};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      close(fd);
      return nullptr;
    }
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return std::unique_ptr<RawConnection>(new RawConnection(fd));
  }
  ~RawConnection() { close(fd_); }

  bool Send(const std::string& data) {
    size_t sent = 0;
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (sent < data.size() && absl::Now() < deadline) {
      const ssize_t n =
          send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<size_t>(n);
      } else if (n < 0 && errno == EAGAIN) {
        pollfd p = {fd_, POLLOUT, 0};
        poll(&p, 1, 100);
      } else {
        return false;
      }
    }
    return sent == data.size();
  }

  // The next complete response (head + Content-Length body), or nullopt at
  // EOF, error or `deadline`.
  std::optional<RawResponse> Read(absl::Time deadline) {
    for (;;) {
      if (std::optional<RawResponse> r = Take()) return r;
      if (eof_ || !Fill(deadline)) return std::nullopt;
    }
  }

  // True when the server closes the connection (EOF or reset) before
  // `deadline`; bytes read meanwhile are kept.
  bool WaitClosed(absl::Time deadline) {
    while (!eof_) {
      if (!Fill(deadline) && !eof_) return false;
    }
    return true;
  }

  // True when nothing (no bytes, no close) arrives before `deadline`.
  bool QuietUntil(absl::Time deadline) {
    const size_t before = buffer_.size();
    Fill(deadline);
    return !eof_ && buffer_.size() == before;
  }

  const std::string& buffer() const { return buffer_; }

 private:
  explicit RawConnection(int fd) : fd_(fd) {}

  // Reads what arrives before `deadline`; false on timeout.
  bool Fill(absl::Time deadline) {
    for (;;) {
      char chunk[16384];
      const ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
      if (n > 0) {
        buffer_.append(chunk, static_cast<size_t>(n));
        return true;
      }
      if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        eof_ = true;
        return true;
      }
      const int64_t ms = absl::ToInt64Milliseconds(deadline - absl::Now());
      if (ms <= 0) return false;
      pollfd p = {fd_, POLLIN, 0};
      poll(&p, 1, static_cast<int>(std::min<int64_t>(ms, 1000)));
    }
  }

  std::optional<RawResponse> Take() {
    const size_t end = buffer_.find("\r\n\r\n");
    if (end == std::string::npos) return std::nullopt;
    RawResponse r;
    r.head = buffer_.substr(0, end + 2);
    if (r.head.size() < 12 || !absl::StartsWith(r.head, "HTTP/1.1 ") ||
        !absl::SimpleAtoi(r.head.substr(9, 3), &r.status)) {
      return std::nullopt;
    }
    size_t length = 0;
    const size_t cl = r.head.find("Content-Length: ");
    if (cl != std::string::npos) {
      absl::SimpleAtoi(
          r.head.substr(cl + 16, r.head.find("\r\n", cl) - cl - 16), &length);
    }
    if (buffer_.size() < end + 4 + length) return std::nullopt;
    r.body = buffer_.substr(end + 4, length);
    buffer_.erase(0, end + 4 + length);
    return r;
  }

  const int fd_;
  std::string buffer_;
  bool eof_ = false;
};

// The diagnostics of an OperationOutcome body ("" and a failure otherwise).
std::string Diagnostics(const std::string& body) {
  Json j = Json::parse(body, nullptr, false);
  if (j.is_discarded() || j.value("resourceType", "") != "OperationOutcome") {
    ADD_FAILURE() << "not an OperationOutcome: " << body;
    return "";
  }
  return j["issue"][0].value("diagnostics", "");
}

Json EmptyPrefetch(const std::string& patient_id) {
  Json empty = {{"resourceType", "Bundle"}, {"type", "searchset"}};
  return {{"patient", {{"resourceType", "Patient"}, {"id", patient_id}}},
          {"conditions", empty},
          {"allergies", empty},
          {"medicationRequests", empty},
          {"medicationStatements", empty},
          {"procedures", empty},
          {"observations", empty}};
}

// An order-sign call planning microneedling for a patient with no history.
std::string OrderSign(const std::string& hook_instance) {
  Json order = {{"resourceType", "ServiceRequest"},
                {"id", "mn-order-1"},
                {"status", "draft"},
                {"intent", "order"},
                {"code", {{"text", "Microneedling"}}},
                {"subject", {{"reference", "Patient/p1"}}},
                {"occurrenceDateTime", "2026-12-01T10:00:00Z"},
                {"bodySite", Json::array({{{"text", "Full face"}}})}};
  Json request = {{"hook", "order-sign"},
                  {"hookInstance", hook_instance},
                  {"context",
                   {{"userId", "Practitioner/example"},
                    {"patientId", "p1"},
                    {"draftOrders",
                     {{"resourceType", "Bundle"},
                      {"type", "collection"},
                      {"entry", Json::array({{{"resource", order}}})}}}}},
                  {"prefetch", EmptyPrefetch("p1")}};
  return request.dump();
}

constexpr char kDiscovery[] = "GET /cds-services HTTP/1.1\r\nHost: t\r\n\r\n";

class CdsHooksHttpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { curl_global_init(CURL_GLOBAL_DEFAULT); }

  void Start(std::vector<std::string> extra = {}) {
    const std::string name =
        ::testing::UnitTest::GetInstance()->current_test_info()->name();
    auto daemon = ServerProcess::Start(
        BinaryPath("service/needlecheckd"),
        {"--listen=127.0.0.1:0", "--data_dir=" + TempDir(name + "_data")});
    ASSERT_THAT(daemon, IsOk());
    daemon_ = std::move(daemon).value();
    std::vector<std::string> args = {
        "--listen=127.0.0.1:0", "--screening_service=" + daemon_->address(),
        "--insecure_no_auth"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto gateway = ServerProcess::Start(
        BinaryPath("adapters/cds_hooks/needlecheck-cds-hooks"), args);
    ASSERT_THAT(gateway, IsOk());
    gateway_ = std::move(gateway).value();
    port_ = gateway_->port();
    base_ = "http://" + gateway_->address();
  }

  std::unique_ptr<RawConnection> Connect() {
    auto c = RawConnection::Open(port_);
    EXPECT_NE(c, nullptr);
    return c;
  }

  // A new connection that completed one discovery request and is now idle.
  std::unique_ptr<RawConnection> IdleKeepAlive() {
    auto c = Connect();
    if (c == nullptr || !c->Send(kDiscovery)) return nullptr;
    std::optional<RawResponse> r = c->Read(absl::Now() + absl::Seconds(30));
    if (!r.has_value() || r->status != 200) return nullptr;
    return c;
  }

  std::unique_ptr<ServerProcess> daemon_;
  std::unique_ptr<ServerProcess> gateway_;
  int port_ = 0;
  std::string base_;
};

// 32 slowloris connections (a header line every 2 s) and 200 keep-alive
// connections held open (an EHR pool): every pooled request is answered,
// and a fresh client is answered within 2 s (the pinned bound).
TEST_F(CdsHooksHttpTest, HeldConnectionsDoNotStallAFreshRequest) {
  // A long header deadline keeps the slowloris connections held for the
  // whole test: the service must stay responsive without cutting them.
  Start({"--header_timeout_ms=120000"});
  // Warm the gRPC channel and the knowledge-base cache first.
  ASSERT_EQ(Http("GET", base_ + "/cds-services").status, 200);
  ASSERT_EQ(Http("POST", base_ + "/cds-services/microneedling-safety",
                 OrderSign("warm-up"))
                .status,
            200);

  std::vector<std::unique_ptr<RawConnection>> slow;
  for (int i = 0; i < 32; ++i) {
    slow.push_back(Connect());
    ASSERT_NE(slow.back(), nullptr);
    ASSERT_TRUE(slow.back()->Send(
        "POST /cds-services/microneedling-safety HTTP/1.1\r\nHost: t\r\n"));
  }
  std::atomic<bool> done{false};
  std::thread trickle([&] {
    // A header line every 2 s, for at most 60 s.
    for (int round = 0; round < 30 && !done; ++round) {
      for (int step = 0; step < 20 && !done; ++step) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      for (auto& c : slow) c->Send(absl::StrCat("X-Slow-", round, ": 1\r\n"));
    }
  });

  std::vector<std::unique_ptr<RawConnection>> pool;
  for (int i = 0; i < 200; ++i) {
    pool.push_back(Connect());
    ASSERT_NE(pool.back(), nullptr);
  }
  for (auto& c : pool) ASSERT_TRUE(c->Send(kDiscovery));
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  int answered = 0;
  for (auto& c : pool) {
    std::optional<RawResponse> r = c->Read(deadline);
    if (r.has_value() && r->status == 200) ++answered;
  }
  EXPECT_EQ(answered, 200);

  // Fresh clients, while all of the above are held.
  for (int i = 0; i < 3; ++i) {
    const auto start = Clock::now();
    HttpResult discovery = Http("GET", base_ + "/cds-services");
    const auto discovery_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() -
                                                              start)
            .count();
    EXPECT_EQ(discovery.status, 200) << curl_easy_strerror(discovery.code);
    EXPECT_LT(discovery_ms, 2000);
    const auto hook_start = Clock::now();
    HttpResult hook = Http("POST", base_ + "/cds-services/microneedling-safety",
                           OrderSign(absl::StrCat("fresh-", i)));
    const auto hook_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             Clock::now() - hook_start)
                             .count();
    EXPECT_EQ(hook.status, 200) << hook.body;
    EXPECT_LT(hook_ms, 2000);
  }
  // The pool is still usable.
  for (int i = 0; i < 200; i += 20) {
    ASSERT_TRUE(pool[i]->Send(kDiscovery));
    std::optional<RawResponse> r =
        pool[i]->Read(absl::Now() + absl::Seconds(30));
    ASSERT_TRUE(r.has_value()) << i;
    EXPECT_EQ(r->status, 200);
  }
  done = true;
  trickle.join();
  // The slowloris connections were held throughout: none was answered or
  // closed.
  for (auto& c : slow) {
    EXPECT_TRUE(c->QuietUntil(absl::Now() + absl::Milliseconds(10)));
  }
}

// A client trickling header lines is cut at the header deadline (408 with
// an OperationOutcome), long before it would have finished; a body that
// stops arriving is cut at the body deadline.
TEST_F(CdsHooksHttpTest, SlowHeadersAndBodiesAreCutAtTheirDeadlines) {
  Start({"--header_timeout_ms=1000", "--body_timeout_ms=1000"});
  auto slow = Connect();
  ASSERT_NE(slow, nullptr);
  ASSERT_TRUE(slow->Send("GET /cds-services HTTP/1.1\r\nHost: t\r\n"));
  std::optional<RawResponse> cut;
  // Up to 100 header lines, one every 100 ms (10 s) - the server must stop
  // it after about 1 s.
  for (int i = 0; i < 100 && !cut.has_value(); ++i) {
    slow->Send(absl::StrCat("X-Slow-", i, ": 1\r\n"));
    cut = slow->Read(absl::Now() + absl::Milliseconds(100));
  }
  ASSERT_TRUE(cut.has_value()) << "never cut";
  EXPECT_EQ(cut->status, 408);
  EXPECT_THAT(Diagnostics(cut->body), HasSubstr("request header"));
  EXPECT_THAT(cut->head, HasSubstr("Connection: close"));
  EXPECT_TRUE(slow->WaitClosed(absl::Now() + absl::Seconds(30)));

  auto body = Connect();
  ASSERT_NE(body, nullptr);
  ASSERT_TRUE(body->Send(
      "POST /cds-services/microneedling-safety HTTP/1.1\r\nHost: t\r\n"
      "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"a\""));
  std::optional<RawResponse> r = body->Read(absl::Now() + absl::Seconds(30));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 408);
  EXPECT_THAT(Diagnostics(r->body), HasSubstr("request body"));
  EXPECT_TRUE(body->WaitClosed(absl::Now() + absl::Seconds(30)));

  // A connection that never sends a byte is closed too, silently.
  auto silent = Connect();
  ASSERT_NE(silent, nullptr);
  EXPECT_TRUE(silent->WaitClosed(absl::Now() + absl::Seconds(30)));
  EXPECT_EQ(silent->buffer(), "");
  // Still serving.
  EXPECT_EQ(Http("GET", base_ + "/cds-services").status, 200);
}

TEST_F(CdsHooksHttpTest, IdleKeepAliveConnectionsAreClosed) {
  Start({"--idle_timeout_ms=300"});
  auto c = IdleKeepAlive();
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(c->WaitClosed(absl::Now() + absl::Seconds(30)));
}

// At the per-client cap a new connection takes an idle one's place; with
// none idle it gets 503 (JSON) and is closed, and the busy ones are not
// touched.
TEST_F(CdsHooksHttpTest, PerClientCapEvictsIdleThenRefuses) {
  Start({"--max_connections_per_client=4", "--header_timeout_ms=60000"});
  std::vector<std::unique_ptr<RawConnection>> idle;
  for (int i = 0; i < 4; ++i) {
    idle.push_back(IdleKeepAlive());
    ASSERT_NE(idle.back(), nullptr);
  }
  // Four new busy connections (a partial request each) replace the four
  // idle ones, oldest first.
  std::vector<std::unique_ptr<RawConnection>> busy;
  for (int i = 0; i < 4; ++i) {
    busy.push_back(Connect());
    ASSERT_NE(busy.back(), nullptr);
    ASSERT_TRUE(busy.back()->Send("GET /cds-services HTTP/1.1\r\n"));
    EXPECT_TRUE(idle[i]->WaitClosed(absl::Now() + absl::Seconds(30))) << i;
  }
  // Let the server read the partial requests (until then a new connection
  // counts as idle too); they stay unanswered and open.
  for (auto& c : busy) {
    EXPECT_TRUE(c->QuietUntil(absl::Now() + absl::Milliseconds(300)));
  }
  auto refused = Connect();
  ASSERT_NE(refused, nullptr);
  std::optional<RawResponse> r = refused->Read(absl::Now() + absl::Seconds(30));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 503);
  EXPECT_THAT(Diagnostics(r->body), HasSubstr("too many connections"));
  EXPECT_TRUE(refused->WaitClosed(absl::Now() + absl::Seconds(30)));
  // The busy connections finish their requests normally.
  for (auto& c : busy) {
    ASSERT_TRUE(c->Send("Host: t\r\n\r\n"));
    std::optional<RawResponse> ok = c->Read(absl::Now() + absl::Seconds(30));
    ASSERT_TRUE(ok.has_value());
    EXPECT_EQ(ok->status, 200);
  }
}

TEST_F(CdsHooksHttpTest, GlobalCapRefusesWhenNoneIsIdle) {
  Start({"--max_connections=3", "--header_timeout_ms=60000"});
  std::vector<std::unique_ptr<RawConnection>> busy;
  for (int i = 0; i < 3; ++i) {
    busy.push_back(Connect());
    ASSERT_NE(busy.back(), nullptr);
    ASSERT_TRUE(busy.back()->Send("GET /cds-services HTTP/1.1\r\n"));
  }
  // Let the server read the partial requests (until then they are idle).
  for (auto& c : busy) {
    EXPECT_TRUE(c->QuietUntil(absl::Now() + absl::Milliseconds(300)));
  }
  HttpResult r = Http("GET", base_ + "/cds-services");
  EXPECT_EQ(r.status, 503);
  Diagnostics(r.body);
  busy.pop_back();  // one closes: room again
  bool served = false;
  for (int i = 0; i < 50 && !served; ++i) {
    served = Http("GET", base_ + "/cds-services").status == 200;
    if (!served) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(served);
}

// Errors the server itself produces carry an OperationOutcome, as the
// service's own errors do.
TEST_F(CdsHooksHttpTest, ProtocolErrorsAreOperationOutcomes) {
  Start({"--max_header_bytes=2048", "--max_body_bytes=1000"});
  struct Case {
    std::string request;
    int status;
    std::string diagnostics;
  };
  const std::vector<Case> cases = {
      {"GARBAGE\r\n\r\n", 400, "request line"},
      {"GET /cds-services HTTP/1.1\r\nHost t\r\n\r\n", 400, "header field"},
      {"GET /cds-services HTTP/1.1\r\n Host: t\r\n\r\n", 400, "folding"},
      {"GET /cds-services HTTP/2.0\r\nHost: t\r\n\r\n", 505, "HTTP/1.1"},
      {"GET /cds-services HTTP/1.1\r\nHost: t\r\nX-Big: " +
           std::string(3000, 'a') + "\r\n\r\n",
       431, "larger than"},
      {"POST /cds-services/microneedling-safety HTTP/1.1\r\nHost: t\r\n"
       "Content-Length: 5000\r\n\r\n",
       413, "larger than the limit"},
      {"POST /cds-services/microneedling-safety HTTP/1.1\r\nHost: t\r\n"
       "Transfer-Encoding: chunked\r\n\r\n800\r\n" +
           std::string(2048, ' ') + "\r\n0\r\n\r\n",
       413, "larger than the limit"},
      {"POST /cds-services/microneedling-safety HTTP/1.1\r\nHost: t\r\n"
       "Transfer-Encoding: gzip\r\n\r\n",
       501, "chunked"},
      {"POST /cds-services/microneedling-safety HTTP/1.1\r\nHost: t\r\n"
       "Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}",
       400, "both"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.request.substr(0, 60));
    auto conn = Connect();
    ASSERT_NE(conn, nullptr);
    ASSERT_TRUE(conn->Send(c.request));
    std::optional<RawResponse> r = conn->Read(absl::Now() + absl::Seconds(30));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, c.status);
    EXPECT_THAT(r->head, HasSubstr("Content-Type: application/json"));
    EXPECT_THAT(Diagnostics(r->body), HasSubstr(c.diagnostics));
    EXPECT_TRUE(conn->WaitClosed(absl::Now() + absl::Seconds(30)));
  }
}

// Chunked request bodies, "Expect: 100-continue" and pipelined requests.
TEST_F(CdsHooksHttpTest, ChunkedContinueAndPipelinedRequests) {
  Start();
  const std::string body = OrderSign("chunked-1");
  auto c = Connect();
  ASSERT_NE(c, nullptr);
  std::string chunked =
      "POST /cds-services/microneedling-safety HTTP/1.1\r\nHost: t\r\n"
      "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (size_t i = 0; i < body.size(); i += 100) {
    const std::string piece = body.substr(i, 100);
    char size[16];
    std::snprintf(size, sizeof(size), "%zx", piece.size());
    absl::StrAppend(&chunked, size, ";ext=1\r\n", piece, "\r\n");
  }
  chunked += "0\r\nX-Trailer: 1\r\n\r\n";
  // Then two pipelined requests in the same write.
  chunked += kDiscovery;
  chunked += "GET /nowhere HTTP/1.1\r\nHost: t\r\n\r\n";
  ASSERT_TRUE(c->Send(chunked));
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  std::optional<RawResponse> r1 = c->Read(deadline);
  std::optional<RawResponse> r2 = c->Read(deadline);
  std::optional<RawResponse> r3 = c->Read(deadline);
  ASSERT_TRUE(r1.has_value() && r2.has_value() && r3.has_value());
  EXPECT_EQ(r1->status, 200) << r1->body;
  EXPECT_TRUE(Json::parse(r1->body).contains("cards"));
  EXPECT_EQ(r2->status, 200);
  EXPECT_EQ(r3->status, 404);

  // 100-continue: the server invites the body, then answers.
  auto e = Connect();
  ASSERT_NE(e, nullptr);
  ASSERT_TRUE(e->Send(absl::StrCat(
      "POST /cds-services/microneedling-safety HTTP/1.1\r\nHost: t\r\n"
      "Content-Type: application/json\r\nExpect: 100-continue\r\n"
      "Content-Length: ",
      body.size(), "\r\n\r\n")));
  std::optional<RawResponse> go = e->Read(absl::Now() + absl::Seconds(30));
  ASSERT_TRUE(go.has_value());
  EXPECT_EQ(go->status, 100);
  ASSERT_TRUE(e->Send(body));
  std::optional<RawResponse> done = e->Read(absl::Now() + absl::Seconds(30));
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->status, 200);

  // HTTP/1.0 without keep-alive: answered, then closed.
  auto old = Connect();
  ASSERT_NE(old, nullptr);
  ASSERT_TRUE(old->Send("GET /cds-services HTTP/1.0\r\n\r\n"));
  std::optional<RawResponse> r10 = old->Read(absl::Now() + absl::Seconds(30));
  ASSERT_TRUE(r10.has_value());
  EXPECT_EQ(r10->status, 200);
  EXPECT_TRUE(old->WaitClosed(absl::Now() + absl::Seconds(30)));
}

// SIGTERM while a hook call is in flight: the call is still answered (with
// "Connection: close"), idle connections are closed, and the process exits
// 0.
TEST_F(CdsHooksHttpTest, StopAnswersRequestsInFlight) {
  // A "needlecheckd" that accepts TCP connections (kernel backlog) and never
  // answers: each Screen call waits for its whole --rpc_timeout.
  const int blackhole = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(blackhole, 0);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(addr);
  ASSERT_EQ(bind(blackhole, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)),
            0);
  ASSERT_EQ(listen(blackhole, 16), 0);
  ASSERT_EQ(getsockname(blackhole, reinterpret_cast<sockaddr*>(&addr), &length),
            0);
  auto gateway = ServerProcess::Start(
      BinaryPath("adapters/cds_hooks/needlecheck-cds-hooks"),
      {"--listen=127.0.0.1:0",
       absl::StrCat("--screening_service=127.0.0.1:", ntohs(addr.sin_port)),
       "--insecure_no_auth", "--rpc_timeout=5s"});
  ASSERT_THAT(gateway, IsOk());
  port_ = (*gateway)->port();
  auto idle = IdleKeepAlive();
  ASSERT_NE(idle, nullptr);
  auto busy = Connect();
  ASSERT_NE(busy, nullptr);
  const std::string body = OrderSign("in-flight");
  const size_t log_mark = (*gateway)->output_size();
  ASSERT_TRUE(busy->Send(absl::StrCat(
      "POST /cds-services/microneedling-safety HTTP/1.1\r\nHost: t\r\n"
      "Content-Type: application/json\r\nContent-Length: ",
      body.size(), "\r\n\r\n", body)));
  // The request is with a worker once the server has read it all; nothing
  // else tells the outside, so give it a moment (the call itself lasts 5 s).
  EXPECT_TRUE(busy->QuietUntil(absl::Now() + absl::Seconds(1)));
  ASSERT_THAT((*gateway)->Signal(SIGTERM), IsOk());
  EXPECT_TRUE(idle->WaitClosed(absl::Now() + absl::Seconds(30)));
  std::optional<RawResponse> r = busy->Read(absl::Now() + absl::Seconds(30));
  ASSERT_TRUE(r.has_value()) << (*gateway)->output().substr(log_mark);
  EXPECT_EQ(r->status, 503);
  EXPECT_THAT(r->head, HasSubstr("Connection: close"));
  absl::StatusOr<int> code = (*gateway)->WaitForExit(absl::Seconds(30));
  ASSERT_THAT(code, IsOk());
  EXPECT_EQ(*code, 0);
  close(blackhole);
}

TEST_F(CdsHooksHttpTest, NonPositiveLimitsAreBadFlags) {
  for (const std::string flag :
       {"--max_connections=0", "--max_connections_per_client=-1",
        "--header_timeout_ms=0", "--body_timeout_ms=0", "--idle_timeout_ms=0",
        "--max_header_bytes=10"}) {
    SCOPED_TRACE(flag);
    auto process = ServerProcess::Spawn(
        BinaryPath("adapters/cds_hooks/needlecheck-cds-hooks"),
        {"--listen=127.0.0.1:0", "--insecure_no_auth", flag}, {});
    ASSERT_THAT(process, IsOk());
    absl::StatusOr<int> code = (*process)->WaitForExit();
    ASSERT_THAT(code, IsOk());
    EXPECT_EQ(*code, 2);
    EXPECT_THAT((*process)->output(), HasSubstr("must be positive"));
  }
}

// `openssl s_client` offering exactly one TLS 1.2 suite; true when the
// handshake completed with it.
bool HandshakeWith(int port, const std::string& dir, const std::string& flags) {
  const std::string out = dir + "/s_client.txt";
  const std::string command =
      absl::StrCat("timeout 30 openssl s_client -connect 127.0.0.1:", port, " ",
                   flags, " </dev/null >", out, " 2>&1");
  const int rc = std::system(command.c_str());
  const std::string text = ReadFile(out);
  return rc == 0 && absl::StrContains(text, "Cipher is ") &&
         !absl::StrContains(text, "Cipher is (NONE)");
}

TEST_F(CdsHooksHttpTest, TlsOffersEcdheSuitesOnly) {
  const std::string dir = TempDir("tls");
  // An RSA certificate: with it, static-RSA key exchange would be possible.
  const std::string command = absl::StrCat(
      "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -days 1 "
      "-keyout ",
      dir, "/key.pem -out ", dir, "/cert.pem >/dev/null 2>&1");
  if (std::system(command.c_str()) != 0) GTEST_SKIP() << "no openssl tool";
  Start({"--tls_cert=" + dir + "/cert.pem", "--tls_key=" + dir + "/key.pem"});
  EXPECT_FALSE(HandshakeWith(port_, dir, "-tls1_2 -cipher AES128-GCM-SHA256"));
  EXPECT_FALSE(HandshakeWith(port_, dir, "-tls1_2 -cipher AES256-SHA256"));
  EXPECT_FALSE(
      HandshakeWith(port_, dir, "-tls1_2 -cipher DHE-RSA-AES128-GCM-SHA256"));
  EXPECT_FALSE(HandshakeWith(port_, dir, "-tls1_1 -cipher ALL:@SECLEVEL=0"));
  EXPECT_TRUE(
      HandshakeWith(port_, dir, "-tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256"));
  EXPECT_TRUE(
      HandshakeWith(port_, dir, "-tls1_2 -cipher ECDHE-RSA-CHACHA20-POLY1305"));
  EXPECT_TRUE(HandshakeWith(port_, dir, "-tls1_3"));
  HttpResult r =
      Http("GET", "https://" + gateway_->address() + "/cds-services");
  EXPECT_EQ(r.code, CURLE_OK) << curl_easy_strerror(r.code);
  EXPECT_EQ(r.status, 200);
}

}  // namespace
}  // namespace needlecheck::cds_hooks
