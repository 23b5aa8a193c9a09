#include "adapters/cds_hooks/curl_fhir_client.h"

#include <curl/curl.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"

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
  if (sink->body.size() + n > sink->limit) {
    sink->too_large = true;
    return 0;  // aborts the transfer
  }
  sink->body.append(data, n);
  return n;
}

class CurlFhirClient : public FhirClient {
 public:
  CurlFhirClient(absl::Duration timeout, size_t max_response_bytes)
      : timeout_(timeout), max_response_bytes_(max_response_bytes) {}

  absl::StatusOr<std::string> Get(const std::string& url,
                                  const std::string& bearer_token) override {
    std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
    if (curl == nullptr) return absl::InternalError("curl_easy_init failed");
    curl_slist* raw = nullptr;
    raw = curl_slist_append(raw, "Accept: application/fhir+json");
    const std::string auth =
        absl::StrCat("Authorization: Bearer ", bearer_token);
    raw = curl_slist_append(raw, auth.c_str());
    std::unique_ptr<curl_slist, SlistDeleter> headers(raw);
    Sink sink;
    sink.limit = max_response_bytes_;
    CURL* c = curl.get();
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
                     static_cast<long>(absl::ToInt64Milliseconds(timeout_)));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(absl::ToInt64Milliseconds(timeout_)));
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &Write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    const CURLcode code = curl_easy_perform(c);
    if (sink.too_large) {
      return absl::ResourceExhaustedError("FHIR response too large");
    }
    if (code == CURLE_OPERATION_TIMEDOUT) {
      return absl::DeadlineExceededError("FHIR request timed out");
    }
    if (code != CURLE_OK) {
      return absl::UnavailableError(
          absl::StrCat("FHIR request failed: ", curl_easy_strerror(code)));
    }
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (status == 200) return std::move(sink.body);
    const std::string message =
        absl::StrCat("FHIR server answered HTTP ", status);
    if (status == 404) return absl::NotFoundError(message);
    if (status == 401 || status == 403) {
      return absl::PermissionDeniedError(message);
    }
    if (status >= 500) return absl::UnavailableError(message);
    return absl::FailedPreconditionError(message);
  }

 private:
  const absl::Duration timeout_;
  const size_t max_response_bytes_;
};

}  // namespace

std::unique_ptr<FhirClient> NewCurlFhirClient(absl::Duration timeout,
                                              size_t max_response_bytes) {
  return std::make_unique<CurlFhirClient>(timeout, max_response_bytes);
}

}  // namespace needlecheck::cds_hooks
