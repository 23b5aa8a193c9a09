#include "service/server/authz_policy.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::server {
namespace {

using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

const absl::flat_hash_set<std::string>& Methods() {
  static const auto* methods = new absl::flat_hash_set<std::string>{
      "Screen",        "ScreenStream", "GetKnowledgeBase", "RecordFeedback",
      "GetAlertStats", "Audit",        "AccessLog"};
  return *methods;
}

AuthzPolicy Parse(const std::string& text) {
  absl::StatusOr<AuthzPolicy> policy =
      AuthzPolicy::Parse(text, "policy.txt", Methods());
  EXPECT_THAT(policy, IsOk());
  return policy.ok() ? *std::move(policy)
                     : *AuthzPolicy::Parse("", "empty", Methods());
}

CallerIdentity Caller(std::vector<std::string> names) {
  return CallerIdentity{true, std::move(names)};
}

TEST(AuthzPolicyTest, AllowsTheMethodsOfAnyNameOfTheCaller) {
  const AuthzPolicy policy = Parse(
      "# comment\n"
      "\n"
      "  ehr-gateway Screen,ScreenStream  # trailing comment\n"
      "spiffe://hospital.test/audit\tAudit\r\n"
      "ehr-gateway GetKnowledgeBase\n");
  EXPECT_EQ(policy.rule_count(), 3u);
  const CallerIdentity gateway = Caller({"ehr-gateway", "gw.hospital.test"});
  EXPECT_THAT(policy.Check(gateway, "Screen"), IsOk());
  EXPECT_THAT(policy.Check(gateway, "ScreenStream"), IsOk());
  EXPECT_THAT(policy.Check(gateway, "GetKnowledgeBase"), IsOk());  // 2 lines
  EXPECT_THAT(policy.Check(gateway, "Audit"),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("not allowed to call Audit")));
  const CallerIdentity auditor =
      Caller({"audit-job", "spiffe://hospital.test/audit"});
  EXPECT_THAT(policy.Check(auditor, "Audit"), IsOk());
  EXPECT_THAT(policy.Check(auditor, "Screen"),
              StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST(AuthzPolicyTest, WildcardsForIdentityAndMethod) {
  const AuthzPolicy policy = Parse(
      "* GetKnowledgeBase\n"
      "ops *\n");
  EXPECT_THAT(policy.Check(Caller({"anyone"}), "GetKnowledgeBase"), IsOk());
  EXPECT_THAT(policy.Check(Caller({"anyone"}), "Screen"),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(policy.Check(Caller({"ops"}), "AccessLog"), IsOk());
  // A certificate named "*" is not the wildcard.
  const AuthzPolicy only_wildcard_names = Parse("* Screen\n");
  EXPECT_THAT(only_wildcard_names.Check(Caller({"*"}), "Audit"),
              StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST(AuthzPolicyTest, NoVerifiedCertificateIsUnauthenticated) {
  const AuthzPolicy policy = Parse("* *\n");
  EXPECT_THAT(policy.Check(CallerIdentity(), "Screen"),
              StatusIs(absl::StatusCode::kUnauthenticated,
                       HasSubstr("calling Screen needs a verified client")));
}

TEST(AuthzPolicyTest, AnEmptyPolicyDeniesEverything) {
  const AuthzPolicy policy = Parse("# nobody yet\n");
  EXPECT_EQ(policy.rule_count(), 0u);
  EXPECT_THAT(policy.Check(Caller({"ops"}), "Screen"),
              StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST(AuthzPolicyTest, MethodNamesComeFromTheCaller) {
  // A method the service gains (AccessLog here) is accepted by name.
  EXPECT_THAT(
      Parse("auditor AccessLog\n").Check(Caller({"auditor"}), "AccessLog"),
      IsOk());
  EXPECT_THAT(AuthzPolicy::Parse("auditor AccessLog\n", "p",
                                 absl::flat_hash_set<std::string>{"Screen"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("p:1: unknown method \"AccessLog\"")));
}

TEST(AuthzPolicyTest, ABadLineNamesFileAndLine) {
  struct Case {
    const char* text;
    const char* message;
  };
  for (const Case& c : std::vector<Case>{
           {"ok Screen\nlonely\n", "policy.txt:2: expected"},
           {"a Screen, Audit\n", "policy.txt:1: expected"},
           {"\n\n# x\na Screen,,Audit\n", "policy.txt:4: empty method"},
           {"a Screen,\n", "policy.txt:1: empty method"},
           {"a screen\n", "policy.txt:1: unknown method \"screen\""},
           {"a Screen extra\n", "policy.txt:1: expected"}}) {
    EXPECT_THAT(
        AuthzPolicy::Parse(c.text, "policy.txt", Methods()),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.message)))
        << c.text;
  }
}

TEST(AuthzPolicyTest, CommentsNeedABlankBeforeTheHash) {
  // A '#' inside a token (a URI fragment) is part of the identity.
  const AuthzPolicy policy = Parse("spiffe://h.test/a#frag Screen\n");
  EXPECT_THAT(policy.Check(Caller({"spiffe://h.test/a#frag"}), "Screen"),
              IsOk());
  EXPECT_THAT(policy.Check(Caller({"spiffe://h.test/a"}), "Screen"),
              Not(IsOk()));
}

}  // namespace
}  // namespace needlecheck::server
