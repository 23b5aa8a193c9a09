// Test helpers for the HL7 v2 mapping tests: the bundled knowledge base,
// the hand-written messages in tests/testdata/hl7v2 and parsing. Header-only,
// test-only.
#ifndef TESTS_ADAPTERS_HL7V2_HL7V2_MAPPING_TESTING_H_
#define TESTS_ADAPTERS_HL7V2_HL7V2_MAPPING_TESTING_H_

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "adapters/hl7v2/er7_message.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "needlecheck/v1/knowledge_base.pb.h"
#include "tests/testing/read_file.h"
#include "tests/testing/shared_corpus.h"

namespace needlecheck::hl7v2::testing {

// The knowledge base the service bundles (service/kb/data), as text format.
inline needlecheck::v1::KnowledgeBaseDefinition BundledKnowledgeBase() {
  needlecheck::v1::KnowledgeBaseDefinition kb;
  const std::string text = ::needlecheck::testing::ReadFile(
      std::string(NEEDLECHECK_SOURCE_DIR) +
      "/service/kb/data/microneedling.textproto");
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &kb));
  return kb;
}

// The shared HL7 v2 corpus: NEEDLECHECK_SHARED_DIR (environment, else the
// compile-time ../shared beside the source root) + /corpus/hl7v2.
inline std::filesystem::path SharedCorpusDir() {
  return ::needlecheck::testing::SharedCorpusDir(
      (std::filesystem::path(NEEDLECHECK_SOURCE_DIR) / ".." / "shared")
          .string(),
      "hl7v2");
}

// tests/testdata/hl7v2.
inline std::filesystem::path TestdataDir() {
  return std::filesystem::path(NEEDLECHECK_SOURCE_DIR) / "tests" / "testdata" /
         "hl7v2";
}

// The *.hl7 files of `dir`, sorted; none when it does not exist.
inline std::vector<std::filesystem::path> Hl7Files(
    const std::filesystem::path& dir) {
  return ::needlecheck::testing::FilesWithExtension(dir, ".hl7");
}

// The bytes of tests/testdata/hl7v2/<name>.
inline std::string TestMessage(const std::string& name) {
  return ::needlecheck::testing::ReadFile((TestdataDir() / name).string());
}

// Parses `bytes`; a failure fails the test and gives an empty MSH message.
inline Er7Message ParseOrFail(const std::string& bytes) {
  absl::StatusOr<Er7Message> m = Er7Message::Parse(bytes);
  EXPECT_TRUE(m.ok()) << m.status();
  if (m.ok()) return *std::move(m);
  return *Er7Message::Parse("MSH|^~\\&|\r");
}

}  // namespace needlecheck::hl7v2::testing

#endif  // TESTS_ADAPTERS_HL7V2_HL7V2_MAPPING_TESTING_H_
