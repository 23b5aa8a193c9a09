// MllpServer against real loopback connections (port 0): framing across
// reads, ordering, concurrency, limits, timeouts, back-pressure and
// shutdown. The peers are raw sockets (to control every byte) or
// MllpClient. Waits are bounded and generous; nothing asserts a duration.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "adapters/hl7v2/mllp_framer.h"
#include "adapters/hl7v2/transport/mllp_client.h"
#include "adapters/hl7v2/transport/mllp_server.h"
#include "adapters/hl7v2/transport/mllp_server_metrics.h"
#include "common/metrics/registry.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/mllp_raw_peer.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::hl7v2 {
namespace {

using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::RawPeer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Lt;

constexpr absl::Duration kPatience = absl::Seconds(60);

// "<kind>:<payload>": what the test handlers answer.
std::string EchoKind(const MllpEvent& event) {
  return absl::StrCat(MllpEventKindName(event.kind), ":", event.payload);
}

MllpServerOptions LoopbackOptions() {
  MllpServerOptions options;
  options.listen = "127.0.0.1:0";
  return options;
}

std::unique_ptr<MllpServer> StartOrDie(const MllpServerOptions& options,
                                       MllpHandler handler) {
  absl::StatusOr<std::unique_ptr<MllpServer>> server =
      MllpServer::Start(options, std::move(handler));
  EXPECT_THAT(server.status(), IsOk());
  return server.ok() ? std::move(*server) : nullptr;
}

// A server answering "<kind>:<payload>".
std::unique_ptr<MllpServer> StartEcho(const MllpServerOptions& options) {
  return StartOrDie(
      options, [](const MllpEvent& e, const MllpPeer&) { return EchoKind(e); });
}

// Waits (bounded) until `done` holds.
template <typename F>
bool Eventually(F done) {
  const absl::Time deadline = absl::Now() + kPatience;
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

TEST(MllpServerTest, ClientRoundTrip) {
  auto server = StartOrDie(LoopbackOptions(),
                           [](const MllpEvent& e, const MllpPeer& peer) {
                             EXPECT_THAT(peer.address, HasSubstr("127.0.0.1:"));
                             EXPECT_GT(peer.connection_id, 0u);
                             EXPECT_EQ(peer.tls_subject, "");
                             return EchoKind(e);
                           });
  ASSERT_NE(server, nullptr);
  ASSERT_GT(server->port(), 0);
  auto client = MllpClient::Connect(absl::StrCat("127.0.0.1:", server->port()),
                                    MllpClientOptions());
  ASSERT_THAT(client.status(), IsOk());
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<std::string> reply = (*client)->Send("MSH|^~\\&|A\rPID|1");
    ASSERT_THAT(reply.status(), IsOk());
    EXPECT_EQ(*reply, "message:MSH|^~\\&|A\rPID|1");
  }
  const MllpServerCounters c = server->counters();
  EXPECT_EQ(c.frames(MllpEventKind::kMessage), 3u);
  EXPECT_EQ(c.replies, 3u);
  EXPECT_EQ(c.connections_total, 1u);
}

// The listening socket keeps the backlog event_server::ListenSocket gives
// it (1024, capped by net.core.somaxconn): libevent, told -1 instead of 0
// for a socket already listening, calls listen() again with 128. Read with
// iproute2's ss: a listening socket's Send-Q is its backlog.
TEST(MllpServerTest, ListenBacklogIsKept) {
  auto server = StartEcho(LoopbackOptions());
  ASSERT_NE(server, nullptr);
  const std::string command =
      absl::StrCat("ss -Hltn 'sport = :", server->port(), "' 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[512];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) {
    output.append(buffer, n);
  }
  ASSERT_EQ(pclose(pipe), 0) << command << ": " << output;
  // "LISTEN 0 1024 127.0.0.1:PORT 0.0.0.0:*"
  std::vector<std::string> fields =
      absl::StrSplit(output, ' ', absl::SkipWhitespace());
  ASSERT_GE(fields.size(), 3u) << output;
  int backlog = 0;
  ASSERT_TRUE(absl::SimpleAtoi(fields[2], &backlog)) << output;
  int somaxconn = 4096;
  if (FILE* f = fopen("/proc/sys/net/core/somaxconn", "r")) {
    if (fscanf(f, "%d", &somaxconn) != 1) somaxconn = 4096;
    fclose(f);
  }
  EXPECT_EQ(backlog, std::min(1024, somaxconn)) << output;
}

TEST(MllpServerTest, FrameSplitByteByByte) {
  auto server = StartEcho(LoopbackOptions());
  ASSERT_NE(server, nullptr);
  RawPeer peer(server->port());
  ASSERT_TRUE(peer.connected());
  const std::string frame = MllpFrame("MSH|^~\\&|SPLIT\rEVN|A04");
  for (char byte : frame) {
    ASSERT_TRUE(peer.Write(absl::string_view(&byte, 1)));
    absl::SleepFor(absl::Milliseconds(1));  // separate segments, not timing
  }
  EXPECT_THAT(peer.ReadFrames(1),
              ElementsAre("message:MSH|^~\\&|SPLIT\rEVN|A04"));
}

TEST(MllpServerTest, CoalescedFramesInOneWrite) {
  auto server = StartEcho(LoopbackOptions());
  ASSERT_NE(server, nullptr);
  RawPeer peer(server->port());
  ASSERT_TRUE(peer.connected());
  ASSERT_TRUE(peer.Write(MllpFrame("one") + MllpFrame("two") +
                         "noise between frames" + MllpFrame("three")));
  EXPECT_THAT(peer.ReadFrames(3),
              ElementsAre("message:one", "message:two", "message:three"));
  EXPECT_EQ(server->counters().frames(MllpEventKind::kStrayBytes), 1u);
}

TEST(MllpServerTest, PipelinedFramesAnsweredInOrderOneAtATime) {
  std::atomic<int> in_flight{0};
  std::atomic<int> overlaps{0};
  auto server =
      StartOrDie(LoopbackOptions(), [&](const MllpEvent& e, const MllpPeer&) {
        if (in_flight.fetch_add(1) != 0) ++overlaps;
        // Earlier frames take longer, so out-of-order handling would show.
        int n = 0;
        absl::SimpleAtoi(e.payload, &n);
        absl::SleepFor(absl::Milliseconds(20 - n));
        in_flight.fetch_sub(1);
        return EchoKind(e);
      });
  ASSERT_NE(server, nullptr);
  RawPeer peer(server->port());
  ASSERT_TRUE(peer.connected());
  std::string batch;
  std::vector<std::string> expected;
  for (int i = 0; i < 20; ++i) {
    batch += MllpFrame(absl::StrCat(i));
    expected.push_back(absl::StrCat("message:", i));
  }
  ASSERT_TRUE(peer.Write(batch));
  EXPECT_EQ(peer.ReadFrames(20), expected);
  EXPECT_EQ(overlaps.load(), 0);
}

TEST(MllpServerTest, InterruptedBadTrailerAndTruncatedReachTheHandler) {
  absl::Mutex mu;
  std::vector<std::string> seen;
  auto server =
      StartOrDie(LoopbackOptions(), [&](const MllpEvent& e, const MllpPeer&) {
        absl::MutexLock lock(&mu);
        seen.push_back(EchoKind(e));
        return EchoKind(e);
      });
  ASSERT_NE(server, nullptr);
  {
    RawPeer peer(server->port());
    ASSERT_TRUE(peer.connected());
    ASSERT_TRUE(
        peer.Write("\x0B"
                   "abc"
                   "\x0B"
                   "def\x1C\x0D"
                   "\x0B"
                   "ghi\x1CX" +
                   MllpFrame("ok") +
                   "\x0B"
                   "partial"));
    EXPECT_THAT(peer.ReadFrames(4),
                ElementsAre("interrupted:abc", "message:def", "bad_trailer:ghi",
                            "message:ok"));
  }
  ASSERT_TRUE(Eventually([&] {
    absl::MutexLock lock(&mu);
    return seen.size() == 5;
  }));
  absl::MutexLock lock(&mu);
  EXPECT_EQ(seen.back(), "truncated:partial");
}

TEST(MllpServerTest, ManyConcurrentConnections) {
  MllpServerOptions options = LoopbackOptions();
  auto server = StartOrDie(options, [](const MllpEvent& e, const MllpPeer& p) {
    return absl::StrCat(p.connection_id, "|", e.payload);
  });
  ASSERT_NE(server, nullptr);
  constexpr int kConnections = 200;
  std::vector<std::unique_ptr<MllpClient>> clients;
  for (int i = 0; i < kConnections; ++i) {
    auto client = MllpClient::Connect(
        absl::StrCat("127.0.0.1:", server->port()), MllpClientOptions());
    ASSERT_THAT(client.status(), IsOk());
    clients.push_back(std::move(*client));
  }
  // Every connection open at once, each used from its own thread.
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kConnections; ++i) {
    threads.emplace_back([&, i] {
      for (int m = 0; m < 5; ++m) {
        const std::string body = absl::StrCat("MSH|", i, "|", m);
        absl::StatusOr<std::string> reply = clients[i]->Send(body);
        if (reply.ok() && absl::EndsWith(*reply, absl::StrCat("|", body))) {
          ++good;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(good.load(), kConnections * 5);
  const MllpServerCounters c = server->counters();
  EXPECT_EQ(c.connections_open, kConnections);
  EXPECT_EQ(c.connections_total, static_cast<uint64_t>(kConnections));
  EXPECT_EQ(c.connections_refused, 0u);
}

TEST(MllpServerTest, OversizedFrameAnsweredAndNextFrameInSync) {
  MllpServerOptions options = LoopbackOptions();
  options.max_frame_bytes = 1024;
  auto server = StartOrDie(options, [](const MllpEvent& e, const MllpPeer&) {
    return absl::StrCat(MllpEventKindName(e.kind), ":", e.payload.size());
  });
  ASSERT_NE(server, nullptr);
  RawPeer peer(server->port());
  ASSERT_TRUE(peer.connected());
  ASSERT_TRUE(peer.Write(MllpFrame(std::string(100000, 'x'))));
  ASSERT_TRUE(peer.Write(MllpFrame(std::string(1000, 'y'))));
  EXPECT_THAT(peer.ReadFrames(2),
              ElementsAre("oversized:1024", "message:1000"));
}

TEST(MllpServerTest, IdleConnectionIsClosed) {
  MllpServerOptions options = LoopbackOptions();
  options.idle_timeout = absl::Milliseconds(300);
  auto server = StartEcho(options);
  ASSERT_NE(server, nullptr);
  RawPeer peer(server->port());
  ASSERT_TRUE(peer.connected());
  ASSERT_TRUE(peer.Write(MllpFrame("hello")));
  EXPECT_THAT(peer.ReadFrames(1), ElementsAre("message:hello"));
  EXPECT_TRUE(peer.ClosedByServer());
  EXPECT_TRUE(
      Eventually([&] { return server->counters().idle_timeouts == 1; }));
  EXPECT_TRUE(
      Eventually([&] { return server->counters().connections_open == 0; }));
}

TEST(MllpServerTest, MessageBeingHandledIsNotIdleness) {
  MllpServerOptions options = LoopbackOptions();
  options.idle_timeout = absl::Milliseconds(200);
  auto server = StartOrDie(options, [](const MllpEvent& e, const MllpPeer&) {
    absl::SleepFor(absl::Seconds(1));  // five idle timeouts long
    return EchoKind(e);
  });
  ASSERT_NE(server, nullptr);
  RawPeer peer(server->port());
  ASSERT_TRUE(peer.connected());
  ASSERT_TRUE(peer.Write(MllpFrame("slow")));
  EXPECT_THAT(peer.ReadFrames(1), ElementsAre("message:slow"));
  EXPECT_EQ(server->counters().idle_timeouts, 0u);
}

TEST(MllpServerTest, ConnectionsPastMaxAreRefusedAndCounted) {
  MllpServerOptions options = LoopbackOptions();
  options.max_connections = 2;
  auto server = StartEcho(options);
  ASSERT_NE(server, nullptr);
  const std::string address = absl::StrCat("127.0.0.1:", server->port());
  auto a = MllpClient::Connect(address, MllpClientOptions());
  auto b = MllpClient::Connect(address, MllpClientOptions());
  ASSERT_THAT(a.status(), IsOk());
  ASSERT_THAT(b.status(), IsOk());
  // A round trip each: both are accepted before the third arrives.
  ASSERT_THAT((*a)->Send("a").status(), IsOk());
  ASSERT_THAT((*b)->Send("b").status(), IsOk());
  RawPeer third(server->port());
  ASSERT_TRUE(third.connected());  // the kernel accepts; the server closes
  EXPECT_TRUE(third.ClosedByServer());
  EXPECT_EQ(server->counters().connections_refused, 1u);
  EXPECT_EQ(server->counters().connections_open, 2);
  // A freed place is taken again.
  a->reset();
  ASSERT_TRUE(
      Eventually([&] { return server->counters().connections_open == 1; }));
  auto c = MllpClient::Connect(address, MllpClientOptions());
  ASSERT_THAT(c.status(), IsOk());
  absl::StatusOr<std::string> reply = (*c)->Send("c");
  ASSERT_THAT(reply.status(), IsOk());
  EXPECT_EQ(*reply, "message:c");
}

TEST(MllpServerTest, PerClientCapRefusesOnlyPastIt) {
  MllpServerOptions options = LoopbackOptions();
  options.max_connections_per_client = 1;
  auto server = StartEcho(options);
  ASSERT_NE(server, nullptr);
  const std::string address = absl::StrCat("127.0.0.1:", server->port());
  auto a = MllpClient::Connect(address, MllpClientOptions());
  ASSERT_THAT(a.status(), IsOk());
  ASSERT_THAT((*a)->Send("a").status(), IsOk());
  RawPeer second(server->port());
  EXPECT_TRUE(second.ClosedByServer());
  EXPECT_EQ(server->counters().connections_refused, 1u);
}

TEST(MllpServerTest, SlowHandlerOnOneConnectionDoesNotDelayAnother) {
  absl::Notification release;
  auto server =
      StartOrDie(LoopbackOptions(), [&](const MllpEvent& e, const MllpPeer&) {
        if (e.payload == "slow")
          release.WaitForNotificationWithTimeout(kPatience);
        return EchoKind(e);
      });
  ASSERT_NE(server, nullptr);
  RawPeer slow(server->port());
  ASSERT_TRUE(slow.Write(MllpFrame("slow")));
  // The slow handler holds its worker until released: the other
  // connection's replies can only come from other workers meanwhile.
  auto fast = MllpClient::Connect(absl::StrCat("127.0.0.1:", server->port()),
                                  MllpClientOptions());
  ASSERT_THAT(fast.status(), IsOk());
  for (int i = 0; i < 10; ++i) {
    absl::StatusOr<std::string> reply = (*fast)->Send("fast");
    ASSERT_THAT(reply.status(), IsOk());
    EXPECT_EQ(*reply, "message:fast");
  }
  EXPECT_FALSE(release.HasBeenNotified());
  release.Notify();
  EXPECT_THAT(slow.ReadFrames(1), ElementsAre("message:slow"));
}

TEST(MllpServerTest, PeerThatDoesNotReadCannotGrowServerBuffers) {
  std::atomic<int> calls{0};
  const std::string big_reply(256 << 10, 'r');
  auto server =
      StartOrDie(LoopbackOptions(), [&](const MllpEvent&, const MllpPeer&) {
        ++calls;
        return big_reply;
      });
  ASSERT_NE(server, nullptr);
  RawPeer peer(server->port());
  ASSERT_TRUE(peer.connected());
  // Small receive buffer on our side; never read. Write frames until the
  // writes block for a second: the server has stopped reading.
  const int small = 64 << 10;
  setsockopt(peer.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  fcntl(peer.fd(), F_SETFL, fcntl(peer.fd(), F_GETFL) | O_NONBLOCK);
  const std::string frame = MllpFrame(std::string(100, 'm'));
  std::string chunk;
  for (int i = 0; i < 100; ++i) chunk += frame;
  constexpr size_t kOffered = size_t{20} << 20;  // 20 MB: 50 GB of replies
  size_t sent = 0;
  absl::Time blocked_since = absl::InfiniteFuture();
  const absl::Time give_up = absl::Now() + kPatience;
  while (sent < kOffered && absl::Now() < give_up) {
    const size_t at = sent % chunk.size();
    const ssize_t n =
        send(peer.fd(), chunk.data() + at, chunk.size() - at, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      blocked_since = absl::InfiniteFuture();
      continue;
    }
    ASSERT_TRUE(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
    if (blocked_since == absl::InfiniteFuture()) blocked_since = absl::Now();
    if (absl::Now() - blocked_since > absl::Seconds(1)) break;
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_THAT(sent, Lt(kOffered)) << "the server kept reading";
  // Handler calls (and so reply bytes held) stay bounded: the output cap
  // plus what the kernel buffers hold, far below the frames offered.
  EXPECT_THAT(calls.load(), Lt(1000));
  EXPECT_THAT(server->counters().bytes_received, Lt(sent + 1));
}

TEST(MllpServerTest, ShutdownFinishesMessagesInHand) {
  absl::Notification entered;
  absl::Notification release;
  auto server =
      StartOrDie(LoopbackOptions(), [&](const MllpEvent& e, const MllpPeer&) {
        entered.Notify();
        release.WaitForNotificationWithTimeout(kPatience);
        return EchoKind(e);
      });
  ASSERT_NE(server, nullptr);
  const int port = server->port();
  RawPeer busy(port);
  RawPeer idle(port);
  ASSERT_TRUE(busy.Write(MllpFrame("in hand")));
  ASSERT_TRUE(entered.WaitForNotificationWithTimeout(kPatience));
  std::thread stopper([&] { server->Shutdown(kPatience); });
  EXPECT_TRUE(idle.ClosedByServer());  // nothing in hand: closed at once
  release.Notify();
  EXPECT_THAT(busy.ReadFrames(1), ElementsAre("message:in hand"));
  EXPECT_TRUE(busy.ClosedByServer());
  stopper.join();
  RawPeer late(port);
  EXPECT_FALSE(late.connected());
}

TEST(MllpServerTest, DrainDeadlineClosesConnectionsStillBusy) {
  absl::Notification entered;
  absl::Notification release;
  auto server =
      StartOrDie(LoopbackOptions(), [&](const MllpEvent& e, const MllpPeer&) {
        entered.Notify();
        release.WaitForNotificationWithTimeout(kPatience);
        return EchoKind(e);
      });
  ASSERT_NE(server, nullptr);
  RawPeer stuck(server->port());
  ASSERT_TRUE(stuck.Write(MllpFrame("stuck")));
  ASSERT_TRUE(entered.WaitForNotificationWithTimeout(kPatience));
  std::thread stopper([&] { server->Shutdown(absl::Milliseconds(100)); });
  // Past the drain the connection is closed though its handler still runs.
  EXPECT_TRUE(stuck.ClosedByServer());
  EXPECT_FALSE(release.HasBeenNotified());
  release.Notify();  // Shutdown() waits for the handler call to return
  stopper.join();
  EXPECT_EQ(server->counters().connections_open, 0);
}

TEST(MllpServerTest, CountersArePublishedAsPrometheusMetrics) {
  auto server = StartEcho(LoopbackOptions());
  ASSERT_NE(server, nullptr);
  metrics::Registry registry;
  ASSERT_THAT(RegisterMllpServerMetrics(server.get(), &registry), IsOk());
  RawPeer peer(server->port());
  ASSERT_TRUE(peer.Write(MllpFrame("a") + "\x0B"
                                          "b\x1CX"));
  EXPECT_EQ(peer.ReadFrames(2).size(), 2u);
  const std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("needlecheck_hl7_mllp_connections_open 1"));
  EXPECT_THAT(text, HasSubstr("needlecheck_hl7_mllp_connections_total 1"));
  EXPECT_THAT(
      text, HasSubstr("needlecheck_hl7_mllp_frames_total{kind=\"message\"} 1"));
  EXPECT_THAT(
      text,
      HasSubstr("needlecheck_hl7_mllp_frames_total{kind=\"bad_trailer\"} 1"));
  EXPECT_THAT(text, HasSubstr("needlecheck_hl7_mllp_replies_total 2"));
  EXPECT_THAT(text,
              HasSubstr("needlecheck_hl7_mllp_connections_refused_total 0"));
}

TEST(MllpServerTest, StartRejectsBadOptions) {
  MllpServerOptions options = LoopbackOptions();
  options.listen = "no-port";
  auto handler = [](const MllpEvent&, const MllpPeer&) { return ""; };
  EXPECT_FALSE(MllpServer::Start(options, handler).ok());
  options = LoopbackOptions();
  options.max_connections = 0;
  EXPECT_FALSE(MllpServer::Start(options, handler).ok());
  options = LoopbackOptions();
  options.tls_client_ca_file = "/nonexistent/ca.pem";
  EXPECT_FALSE(MllpServer::Start(options, handler).ok());
  options = LoopbackOptions();
  options.tls_cert_file = "/nonexistent/cert.pem";
  options.tls_key_file = "/nonexistent/key.pem";
  EXPECT_FALSE(MllpServer::Start(options, handler).ok());
}

}  // namespace
}  // namespace needlecheck::hl7v2
