// SplitHostPort and BoundPort: the one parser of listening addresses and the
// one reader of a bound socket's port.
#include "common/net/host_port.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "gtest/gtest.h"

namespace needlecheck::net {
namespace {

TEST(SplitHostPortTest, SplitsAtTheLastColon) {
  std::string host;
  int port = -1;
  ASSERT_TRUE(SplitHostPort("127.0.0.1:8080", &host, &port).ok());
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 8080);
  ASSERT_TRUE(SplitHostPort("localhost:0", &host, &port).ok());
  EXPECT_EQ(host, "localhost");
  EXPECT_EQ(port, 0);
  ASSERT_TRUE(SplitHostPort("example.org:65535", &host, &port).ok());
  EXPECT_EQ(port, 65535);
}

TEST(SplitHostPortTest, RemovesTheBracketsOfAnIpv6Literal) {
  std::string host;
  int port = -1;
  ASSERT_TRUE(SplitHostPort("[::1]:2575", &host, &port).ok());
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 2575);
  ASSERT_TRUE(SplitHostPort("::1:80", &host, &port).ok());
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 80);
}

TEST(SplitHostPortTest, RefusesAnythingButHostColonPort) {
  for (const char* bad :
       {"", "localhost", ":80", "[]:80", "host:", "host:http", "host:-1",
        "host:65536", "host:99999999999", "host:8O"}) {
    std::string host = "unchanged";
    int port = 7;
    const absl::Status status = SplitHostPort(bad, &host, &port);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(status.message(),
              std::string("expected HOST:PORT, got \"") + bad + "\"");
    EXPECT_EQ(host, "unchanged") << bad;
    EXPECT_EQ(port, 7) << bad;
  }
}

TEST(BoundPortTest, IsThePortTheKernelChoseForPortZero) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  ASSERT_EQ(
      bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)),
      0);
  const int port = BoundPort(fd);
  EXPECT_GT(port, 0);
  EXPECT_LE(port, 65535);

  sockaddr_in bound = {};
  socklen_t size = sizeof(bound);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &size), 0);
  EXPECT_EQ(PortOf(reinterpret_cast<const sockaddr*>(&bound)), port);
  close(fd);
}

TEST(BoundPortTest, IsZeroForWhatIsNotABoundInternetSocket) {
  EXPECT_EQ(BoundPort(-1), 0);
  sockaddr unix_family = {};
  unix_family.sa_family = AF_UNIX;
  EXPECT_EQ(PortOf(&unix_family), 0);
}

}  // namespace
}  // namespace needlecheck::net
