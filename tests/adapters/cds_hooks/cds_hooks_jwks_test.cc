// The real needlecheck-cds-hooks with --jwks_url pointing at a JWK Set
// server run by this test on loopback (plain HTTP, allowed by
// --jwks_allow_insecure_loopback), over real HTTP. Authenticated discovery
// (--discovery_requires_auth) is the call: it needs no needlecheckd.
//   - a token signed with a key served only by the URL is accepted, and only
//     for the issuer the URL is tied to;
//   - a new kid at the URL (rotation) is accepted on its first token;
//   - a burst of tokens with unknown kids costs at most one fetch per
//     --jwks_min_refresh_interval (none at all within the default minute);
//   - the URL going down (HTTP 503, a server that never answers, nobody
//     listening) keeps the cached keys working;
//   - a JWK Set with weak or unsupported keys serves its good keys; one with
//     a duplicate kid is refused and the cached keys stay;
//   - no token, signature or key material reaches the log;
//   - bad --jwks_url flags exit 2.
// Waits are only for refresh windows the gateway is configured with (1 s to
// 2 s here), with margins; assertions on fetch spacing allow for a slow
// machine.
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/adapters/cds_hooks/fake_fhir_server.h"
#include "tests/adapters/cds_hooks/jwt_signer.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::cds_hooks {
namespace {

using ::needlecheck::cds_hooks::testing::Claims;
using ::needlecheck::cds_hooks::testing::TestKey;
using ::needlecheck::testing::BinaryPath;
using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::ServerProcess;
using ::testing::HasSubstr;
using ::testing::Not;
using Json = nlohmann::json;

constexpr char kIss[] = "https://ehr.example.org";
constexpr char kOtherIss[] = "https://other-ehr.example.org";
constexpr char kAudience[] = "https://cds.example.org";
constexpr char kDiscoveryAud[] = "https://cds.example.org/cds-services";

// A JWK Set server on 127.0.0.1:0: answers every request with the current
// status and body (then closes), counts requests and when they came.
class JwksServer {
 public:
  JwksServer() {
    // CLOEXEC: the gateway must not inherit the listener.
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
        listen(fd_, 64) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      ADD_FAILURE() << "cannot listen on loopback";
      return;
    }
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { Loop(); });
  }
  ~JwksServer() { Stop(); }

  // Closes the listening socket: later connections are refused.
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    for (int held : held_) close(held);
    held_.clear();
  }

  std::string url() const {
    return absl::StrCat("http://127.0.0.1:", port_, "/jwks.json");
  }
  // Status 0: accept, read, never answer (the connection is held).
  void Serve(int status, std::string body) {
    absl::MutexLock lock(&mu_);
    status_ = status;
    body_ = std::move(body);
  }
  int requests() const {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(times_.size());
  }
  std::vector<absl::Time> times() const {
    absl::MutexLock lock(&mu_);
    return times_;
  }

 private:
  void Loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      const int client = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      timeval tv{5, 0};
      setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
      std::string request;
      char buffer[4096];
      while (request.find("\r\n\r\n") == std::string::npos &&
             request.size() < 65536) {
        const ssize_t n = read(client, buffer, sizeof(buffer));
        if (n <= 0) break;
        request.append(buffer, static_cast<size_t>(n));
      }
      std::string response;
      {
        absl::MutexLock lock(&mu_);
        times_.push_back(absl::Now());
        if (status_ == 0) {
          held_.push_back(client);
          continue;
        }
        response =
            absl::StrCat("HTTP/1.1 ", status_,
                         " X\r\nContent-Type: application/json\r\n"
                         "Content-Length: ",
                         body_.size(), "\r\nConnection: close\r\n\r\n", body_);
      }
      size_t sent = 0;
      while (sent < response.size()) {
        const ssize_t n =
            write(client, response.data() + sent, response.size() - sent);
        if (n <= 0) break;
        sent += static_cast<size_t>(n);
      }
      close(client);
    }
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable absl::Mutex mu_;
  int status_ ABSL_GUARDED_BY(mu_) = 503;
  std::string body_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::Time> times_ ABSL_GUARDED_BY(mu_);
  std::vector<int> held_;  // only the server thread, then Stop()
};

std::string SetOf(const std::vector<Json>& keys) {
  return Json({{"keys", keys}}).dump();
}

size_t Append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// GET /cds-services with the token; the HTTP status.
long Discovery(const std::string& base, const std::string& token) {
  std::string body;
  CURL* curl = curl_easy_init();
  const std::string header = "Authorization: Bearer " + token;
  curl_slist* list = curl_slist_append(nullptr, header.c_str());
  const std::string url = base + "/cds-services";
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 120L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  return status;
}

class CdsHooksJwksTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { curl_global_init(CURL_GLOBAL_DEFAULT); }

  void StartGateway(const std::string& min_refresh_interval,
                    std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {
        "--listen=127.0.0.1:0",
        absl::StrCat("--screening_service=127.0.0.1:",
                     testing::ClosedLoopbackPort()),
        absl::StrCat("--trusted_issuers=", kIss, ",", kOtherIss),
        absl::StrCat("--audience=", kAudience),
        "--discovery_requires_auth",
        absl::StrCat("--jwks_url=", kIss, "=", jwks_.url()),
        "--jwks_allow_insecure_loopback"};
    if (!min_refresh_interval.empty()) {
      args.push_back("--jwks_min_refresh_interval=" + min_refresh_interval);
    }
    args.insert(args.end(), extra.begin(), extra.end());
    auto process = ServerProcess::Start(
        BinaryPath("adapters/cds_hooks/needlecheck-cds-hooks"), args);
    ASSERT_THAT(process, IsOk());
    gateway_ = std::move(process).value();
    base_ = "http://" + gateway_->address();
  }

  // A fresh token (unique jti) for `iss`, signed by `key`, naming `kid`.
  std::string Token(const TestKey& key, const std::string& kid,
                    const std::string& iss = kIss) {
    const int64_t now = absl::ToUnixSeconds(absl::Now());
    std::string token =
        key.Sign({{"alg", key.alg()}, {"typ", "JWT"}, {"kid", kid}},
                 Claims(iss, kDiscoveryAud, now, now + 300,
                        absl::StrCat("jti-", ++jti_)));
    tokens_.push_back(token);
    return token;
  }
  std::string Token(const TestKey& key) { return Token(key, key.kid()); }

  // No token, signature or public key member reaches the log.
  void ExpectCleanLog(const std::vector<const TestKey*>& keys) {
    const std::string log = gateway_->output();
    for (const std::string& token : tokens_) {
      const size_t last_dot = token.rfind('.');
      EXPECT_THAT(log, Not(HasSubstr(token.substr(0, 40))));
      EXPECT_THAT(log, Not(HasSubstr(token.substr(last_dot + 1, 40))));
    }
    for (const TestKey* key : keys) {
      const Json jwk = key->PublicJwk();
      for (const char* member : {"x", "y", "n"}) {
        if (jwk.contains(member)) {
          EXPECT_THAT(
              log,
              Not(HasSubstr(jwk[member].get<std::string>().substr(0, 24))));
        }
      }
    }
  }

  JwksServer jwks_;
  std::unique_ptr<ServerProcess> gateway_;
  std::string base_;
  std::vector<std::string> tokens_;
  int jti_ = 0;
};

TEST_F(CdsHooksJwksTest, KeyServedOnlyByTheUrlIsAcceptedForItsIssuer) {
  auto key = TestKey::Generate("EC", "url-only");
  jwks_.Serve(200, SetOf({key->PublicJwk()}));
  StartGateway("");
  EXPECT_EQ(jwks_.requests(), 1);  // the start-up fetch
  EXPECT_EQ(Discovery(base_, Token(*key)), 200);
  EXPECT_EQ(Discovery(base_, Token(*key)), 200);
  // The same key for another trusted issuer: refused (not its URL).
  EXPECT_EQ(Discovery(base_, Token(*key, key->kid(), kOtherIss)), 401);
  EXPECT_EQ(jwks_.requests(), 1);
  EXPECT_TRUE(gateway_->WaitForOutput("event=jwks_fetch"));
  EXPECT_THAT(gateway_->output(), HasSubstr("result=ok keys=1"));
  ExpectCleanLog({key.get()});
}

TEST_F(CdsHooksJwksTest, RotatedKeyIsAcceptedOnItsFirstToken) {
  auto old_key = TestKey::Generate("EC", "2026-11");
  auto new_key = TestKey::Generate("RSA", "2026-12");
  jwks_.Serve(200, SetOf({old_key->PublicJwk()}));
  StartGateway("1s");
  EXPECT_EQ(Discovery(base_, Token(*old_key)), 200);
  jwks_.Serve(200, SetOf({old_key->PublicJwk(), new_key->PublicJwk()}));
  // Past the refresh window of the start-up fetch.
  absl::SleepFor(absl::Milliseconds(1500));
  EXPECT_EQ(Discovery(base_, Token(*new_key)), 200);
  EXPECT_EQ(jwks_.requests(), 2);
  EXPECT_EQ(Discovery(base_, Token(*old_key)), 200);
  EXPECT_EQ(Discovery(base_, Token(*new_key)), 200);
  EXPECT_EQ(jwks_.requests(), 2);
  ExpectCleanLog({old_key.get(), new_key.get()});
}

TEST_F(CdsHooksJwksTest, BurstOfUnknownKidsCostsNoFetchWithinTheMinute) {
  auto key = TestKey::Generate("EC", "known");
  auto stranger = TestKey::Generate("EC", "stranger");
  jwks_.Serve(200, SetOf({key->PublicJwk()}));
  StartGateway("");  // the default: one minute
  std::vector<std::string> tokens;
  for (int i = 0; i < 60; ++i) {
    tokens.push_back(Token(*stranger, absl::StrCat("made-up-", i)));
  }
  std::vector<std::thread> threads;
  std::atomic<int> refused{0};
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < 60; i += 6) {
        if (Discovery(base_, tokens[i]) == 401) ++refused;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(refused, 60);
  EXPECT_EQ(jwks_.requests(), 1);  // the start-up fetch only
  EXPECT_EQ(Discovery(base_, Token(*key)), 200);
}

TEST_F(CdsHooksJwksTest, BurstOfUnknownKidsCostsAtMostOneFetchPerInterval) {
  auto key = TestKey::Generate("EC", "known");
  auto stranger = TestKey::Generate("EC", "stranger");
  jwks_.Serve(200, SetOf({key->PublicJwk()}));
  StartGateway("2s");
  absl::SleepFor(absl::Milliseconds(2500));
  std::vector<std::string> tokens;
  for (int i = 0; i < 48; ++i) {
    tokens.push_back(Token(*stranger, absl::StrCat("flood-", i)));
  }
  const absl::Time start = absl::Now();
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < 48; i += 8) Discovery(base_, tokens[i]);
    });
  }
  for (std::thread& t : threads) t.join();
  const absl::Duration burst = absl::Now() - start;
  const std::vector<absl::Time> times = jwks_.times();
  ASSERT_GE(times.size(), 2u);  // start-up + the burst's first unknown kid
  // At most one fetch per 2 s window (1 s of margin for scheduling), so at
  // most one for a burst that took under 2 s.
  for (size_t i = 1; i < times.size(); ++i) {
    EXPECT_GE(times[i] - times[i - 1], absl::Seconds(1)) << i;
  }
  if (burst < absl::Seconds(1)) {
    EXPECT_EQ(times.size(), 2u);
  }
  EXPECT_LE(times.size(), 2u + static_cast<size_t>(burst / absl::Seconds(1)));
}

TEST_F(CdsHooksJwksTest, UrlDownKeepsTheCachedKeys) {
  auto key = TestKey::Generate("RSA", "cached");
  auto stranger = TestKey::Generate("EC", "new-kid");
  jwks_.Serve(200, SetOf({key->PublicJwk()}));
  StartGateway("1s");
  EXPECT_EQ(Discovery(base_, Token(*key)), 200);
  // First an HTTP error, then nobody listening at all.
  jwks_.Serve(503, "down");
  absl::SleepFor(absl::Milliseconds(1500));
  size_t from = gateway_->output_size();
  EXPECT_EQ(Discovery(base_, Token(*stranger)), 401);
  EXPECT_TRUE(gateway_->WaitForOutput("result=failed", from));
  EXPECT_THAT(gateway_->output().substr(from), HasSubstr("HTTP 503"));
  EXPECT_EQ(Discovery(base_, Token(*key)), 200);
  // A server that never answers: the fetch ends at its 5 s deadline.
  jwks_.Serve(0, "");
  absl::SleepFor(absl::Milliseconds(1500));
  from = gateway_->output_size();
  const absl::Time start = absl::Now();
  EXPECT_EQ(Discovery(base_, Token(*stranger)), 401);
  EXPECT_LT(absl::Now() - start, absl::Seconds(30));
  EXPECT_TRUE(gateway_->WaitForOutput("JWKS request timed out", from));
  EXPECT_EQ(Discovery(base_, Token(*key)), 200);
  jwks_.Stop();
  absl::SleepFor(absl::Milliseconds(1500));
  from = gateway_->output_size();
  EXPECT_EQ(Discovery(base_, Token(*stranger)), 401);
  EXPECT_TRUE(gateway_->WaitForOutput("keeping_cached_keys", from));
  EXPECT_EQ(Discovery(base_, Token(*key)), 200);
  ExpectCleanLog({key.get(), stranger.get()});
}

TEST_F(CdsHooksJwksTest, BadKeysAreSkippedAndDuplicateKidsRefused) {
  auto good = TestKey::Generate("EC", "good");
  Json p256 = good->PublicJwk();
  p256["kid"] = "p256";
  p256["crv"] = "P-256";
  std::string small_n(128, '\x5a');
  small_n[0] = '\xc3';
  const Json rsa1024 = {{"kty", "RSA"},
                        {"kid", "rsa1024"},
                        {"n", testing::Base64Url(small_n)},
                        {"e", "AQAB"}};
  const Json hmac = {{"kty", "oct"}, {"kid", "hmac"}, {"k", "c2VjcmV0"}};
  jwks_.Serve(200, SetOf({good->PublicJwk(), p256, rsa1024, hmac}));
  StartGateway("1s");
  EXPECT_TRUE(gateway_->WaitForOutput("result=ok keys=1 skipped_keys=3"));
  EXPECT_EQ(Discovery(base_, Token(*good)), 200);
  // An HS256 token naming the HMAC key: refused.
  const Json hs = {{"alg", "HS256"}, {"typ", "JWT"}, {"kid", "hmac"}};
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  EXPECT_EQ(
      Discovery(
          base_,
          testing::Base64Url(hs.dump()) + "." +
              testing::Base64Url(
                  Claims(kIss, kDiscoveryAud, now, now + 60, "hs").dump()) +
              "." + testing::Base64Url("signature")),
      401);
  // A rotation to a set with a duplicate kid is refused as a whole.
  auto twin = TestKey::Generate("RSA", "twin");
  auto twin2 = TestKey::Generate("EC", "twin");
  jwks_.Serve(
      200, SetOf({good->PublicJwk(), twin->PublicJwk(), twin2->PublicJwk()}));
  absl::SleepFor(absl::Milliseconds(1500));
  const size_t from = gateway_->output_size();
  EXPECT_EQ(Discovery(base_, Token(*twin)), 401);
  EXPECT_TRUE(gateway_->WaitForOutput("appears twice", from));
  EXPECT_EQ(Discovery(base_, Token(*good)), 200);
  ExpectCleanLog({good.get(), twin.get(), twin2.get()});
}

TEST_F(CdsHooksJwksTest, BadJwksFlagsRefuseToStart) {
  const std::string url = jwks_.url();
  for (const std::vector<std::string>& flags :
       std::vector<std::vector<std::string>>{
           // http to loopback without the test flag.
           {absl::StrCat("--jwks_url=", kIss, "=", url)},
           // http to a name, even with it.
           {absl::StrCat("--jwks_url=", kIss, "=http://ehr.example.org/jwks"),
            "--jwks_allow_insecure_loopback"},
           // No issuer, or one that is not trusted.
           {"--jwks_url=https://ehr.example.org/jwks"},
           {"--jwks_url=https://evil.example.org=https://evil.example.org/k"},
           // The same issuer twice.
           {absl::StrCat("--jwks_url=", kIss, "=https://a.example.org/k,", kIss,
                         "=https://b.example.org/k")},
           // A refresh interval under a minute outside tests.
           {absl::StrCat("--jwks_url=", kIss, "=https://a.example.org/k"),
            "--jwks_min_refresh_interval=5s"},
       }) {
    std::vector<std::string> args = {"--listen=127.0.0.1:0",
                                     absl::StrCat("--trusted_issuers=", kIss),
                                     absl::StrCat("--audience=", kAudience)};
    args.insert(args.end(), flags.begin(), flags.end());
    auto process = ServerProcess::Spawn(
        BinaryPath("adapters/cds_hooks/needlecheck-cds-hooks"), args, {});
    ASSERT_THAT(process, IsOk());
    absl::StatusOr<int> code = (*process)->WaitForExit();
    ASSERT_THAT(code, IsOk());
    EXPECT_EQ(*code, 2) << absl::StrJoin(flags, " ");
  }
  EXPECT_EQ(jwks_.requests(), 0);
}

}  // namespace
}  // namespace needlecheck::cds_hooks
