// needlecheck-cds-hooks: the CDS Hooks 2.0 service in front of needlecheckd.
//
//   needlecheck-cds-hooks --listen=127.0.0.1:8080
//       --screening_service=127.0.0.1:50051 --jwks_file=ehr-jwks.json
//       [--jwks_url=https://ehr.example.org=https://ehr.example.org/jwks]
//       --trusted_issuers=https://ehr.example.org
//       --audience=https://cds.example.org
//       [--tls_cert=cert.pem --tls_key=key.pem] [--docs_base_url=URL]
//       [--screening_tls_ca=ca.pem [--screening_tls_cert=client.pem
//        --screening_tls_key=client.key]]   (TLS / mutual TLS to needlecheckd)
//       [--metrics_listen=HOST:PORT]
//   needlecheck-cds-hooks --insecure_no_auth   (loopback only, local trials)
//
// Prints "needlecheck-cds-hooks listening on HOST:PORT" once serving.
// SIGTERM/SIGINT stop it. Exit codes: 0 stopped, 1 could not serve,
// 2 bad flags (a missing, unreadable or non-PEM --screening_tls_* file
// included: the gateway refuses to start).
#include <curl/curl.h>
#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "adapters/cds_hooks/cds_metrics.h"
#include "adapters/cds_hooks/cds_service.h"
#include "adapters/cds_hooks/curl_fhir_client.h"
#include "adapters/cds_hooks/grpc_screening_client.h"
#include "adapters/cds_hooks/http_server.h"
#include "adapters/cds_hooks/https_fetch.h"
#include "adapters/cds_hooks/jwks_cache.h"
#include "adapters/cds_hooks/jwt_verifier.h"
#include "adapters/common/client_tls_flags.h"
#include "adapters/common/grpc_client_channel.h"
#include "common/metrics/http_endpoint.h"
#include "common/metrics/registry.h"
#include "common/net/host_port.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:8080",
          "HOST:PORT to serve HTTP on (port 0: any free port).");
ABSL_FLAG(std::string, screening_service, "127.0.0.1:50051",
          "needlecheckd's gRPC address, HOST:PORT. Several replicas: "
          "dns:///HOST:PORT (every address of the name, re-resolved when a "
          "connection closes) or ipv4:ADDR:PORT,ADDR:PORT,...; calls are "
          "spread round-robin. With TLS, a list needs "
          "--screening_tls_server_name.");
// TLS to needlecheckd (adapters/common/client_tls_options.h); none given:
// plaintext, fit for needlecheckd on loopback only.
NEEDLECHECK_CLIENT_TLS_FLAGS(screening_, screening_service);
ABSL_FLAG(std::string, jwks_file, "",
          "JWK Set (JSON) with the EHR's public keys (EC P-384, RSA).");
ABSL_FLAG(std::vector<std::string>, trusted_issuers, {},
          "Comma-separated JWT iss values to accept.");
// JWK Set URLs (with or instead of --jwks_file); see jwks_cache.h.
ABSL_FLAG(std::vector<std::string>, jwks_url, {},
          "Comma-separated ISSUER=URL pairs: the EHR's JWK Set URL per "
          "issuer (https). A URL's keys verify only tokens whose iss is its "
          "ISSUER, which must be in --trusted_issuers. Fetched at start, "
          "again for an unknown kid or after an hour, at most once a minute "
          "per URL.");
ABSL_FLAG(bool, jwks_allow_insecure_loopback, false,
          "Tests only: also allow http --jwks_url to 127.0.0.0/8 and [::1].");
ABSL_FLAG(absl::Duration, jwks_min_refresh_interval, absl::Minutes(1),
          "Fewest time between two fetches of one --jwks_url. Below 1m only "
          "with --jwks_allow_insecure_loopback (tests).");
ABSL_FLAG(std::string, audience, "",
          "This service's public base URL as the EHR calls it, e.g. "
          "https://cds.example.org; JWT aud must be it + /cds-services[/id].");
ABSL_FLAG(bool, insecure_no_auth, false,
          "Accept calls without a JWT. Refused unless --listen is loopback.");
ABSL_FLAG(bool, discovery_requires_auth, false,
          "Require a JWT for GET /cds-services too.");
ABSL_FLAG(std::string, tls_cert, "", "PEM certificate chain: serve HTTPS.");
ABSL_FLAG(std::string, tls_key, "", "PEM private key for --tls_cert.");
ABSL_FLAG(absl::Duration, rpc_timeout, absl::Seconds(5),
          "Deadline of each gRPC call to needlecheckd.");
ABSL_FLAG(absl::Duration, fhir_timeout, absl::Seconds(5),
          "Timeout of each request to the EHR's FHIR server.");
ABSL_FLAG(int64_t, max_body_bytes, 16 << 20, "Largest request body accepted.");
ABSL_FLAG(std::vector<std::string>, fhir_server_allow, {},
          "Comma-separated URL prefixes of the FHIR servers absent prefetch "
          "data may be fetched from (https; scheme, host, port and whole path "
          "segments must match), e.g. https://ehr.example.org/fhir. Default "
          "none: a request whose prefetch is incomplete gets 412.");
ABSL_FLAG(bool, fhir_server_allow_insecure_loopback, false,
          "Tests only: also allow http to 127.0.0.0/8 and [::1] prefixes.");
ABSL_FLAG(absl::Duration, hook_deadline, absl::Seconds(5),
          "Total time for all FHIR requests and the Screen call of one hook "
          "call.");
ABSL_FLAG(int64_t, fhir_fetch_max_bytes, 16 << 20,
          "Most bytes fetched from the FHIR server per hook call, all "
          "requests together.");
ABSL_FLAG(int, max_feedback_items, 100,
          "Most feedback entries in one feedback POST.");
ABSL_FLAG(std::string, docs_base_url, "",
          "Absolute URL the rules' citation_url values are relative to (for "
          "card source.url), e.g. https://docs.example.org/needlecheck/.");
ABSL_FLAG(
    std::string, cors_allow_origin, "*",
    "Access-Control-Allow-Origin value (the EHR's origin in production).");
ABSL_FLAG(int, threads, 16,
          "Worker threads running hook calls (connections are held by one "
          "event-loop thread, not by workers).");
ABSL_FLAG(int, max_connections, 1024,
          "Open HTTP connections in all; at the cap a new one replaces the "
          "longest-idle keep-alive connection, or is refused (503).");
ABSL_FLAG(int, max_connections_per_client, 256,
          "Open HTTP connections from one client IP address (same policy).");
ABSL_FLAG(int, header_timeout_ms, 5000,
          "Deadline for a request's line and headers (total, not per read); "
          "past it: 408 and close.");
ABSL_FLAG(int, body_timeout_ms, 10000,
          "Deadline for a request's body after its headers; past it: 408.");
ABSL_FLAG(int, idle_timeout_ms, 5000,
          "How long a keep-alive connection may wait for its next request.");
ABSL_FLAG(int64_t, max_header_bytes, 32 << 10,
          "Largest request line + headers accepted (larger: 431).");
ABSL_FLAG(std::string, metrics_listen, "",
          "When set, HOST:PORT serving GET /metrics (Prometheus text format) "
          "over plain HTTP on its own port (0: a free one); keep it on a "
          "private network. Empty: no metrics endpoint.");
ABSL_FLAG(std::string, time_zone, "UTC",
          "Time zone of 'today' (patient-view, undated orders), e.g. "
          "Europe/Berlin.");

namespace needlecheck::cds_hooks {
namespace {

// Each connection is a file descriptor: raises the soft RLIMIT_NOFILE so
// that `max_connections` fit beside the gRPC channel, libcurl and the
// listener, and returns how many connections fit (fewer, with a warning,
// when the hard limit is too low).
int FitConnectionsToFileLimit(int max_connections) {
  constexpr rlim_t kReserve = 128;
  const rlim_t needed = static_cast<rlim_t>(max_connections) + kReserve;
  rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return max_connections;
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < needed) {
    limit.rlim_cur = limit.rlim_max == RLIM_INFINITY
                         ? needed
                         : std::min(needed, limit.rlim_max);
    setrlimit(RLIMIT_NOFILE, &limit);
    getrlimit(RLIMIT_NOFILE, &limit);
  }
  if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= needed) {
    return max_connections;
  }
  const int fit = limit.rlim_cur > 2 * kReserve
                      ? static_cast<int>(limit.rlim_cur - kReserve)
                      : static_cast<int>(limit.rlim_cur / 2);
  std::fprintf(stderr,
               "WARNING: --max_connections=%d lowered to %d: the file "
               "descriptor limit is %llu (raise ulimit -n)\n",
               max_connections, fit,
               static_cast<unsigned long long>(limit.rlim_cur));
  return fit;
}

// Bounds of one JWK Set fetch (a JWK Set is a few KiB).
constexpr absl::Duration kJwksFetchTimeout = absl::Seconds(5);
constexpr size_t kJwksMaxBytes = 256 << 10;

// The channel to needlecheckd from --screening_service and the
// --screening_tls_* flags; INVALID_ARGUMENT naming the flag for a bad flag
// or file. Warns when plaintext leaves the machine.
absl::StatusOr<std::shared_ptr<grpc::Channel>> ScreeningChannel() {
  return needlecheck::grpc_client::OpenAdapterChannel(
      absl::GetFlag(FLAGS_screening_service),
      NEEDLECHECK_CLIENT_TLS_FROM_FLAGS(screening_), "screening_",
      "--screening_service");
}

int Main() {
  std::string host;
  int port = 0;
  if (!net::SplitHostPort(absl::GetFlag(FLAGS_listen), &host, &port).ok()) {
    std::fprintf(stderr, "--listen must be HOST:PORT\n");
    return 2;
  }
  CdsServiceOptions options;
  options.require_auth = !absl::GetFlag(FLAGS_insecure_no_auth);
  options.discovery_requires_auth =
      absl::GetFlag(FLAGS_discovery_requires_auth);
  options.audience_base = absl::GetFlag(FLAGS_audience);
  options.docs_base_url = absl::GetFlag(FLAGS_docs_base_url);
  options.cors_allow_origin = absl::GetFlag(FLAGS_cors_allow_origin);
  const int64_t max_body = absl::GetFlag(FLAGS_max_body_bytes);
  if (max_body <= 0) {
    std::fprintf(stderr, "--max_body_bytes must be positive\n");
    return 2;
  }
  options.max_body_bytes = static_cast<size_t>(max_body);
  absl::StatusOr<FhirServerPolicy> fhir_servers = FhirServerPolicy::Create(
      absl::GetFlag(FLAGS_fhir_server_allow),
      absl::GetFlag(FLAGS_fhir_server_allow_insecure_loopback));
  if (!fhir_servers.ok()) {
    std::fprintf(stderr, "--fhir_server_allow: %s\n",
                 std::string(fhir_servers.status().message()).c_str());
    return 2;
  }
  options.fhir_servers = *std::move(fhir_servers);
  options.hook_deadline = absl::GetFlag(FLAGS_hook_deadline);
  const int64_t fetch_bytes = absl::GetFlag(FLAGS_fhir_fetch_max_bytes);
  const int feedback_items = absl::GetFlag(FLAGS_max_feedback_items);
  if (options.hook_deadline <= absl::ZeroDuration() || fetch_bytes <= 0 ||
      feedback_items <= 0) {
    std::fprintf(stderr,
                 "--hook_deadline, --fhir_fetch_max_bytes and "
                 "--max_feedback_items must be positive\n");
    return 2;
  }
  options.fhir_fetch_max_bytes = static_cast<size_t>(fetch_bytes);
  options.max_feedback_items = static_cast<size_t>(feedback_items);
  if (options.fhir_servers.allow_insecure_loopback()) {
    std::fprintf(stderr,
                 "WARNING: --fhir_server_allow_insecure_loopback: plain http "
                 "to loopback FHIR servers is allowed (tests only)\n");
  }
  if (!absl::LoadTimeZone(absl::GetFlag(FLAGS_time_zone), &options.time_zone)) {
    std::fprintf(stderr, "--time_zone: unknown zone\n");
    return 2;
  }

  std::shared_ptr<JwtVerifier> verifier;
  std::map<std::string, std::shared_ptr<JwksCache>> caches;  // by JWKS URL
  if (!options.require_auth) {
    if (!IsLoopbackHost(host)) {
      std::fprintf(stderr,
                   "--insecure_no_auth is refused: --listen=%s is not a "
                   "loopback address\n",
                   host.c_str());
      return 2;
    }
    std::fprintf(stderr,
                 "WARNING: --insecure_no_auth: calls are not authenticated "
                 "(local trial only)\n");
  } else {
    const std::string jwks_path = absl::GetFlag(FLAGS_jwks_file);
    const std::vector<std::string> jwks_urls = absl::GetFlag(FLAGS_jwks_url);
    if ((jwks_path.empty() && jwks_urls.empty()) ||
        absl::GetFlag(FLAGS_trusted_issuers).empty() ||
        options.audience_base.empty()) {
      std::fprintf(stderr,
                   "authentication needs --jwks_file and/or --jwks_url, "
                   "--trusted_issuers and --audience (or --insecure_no_auth "
                   "on loopback)\n");
      return 2;
    }
    JwtVerifier::Options verifier_options;
    verifier_options.trusted_issuers = absl::GetFlag(FLAGS_trusted_issuers);
    std::shared_ptr<const JwkSet> file_keys;
    if (!jwks_path.empty()) {
      std::ifstream in(jwks_path);
      if (!in) {
        std::fprintf(stderr, "cannot read --jwks_file %s\n", jwks_path.c_str());
        return 2;
      }
      std::stringstream text;
      text << in.rdbuf();
      absl::StatusOr<std::shared_ptr<const JwkSet>> keys =
          JwkSet::FromJson(text.str());
      if (!keys.ok()) {
        std::fprintf(stderr, "--jwks_file: %s\n",
                     std::string(keys.status().message()).c_str());
        return 2;
      }
      if ((*keys)->size() == 0) {
        std::fprintf(stderr,
                     "--jwks_file holds no usable EC P-384 or RSA key\n");
        return 2;
      }
      file_keys = *std::move(keys);
      std::fprintf(stderr, "event=auth jwks_file keys=%d skipped_keys=%d\n",
                   file_keys->size(), file_keys->skipped());
    }
    const bool jwks_loopback =
        absl::GetFlag(FLAGS_jwks_allow_insecure_loopback);
    if (jwks_loopback) {
      std::fprintf(stderr,
                   "WARNING: --jwks_allow_insecure_loopback: plain http to "
                   "loopback JWK Set URLs is allowed (tests only)\n");
    }
    const absl::Duration min_refresh =
        absl::GetFlag(FLAGS_jwks_min_refresh_interval);
    if (min_refresh <= absl::ZeroDuration() ||
        (min_refresh < absl::Minutes(1) && !jwks_loopback)) {
      std::fprintf(stderr,
                   "--jwks_min_refresh_interval must be at least 1m (shorter "
                   "only with --jwks_allow_insecure_loopback, for tests)\n");
      return 2;
    }
    // One cache per URL, shared by the issuers naming it.
    for (const std::string& flag : jwks_urls) {
      absl::StatusOr<JwksUrlEntry> entry =
          ParseJwksUrlEntry(flag, jwks_loopback);
      if (!entry.ok()) {
        std::fprintf(stderr, "--jwks_url: %s\n",
                     std::string(entry.status().message()).c_str());
        return 2;
      }
      const std::vector<std::string>& trusted =
          verifier_options.trusted_issuers;
      if (std::find(trusted.begin(), trusted.end(), entry->issuer) ==
          trusted.end()) {
        std::fprintf(stderr,
                     "--jwks_url: issuer %s is not in --trusted_issuers\n",
                     entry->issuer.c_str());
        return 2;
      }
      std::shared_ptr<JwksCache>& cache = caches[entry->url];
      if (cache == nullptr) {
        JwksCache::Options cache_options;
        cache_options.name = entry->url;
        cache_options.min_refresh_interval = min_refresh;
        cache_options.log = [](const std::string& line) {
          std::fprintf(stderr, "%s\n", line.c_str());
        };
        cache = std::make_shared<JwksCache>(
            HttpsJwksFetch(entry->url, kJwksFetchTimeout, kJwksMaxBytes,
                           jwks_loopback),
            cache_options);
      }
      if (!verifier_options.issuer_keys.emplace(entry->issuer, cache).second) {
        std::fprintf(stderr, "--jwks_url: issuer %s appears twice\n",
                     entry->issuer.c_str());
        return 2;
      }
    }
    std::fprintf(stderr, "event=auth issuers=%zu jwks_urls=%zu\n",
                 verifier_options.trusted_issuers.size(), caches.size());
    verifier = std::make_shared<JwtVerifier>(file_keys, verifier_options);
  }

  // Signals are handled by one thread (sigwait); block them everywhere else
  // before any other thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  // The first JWK Set fetches. A failure is not fatal: a token with an
  // unknown kid tries again (at most once a minute per URL).
  for (const auto& [url, cache] : caches) {
    cache->Refresh(absl::Now()).IgnoreError();
  }

  absl::StatusOr<std::shared_ptr<grpc::Channel>> screening_channel =
      ScreeningChannel();
  if (!screening_channel.ok()) {
    std::fprintf(stderr, "%s\n",
                 std::string(screening_channel.status().message()).c_str());
    return 2;
  }
  std::unique_ptr<ScreeningClient> screening = NewGrpcScreeningClient(
      *std::move(screening_channel), absl::GetFlag(FLAGS_rpc_timeout));
  CurlFhirClientOptions fhir_options;
  fhir_options.request_timeout = absl::GetFlag(FLAGS_fhir_timeout);
  fhir_options.allow_insecure_loopback =
      options.fhir_servers.allow_insecure_loopback();
  std::unique_ptr<FhirClient> fhir = NewCurlFhirClient(fhir_options);
  // Metrics: counted always, served on --metrics_listen (own port).
  metrics::Registry metrics_registry;
  absl::StatusOr<std::unique_ptr<CdsMetrics>> cds_metrics =
      CdsMetrics::Create(&metrics_registry);
  if (!cds_metrics.ok()) {
    std::fprintf(stderr, "metrics: %s\n",
                 std::string(cds_metrics.status().message()).c_str());
    return 1;
  }
  options.metrics = cds_metrics->get();
  absl::StatusOr<std::unique_ptr<metrics::MetricsHttpEndpoint>>
      started_metrics = metrics::MetricsHttpEndpoint::StartIfListed(
          absl::GetFlag(FLAGS_metrics_listen), &metrics_registry);
  if (!started_metrics.ok()) {
    std::fprintf(stderr, "--metrics_listen: %s\n",
                 std::string(started_metrics.status().message()).c_str());
    return absl::IsInvalidArgument(started_metrics.status()) ? 2 : 1;
  }
  std::unique_ptr<metrics::MetricsHttpEndpoint> metrics_endpoint =
      *std::move(started_metrics);
  CdsHooksService service(options, screening.get(), fhir.get(), verifier,
                          [] { return absl::Now(); });

  HttpServerOptions http;
  http.host = host;
  http.port = port;
  http.tls_cert_file = absl::GetFlag(FLAGS_tls_cert);
  http.tls_key_file = absl::GetFlag(FLAGS_tls_key);
  http.threads = absl::GetFlag(FLAGS_threads);
  http.max_body_bytes = options.max_body_bytes;
  http.max_connections = absl::GetFlag(FLAGS_max_connections);
  http.max_connections_per_client =
      absl::GetFlag(FLAGS_max_connections_per_client);
  http.header_timeout_ms = absl::GetFlag(FLAGS_header_timeout_ms);
  http.body_timeout_ms = absl::GetFlag(FLAGS_body_timeout_ms);
  http.idle_timeout_ms = absl::GetFlag(FLAGS_idle_timeout_ms);
  http.max_header_bytes = static_cast<size_t>(
      std::max<int64_t>(0, absl::GetFlag(FLAGS_max_header_bytes)));
  if (http.max_connections < 1 || http.max_connections_per_client < 1 ||
      http.header_timeout_ms < 1 || http.body_timeout_ms < 1 ||
      http.idle_timeout_ms < 1 || http.max_header_bytes < 64) {
    std::fprintf(stderr,
                 "--max_connections, --max_connections_per_client and the "
                 "--*_timeout_ms flags must be positive, --max_header_bytes "
                 "at least 64\n");
    return 2;
  }
  http.max_connections = FitConnectionsToFileLimit(http.max_connections);
  absl::StatusOr<std::unique_ptr<HttpServer>> server =
      HttpServer::Create(http, &service);
  if (!server.ok()) {
    std::fprintf(stderr, "%s\n",
                 std::string(server.status().message()).c_str());
    return 1;
  }
  HttpServer* s = server->get();
  std::thread signal_thread([&signals, s] {
    int signal = 0;
    sigwait(&signals, &signal);
    std::fprintf(stderr, "event=stopping signal=%d\n", signal);
    s->Stop();
  });
  const bool tls = !http.tls_cert_file.empty();
  std::printf("needlecheck-cds-hooks listening on %s:%d (%s, auth %s)\n",
              host.find(':') == std::string::npos ? host.c_str()
                                                  : ("[" + host + "]").c_str(),
              s->port(), tls ? "https" : "http",
              options.require_auth ? "jwt" : "off");
  if (metrics_endpoint != nullptr) {
    std::printf("needlecheck-cds-hooks metrics at http://%s/metrics\n",
                metrics_endpoint->address().c_str());
  }
  std::fflush(stdout);
  const bool ok = s->Run();
  // Wake the signal thread if Run() ended for another reason.
  pthread_kill(signal_thread.native_handle(), SIGTERM);
  signal_thread.join();
  server->reset();
  curl_global_cleanup();
  std::fprintf(stderr, "event=stopped\n");
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace needlecheck::cds_hooks

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "CDS Hooks 2.0 service for needlecheck (see README, \"CDS Hooks for "
      "integrators\").");
  absl::ParseCommandLine(argc, argv);
  return needlecheck::cds_hooks::Main();
}
