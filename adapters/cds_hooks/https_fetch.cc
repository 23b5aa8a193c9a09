#include "adapters/cds_hooks/https_fetch.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "adapters/cds_hooks/fhir_server_policy.h"

namespace needlecheck::cds_hooks {

namespace {

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

struct Sink {
  std::string body;
  size_t limit = 0;
  bool too_large = false;
};

size_t Write(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const size_t n = size * count;
  if (n > sink->limit || sink->body.size() > sink->limit - n) {
    sink->too_large = true;
    return 0;  // aborts the transfer
  }
  sink->body.append(data, n);
  return n;
}

// Where a connection may go.
struct AddressRule {
  bool loopback = false;  // true: only loopback; false: never loopback
  bool refused = false;   // set when an address was refused
};

bool IsLoopback(const sockaddr* address) {
  if (address->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(address);
    return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
  }
  if (address->sa_family == AF_INET6) {
    const in6_addr& a =
        reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(&a)) return true;
    return IN6_IS_ADDR_V4MAPPED(&a) && a.s6_addr[12] == 127;
  }
  return false;
}

// Unspecified, link-local (cloud metadata) or multicast: never a server
// we fetch from.
bool IsForbidden(const sockaddr* address) {
  if (address->sa_family == AF_INET) {
    const uint32_t a =
        ntohl(reinterpret_cast<const sockaddr_in*>(address)->sin_addr.s_addr);
    return (a >> 24) == 0 || (a >> 16) == 0xA9FE || (a >> 28) == 0xE ||
           a == 0xFFFFFFFF;
  }
  if (address->sa_family == AF_INET6) {
    const in6_addr& a =
        reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&a)) {
      const uint32_t v4 = (uint32_t{a.s6_addr[12]} << 24) |
                          (uint32_t{a.s6_addr[13]} << 16) |
                          (uint32_t{a.s6_addr[14]} << 8) | a.s6_addr[15];
      return (v4 >> 24) == 0 || (v4 >> 16) == 0xA9FE || (v4 >> 28) == 0xE;
    }
    return IN6_IS_ADDR_UNSPECIFIED(&a) || IN6_IS_ADDR_LINKLOCAL(&a) ||
           IN6_IS_ADDR_MULTICAST(&a);
  }
  return true;  // not an IP socket
}

curl_socket_t OpenSocket(void* user, curlsocktype purpose,
                         curl_sockaddr* address) {
  auto* rule = static_cast<AddressRule*>(user);
  const sockaddr* a = &address->addr;
  const bool loopback = IsLoopback(a);
  if (purpose != CURLSOCKTYPE_IPCXN || IsForbidden(a) ||
      loopback != rule->loopback) {
    rule->refused = true;
    return CURL_SOCKET_BAD;
  }
  return socket(address->family, address->socktype, address->protocol);
}

}  // namespace

absl::StatusOr<HttpsGetResponse> HttpsGet(const HttpsGetRequest& request) {
  absl::StatusOr<HttpUrl> url = ParseHttpUrl(request.url);
  if (!url.ok()) return absl::PermissionDeniedError("URL refused");
  AddressRule rule;
  rule.loopback = IsLoopbackLiteral(url->host);
  if (url->scheme != "https" &&
      !(request.allow_insecure_loopback && rule.loopback)) {
    return absl::PermissionDeniedError("plain http refused");
  }
  const absl::Duration left =
      std::min(request.deadline - absl::Now(), request.timeout);
  const int64_t timeout_ms = absl::ToInt64Milliseconds(left);
  if (timeout_ms <= 0) {
    return absl::DeadlineExceededError(
        absl::StrCat("no time left for the ", request.what, " request"));
  }
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (curl == nullptr) return absl::InternalError("curl_easy_init failed");
  curl_slist* raw = nullptr;
  for (const std::string& header : request.headers) {
    raw = curl_slist_append(raw, header.c_str());
  }
  std::unique_ptr<curl_slist, SlistDeleter> headers(raw);
  Sink sink;
  sink.limit = request.max_bytes;
  const std::string canonical = url->Canonical();
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, canonical.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, url->scheme.c_str());
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 0L);
  curl_easy_setopt(c, CURLOPT_PROXY, "");
  curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, &OpenSocket);
  curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &rule);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout_ms));
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
                   static_cast<curl_off_t>(request.max_bytes));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &Write);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(c, CURLOPT_USERAGENT, "needlecheck-cds-hooks");
  const CURLcode code = curl_easy_perform(c);
  if (sink.too_large || code == CURLE_FILESIZE_EXCEEDED) {
    return absl::ResourceExhaustedError(
        absl::StrCat(request.what, " response over the byte budget"));
  }
  // (With several addresses one may be refused and the next one used.)
  if (code != CURLE_OK && rule.refused) {
    return absl::PermissionDeniedError("connected address refused");
  }
  if (code == CURLE_OPERATION_TIMEDOUT) {
    return absl::DeadlineExceededError(
        absl::StrCat(request.what, " request timed out"));
  }
  if (code != CURLE_OK) {
    return absl::UnavailableError(absl::StrCat(
        request.what, " request failed: ", curl_easy_strerror(code)));
  }
  HttpsGetResponse response;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
  response.body = std::move(sink.body);
  return response;
}

std::function<absl::StatusOr<std::string>()> HttpsJwksFetch(
    std::string url, absl::Duration timeout, size_t max_bytes,
    bool allow_insecure_loopback) {
  return [url = std::move(url), timeout, max_bytes,
          allow_insecure_loopback]() -> absl::StatusOr<std::string> {
    HttpsGetRequest get;
    get.url = url;
    get.headers = {"Accept: application/jwk-set+json, application/json"};
    get.timeout = timeout;
    get.max_bytes = max_bytes;
    get.allow_insecure_loopback = allow_insecure_loopback;
    get.what = "JWKS";
    absl::StatusOr<HttpsGetResponse> response = HttpsGet(get);
    if (!response.ok()) return response.status();
    if (response->status != 200) {
      return absl::UnavailableError(
          absl::StrCat("JWKS server answered HTTP ", response->status));
    }
    return std::move(response->body);
  };
}

}  // namespace needlecheck::cds_hooks
