// needlecheckd's rejection of a record, told without the record's values:
// the field paths of the BadRequest detail, the problem from the path, the
// export line of the resource a field came from.
#include "adapters/batch/run/record_rejection.h"

#include <string>
#include <vector>

#include "adapters/fhir/resource_fragment.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "simdjson.h"

namespace needlecheck::batch {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A status as needlecheckd sends it: INVALID_ARGUMENT, a message quoting
// the values, and a BadRequest detail.
grpc::Status BadRequest(
    const std::vector<std::pair<std::string, std::string>>& violations) {
  google::rpc::BadRequest bad_request;
  std::string message = "request at index 3 (request_id \"n3\"): invalid";
  for (const auto& [field, description] : violations) {
    auto* v = bad_request.add_field_violations();
    v->set_field(field);
    v->set_description(description);
    message += "; " + field + ": " + description;
  }
  google::rpc::Status rpc;
  rpc.set_code(3);
  rpc.set_message(message);
  rpc.add_details()->PackFrom(bad_request);
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message,
                      rpc.SerializeAsString());
}

TEST(RecordRejectionTest, FieldsAndProblemsWithoutTheValues) {
  const grpc::Status status = BadRequest(
      {{"record.procedures[0].needle_depth_mm",
        "needle depth 4.25 mm is out of range"},
       {"record.conditions[2].onset", "\"CANARY-1999\" is not a date"},
       {"record.procedures[1].areas[0]", "unknown TreatmentArea value 99"},
       {"record.fitzpatrick_skin_type", "must be 1-6; got 77"},
       {"record.weird\"CANARY\n", "CANARY"}});
  const std::vector<RejectedField> fields = RejectedFields(status);
  ASSERT_EQ(fields.size(), 5u);
  EXPECT_EQ(fields[0].field, "record.procedures[0].needle_depth_mm");
  EXPECT_THAT(fields[0].problem, HasSubstr("needle depth out of range"));
  EXPECT_EQ(fields[1].problem, "not a valid FHIR date or dateTime");
  EXPECT_EQ(fields[2].problem, "unknown treatment area");
  EXPECT_THAT(fields[3].problem, HasSubstr("Fitzpatrick"));
  EXPECT_EQ(fields[4].field, "record.weird?CANARY?");
  EXPECT_EQ(fields[4].problem, "invalid value");
  for (const RejectedField& f : fields) {
    for (const char* value : {"4.25", "1999", "99", "77"}) {
      EXPECT_THAT(f.problem, Not(HasSubstr(value)));
    }
  }
  const std::string text = DescribeNeedlecheckdStatus(status);
  EXPECT_THAT(text, HasSubstr("INVALID_ARGUMENT"));
  EXPECT_THAT(text, HasSubstr("record.conditions[2].onset"));
  for (const char* value : {"4.25", "CANARY-1999", "got 77", "request_id"}) {
    EXPECT_THAT(text, Not(HasSubstr(value)));
  }
}

TEST(RecordRejectionTest, OtherCodesKeepTheirMessage) {
  EXPECT_EQ(DescribeNeedlecheckdStatus(grpc::Status(
                grpc::StatusCode::UNAVAILABLE, "Connection\nrefused")),
            "UNAVAILABLE: Connection?refused");
  EXPECT_EQ(DescribeNeedlecheckdStatus(
                grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "x 4 mm")),
            "INVALID_ARGUMENT (no field named)");
  EXPECT_TRUE(RejectedFields(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                          "x", "not a status"))
                  .empty());
}

TEST(RecordRejectionTest, FieldsPointAtTheResourceTheyCameFrom) {
  // Stored as the audit stores them: mapped by the FHIR adapter.
  std::vector<StoredResource> resources = {
      {0, 4, R"({"resourceType":"Condition","id":"c1"})"},
      {1, 7, R"({"resourceType":"MedicationRequest","id":"m1"})"},
      {1, 8, R"({"resourceType":"MedicationAdministration","id":"m2"})"},
      {2, 1, R"({"resourceType":"Patient","id":"p"})"},
      {3, 9, R"({"resourceType":"Procedure","id":"s1"})"},
      {3, 10, R"({"resourceType":"Procedure","id":"s2"})"},
      {4, 2, R"({"resourceType":"Observation","id":"s2"})"},
  };
  simdjson::dom::parser parser;
  for (StoredResource& resource : resources) {
    simdjson::dom::element root;
    ASSERT_EQ(parser.parse(resource.body).get(root), simdjson::SUCCESS);
    fhir::MapResourceFragment(root, &resource.body);
  }
  needlecheck::v1::PatientRecord record;
  record.set_patient_id("p");
  record.add_conditions()->set_id("c1");
  record.add_medications()->set_id("m1");
  record.add_medications()->set_id("m2");
  record.add_procedures()->set_id("s2");
  record.add_procedures()->set_id("s1");
  record.add_procedures()->set_id("");
  record.add_observations()->set_id("o9");
  struct Case {
    const char* field;
    int file;
    int64_t line;
  };
  for (const Case& c : {Case{"record.procedures[0].needle_depth_mm", 3, 10},
                        Case{"record.procedures[1].areas[2]", 3, 9},
                        Case{"record.medications[1].start", 1, 8},
                        Case{"record.conditions[0].onset", 0, 4},
                        Case{"record.birth_date", 2, 1}}) {
    SCOPED_TRACE(c.field);
    const std::optional<ExportPosition> at =
        LocateRecordField(resources, record, c.field);
    ASSERT_TRUE(at.has_value());
    EXPECT_EQ(at->file, c.file);
    EXPECT_EQ(at->line, c.line);
  }
  // No id, no such entry, no such resource, not a list: cannot tell.
  for (const char* field :
       {"record.procedures[2].performed", "record.procedures[7].performed",
        "record.observations[0].effective", "record.fitzpatrick_skin_type",
        "session.date", "record.procedures[x]"}) {
    SCOPED_TRACE(field);
    EXPECT_FALSE(LocateRecordField(resources, record, field).has_value());
  }
}

}  // namespace
}  // namespace needlecheck::batch
