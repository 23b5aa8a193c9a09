// JwksCache: refresh policy (unknown kid, stale set), the once-a-minute
// limit with an injected clock, single flight under concurrency, failed
// refreshes keeping the cached keys, and the --jwks_url entry parser.
#include "adapters/cds_hooks/jwks_cache.h"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/adapters/cds_hooks/jwt_signer.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::cds_hooks {
namespace {

using ::needlecheck::cds_hooks::testing::TestKey;
using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;
using Json = nlohmann::json;

const absl::Time kStart = absl::FromUnixSeconds(1800000000);

std::string SetOf(const std::vector<const TestKey*>& keys) {
  Json set = {{"keys", Json::array()}};
  for (const TestKey* key : keys) set["keys"].push_back(key->PublicJwk());
  return set.dump();
}

// A fetch function whose answer the test sets; counts calls.
class FakeSource {
 public:
  JwksCache::Fetch fetch() {
    return [this]() -> absl::StatusOr<std::string> {
      absl::MutexLock lock(&mu_);
      ++calls_;
      return answer_;
    };
  }
  void Set(absl::StatusOr<std::string> answer) {
    absl::MutexLock lock(&mu_);
    answer_ = std::move(answer);
  }
  int calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

 private:
  absl::Mutex mu_;
  absl::StatusOr<std::string> answer_ = absl::UnavailableError("not set");
  int calls_ = 0;
};

class JwksCacheTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    a_ = TestKey::Generate("EC", "a").release();
    b_ = TestKey::Generate("RSA", "b").release();
  }
  static void TearDownTestSuite() {
    delete a_;
    delete b_;
  }
  JwksCache::Options Options() {
    JwksCache::Options options;
    options.name = "https://ehr.example.org/jwks";
    options.log = [this](const std::string& line) { log_.push_back(line); };
    return options;
  }
  static TestKey* a_;
  static TestKey* b_;
  std::vector<std::string> log_;
};
TestKey* JwksCacheTest::a_ = nullptr;
TestKey* JwksCacheTest::b_ = nullptr;

TEST_F(JwksCacheTest, FetchesOnUnknownKidOnly) {
  FakeSource source;
  source.Set(SetOf({a_}));
  JwksCache cache(source.fetch(), Options());
  EXPECT_EQ(cache.keys()->size(), 0);
  EXPECT_NE(cache.KeysFor("a", kStart)->Find("a"), nullptr);
  EXPECT_EQ(source.calls(), 1);
  for (int i = 0; i < 10; ++i) {
    EXPECT_NE(cache.KeysFor("a", kStart + absl::Seconds(i))->Find("a"),
              nullptr);
  }
  EXPECT_EQ(source.calls(), 1);
}

TEST_F(JwksCacheTest, AtMostOneFetchPerMinuteWhateverTheKids) {
  FakeSource source;
  source.Set(SetOf({a_}));
  JwksCache cache(source.fetch(), Options());
  ASSERT_THAT(cache.Refresh(kStart), IsOk());
  for (int i = 0; i < 1000; ++i) {
    cache.KeysFor("unknown-" + std::to_string(i),
                  kStart + absl::Milliseconds(59 * i));  // up to 58.9 s
  }
  EXPECT_EQ(source.calls(), 1);
  EXPECT_THAT(cache.Refresh(kStart + absl::Seconds(59)),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  cache.KeysFor("unknown", kStart + absl::Seconds(60));
  EXPECT_EQ(source.calls(), 2);
  // A clock going backwards does not open the gate either.
  cache.KeysFor("unknown", kStart);
  EXPECT_EQ(source.calls(), 2);
  cache.KeysFor("unknown", kStart + absl::Seconds(119));
  EXPECT_EQ(source.calls(), 2);
  cache.KeysFor("unknown", kStart + absl::Seconds(120));
  EXPECT_EQ(source.calls(), 3);
}

TEST_F(JwksCacheTest, RotationPickedUpOnFirstUnknownKid) {
  FakeSource source;
  source.Set(SetOf({a_}));
  JwksCache cache(source.fetch(), Options());
  ASSERT_THAT(cache.Refresh(kStart), IsOk());
  source.Set(SetOf({a_, b_}));
  const absl::Time later = kStart + absl::Minutes(5);
  EXPECT_NE(cache.KeysFor("b", later)->Find("b"), nullptr);
  EXPECT_EQ(source.calls(), 2);
  EXPECT_NE(cache.KeysFor("a", later)->Find("a"), nullptr);
  EXPECT_EQ(source.calls(), 2);
}

TEST_F(JwksCacheTest, FailedRefreshKeepsCachedKeys) {
  FakeSource source;
  source.Set(SetOf({a_}));
  JwksCache cache(source.fetch(), Options());
  ASSERT_THAT(cache.Refresh(kStart), IsOk());
  const std::vector<absl::StatusOr<std::string>> failures = {
      absl::UnavailableError("JWKS request failed: Couldn't connect"),
      absl::DeadlineExceededError("JWKS request timed out"),
      absl::ResourceExhaustedError("JWKS response over the byte budget"),
      std::string("<html>not json"),
      std::string(R"({"keys":"no"})"),
      // Duplicate kid: ambiguous, refused as a whole.
      SetOf({b_, b_}),
  };
  absl::Time now = kStart;
  for (const auto& failure : failures) {
    source.Set(failure);
    now += absl::Minutes(2);
    EXPECT_THAT(cache.Refresh(now), Not(IsOk()));
    EXPECT_NE(cache.KeysFor("a", now)->Find("a"), nullptr);
  }
  EXPECT_EQ(source.calls(), 1 + static_cast<int>(failures.size()));
  // Failures are logged with the reason, never with key material.
  ASSERT_EQ(log_.size(), 1 + failures.size());
  EXPECT_THAT(log_[0], HasSubstr("result=ok keys=1"));
  for (size_t i = 1; i < log_.size(); ++i) {
    EXPECT_THAT(log_[i], HasSubstr("result=failed keeping_cached_keys"));
    EXPECT_THAT(log_[i], HasSubstr("url=https://ehr.example.org/jwks"));
  }
  const std::string n = b_->PublicJwk()["n"].get<std::string>();
  const std::string x = a_->PublicJwk()["x"].get<std::string>();
  for (const std::string& line : log_) {
    EXPECT_THAT(line, Not(HasSubstr(n.substr(0, 16))));
    EXPECT_THAT(line, Not(HasSubstr(x.substr(0, 16))));
  }
}

TEST_F(JwksCacheTest, StaleSetIsRefreshedAndDroppedKeysGo) {
  FakeSource source;
  source.Set(SetOf({a_}));
  JwksCache cache(source.fetch(), Options());
  ASSERT_THAT(cache.Refresh(kStart), IsOk());
  source.Set(SetOf({b_}));
  EXPECT_NE(cache.KeysFor("a", kStart + absl::Minutes(59))->Find("a"), nullptr);
  EXPECT_EQ(source.calls(), 1);
  // An hour later the set is refreshed on use: a is gone.
  EXPECT_EQ(cache.KeysFor("a", kStart + absl::Hours(1))->Find("a"), nullptr);
  EXPECT_EQ(source.calls(), 2);
  // A stale set whose refresh fails is still used.
  source.Set(absl::UnavailableError("down"));
  EXPECT_NE(cache.KeysFor("b", kStart + absl::Hours(3))->Find("b"), nullptr);
  EXPECT_EQ(source.calls(), 3);
}

TEST_F(JwksCacheTest, ConcurrentUnknownKidsShareOneFetch) {
  absl::Notification release;
  absl::Mutex mu;
  int calls = 0;
  const std::string document = SetOf({a_, b_});
  JwksCache cache(
      [&]() -> absl::StatusOr<std::string> {
        {
          absl::MutexLock lock(&mu);
          ++calls;
        }
        release.WaitForNotificationWithTimeout(absl::Seconds(30));
        return document;
      },
      Options());
  constexpr int kThreads = 16;
  std::vector<std::thread> threads;
  std::vector<int> found(kThreads, 0);
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      // Half ask for a kid the fetch brings, half for one nobody has.
      const std::string kid = i % 2 == 0 ? "b" : "nobody-" + std::to_string(i);
      found[i] = cache.KeysFor(kid, kStart)->Find(kid) != nullptr;
    });
  }
  // Let the threads pile up behind the running fetch (bounded wait).
  for (int i = 0; i < 200; ++i) {
    {
      absl::MutexLock lock(&mu);
      if (calls > 0) break;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  absl::SleepFor(absl::Milliseconds(200));
  release.Notify();
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(calls, 1);
  for (int i = 0; i < kThreads; i += 2) EXPECT_EQ(found[i], 1) << i;
  EXPECT_EQ(cache.fetch_attempts(), 1);
}

TEST(JwksUrlEntryTest, ParsesIssuerUrlPairs) {
  auto entry = ParseJwksUrlEntry(
      "https://ehr.example.org=https://EHR.example.org:443/jwks.json", false);
  ASSERT_THAT(entry, IsOk());
  EXPECT_EQ(entry->issuer, "https://ehr.example.org");
  EXPECT_EQ(entry->url, "https://ehr.example.org/jwks.json");
  // '=' inside the issuer.
  entry = ParseJwksUrlEntry("urn:x?a=b=https://k.example.org/j", false);
  ASSERT_THAT(entry, IsOk());
  EXPECT_EQ(entry->issuer, "urn:x?a=b");
  // http only to loopback literals, and only when allowed.
  EXPECT_THAT(ParseJwksUrlEntry("i=http://127.0.0.1:8/j", true), IsOk());
  for (const auto& [flag, loopback] : std::vector<std::pair<std::string, bool>>{
           {"i=http://127.0.0.1:8/j", false},
           {"i=http://localhost:8/j", true},
           {"i=http://ehr.example.org/j", true},
           {"https://ehr.example.org/jwks", false},  // no issuer
           {"=https://ehr.example.org/jwks", false},
           {"i=https://user@ehr.example.org/jwks", false},
           {"i=https://ehr.example.org/a/../jwks", false},
           {"i=ftp://ehr.example.org/jwks", false},
       }) {
    EXPECT_THAT(ParseJwksUrlEntry(flag, loopback),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << flag;
  }
}

}  // namespace
}  // namespace needlecheck::cds_hooks
