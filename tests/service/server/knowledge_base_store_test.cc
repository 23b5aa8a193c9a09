#include "service/server/knowledge_base_store.h"

#include <deque>
#include <memory>
#include <string>

#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::server {
namespace {

using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::StatusIs;
using KbOr = absl::StatusOr<std::shared_ptr<const kb::KnowledgeBase>>;

KbOr BundledWithVersion(absl::string_view version) {
  std::string text(kb::BundledKnowledgeBaseText());
  text = absl::StrReplaceAll(
      text,
      {{"version: \"2026.11.1\"", absl::StrCat("version: \"", version, "\"")}});
  return kb::KnowledgeBase::FromText(text, "test");
}

class KnowledgeBaseStoreTest : public ::testing::Test {
 protected:
  KnowledgeBaseStore MakeStore() {
    return KnowledgeBaseStore(
        [this]() -> KbOr {
          KbOr next = std::move(results_.front());
          results_.pop_front();
          return next;
        },
        [this] {
          now_ += absl::Minutes(1);
          return now_;
        });
  }
  std::deque<KbOr> results_;
  absl::Time now_ = absl::FromUnixSeconds(1'800'000'000);
};

TEST_F(KnowledgeBaseStoreTest, EmptyUntilLoaded) {
  KnowledgeBaseStore store = MakeStore();
  EXPECT_EQ(store.Current().kb, nullptr);
}

TEST_F(KnowledgeBaseStoreTest, KeepsServingTheOldOneWhenAReloadFails) {
  results_.push_back(BundledWithVersion("1.0"));
  results_.push_back(absl::InvalidArgumentError("kb.textproto:3:1: broken"));
  results_.push_back(BundledWithVersion("2.0"));
  ASSERT_TRUE(results_.front().ok()) << results_.front().status();
  KnowledgeBaseStore store = MakeStore();

  ASSERT_THAT(store.Load(), IsOk());
  const KnowledgeBaseStore::Snapshot first = store.Current();
  ASSERT_NE(first.kb, nullptr);
  EXPECT_EQ(first.kb->version(), "1.0");
  EXPECT_EQ(first.loaded_at, absl::FromUnixSeconds(1'800'000'060));

  EXPECT_THAT(store.Load(), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(store.Current().kb, first.kb);
  EXPECT_EQ(store.Current().loaded_at, first.loaded_at);

  ASSERT_THAT(store.Load(), IsOk());
  EXPECT_EQ(store.Current().kb->version(), "2.0");
  EXPECT_GT(store.Current().loaded_at, first.loaded_at);
  // A snapshot taken before the reload still holds the old one.
  EXPECT_EQ(first.kb->version(), "1.0");
}

TEST(FileOrBundledLoaderTest, EmptyPathIsTheBundledOne) {
  KbOr loaded = FileOrBundledLoader("")();
  ASSERT_THAT(loaded, IsOk());
  EXPECT_EQ((*loaded)->Summary().source(), "bundled");
}

TEST(FileOrBundledLoaderTest, MissingFile) {
  EXPECT_THAT(FileOrBundledLoader("/nonexistent/kb.textproto")(),
              StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace needlecheck::server
