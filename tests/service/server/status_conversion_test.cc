#include "service/server/status_conversion.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"

namespace needlecheck::server {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

std::vector<std::string> DetailFields(const grpc::Status& status) {
  google::rpc::Status rpc;
  EXPECT_TRUE(rpc.ParseFromString(status.error_details()));
  EXPECT_EQ(rpc.code(), static_cast<int>(status.error_code()));
  EXPECT_EQ(rpc.message(), status.error_message());
  std::vector<std::string> fields;
  for (const google::protobuf::Any& any : rpc.details()) {
    google::rpc::BadRequest bad_request;
    EXPECT_TRUE(any.UnpackTo(&bad_request));
    for (const auto& v : bad_request.field_violations()) {
      fields.push_back(v.field());
    }
  }
  return fields;
}

TEST(StatusConversionTest, OkIsOk) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
}

TEST(StatusConversionTest, CodesMapOneToOne) {
  for (int code = 1; code <= 16; ++code) {
    const absl::Status status(static_cast<absl::StatusCode>(code), "msg");
    const grpc::Status converted = ToGrpcStatus(status);
    EXPECT_EQ(static_cast<int>(converted.error_code()), code);
    EXPECT_EQ(converted.error_message(), "msg");
    EXPECT_TRUE(converted.error_details().empty());
  }
}

TEST(StatusConversionTest, BadRequestTravelsAsDetails) {
  const absl::Status status = BadRequestError(
      "invalid screening request",
      {{"session.date", "required"}, {"session.areas[0].area", "unknown"}});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "invalid screening request: session.date: required; "
            "session.areas[0].area: unknown");
  EXPECT_EQ(ViolationFields(status), "session.date,session.areas[0].area");

  const grpc::Status converted = ToGrpcStatus(status);
  EXPECT_EQ(converted.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(DetailFields(converted),
              ElementsAre("session.date", "session.areas[0].area"));
}

TEST(StatusConversionTest, LongListsAreShortenedInTheMessageOnly) {
  std::vector<engine::FieldViolation> violations;
  for (int i = 0; i < 12; ++i) {
    violations.push_back(
        {"record.conditions[" + std::to_string(i) + "].onset", "bad date"});
  }
  const absl::Status status = BadRequestError("bad", violations);
  EXPECT_THAT(status.message(), HasSubstr("and 2 more"));
  EXPECT_THAT(status.message(), Not(HasSubstr("conditions[10]")));
  EXPECT_EQ(DetailFields(ToGrpcStatus(status)).size(), 12u);
}

TEST(StatusConversionTest, PrefixKeepsCodeAndPayload) {
  const absl::Status prefixed =
      PrefixMessage(BadRequestError("bad", {{"session.date", "required"}}),
                    "request at index 2: ");
  EXPECT_EQ(prefixed.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(prefixed.message(),
            "request at index 2: bad: session.date: required");
  EXPECT_EQ(ViolationFields(prefixed), "session.date");
  EXPECT_TRUE(PrefixMessage(absl::OkStatus(), "x").ok());
}

// Hundreds of violations must still fit in a default client's 8 KiB of
// metadata: the details keep the first 20 and count the rest.
TEST(StatusConversionTest, ManyViolationsAreCappedInTheDetails) {
  std::vector<engine::FieldViolation> violations;
  for (int i = 0; i < 200; ++i) {
    violations.push_back({"record.conditions[" + std::to_string(i) + "].onset",
                          "\"2026-13-45\" is not a FHIR date: bad month"});
  }
  const absl::Status status = BadRequestError("bad", violations);
  const grpc::Status converted = ToGrpcStatus(status);
  const std::vector<std::string> fields = DetailFields(converted);
  ASSERT_EQ(fields.size(), 21u);
  EXPECT_EQ(fields[0], "record.conditions[0].onset");
  EXPECT_EQ(fields[19], "record.conditions[19].onset");
  EXPECT_EQ(fields[20], "...");
  google::rpc::Status rpc;
  ASSERT_TRUE(rpc.ParseFromString(converted.error_details()));
  google::rpc::BadRequest bad_request;
  ASSERT_TRUE(rpc.details(0).UnpackTo(&bad_request));
  EXPECT_EQ(bad_request.field_violations(20).description(),
            "and 180 more violations not listed");
  EXPECT_LT(converted.error_details().size(), kMaxDetailsBytes + 1024);
  EXPECT_THAT(status.message(), HasSubstr("and 190 more"));
  // The log line lists the same bounded set of fields.
  EXPECT_LT(ViolationFields(status).size(), 1024u);
}

TEST(StatusConversionTest, LongTextsAreShortened) {
  const std::string long_text(100 * 1024, 'x');
  const absl::Status status =
      BadRequestError("bad", {{long_text, long_text}, {"session.date", "r"}});
  const grpc::Status converted = ToGrpcStatus(status);
  EXPECT_LE(converted.error_message().size(), kMaxStatusMessageBytes);
  EXPECT_LT(converted.error_details().size(), kMaxDetailsBytes + 1024);
  const std::vector<std::string> fields = DetailFields(converted);
  ASSERT_EQ(fields.size(), 2u);
  EXPECT_EQ(fields[0].size(), kMaxViolationTextBytes);
  EXPECT_EQ(fields[1], "session.date");

  // A plain message is bounded too, and not cut inside a UTF-8 sequence.
  std::string accents;
  for (int i = 0; i < 2000; ++i) accents += "\xc3\xa9";
  const grpc::Status plain = ToGrpcStatus(absl::InternalError(accents));
  EXPECT_LE(plain.error_message().size(), kMaxStatusMessageBytes);
  EXPECT_EQ(plain.error_message().substr(plain.error_message().size() - 5),
            "\xc3\xa9...");
}

}  // namespace
}  // namespace needlecheck::server
