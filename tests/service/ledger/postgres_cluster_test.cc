// The test fixture PostgresCluster (tests/testing/postgres_cluster.h): a
// cluster starts (as the postgres user when root), answers SQL, stops and
// starts again on the same port with its data, and password clusters
// refuse TCP logins without the password.
#include "tests/testing/postgres_cluster.h"

#include <filesystem>
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(PostgresClusterTest, StartsAnswersRestartsAndCleansUp) {
  NEEDLECHECK_SKIP_WITHOUT_POSTGRES();
  std::string dir;
  {
    absl::StatusOr<std::unique_ptr<PostgresCluster>> pg =
        PostgresCluster::Create();
    ASSERT_THAT(pg, IsOk());
    dir = (*pg)->dir();
    EXPECT_GT((*pg)->Port(), 0);
    EXPECT_THAT((*pg)->Dsn(), HasSubstr("dbname=needlecheck"));
    EXPECT_THAT((*pg)->Dsn(), Not(HasSubstr("password")));
    ASSERT_THAT((*pg)->Sql("CREATE TABLE t (x int); INSERT INTO t VALUES (7)"),
                IsOk());
    const int port = (*pg)->Port();
    ASSERT_THAT((*pg)->Stop("immediate"), IsOk());
    EXPECT_THAT((*pg)->Sql("SELECT 1"), Not(IsOk()));
    ASSERT_THAT((*pg)->Start(), IsOk());
    EXPECT_EQ((*pg)->Port(), port);
    absl::StatusOr<std::string> x = (*pg)->Sql("SELECT x FROM t");
    ASSERT_THAT(x, IsOk());
    EXPECT_EQ(*x, "7");
    ASSERT_THAT((*pg)->Stop("fast"), IsOk());
    ASSERT_THAT((*pg)->Start(), IsOk());
  }
  EXPECT_FALSE(std::filesystem::exists(dir));
}

TEST(PostgresClusterTest, PasswordClusterNeedsThePasswordOverTcp) {
  NEEDLECHECK_SKIP_WITHOUT_POSTGRES();
  PostgresCluster::Options options;
  options.password = "s3cret-for-tests";
  options.dbname = "other";
  absl::StatusOr<std::unique_ptr<PostgresCluster>> pg =
      PostgresCluster::Create(options);
  ASSERT_THAT(pg, IsOk());
  EXPECT_THAT((*pg)->Dsn(), Not(HasSubstr("s3cret")));
  // The unix socket stays trust: Sql() works.
  EXPECT_THAT((*pg)->Sql("SELECT 1"), IsOk());
  absl::StatusOr<std::string> hba = (*pg)->Sql(
      "SELECT auth_method FROM pg_hba_file_rules WHERE type = 'host' LIMIT 1");
  ASSERT_THAT(hba, IsOk());
  EXPECT_EQ(*hba, "scram-sha-256");
}

}  // namespace
}  // namespace needlecheck::testing
