#include "tests/adapters/cds_hooks/fake_fhir_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace needlecheck::cds_hooks::testing {

namespace {

int BindLoopback(int* port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t size = sizeof(address);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
    close(fd);
    return -1;
  }
  *port = ntohs(address.sin_port);
  return fd;
}

std::string Response(absl::string_view status, absl::string_view body,
                     absl::string_view extra_headers = "") {
  return absl::StrCat("HTTP/1.1 ", status,
                      "\r\nContent-Type: application/fhir+json\r\n"
                      "Content-Length: ",
                      body.size(), "\r\n", extra_headers,
                      "Connection: close\r\n\r\n", body);
}

}  // namespace

int ClosedLoopbackPort() {
  int port = 0;
  const int fd = BindLoopback(&port);
  if (fd < 0) return 0;
  close(fd);
  return port;
}

absl::StatusOr<std::unique_ptr<FakeFhirServer>> FakeFhirServer::Start(
    const Options& options) {
  std::unique_ptr<FakeFhirServer> server(new FakeFhirServer());
  server->options_ = options;
  server->listen_fd_ = BindLoopback(&server->port_);
  if (server->listen_fd_ < 0 || listen(server->listen_fd_, 64) != 0) {
    return absl::UnavailableError("cannot listen on 127.0.0.1");
  }
  FakeFhirServer* s = server.get();
  server->acceptor_ = std::thread([s] { s->AcceptLoop(); });
  return server;
}

FakeFhirServer::~FakeFhirServer() {
  stop_.Notify();
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> workers;
  {
    absl::MutexLock lock(&mu_);
    for (int fd : open_fds_) shutdown(fd, SHUT_RDWR);
    workers.swap(workers_);
  }
  for (std::thread& t : workers) t.join();
  if (listen_fd_ >= 0) close(listen_fd_);
}

std::string FakeFhirServer::base() const {
  return absl::StrCat("http://127.0.0.1:", port_, "/fhir");
}

int FakeFhirServer::connections() const {
  absl::MutexLock lock(&mu_);
  return connections_;
}

int FakeFhirServer::requests() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(targets_.size());
}

std::vector<std::string> FakeFhirServer::targets() const {
  absl::MutexLock lock(&mu_);
  return targets_;
}

std::vector<std::string> FakeFhirServer::authorizations() const {
  absl::MutexLock lock(&mu_);
  return authorizations_;
}

size_t FakeFhirServer::bytes_sent() const {
  absl::MutexLock lock(&mu_);
  return bytes_sent_;
}

void FakeFhirServer::AcceptLoop() {
  while (!stop_.HasBeenNotified()) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    absl::MutexLock lock(&mu_);
    ++connections_;
    open_fds_.push_back(fd);
    workers_.emplace_back([this, fd] { Serve(fd); });
  }
}

bool FakeFhirServer::Send(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n =
        send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
    absl::MutexLock lock(&mu_);
    bytes_sent_ += static_cast<size_t>(n);
  }
  return true;
}

void FakeFhirServer::Serve(int fd) {
  timeval timeout{30, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  std::string request;
  char buffer[4096];
  while (request.find("\r\n\r\n") == std::string::npos &&
         request.size() < 65536) {
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) break;
    request.append(buffer, static_cast<size_t>(n));
  }
  const std::vector<std::string> lines =
      absl::StrSplit(request.substr(0, request.find("\r\n\r\n")), "\r\n");
  if (lines.empty() || lines[0].empty()) {
    close(fd);
    return;
  }
  const std::vector<std::string> first = absl::StrSplit(lines[0], ' ');
  const std::string target = first.size() > 1 ? first[1] : "";
  std::string authorization;
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(':');
    if (colon != std::string::npos &&
        absl::EqualsIgnoreCase(lines[i].substr(0, colon), "authorization")) {
      authorization =
          std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
    }
  }
  {
    absl::MutexLock lock(&mu_);
    targets_.push_back(target);
    authorizations_.push_back(authorization);
  }
  const std::string empty = R"({"resourceType":"Bundle","type":"searchset"})";
  switch (options_.behavior) {
    case Behavior::kEmptyBundle:
      Send(fd, Response("200 OK", empty));
      break;
    case Behavior::kStatus500:
      Send(fd, Response("500 Internal Server Error",
                        R"({"resourceType":"OperationOutcome"})"));
      break;
    case Behavior::kCloseAtOnce:
      break;
    case Behavior::kHang:
      stop_.WaitForNotificationWithTimeout(absl::Seconds(120));
      break;
    case Behavior::kEndless: {
      if (!Send(fd,
                "HTTP/1.1 200 OK\r\nContent-Type: application/fhir+json"
                "\r\nConnection: close\r\n\r\n")) {
        break;
      }
      const std::string chunk(64 << 10, ' ');
      size_t sent = 0;
      while (sent < options_.endless_limit && !stop_.HasBeenNotified() &&
             Send(fd, chunk)) {
        sent += chunk.size();
      }
      break;
    }
    case Behavior::kPaged: {
      int page = 1;
      const size_t at = target.find("page=");
      if (at != std::string::npos) {
        (void)absl::SimpleAtoi(target.substr(at + 5), &page);
      }
      const std::string path = target.substr(0, target.find('?'));
      const std::string body = absl::StrCat(
          R"({"resourceType":"Bundle","type":"searchset","id":")",
          std::string(options_.page_bytes, 'x'),
          R"(","link":[{"relation":"next","url":"http://127.0.0.1:)", port_,
          path, "?patient=p1&page=", page + 1, R"("}]})");
      Send(fd, Response("200 OK", body));
      break;
    }
    case Behavior::kRedirect:
      Send(fd,
           Response("302 Found", empty,
                    absl::StrCat("Location: ", options_.redirect_to, "\r\n")));
      break;
  }
  {
    absl::MutexLock lock(&mu_);
    open_fds_.erase(std::remove(open_fds_.begin(), open_fds_.end(), fd),
                    open_fds_.end());
  }
  close(fd);
}

}  // namespace needlecheck::cds_hooks::testing
