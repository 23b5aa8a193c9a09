#include "common/net/host_port.h"

#include <netinet/in.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace needlecheck::net {

absl::Status SplitHostPort(absl::string_view address, std::string* host,
                           int* port) {
  const size_t colon = address.rfind(':');
  absl::string_view h =
      colon == absl::string_view::npos ? "" : address.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') {
    h = h.substr(1, h.size() - 2);
  }
  int value = -1;
  if (h.empty() || !absl::SimpleAtoi(address.substr(colon + 1), &value) ||
      value < 0 || value > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected HOST:PORT, got \"", address, "\""));
  }
  *host = std::string(h);
  *port = value;
  return absl::OkStatus();
}

int PortOf(const sockaddr* address) {
  if (address->sa_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(address)->sin_port);
  }
  if (address->sa_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(address)->sin6_port);
  }
  return 0;
}

int BoundPort(int fd) {
  sockaddr_storage bound = {};
  socklen_t size = sizeof(bound);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &size) != 0) {
    return 0;
  }
  return PortOf(reinterpret_cast<const sockaddr*>(&bound));
}

}  // namespace needlecheck::net
