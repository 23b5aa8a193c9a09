#include "adapters/cds_hooks/curl_fhir_client.h"

#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "adapters/cds_hooks/https_fetch.h"

namespace needlecheck::cds_hooks {

namespace {

class CurlFhirClient : public FhirClient {
 public:
  explicit CurlFhirClient(const CurlFhirClientOptions& options)
      : options_(options) {}

  absl::StatusOr<std::string> Get(const FhirGet& request) override {
    HttpsGetRequest get;
    get.url = request.url;
    get.headers = {
        "Accept: application/fhir+json",
        absl::StrCat("Authorization: Bearer ", request.bearer_token)};
    get.deadline = request.deadline;
    get.timeout = options_.request_timeout;
    get.max_bytes = request.max_bytes;
    get.allow_insecure_loopback = options_.allow_insecure_loopback;
    get.what = "FHIR";
    absl::StatusOr<HttpsGetResponse> response = HttpsGet(get);
    if (!response.ok()) return response.status();
    const long status = response->status;
    if (status == 200) return std::move(response->body);
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
  const CurlFhirClientOptions options_;
};

}  // namespace

std::unique_ptr<FhirClient> NewCurlFhirClient(
    const CurlFhirClientOptions& options) {
  return std::make_unique<CurlFhirClient>(options);
}

}  // namespace needlecheck::cds_hooks
