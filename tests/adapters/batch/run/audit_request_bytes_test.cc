// AuditRequests built from serialized records (audit_request_bytes.h) are,
// byte for byte, what the generated code writes with the records parsed,
// and BatchElementSize() is what ByteSizeLong() counts for an element.
#include "adapters/batch/run/audit_request_bytes.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "needlecheck/v1/audit.pb.h"
#include "needlecheck/v1/record.pb.h"

namespace needlecheck::batch {
namespace {

// Records of several sizes, so that lengths take one, two and three varint
// bytes, and an empty one.
std::vector<v1::PatientRecord> Records() {
  std::vector<v1::PatientRecord> records(4);
  records[1].set_patient_id("p-1");
  records[1].set_birth_date("1990-04-01");
  records[1].set_fitzpatrick_skin_type(3);
  records[2] = records[1];
  for (int i = 0; i < 20; ++i) {
    v1::Condition* c = records[2].add_conditions();
    c->set_id("condition-" + std::to_string(i));
    c->mutable_code()->set_text("active acne vulgaris on both cheeks");
    c->set_clinical_status("active");
  }
  records[3] = records[2];
  records[3].add_conditions()->mutable_code()->set_text(
      std::string(40000, 'x'));
  return records;
}

TEST(AuditRequestBytesTest, OnePatientIsTheGeneratedCodesBytes) {
  for (const v1::PatientRecord& record : Records()) {
    for (const std::string id : {"", "patient-000042"}) {
      v1::AuditRequest expected;
      expected.set_request_id(id);
      *expected.mutable_record() = record;
      std::string bytes = record.SerializeAsString();
      v1::AuditRequest built;
      built.set_request_id("left over from before");
      SetAuditRequest(id, &bytes, &built);
      EXPECT_EQ(built.SerializeAsString(), expected.SerializeAsString())
          << "record of " << record.ByteSizeLong() << " bytes, id \"" << id
          << "\"";
    }
  }
}

TEST(AuditRequestBytesTest, BatchIsTheGeneratedCodesBytes) {
  v1::AuditRequest expected;
  v1::AuditRequest built;
  int n = 0;
  for (const v1::PatientRecord& record : Records()) {
    for (const std::string id : {"", "patient-000042"}) {
      const std::string element_id = id.empty() ? id : id + std::to_string(n);
      ++n;
      v1::AuditRequest* element = expected.add_batch();
      element->set_request_id(element_id);
      *element->mutable_record() = record;
      const std::string bytes = record.SerializeAsString();
      AddBatchElement(element_id, bytes, &built);
      EXPECT_EQ(BatchElementSize(element_id.size(), bytes.size()),
                element->ByteSizeLong())
          << "element " << n;
      EXPECT_EQ(built.SerializeAsString(), expected.SerializeAsString())
          << "after element " << n;
    }
  }
  // And needlecheckd reads back what was meant.
  v1::AuditRequest parsed;
  ASSERT_TRUE(parsed.ParseFromString(built.SerializeAsString()));
  ASSERT_EQ(parsed.batch_size(), n);
  EXPECT_EQ(parsed.batch(7).request_id(), "patient-0000427");
  EXPECT_EQ(parsed.batch(7).record().conditions_size(), 21);
}

}  // namespace
}  // namespace needlecheck::batch
