#include "tests/testing/mllp_raw_peer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <utility>

#include "absl/time/clock.h"

namespace needlecheck::testing {

RawPeer::RawPeer(int port, absl::Duration patience) : patience_(patience) {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  connected_ =
      connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  const int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

RawPeer::~RawPeer() { close(fd_); }

bool RawPeer::Write(absl::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

std::vector<std::string> RawPeer::ReadFrames(size_t count) {
  std::vector<std::string> frames;
  const absl::Time deadline = absl::Now() + patience_;
  while (frames.size() < count && absl::Now() < deadline) {
    if (!Readable(deadline)) break;
    char buf[65536];
    const ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) break;
    std::vector<hl7v2::MllpEvent> events;
    deframer_.Feed(absl::string_view(buf, static_cast<size_t>(n)), &events);
    for (hl7v2::MllpEvent& e : events) {
      if (e.kind == hl7v2::MllpEventKind::kMessage) {
        frames.push_back(std::move(e.payload));
      }
    }
  }
  return frames;
}

bool RawPeer::ClosedByServer() {
  const absl::Time deadline = absl::Now() + patience_;
  while (Readable(deadline)) {
    char buf[4096];
    const ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    if (n == 0 || (n < 0 && errno == ECONNRESET)) return true;
    if (n < 0) return false;
  }
  return false;
}

bool RawPeer::Readable(absl::Time deadline) {
  for (;;) {
    const int64_t ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (ms <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    const int n = poll(&p, 1, static_cast<int>(ms));
    if (n > 0) return true;
    if (n == 0 || errno != EINTR) return false;
  }
}

}  // namespace needlecheck::testing
