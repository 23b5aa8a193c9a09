// needlecheck-loadgen: drives unary ScreeningService.Screen calls at a fixed
// concurrency and reports throughput and latency.
//
//   needlecheck-loadgen --target=127.0.0.1:50051 [--compare=127.0.0.1:50052]
//       [--concurrency=64] [--channels=4] [--duration=10s] [--warmup=2s]
//       [--payload=typical|large]
//       [--tls_ca=PEM [--tls_cert=PEM --tls_key=PEM]] [--compare_tls]
//
// Keeps `concurrency` calls outstanding at all times with the gRPC callback
// API, spread over `channels` channels (separate TCP connections): each
// completion immediately starts the next call on the same slot. The request
// is serialized once and sent as bytes (grpc::GenericStub), and responses
// are not parsed, so that the client, which shares the machine with the
// servers, spends as little CPU as it can; one typed call per channel checks
// first that the server answers the request correctly. Calls that
// complete during the warm-up are not counted; then every call completing
// within `duration` is: calls/s = successful calls / duration, latency
// percentiles over the successful calls, errors by status code.
// With --compare, the same load then runs against the second server (the
// echo server) and the ratio target / compare is printed.
// With --tls_ca, --target is reached over TLS (with --tls_cert/--tls_key:
// mutual TLS), --compare in plaintext unless --compare_tls: one run then
// measures what TLS costs (a TLS needlecheckd against a plaintext one).
//
// Output: one human-readable line per run, then one line per run starting
// with "RESULT " (key=value pairs) for scripts, and with --compare a
// "RATIO " line. Exit code 0, or 1 when a server cannot be reached or every
// call failed.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "adapters/common/grpc_client_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "needlecheck/v1/screening.grpc.pb.h"
#include "tests/bench/bench_payload.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051",
          "The server to load (normally needlecheckd), HOST:PORT, or "
          "several: ipv4:ADDR:PORT,ADDR:PORT,... or dns:///HOST:PORT (calls "
          "spread round-robin, as the product clients do).");
ABSL_FLAG(std::string, compare, "",
          "Optional second server (the echo server) run with the same load "
          "after the first; prints the ratio target / compare.");
ABSL_FLAG(int, concurrency, 64, "Calls kept outstanding at all times.");
ABSL_FLAG(int, channels, 4,
          "Channels (TCP connections) the calls are spread over.");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10),
          "How long to measure, after the warm-up.");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(2),
          "How long to run before measuring.");
ABSL_FLAG(std::string, payload, "typical",
          "typical (52 record entries) or large (500 entries).");
ABSL_FLAG(std::string, tls_ca, "",
          "PEM CA certificates: reach --target over TLS, trusting these.");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM client certificate for mutual TLS (with --tls_key).");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert.");
ABSL_FLAG(bool, compare_tls, false,
          "Reach --compare with the same TLS settings (default: plaintext).");
ABSL_FLAG(absl::Duration, call_timeout, absl::Seconds(10),
          "Deadline of each call.");

namespace needlecheck::bench {
namespace {

using Clock = std::chrono::steady_clock;
using needlecheck::v1::ScreeningService;

constexpr char kScreenMethod[] = "/needlecheck.v1.ScreeningService/Screen";
using needlecheck::v1::ScreenRequest;
using needlecheck::v1::ScreenResponse;

struct LoadConfig {
  int concurrency = 64;
  int channels = 4;
  absl::Duration warmup;
  absl::Duration duration;
  absl::Duration call_timeout;
};

struct RunResult {
  int64_t calls = 0;  // successful calls completed within the window
  int64_t errors = 0;
  std::map<std::string, int64_t> errors_by_code;
  double seconds = 0;
  double calls_per_second = 0;
  double p50_us = 0;
  double p90_us = 0;
  double p99_us = 0;
  double max_us = 0;
};

// One outstanding call at a time; reused for the whole run.
struct Slot {
  grpc::GenericStub* stub = nullptr;
  std::unique_ptr<grpc::ClientContext> context;
  grpc::ByteBuffer response;
  Clock::time_point start;
  std::vector<int64_t> latencies_ns;  // successful calls in the window
  int64_t errors = 0;
  std::map<grpc::StatusCode, int64_t> error_codes;
};

class LoadRun {
 public:
  LoadRun(const std::string& target,
          std::shared_ptr<grpc::ChannelCredentials> credentials,
          const ScreenRequest& request, const LoadConfig& config)
      : target_(target),
        credentials_(std::move(credentials)),
        request_(request),
        config_(config) {
    const std::string wire = request_.SerializeAsString();
    grpc::Slice slice(wire);
    request_bytes_ = grpc::ByteBuffer(&slice, 1);
  }

  // Connects every channel and checks one typed call on each; false (with a
  // message) if that fails. `alerts` gets the alert count of the answer.
  bool Connect(std::string* error, int* alerts) {
    for (int i = 0; i < config_.channels; ++i) {
      grpc::ChannelArguments args;
      // A channel of its own (its own TCP connection) for each index.
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
      args.SetInt("needlecheck.loadgen_channel", i);
      args.SetMaxSendMessageSize(-1);
      args.SetMaxReceiveMessageSize(-1);
      // The product clients' service config: round_robin (with health
      // checking) over every address of an ipv4: list or dns:/// name.
      args.SetServiceConfigJSON(needlecheck::grpc_client::kClientServiceConfig);
      auto channel = grpc::CreateCustomChannel(target_, credentials_, args);
      if (!channel->WaitForConnected(
              absl::ToChronoTime(absl::Now() + absl::Seconds(10)))) {
        *error = absl::StrCat("cannot connect to ", target_);
        return false;
      }
      ScreenResponse response;
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() +
                           absl::ToChronoNanoseconds(config_.call_timeout));
      const grpc::Status status = ScreeningService::NewStub(channel)->Screen(
          &context, request_, &response);
      if (!status.ok() || response.request_id() != request_.request_id()) {
        *error = absl::StrCat(
            target_, " did not answer the check call: ",
            absl::StatusCodeToString(
                static_cast<absl::StatusCode>(status.error_code())),
            " ", status.error_message(), " request_id \"",
            response.request_id(), "\"");
        return false;
      }
      *alerts = response.alerts_size();
      stubs_.push_back(std::make_unique<grpc::GenericStub>(channel));
    }
    return true;
  }

  RunResult Run() {
    slots_.resize(config_.concurrency);
    const Clock::time_point begin = Clock::now();
    measure_start_ = begin + absl::ToChronoNanoseconds(config_.warmup);
    measure_end_ = measure_start_ + absl::ToChronoNanoseconds(config_.duration);
    active_ = config_.concurrency;
    for (int i = 0; i < config_.concurrency; ++i) {
      slots_[i].stub = stubs_[i % stubs_.size()].get();
      slots_[i].latencies_ns.reserve(1 << 14);
      Issue(&slots_[i]);
    }
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](int* active) { return *active == 0; }, &active_));
    }
    return Summarize();
  }

 private:
  void Issue(Slot* slot) {
    slot->context = std::make_unique<grpc::ClientContext>();
    slot->context->set_deadline(
        std::chrono::system_clock::now() +
        absl::ToChronoNanoseconds(config_.call_timeout));
    slot->response.Clear();
    slot->start = Clock::now();
    slot->stub->UnaryCall(
        slot->context.get(), kScreenMethod, grpc::StubOptions(),
        &request_bytes_, &slot->response,
        [this, slot](grpc::Status status) { OnDone(slot, status); });
  }

  void OnDone(Slot* slot, const grpc::Status& status) {
    const Clock::time_point now = Clock::now();
    if (now >= measure_start_ && now < measure_end_) {
      if (status.ok()) {
        slot->latencies_ns.push_back(
            std::chrono::duration_cast<std::chrono::nanoseconds>(now -
                                                                 slot->start)
                .count());
      } else {
        ++slot->errors;
        ++slot->error_codes[status.error_code()];
      }
    }
    if (now >= measure_end_) {
      absl::MutexLock lock(&mu_);
      --active_;
      return;
    }
    Issue(slot);
  }

  RunResult Summarize() {
    RunResult result;
    std::vector<int64_t> all;
    for (const Slot& slot : slots_) {
      all.insert(all.end(), slot.latencies_ns.begin(), slot.latencies_ns.end());
      result.errors += slot.errors;
      for (const auto& [code, count] : slot.error_codes) {
        result.errors_by_code[StatusCodeName(code)] += count;
      }
    }
    result.calls = static_cast<int64_t>(all.size());
    result.seconds = absl::ToDoubleSeconds(config_.duration);
    result.calls_per_second = result.calls / result.seconds;
    if (!all.empty()) {
      std::sort(all.begin(), all.end());
      auto pct = [&all](double p) {
        size_t index = static_cast<size_t>(p * (all.size() - 1) + 0.5);
        return all[std::min(index, all.size() - 1)] / 1000.0;
      };
      result.p50_us = pct(0.50);
      result.p90_us = pct(0.90);
      result.p99_us = pct(0.99);
      result.max_us = all.back() / 1000.0;
    }
    return result;
  }

  static std::string StatusCodeName(grpc::StatusCode code) {
    return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
  }

  const std::string target_;
  const std::shared_ptr<grpc::ChannelCredentials> credentials_;
  const ScreenRequest& request_;
  grpc::ByteBuffer request_bytes_;
  const LoadConfig config_;
  std::vector<std::unique_ptr<grpc::GenericStub>> stubs_;
  std::vector<Slot> slots_;
  Clock::time_point measure_start_;
  Clock::time_point measure_end_;
  absl::Mutex mu_;
  int active_ ABSL_GUARDED_BY(mu_) = 0;
};

std::string FormatMicros(double us) {
  if (us >= 1000) return absl::StrFormat("%.2fms", us / 1000);
  return absl::StrFormat("%.0fus", us);
}

void Print(const std::string& label, const std::string& target,
           const RunResult& r) {
  std::string errors = absl::StrCat(r.errors);
  if (!r.errors_by_code.empty()) {
    std::vector<std::string> parts;
    for (const auto& [code, count] : r.errors_by_code) {
      parts.push_back(absl::StrCat(code, ":", count));
    }
    absl::StrAppend(&errors, " (", absl::StrJoin(parts, ", "), ")");
  }
  std::printf(
      "%-7s %-21s %10.1f calls/s  p50 %-8s p90 %-8s p99 %-8s max %-8s "
      "calls %lld  errors %s\n",
      label.c_str(), target.c_str(), r.calls_per_second,
      FormatMicros(r.p50_us).c_str(), FormatMicros(r.p90_us).c_str(),
      FormatMicros(r.p99_us).c_str(), FormatMicros(r.max_us).c_str(),
      static_cast<long long>(r.calls), errors.c_str());
  std::fflush(stdout);
}

std::string ResultLine(const std::string& label, const std::string& target,
                       const std::string& payload, const LoadConfig& config,
                       const RunResult& r) {
  return absl::StrFormat(
      "RESULT label=%s target=%s payload=%s concurrency=%d channels=%d "
      "duration_s=%.1f calls=%d calls_per_s=%.1f p50_us=%.1f p90_us=%.1f "
      "p99_us=%.1f max_us=%.1f errors=%d",
      label, target, payload, config.concurrency, config.channels, r.seconds,
      r.calls, r.calls_per_second, r.p50_us, r.p90_us, r.p99_us, r.max_us,
      r.errors);
}

// TLS credentials from --tls_ca/--tls_cert/--tls_key, checked like every
// client's (adapters/common/grpc_client_channel.h), or plaintext when none
// is given; null (with the flag's problem printed) for a bad flag or file.
std::shared_ptr<grpc::ChannelCredentials> TargetCredentials() {
  needlecheck::grpc_client::ClientTlsOptions tls;
  tls.ca_file = absl::GetFlag(FLAGS_tls_ca);
  tls.cert_file = absl::GetFlag(FLAGS_tls_cert);
  tls.key_file = absl::GetFlag(FLAGS_tls_key);
  absl::StatusOr<needlecheck::grpc_client::ClientChannelSecurity> security =
      needlecheck::grpc_client::LoadClientChannelSecurity(tls, "");
  if (!security.ok()) {
    std::fprintf(stderr, "needlecheck-loadgen: %s\n",
                 std::string(security.status().message()).c_str());
    return nullptr;
  }
  return security->credentials;
}

int Main() {
  PayloadKind kind;
  const std::string payload = absl::GetFlag(FLAGS_payload);
  if (!ParsePayloadKind(payload, &kind)) {
    std::fprintf(stderr,
                 "needlecheck-loadgen: --payload must be typical or "
                 "large\n");
    return 2;
  }
  LoadConfig config;
  config.concurrency = absl::GetFlag(FLAGS_concurrency);
  config.channels = absl::GetFlag(FLAGS_channels);
  config.warmup = absl::GetFlag(FLAGS_warmup);
  config.duration = absl::GetFlag(FLAGS_duration);
  config.call_timeout = absl::GetFlag(FLAGS_call_timeout);
  if (config.concurrency < 1 || config.channels < 1 ||
      config.duration <= absl::ZeroDuration() ||
      config.warmup < absl::ZeroDuration() ||
      config.duration > absl::Minutes(10) || config.warmup > absl::Minutes(5)) {
    std::fprintf(stderr,
                 "needlecheck-loadgen: need --concurrency >= 1, --channels "
                 ">= 1, 0 < --duration <= 10m, 0 <= --warmup <= 5m\n");
    return 2;
  }
  config.channels = std::min(config.channels, config.concurrency);

  const std::shared_ptr<grpc::ChannelCredentials> tls = TargetCredentials();
  if (tls == nullptr) return 2;
  if (absl::GetFlag(FLAGS_tls_cert).empty() !=
      absl::GetFlag(FLAGS_tls_key).empty()) {
    std::fprintf(stderr,
                 "needlecheck-loadgen: --tls_cert and --tls_key go together\n");
    return 2;
  }

  const ScreenRequest request = BuildScreenRequest(kind);
  std::printf(
      "needlecheck-loadgen: payload %s (%d record entries, %zu bytes), "
      "concurrency %d over %d channels, warm-up %s, measuring %s\n",
      payload.c_str(), RecordEntryCount(request.record()),
      request.ByteSizeLong(), config.concurrency, config.channels,
      absl::FormatDuration(config.warmup).c_str(),
      absl::FormatDuration(config.duration).c_str());
  std::fflush(stdout);

  struct Target {
    std::string label;
    std::string address;
    std::shared_ptr<grpc::ChannelCredentials> credentials;
    RunResult result;
  };
  std::vector<Target> targets = {
      {"target", absl::GetFlag(FLAGS_target), tls, {}}};
  if (!absl::GetFlag(FLAGS_compare).empty()) {
    targets.push_back({"compare",
                       absl::GetFlag(FLAGS_compare),
                       absl::GetFlag(FLAGS_compare_tls)
                           ? tls
                           : grpc::InsecureChannelCredentials(),
                       {}});
  }
  for (Target& t : targets) {
    LoadRun run(t.address, t.credentials, request, config);
    std::string error;
    int alerts = 0;
    if (!run.Connect(&error, &alerts)) {
      std::fprintf(stderr, "needlecheck-loadgen: %s\n", error.c_str());
      return 1;
    }
    std::printf("%-7s %s answers the check call with %d alerts\n",
                t.label.c_str(), t.address.c_str(), alerts);
    t.result = run.Run();
    Print(t.label, t.address, t.result);
  }
  for (const Target& t : targets) {
    std::printf(
        "%s\n",
        ResultLine(t.label, t.address, payload, config, t.result).c_str());
  }
  if (targets.size() == 2) {
    const RunResult& a = targets[0].result;
    const RunResult& b = targets[1].result;
    const double throughput =
        b.calls_per_second > 0 ? a.calls_per_second / b.calls_per_second : 0;
    const double p50 = b.p50_us > 0 ? a.p50_us / b.p50_us : 0;
    const double p99 = b.p99_us > 0 ? a.p99_us / b.p99_us : 0;
    std::printf(
        "RATIO target/compare throughput=%.3f p50_latency=%.3f "
        "p99_latency=%.3f concurrency=%d payload=%s\n",
        throughput, p50, p99, config.concurrency, payload.c_str());
  }
  std::fflush(stdout);
  for (const Target& t : targets) {
    if (t.result.calls == 0) return 1;
  }
  return 0;
}

}  // namespace
}  // namespace needlecheck::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "needlecheck-loadgen: gRPC load generator for ScreeningService.Screen "
      "(see docs/performance.md).");
  absl::ParseCommandLine(argc, argv);
  // Debian's Abseil is built without NDEBUG, so every absl::Mutex (gRPC's
  // included) runs deadlock detection, which serializes all locking on one
  // global lock. The client should not spend the shared CPU on that.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return needlecheck::bench::Main();
}
