// MllpClient against scripted loopback servers: a reply split across reads,
// bytes before the reply, the reply timeout, a server that closes, and an
// address nobody listens on.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "adapters/hl7v2/mllp_framer.h"
#include "adapters/hl7v2/transport/mllp_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::hl7v2 {
namespace {

using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::StatusIs;

// One loopback connection served by `script` (given the accepted socket)
// on a thread of its own.
class ScriptedServer {
 public:
  explicit ScriptedServer(std::function<void(int fd)> script) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr = {};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), len);
    listen(listen_fd_, 4);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this, script] {
      const int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;
      const int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      script(fd);
      close(fd);
    });
  }
  ~ScriptedServer() {
    shutdown(listen_fd_, SHUT_RDWR);
    thread_.join();
    close(listen_fd_);
  }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

 private:
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

// Reads from `fd` until a whole frame came (or the peer closed).
std::string ReadFrame(int fd) {
  MllpDeframer deframer;
  std::vector<MllpEvent> events;
  char buf[4096];
  while (events.empty()) {
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return "";
    deframer.Feed(absl::string_view(buf, static_cast<size_t>(n)), &events);
  }
  return events.front().payload;
}

void WriteAll(int fd, absl::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

TEST(MllpClientTest, ReplySplitAcrossReads) {
  ScriptedServer server([](int fd) {
    const std::string got = ReadFrame(fd);
    const std::string reply = MllpFrame("MSA|AA|" + got);
    for (char byte : reply) {
      WriteAll(fd, absl::string_view(&byte, 1));
      absl::SleepFor(absl::Milliseconds(2));  // separate segments
    }
  });
  auto client = MllpClient::Connect(server.address(), MllpClientOptions());
  ASSERT_THAT(client.status(), IsOk());
  absl::StatusOr<std::string> reply = (*client)->Send("MSG1");
  ASSERT_THAT(reply.status(), IsOk());
  EXPECT_EQ(*reply, "MSA|AA|MSG1");
}

TEST(MllpClientTest, ReplyAndNextReplyInOneRead) {
  ScriptedServer server([](int fd) {
    ReadFrame(fd);
    // Noise, then two replies at once: the second answers the next Send.
    WriteAll(fd, "\r\n" + MllpFrame("first") + MllpFrame("second"));
    ReadFrame(fd);
  });
  auto client = MllpClient::Connect(server.address(), MllpClientOptions());
  ASSERT_THAT(client.status(), IsOk());
  absl::StatusOr<std::string> one = (*client)->Send("a");
  ASSERT_THAT(one.status(), IsOk());
  EXPECT_EQ(*one, "first");
  absl::StatusOr<std::string> two = (*client)->Send("b");
  ASSERT_THAT(two.status(), IsOk());
  EXPECT_EQ(*two, "second");
}

TEST(MllpClientTest, ReplyTimeoutThenConnectionIsSpent) {
  absl::Notification done;
  ScriptedServer server([&](int fd) {
    ReadFrame(fd);  // and never answer
    done.WaitForNotificationWithTimeout(absl::Seconds(60));
  });
  MllpClientOptions options;
  options.reply_timeout = absl::Milliseconds(300);
  auto client = MllpClient::Connect(server.address(), options);
  ASSERT_THAT(client.status(), IsOk());
  EXPECT_THAT((*client)->Send("x").status(),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_THAT((*client)->Send("y").status(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  done.Notify();
}

TEST(MllpClientTest, ServerClosingBeforeReplyIsUnavailable) {
  ScriptedServer server([](int fd) {
    ReadFrame(fd);
    WriteAll(fd,
             "\x0B"
             "MSH|half");  // a partial reply, then close
  });
  auto client = MllpClient::Connect(server.address(), MllpClientOptions());
  ASSERT_THAT(client.status(), IsOk());
  EXPECT_THAT((*client)->Send("x").status(),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST(MllpClientTest, OversizedReplyIsRefused) {
  ScriptedServer server([](int fd) {
    ReadFrame(fd);
    WriteAll(fd, MllpFrame(std::string(5000, 'z')));
  });
  MllpClientOptions options;
  options.max_frame_bytes = 1000;
  auto client = MllpClient::Connect(server.address(), options);
  ASSERT_THAT(client.status(), IsOk());
  EXPECT_THAT((*client)->Send("x").status(),
              StatusIs(absl::StatusCode::kResourceExhausted));
}

TEST(MllpClientTest, MessageWithFramingBytesIsRejected) {
  ScriptedServer server([](int fd) { ReadFrame(fd); });
  auto client = MllpClient::Connect(server.address(), MllpClientOptions());
  ASSERT_THAT(client.status(), IsOk());
  EXPECT_THAT((*client)
                  ->Send("a\x1C"
                         "b")
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(MllpClientTest, NobodyListeningIsUnavailable) {
  int port = 0;
  {
    // A port that was free a moment ago and is closed now.
    ScriptedServer server([](int) {});
    port = std::stoi(server.address().substr(10));
    MllpClient::Connect(server.address(), MllpClientOptions()).IgnoreError();
  }
  EXPECT_THAT(
      MllpClient::Connect(absl::StrCat("127.0.0.1:", port), MllpClientOptions())
          .status(),
      StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(MllpClient::Connect("no-port", MllpClientOptions()).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace needlecheck::hl7v2
