// Listening addresses as the flags give them ("HOST:PORT") and the ports of
// sockets: what the metrics endpoint, the CDS Hooks gateway, the MLLP server
// and client all need, in one place.
//
// Contract
// - SplitHostPort("HOST:PORT"): the host (an IPv6 literal's brackets
//   removed: "[::1]:80" -> "::1") and the port, 0..65535 (0: any free
//   port). INVALID_ARGUMENT "expected HOST:PORT, got \"...\"" when there is
//   no colon, the host is empty, or the port is not a number in range. The
//   last colon separates the port, so "::1:80" is host "::1", port 80.
// - PortOf(sockaddr): the port of an AF_INET/AF_INET6 address, 0 for other
//   families. BoundPort(fd): the port a bound socket has (after binding
//   port 0, the one the kernel chose); 0 when it cannot be read.
// - Thread-safe, no state.
#ifndef COMMON_NET_HOST_PORT_H_
#define COMMON_NET_HOST_PORT_H_

#include <sys/socket.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace needlecheck::net {

absl::Status SplitHostPort(absl::string_view address, std::string* host,
                           int* port);

int PortOf(const sockaddr* address);

int BoundPort(int fd);

}  // namespace needlecheck::net

#endif  // COMMON_NET_HOST_PORT_H_
