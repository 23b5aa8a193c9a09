// Several needlecheckd replicas behind one client channel
// (adapters/common/grpc_client_channel.h: round_robin over an ipv4: list or
// a dns:/// name), all real processes on 127.0.0.1:0:
//   - hook calls through the real needlecheck-cds-hooks, and Screen calls
//     on a client channel, spread over three replicas (counted on each
//     replica's /metrics);
//   - the `needlecheck` CLI with a list keeps working when one replica of
//     the list is down;
//   - one replica drained with SIGTERM while load runs: no call fails;
//   - --max_connection_age: the server's GOAWAY makes the long-lived
//     gateway reconnect (new client ports), calls keep succeeding and
//     keep spreading; the same over a dns:///localhost:PORT name;
//   - three replicas sharing one PostgreSQL ledger: feedback through
//     another replica than the one that issued the alert, the same stats
//     everywhere, SIGKILL of a replica under load and the database
//     restarted under load, with nothing acknowledged lost.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "adapters/common/grpc_client_channel.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "needlecheck/v1/screening.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "tests/integration/ledger_client.h"
#include "tests/testing/http_request.h"
#include "tests/testing/postgres_cluster.h"
#include "tests/testing/scoped_temp_dir.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/tls_test_certs.h"

namespace needlecheck {
namespace {

using ::needlecheck::testing::AlertingRequest;
using ::needlecheck::testing::BinaryPath;
using ::needlecheck::testing::Feedback;
using ::needlecheck::testing::Http;
using ::needlecheck::testing::HttpResult;
using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::PostgresCluster;
using ::needlecheck::testing::ScopedTempDir;
using ::needlecheck::testing::ServerProcess;
using ::testing::HasSubstr;
using Json = nlohmann::json;
using Stub = needlecheck::v1::ScreeningService::Stub;

constexpr int kReplicas = 3;
constexpr char kHookPath[] = "/cds-services/microneedling-safety";

// Every call's deadline: generous, the tests wait for events.
std::chrono::system_clock::time_point Deadline() {
  return absl::ToChronoTime(absl::Now() + absl::Seconds(60));
}

// A ScreeningService stub over the product's client channel (round_robin)
// to `target`, plaintext.
std::unique_ptr<Stub> NewStub(const std::string& target) {
  absl::StatusOr<grpc_client::ClientChannelSecurity> plain =
      grpc_client::LoadClientChannelSecurity(grpc_client::ClientTlsOptions(),
                                             "");
  EXPECT_THAT(plain, IsOk());
  return needlecheck::v1::ScreeningService::NewStub(
      grpc_client::NewClientChannel(target, *plain));
}

grpc::Status Screen(Stub& stub, const std::string& request_id,
                    needlecheck::v1::ScreenResponse* response) {
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  return stub.Screen(&context, AlertingRequest(request_id), response);
}

grpc::Status SendFeedback(Stub& stub, const std::string& alert_id,
                          absl::Duration deadline = absl::Seconds(60)) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  needlecheck::v1::RecordFeedbackResponse ack;
  return stub.RecordFeedback(
      &context,
      Feedback(alert_id, /*overridden=*/false, "2026-12-01T10:00:00Z"), &ack);
}

// The metrics URL a process printed ("... metrics at http://H:P/metrics").
std::string MetricsUrl(ServerProcess& process) {
  EXPECT_TRUE(process.WaitForOutput("/metrics\n"));
  const std::string out = process.output();
  const size_t at = out.find("metrics at http://");
  if (at == std::string::npos) return "";
  const size_t start = at + std::string("metrics at ").size();
  return out.substr(start, out.find('\n', start) - start);
}

// Screen calls a replica answered OK, from its /metrics.
int64_t ScreenCalls(const std::string& metrics_url) {
  const HttpResult scrape = Http("GET", metrics_url);
  EXPECT_EQ(scrape.status, 200) << metrics_url;
  int64_t total = 0;
  for (absl::string_view line : absl::StrSplit(scrape.body, '\n')) {
    if (!absl::StartsWith(line, "needlecheck_rpc_server_handled_total{") ||
        !absl::StrContains(line, "ScreeningService/Screen\"") ||
        !absl::StrContains(line, "code=\"OK\"")) {
      continue;
    }
    double value = 0;
    EXPECT_TRUE(absl::SimpleAtod(line.substr(line.rfind(' ') + 1), &value))
        << line;
    total += static_cast<int64_t>(value);
  }
  return total;
}

// The local ports of this machine's established TCP connections to any
// of `server_ports` (from /proc/net/tcp and tcp6: gRPC connects to IPv4
// addresses through v4-mapped IPv6 sockets): a connection the client
// re-opened has a new local port.
std::set<int> ClientPortsTo(const std::set<int>& server_ports) {
  std::set<int> ports;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state;
      fields >> slot >> local >> remote >> state;
      if (state != "01") continue;  // ESTABLISHED
      const auto port_of = [](const std::string& address) {
        int port = 0;
        std::istringstream(address.substr(address.find(':') + 1)) >> std::hex >>
            port;
        return port;
      };
      if (server_ports.count(port_of(remote)) != 0) {
        ports.insert(port_of(local));
      }
    }
  }
  return ports;
}

// An order-sign hook request whose prefetch holds active atopic
// dermatitis (so the card list is never empty).
std::string HookBody(const std::string& instance) {
  const Json empty = {{"resourceType", "Bundle"}, {"type", "searchset"}};
  Json conditions = empty;
  conditions["entry"] = Json::array({{{"resource", Json::parse(R"({
      "resourceType": "Condition", "id": "c1",
      "clinicalStatus": {"coding": [{"system":
        "http://terminology.hl7.org/CodeSystem/condition-clinical",
        "code": "active"}]},
      "code": {"coding": [{"system": "http://snomed.info/sct",
        "code": "24079001", "display": "Atopic dermatitis"}]},
      "subject": {"reference": "Patient/replica-patient"},
      "onsetDateTime": "2026-01-10"})")}}});
  Json request = Json::parse(R"json({
      "hook": "order-sign",
      "context": {"userId": "Practitioner/replica-user",
        "patientId": "replica-patient",
        "draftOrders": {"resourceType": "Bundle", "type": "collection",
          "entry": [{"resource": {"resourceType": "ServiceRequest",
            "id": "mn-order-1", "status": "draft", "intent": "order",
            "code": {"text": "Microneedling (collagen induction therapy)"},
            "subject": {"reference": "Patient/replica-patient"},
            "occurrenceDateTime": "2026-12-01T10:00:00Z",
            "bodySite": [{"text": "Full face"}]}}]}},
      "prefetch": {"patient": {"resourceType": "Patient",
        "id": "replica-patient"}}})json");
  request["hookInstance"] = instance;
  for (const char* key :
       {"allergies", "medicationRequests", "medicationStatements", "procedures",
        "observations"}) {
    request["prefetch"][key] = empty;
  }
  request["prefetch"]["conditions"] = conditions;
  return request.dump();
}

// "" when a hook answer is 200 with at least one card, else why not.
std::string HookProblem(const HttpResult& result) {
  if (result.status != 200) {
    return absl::StrCat("HTTP ", result.status, ": ", result.body);
  }
  const Json body = Json::parse(result.body, nullptr, false);
  if (body.is_discarded() || !body.contains("cards") || body["cards"].empty()) {
    return absl::StrCat("no cards: ", result.body);
  }
  return "";
}

// Threads calling `call(thread, n)` (n counts that thread's calls) until
// Stop(); `call` returns "" for success or the failure. Bounded: each
// thread stops by itself after `max_calls`.
class Load {
 public:
  using Call = std::function<std::string(int thread, int n)>;

  Load(int threads, Call call, int max_calls = 100000) : call_(call) {
    for (int t = 0; t < threads; ++t) {
      threads_.emplace_back([this, t, max_calls] {
        for (int n = 0; n < max_calls && !stop_.load(); ++n) {
          std::string failure = call_(t, n);
          if (failure.empty()) {
            ++succeeded_;
          } else {
            absl::MutexLock lock(&mu_);
            failures_.push_back(std::move(failure));
          }
        }
      });
    }
  }
  ~Load() { Stop(); }

  // Waits (bounded by `timeout`) until `calls` more calls have succeeded
  // than when it was called; false on timeout.
  bool WaitForSuccesses(int calls, absl::Duration timeout = absl::Minutes(3)) {
    const int target = succeeded_.load() + calls;
    const absl::Time give_up = absl::Now() + timeout;
    while (succeeded_.load() < target && absl::Now() < give_up) {
      absl::SleepFor(absl::Milliseconds(20));
    }
    return succeeded_.load() >= target;
  }

  void Stop() {
    stop_ = true;
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

  int succeeded() const { return succeeded_.load(); }
  std::vector<std::string> failures() {
    absl::MutexLock lock(&mu_);
    return failures_;
  }

 private:
  Call call_;
  std::atomic<bool> stop_{false};
  std::atomic<int> succeeded_{0};
  absl::Mutex mu_;
  std::vector<std::string> failures_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_;
};

class ReplicasTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    ASSERT_FALSE(BinaryPath("service/needlecheckd").empty());
  }

  // Starts kReplicas needlecheckd on 127.0.0.1:0, each with its metrics
  // endpoint and, unless `ledger_args` is given, its own SQLite ledger.
  void StartReplicas(const std::vector<std::string>& extra,
                     const std::vector<std::string>& ledger_args = {}) {
    for (int i = 0; i < kReplicas; ++i) {
      std::vector<std::string> args = {
          "--listen=127.0.0.1:0", "--metrics_listen=127.0.0.1:0",
          "--drain_seconds=60",
          "--data_dir=" + dir_.Path(absl::StrCat("replica", i))};
      args.insert(args.end(), ledger_args.begin(), ledger_args.end());
      args.insert(args.end(), extra.begin(), extra.end());
      absl::StatusOr<std::unique_ptr<ServerProcess>> replica =
          ServerProcess::Start(BinaryPath("service/needlecheckd"), args);
      ASSERT_THAT(replica, IsOk());
      metrics_.push_back(MetricsUrl(**replica));
      ASSERT_FALSE(metrics_.back().empty()) << (*replica)->output();
      ports_.insert((*replica)->port());
      replicas_.push_back(*std::move(replica));
    }
  }

  // "ipv4:127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3".
  std::string List() const {
    std::vector<std::string> addresses;
    for (const auto& r : replicas_) addresses.push_back(r->address());
    return absl::StrCat("ipv4:", absl::StrJoin(addresses, ","));
  }

  // The real gateway in front of `target`; sets base_url_.
  void StartGateway(const std::string& target) {
    absl::StatusOr<std::unique_ptr<ServerProcess>> gateway =
        ServerProcess::Start(
            BinaryPath("adapters/cds_hooks/needlecheck-cds-hooks"),
            {"--listen=127.0.0.1:0", "--insecure_no_auth",
             "--screening_service=" + target});
    ASSERT_THAT(gateway, IsOk());
    gateway_ = *std::move(gateway);
    EXPECT_THAT(gateway_->output(), HasSubstr("event=screening_channel"));
    base_url_ = "http://" + gateway_->address();
  }

  std::string Hook(const std::string& instance) {
    return HookProblem(Http("POST", base_url_ + kHookPath, HookBody(instance)));
  }

  // Screen calls answered OK by each replica (by default: all of them).
  std::vector<int64_t> ScreenCallsPerReplica(int first = 0) {
    std::vector<int64_t> counts;
    for (size_t i = first; i < metrics_.size(); ++i) {
      counts.push_back(ScreenCalls(metrics_[i]));
    }
    return counts;
  }

  // SIGTERM, then exit 0 (drained).
  void Drain(int replica) {
    ASSERT_THAT(replicas_[replica]->Signal(SIGTERM), IsOk());
    absl::StatusOr<int> code =
        replicas_[replica]->WaitForExit(absl::Seconds(120));
    ASSERT_THAT(code, IsOk());
    EXPECT_EQ(*code, 0) << replicas_[replica]->output();
  }

  ScopedTempDir dir_;
  std::vector<std::unique_ptr<ServerProcess>> replicas_;
  std::vector<std::string> metrics_;
  std::set<int> ports_;
  std::unique_ptr<ServerProcess> gateway_;
  std::string base_url_;
};

TEST_F(ReplicasTest, GatewayAndClientChannelSpreadOverThreeReplicas) {
  ASSERT_NO_FATAL_FAILURE(StartReplicas({}));
  ASSERT_NO_FATAL_FAILURE(StartGateway(List()));
  // round_robin starts calls only on ready connections, and each gets ready
  // on its own time: on a busy machine the first calls may all go to the
  // first ones ready. `call(i)` until every replica has had one (pick_first
  // never gets there), then count a fresh window of `calls` calls: a third
  // each, give or take.
  auto spread = [this](const std::function<void(int)>& call, int calls,
                       const char* path) {
    const absl::Time give_up = absl::Now() + absl::Seconds(120);
    const std::vector<int64_t> start = ScreenCallsPerReplica();
    std::vector<int64_t> before = start;
    auto every_replica_called = [&] {
      for (int i = 0; i < kReplicas; ++i) {
        if (before[i] == start[i]) return false;
      }
      return true;
    };
    for (int warm_up = 0; !every_replica_called() && absl::Now() < give_up;
         ++warm_up) {
      ASSERT_NO_FATAL_FAILURE(call(calls + warm_up));
      before = ScreenCallsPerReplica();
    }
    ASSERT_TRUE(every_replica_called())
        << path << ": round_robin never reached every replica";
    for (int i = 0; i < calls; ++i) ASSERT_NO_FATAL_FAILURE(call(i));
    const std::vector<int64_t> after = ScreenCallsPerReplica();
    int64_t total = 0;
    for (int i = 0; i < kReplicas; ++i) {
      EXPECT_GE(after[i] - before[i], calls / kReplicas / 2)
          << path << ", replica " << i;
      total += after[i] - before[i];
    }
    EXPECT_EQ(total, calls) << path;
  };
  ASSERT_NO_FATAL_FAILURE(spread(
      [this](int i) { ASSERT_EQ(Hook(absl::StrCat("spread-", i)), "") << i; },
      30, "the gateway"));

  // The same through a client channel (what needlecheck-audit and the CLI
  // open) over the same list.
  std::unique_ptr<Stub> stub = NewStub(List());
  ASSERT_NO_FATAL_FAILURE(spread(
      [&stub](int i) {
        needlecheck::v1::ScreenResponse response;
        ASSERT_TRUE(Screen(*stub, absl::StrCat("direct-", i), &response).ok())
            << i;
        EXPECT_GT(response.alerts_size(), 0);
      },
      30, "a client channel"));
}

// `needlecheck health` and `needlecheck stats` with a list: one replica
// SIGKILLed, the CLI still gets its answer from the others (round_robin
// leaves out an address it cannot connect to); a TLS list without
// --tls_server_name is a usage error (exit 2).
TEST_F(ReplicasTest, CliWithAListSkipsAReplicaThatIsDown) {
  ASSERT_NO_FATAL_FAILURE(StartReplicas({}));
  const std::string list = List();
  ASSERT_THAT(replicas_[1]->Signal(SIGKILL), IsOk());
  ASSERT_THAT(replicas_[1]->WaitForExit(absl::Seconds(60)), IsOk());
  const std::string cli = BinaryPath("tools/cli/needlecheck");
  for (int i = 0; i < 6; ++i) {
    for (const std::string& command : {"health", "stats"}) {
      absl::StatusOr<std::unique_ptr<ServerProcess>> run = ServerProcess::Spawn(
          cli, {command, "--server=" + list, "--timeout=60s"}, {});
      ASSERT_THAT(run, IsOk());
      absl::StatusOr<int> code = (*run)->WaitForExit(absl::Seconds(120));
      ASSERT_THAT(code, IsOk());
      EXPECT_EQ(*code, 0) << command << ": " << (*run)->output();
    }
  }
  absl::StatusOr<needlecheck::testing::TlsTestCerts> pki =
      needlecheck::testing::CreateTlsTestCerts(dir_.path());
  if (!pki.ok()) GTEST_SKIP() << pki.status();
  absl::StatusOr<std::unique_ptr<ServerProcess>> tls = ServerProcess::Spawn(
      cli, {"health", "--server=" + list, "--tls_ca=" + pki->ca_cert}, {});
  ASSERT_THAT(tls, IsOk());
  absl::StatusOr<int> code = (*tls)->WaitForExit(absl::Seconds(60));
  ASSERT_THAT(code, IsOk());
  EXPECT_EQ(*code, 2) << (*tls)->output();
  EXPECT_THAT((*tls)->output(), HasSubstr("--tls_server_name"));
}

// One replica drained (SIGTERM) while the gateway and a client channel
// carry load: every hook call returns its cards, every Screen succeeds;
// gRPC retries by itself the calls the draining replica refused (they
// never reached it), and round_robin stops picking it.
TEST_F(ReplicasTest, DrainingOneReplicaUnderLoadFailsNoCall) {
  ASSERT_NO_FATAL_FAILURE(StartReplicas({"--drain_lame_duck=2s"}));
  ASSERT_NO_FATAL_FAILURE(StartGateway(List()));
  std::unique_ptr<Stub> stub = NewStub(List());
  Load load(4, [&](int thread, int n) -> std::string {
    const std::string id = absl::StrCat("drain-", thread, "-", n);
    if (thread % 2 == 0) return Hook(id);
    needlecheck::v1::ScreenResponse response;
    const grpc::Status status = Screen(*stub, id, &response);
    if (!status.ok()) {
      return absl::StrCat("Screen: ", status.error_code(), " ",
                          status.error_message());
    }
    return response.alerts_size() > 0 ? "" : "Screen: no alerts";
  });
  ASSERT_TRUE(load.WaitForSuccesses(40))
      << absl::StrJoin(load.failures(), "\n");
  ASSERT_NO_FATAL_FAILURE(Drain(0));
  const std::vector<int64_t> at_drain = ScreenCallsPerReplica(/*first=*/1);
  ASSERT_TRUE(load.WaitForSuccesses(60))
      << absl::StrJoin(load.failures(), "\n");
  load.Stop();
  EXPECT_THAT(load.failures(), ::testing::IsEmpty())
      << absl::StrJoin(load.failures(), "\n");
  // After the drain the two others carried the load, both of them.
  const std::vector<int64_t> after = ScreenCallsPerReplica(/*first=*/1);
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_GT(after[i], at_drain[i]) << "replica " << i + 1;
  }
}

// One needlecheckd with --drain_seconds=30 and `extra` flags, and a client
// channel (health checking: a Watch stream open) that has made a call.
class DrainTimeTest : public ::testing::Test {
 protected:
  void Start(const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"--listen=127.0.0.1:0",
                                     "--drain_seconds=30",
                                     "--data_dir=" + dir_.Path("data")};
    args.insert(args.end(), extra.begin(), extra.end());
    absl::StatusOr<std::unique_ptr<ServerProcess>> server =
        ServerProcess::Start(BinaryPath("service/needlecheckd"), args);
    ASSERT_THAT(server, IsOk());
    server_ = *std::move(server);
    stub_ = NewStub(server_->address());
    needlecheck::v1::ScreenResponse response;
    ASSERT_TRUE(Screen(*stub_, "before-drain", &response).ok());
  }

  // Waits (bounded) for the exit after SIGTERM; expects 0 and returns how
  // long it took from `since`.
  absl::Duration WaitForExitSince(absl::Time since) {
    absl::StatusOr<int> code = server_->WaitForExit(absl::Seconds(120));
    const absl::Duration took = absl::Now() - since;
    EXPECT_THAT(code, IsOk());
    if (code.ok()) EXPECT_EQ(*code, 0) << server_->output();
    EXPECT_THAT(server_->output(), HasSubstr("event=stopped"));
    return took;
  }

  ScopedTempDir dir_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<Stub> stub_;
};

// A connected client with no call in flight (only its health Watch
// stream) does not hold the drain for --drain_seconds: needlecheckd exits
// well before, with and without a lame duck (the bound is generous for a
// busy machine; the drain took the full 30 s when Watch streams counted).
TEST_F(DrainTimeTest, IdleClientChannelDoesNotHoldTheDrain) {
  // The flag's value, and how the draining line writes it.
  const std::pair<std::string, std::string> kLameDucks[] = {{"0s", "0"},
                                                            {"1s", "1s"}};
  for (const auto& [flag, logged] : kLameDucks) {
    SCOPED_TRACE(flag);
    ASSERT_NO_FATAL_FAILURE(Start({"--drain_lame_duck=" + flag}));
    const absl::Time sigterm = absl::Now();
    ASSERT_THAT(server_->Signal(SIGTERM), IsOk());
    EXPECT_LT(WaitForExitSince(sigterm), absl::Seconds(10));
    EXPECT_THAT(
        server_->output(),
        HasSubstr("event=draining grace_period=30s lame_duck=" + logged));
  }
}

// A ScreenStream open when the drain starts keeps being served during it
// (a request sent after "draining" is answered, the stream ends OK); once
// it is done needlecheckd exits at once, without waiting for the client's
// health Watch stream.
TEST_F(DrainTimeTest, StreamInFlightCompletesThenTheDrainEnds) {
  ASSERT_NO_FATAL_FAILURE(Start({}));
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  auto stream = stub_->ScreenStream(&context);
  needlecheck::v1::ScreenResponse response;
  ASSERT_TRUE(stream->Write(AlertingRequest("stream-1")));
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.request_id(), "stream-1");

  const size_t mark = server_->output_size();
  ASSERT_THAT(server_->Signal(SIGTERM), IsOk());
  ASSERT_TRUE(server_->WaitForOutput("event=draining", mark));
  ASSERT_TRUE(stream->Write(AlertingRequest("stream-2")));
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.request_id(), "stream-2");
  EXPECT_GT(response.alerts_size(), 0);
  ASSERT_TRUE(stream->WritesDone());
  EXPECT_FALSE(stream->Read(&response));
  const grpc::Status status = stream->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
  const absl::Time done = absl::Now();
  EXPECT_LT(WaitForExitSince(done), absl::Seconds(10));
}

// Hook calls through the gateway for `at_least`, and until `calls` have
// been made; returns the failures.
std::vector<std::string> HooksFor(ReplicasTest* test,
                                  const std::function<std::string(int)>& hook,
                                  absl::Duration at_least, int calls) {
  std::vector<std::string> failures;
  const absl::Time start = absl::Now();
  for (int i = 0; i < 100000 && (absl::Now() - start < at_least || i < calls);
       ++i) {
    std::string failure = hook(i);
    if (!failure.empty()) failures.push_back(std::move(failure));
  }
  return failures;
}

// --max_connection_age=1s: each replica sends the gateway GOAWAY every
// second or so; the gateway's channel reconnects (its connections to the
// replicas have new local ports afterwards), no call fails, and the calls
// still spread over all three.
TEST_F(ReplicasTest, MaxConnectionAgeMakesTheGatewayReconnectAndKeepSpreading) {
  ASSERT_NO_FATAL_FAILURE(StartReplicas(
      {"--max_connection_age=1s", "--max_connection_age_grace=60s"}));
  ASSERT_NO_FATAL_FAILURE(StartGateway(List()));
  ASSERT_EQ(Hook("age-first"), "");
  const std::set<int> before = ClientPortsTo(ports_);
  ASSERT_FALSE(before.empty());
  const std::vector<int64_t> at_start = ScreenCallsPerReplica();
  const std::vector<std::string> failures = HooksFor(
      this, [this](int i) { return Hook(absl::StrCat("age-", i)); },
      absl::Seconds(6), 30);
  EXPECT_THAT(failures, ::testing::IsEmpty()) << absl::StrJoin(failures, "\n");
  const std::set<int> after = ClientPortsTo(ports_);
  std::vector<int> kept;
  std::set_intersection(before.begin(), before.end(), after.begin(),
                        after.end(), std::back_inserter(kept));
  EXPECT_LT(kept.size(), before.size())
      << "no connection was re-opened after --max_connection_age";
  const std::vector<int64_t> counts = ScreenCallsPerReplica();
  for (int i = 0; i < kReplicas; ++i) {
    EXPECT_GT(counts[i], at_start[i]) << "replica " << i;
  }
}

// The same over a dns:/// name (localhost: multi-address DNS on loopback
// would need /etc/hosts): the channel re-resolves and reconnects after
// each GOAWAY without a failed call.
TEST_F(ReplicasTest, DnsNameReconnectsAfterMaxConnectionAge) {
  ASSERT_NO_FATAL_FAILURE(StartReplicas(
      {"--max_connection_age=1s", "--max_connection_age_grace=60s"}));
  ASSERT_NO_FATAL_FAILURE(
      StartGateway(absl::StrCat("dns:///localhost:", replicas_[0]->port())));
  ASSERT_EQ(Hook("dns-first"), "");
  const std::set<int> before = ClientPortsTo({replicas_[0]->port()});
  ASSERT_FALSE(before.empty());
  const std::vector<std::string> failures = HooksFor(
      this, [this](int i) { return Hook(absl::StrCat("dns-", i)); },
      absl::Seconds(5), 20);
  EXPECT_THAT(failures, ::testing::IsEmpty()) << absl::StrJoin(failures, "\n");
  const std::set<int> after = ClientPortsTo({replicas_[0]->port()});
  EXPECT_NE(before, after);
  EXPECT_GE(ScreenCallsPerReplica()[0], 21);
}

// Three replicas sharing one PostgreSQL database.
class SharedPostgresTest : public ReplicasTest {
 protected:
  void SetUp() override {
    ReplicasTest::SetUp();
    NEEDLECHECK_SKIP_WITHOUT_POSTGRES();
    absl::StatusOr<std::unique_ptr<PostgresCluster>> pg =
        PostgresCluster::Create();
    ASSERT_THAT(pg, IsOk());
    pg_ = *std::move(pg);
    ASSERT_NO_FATAL_FAILURE(StartReplicas(
        {}, {"--ledger=postgres", "--ledger_dsn=" + pg_->Dsn(),
             "--ledger_connect_timeout=60s", "--ledger_flush_ms=200"}));
    for (const auto& replica : replicas_) {
      pinned_.push_back(NewStub(replica->address()));
    }
  }

  // Rows of `sql` (one column), as a set.
  std::set<std::string> Rows(const std::string& sql) {
    absl::StatusOr<std::string> out = pg_->Sql(sql);
    EXPECT_THAT(out, IsOk());
    if (!out.ok() || out->empty()) return {};
    std::vector<std::string> rows = absl::StrSplit(*out, '\n');
    return std::set<std::string>(rows.begin(), rows.end());
  }

  // GetAlertStats from replica `i`, serialized (to compare replicas).
  std::string Stats(int i) {
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    needlecheck::v1::AlertStats stats;
    const grpc::Status status = pinned_[i]->GetAlertStats(
        &context, needlecheck::v1::GetAlertStatsRequest(), &stats);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return stats.SerializeAsString();
  }

  std::unique_ptr<PostgresCluster> pg_;
  std::vector<std::unique_ptr<Stub>> pinned_;
};

// What a load thread saw acknowledged.
struct Acknowledged {
  absl::Mutex mu;
  // alert id -> when its screening was acknowledged, and by which replica.
  std::map<std::string, std::pair<absl::Time, int>> alerts ABSL_GUARDED_BY(mu);
  std::set<std::string> feedback ABSL_GUARDED_BY(mu);
};

TEST_F(SharedPostgresTest, FeedbackThroughAnotherReplicaAndTheSameStats) {
  for (int a = 0; a < kReplicas; ++a) {
    needlecheck::v1::ScreenResponse screened;
    ASSERT_TRUE(
        Screen(*pinned_[a], absl::StrCat("pinned-", a), &screened).ok());
    ASSERT_GT(screened.alerts_size(), 0);
    ASSERT_FALSE(screened.alerts(0).alert_id().empty());
    // At once, before replica a's batch is surely committed: replica b
    // waits for it (its grace for other replicas' queues).
    const int b = (a + 1) % kReplicas;
    const grpc::Status status =
        SendFeedback(*pinned_[b], screened.alerts(0).alert_id());
    EXPECT_TRUE(status.ok()) << a << "->" << b << ": " << status.error_code()
                             << " " << status.error_message();
  }
  // The gateway pinned to replica 0 issues a card; feedback through
  // replica 2.
  ASSERT_NO_FATAL_FAILURE(StartGateway(replicas_[0]->address()));
  const HttpResult hook =
      Http("POST", base_url_ + kHookPath, HookBody("pinned-gateway"));
  ASSERT_EQ(HookProblem(hook), "");
  const std::string uuid = Json::parse(hook.body)["cards"][0]["uuid"];
  const grpc::Status status = SendFeedback(*pinned_[2], uuid);
  EXPECT_TRUE(status.ok()) << status.error_code() << " "
                           << status.error_message();
  EXPECT_EQ(Rows("SELECT COUNT(*) FROM feedback"), std::set<std::string>{"4"});
  const std::string first = Stats(0);
  for (int i = 1; i < kReplicas; ++i) EXPECT_EQ(Stats(i), first) << i;
}

// Screen on replica k, feedback on that alert through replica k+1, from
// three threads; replica 2 SIGKILLed mid-way. Calls to the dead replica
// fail (UNAVAILABLE); nothing acknowledged is lost: every acknowledged
// feedback is in the database, every screening acknowledged by a
// survivor is too, and so is every one the killed replica acknowledged
// more than its flush window (200 ms, with a wide margin) before the kill.
TEST_F(SharedPostgresTest, SigkillOfAReplicaUnderLoadLosesNothingAcknowledged) {
  Acknowledged ack;
  std::atomic<int> dead{-1};
  Load load(3, [&](int thread, int n) -> std::string {
    const int a = (thread + n) % kReplicas;
    const int b = (a + 1) % kReplicas;
    needlecheck::v1::ScreenResponse screened;
    const grpc::Status screen =
        Screen(*pinned_[a], absl::StrCat("kill-", thread, "-", n), &screened);
    if (!screen.ok()) {
      if (a == dead.load() &&
          screen.error_code() == grpc::StatusCode::UNAVAILABLE) {
        return "";  // the killed replica
      }
      return absl::StrCat("Screen on ", a, ": ", screen.error_code(), " ",
                          screen.error_message());
    }
    const std::string alert_id = screened.alerts(0).alert_id();
    {
      absl::MutexLock lock(&ack.mu);
      ack.alerts[alert_id] = {absl::Now(), a};
    }
    const grpc::Status feedback = SendFeedback(*pinned_[b], alert_id);
    if (feedback.ok()) {
      absl::MutexLock lock(&ack.mu);
      ack.feedback.insert(alert_id);
      return "";
    }
    if (dead.load() >= 0 &&
        (b == dead.load() ||
         (a == dead.load() &&
          feedback.error_code() == grpc::StatusCode::NOT_FOUND))) {
      return "";  // sent to the dead replica, or its alert was not flushed
    }
    return absl::StrCat("RecordFeedback on ", b, " for ", a, ": ",
                        feedback.error_code(), " ", feedback.error_message());
  });
  ASSERT_TRUE(load.WaitForSuccesses(30))
      << absl::StrJoin(load.failures(), "\n");
  // Let some screenings age past the flush window before the kill.
  absl::SleepFor(absl::Seconds(3));
  ASSERT_TRUE(load.WaitForSuccesses(10));
  const absl::Time killed_at = absl::Now();
  dead = 2;
  ASSERT_THAT(replicas_[2]->Signal(SIGKILL), IsOk());
  ASSERT_THAT(replicas_[2]->WaitForExit(absl::Seconds(60)), IsOk());
  ASSERT_TRUE(load.WaitForSuccesses(30))
      << absl::StrJoin(load.failures(), "\n");
  load.Stop();
  EXPECT_THAT(load.failures(), ::testing::IsEmpty())
      << absl::StrJoin(load.failures(), "\n");
  // The survivors flush their queues on SIGTERM.
  ASSERT_NO_FATAL_FAILURE(Drain(0));
  ASSERT_NO_FATAL_FAILURE(Drain(1));

  const std::set<std::string> alerts = Rows("SELECT alert_id FROM alerts");
  const std::set<std::string> feedback = Rows("SELECT alert_id FROM feedback");
  absl::MutexLock lock(&ack.mu);
  int checked_from_killed = 0;
  for (const auto& [alert_id, when_and_replica] : ack.alerts) {
    const auto& [when, replica] = when_and_replica;
    if (replica == 2 && when > killed_at - absl::Seconds(2)) continue;
    if (replica == 2) ++checked_from_killed;
    EXPECT_EQ(alerts.count(alert_id), 1u)
        << alert_id << " acknowledged by replica " << replica;
  }
  EXPECT_GT(checked_from_killed, 0);
  for (const std::string& alert_id : ack.feedback) {
    EXPECT_EQ(feedback.count(alert_id), 1u) << alert_id;
  }
}

// The database stopped under load and started again: while it is down,
// RecordFeedback fails cleanly and fast with UNAVAILABLE on every replica
// and Screen still answers (the PostgreSQL ledger queues its screenings,
// with their ids, in memory, up to its bound); afterwards every replica
// takes feedback again and nothing acknowledged is lost (every id given
// out and every acknowledged feedback is in the database).
TEST_F(SharedPostgresTest, DatabaseRestartUnderLoadLosesNothingAcknowledged) {
  Acknowledged ack;
  std::unique_ptr<Stub> spread = NewStub(List());
  std::atomic<int> unavailable{0};
  Load load(2, [&](int thread, int n) -> std::string {
    needlecheck::v1::ScreenResponse screened;
    const grpc::Status screen =
        Screen(*spread, absl::StrCat("restart-", thread, "-", n), &screened);
    if (!screen.ok()) {
      return absl::StrCat("Screen: ", screen.error_code(), " ",
                          screen.error_message());
    }
    if (screened.alerts_size() == 0) return "Screen: no alerts";
    const std::string alert_id = screened.alerts(0).alert_id();
    if (alert_id.empty()) return "";  // a ledger refusing: no id
    {
      absl::MutexLock lock(&ack.mu);
      ack.alerts[alert_id] = {absl::Now(), -1};
    }
    const grpc::Status feedback = SendFeedback(*spread, alert_id);
    if (feedback.ok()) {
      absl::MutexLock lock(&ack.mu);
      ack.feedback.insert(alert_id);
      return "";
    }
    if (feedback.error_code() == grpc::StatusCode::UNAVAILABLE) {
      ++unavailable;
      return "";
    }
    return absl::StrCat("RecordFeedback: ", feedback.error_code(), " ",
                        feedback.error_message());
  });
  ASSERT_TRUE(load.WaitForSuccesses(20))
      << absl::StrJoin(load.failures(), "\n");
  std::string known;
  {
    absl::MutexLock lock(&ack.mu);
    ASSERT_FALSE(ack.feedback.empty());
    known = *ack.feedback.begin();
  }

  ASSERT_THAT(pg_->Stop("fast"), IsOk());
  // Down: on every replica, feedback is UNAVAILABLE within a bound (no
  // hang) and Screen answers without alert ids.
  for (int i = 0; i < kReplicas; ++i) {
    const absl::Time start = absl::Now();
    const grpc::Status status =
        SendFeedback(*pinned_[i], known, absl::Seconds(120));
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
        << i << ": " << status.error_message();
    EXPECT_LT(absl::Now() - start, absl::Seconds(30)) << i;
    needlecheck::v1::ScreenResponse screened;
    ASSERT_TRUE(Screen(*pinned_[i], absl::StrCat("down-", i), &screened).ok());
    ASSERT_GT(screened.alerts_size(), 0);
    // The PostgreSQL ledger keeps queueing screenings (bounded) through an
    // outage: an id given now must be in the database afterwards.
    if (!screened.alerts(0).alert_id().empty()) {
      absl::MutexLock lock(&ack.mu);
      ack.alerts[screened.alerts(0).alert_id()] = {absl::Now(), i};
    }
  }
  ASSERT_TRUE(load.WaitForSuccesses(10))
      << absl::StrJoin(load.failures(), "\n");

  ASSERT_THAT(pg_->Start(), IsOk());
  // Up again: every replica takes feedback again (bounded wait).
  for (int i = 0; i < kReplicas; ++i) {
    bool recovered = false;
    for (int attempt = 0; attempt < 120 && !recovered; ++attempt) {
      needlecheck::v1::ScreenResponse screened;
      if (Screen(*pinned_[i], absl::StrCat("up-", i, "-", attempt), &screened)
              .ok() &&
          !screened.alerts(0).alert_id().empty()) {
        recovered =
            SendFeedback(*pinned_[i], screened.alerts(0).alert_id()).ok();
      }
      if (!recovered) absl::SleepFor(absl::Seconds(1));
    }
    EXPECT_TRUE(recovered) << "replica " << i;
  }
  ASSERT_TRUE(load.WaitForSuccesses(20))
      << absl::StrJoin(load.failures(), "\n");
  load.Stop();
  EXPECT_THAT(load.failures(), ::testing::IsEmpty())
      << absl::StrJoin(load.failures(), "\n");
  for (int i = 0; i < kReplicas; ++i) ASSERT_NO_FATAL_FAILURE(Drain(i));

  const std::set<std::string> alerts = Rows("SELECT alert_id FROM alerts");
  const std::set<std::string> feedback = Rows("SELECT alert_id FROM feedback");
  absl::MutexLock lock(&ack.mu);
  for (const auto& entry : ack.alerts) {
    EXPECT_EQ(alerts.count(entry.first), 1u) << entry.first;
  }
  for (const std::string& alert_id : ack.feedback) {
    EXPECT_EQ(feedback.count(alert_id), 1u) << alert_id;
  }
}

}  // namespace
}  // namespace needlecheck
