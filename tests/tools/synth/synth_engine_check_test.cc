// Cross-check: the expected verdicts of a generated export equal what the
// audit engine (service/engine/audit.h) finds, session by session, reading
// the export through the FHIR adapter exactly as a batch reader would.
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "adapters/fhir/fhir_extract.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "service/engine/audit.h"
#include "service/kb/knowledge_base.h"
#include "tests/tools/synth/synth.h"

namespace needlecheck::synth {
namespace {

std::string VerdictName(needlecheck::v1::AuditVerdict v) {
  switch (v) {
    case needlecheck::v1::AUDIT_VERDICT_INTERVAL_VIOLATION:
      return "interval_violation";
    case needlecheck::v1::AUDIT_VERDICT_TREATED_DESPITE_CRITICAL:
      return "treated_despite_critical";
    case needlecheck::v1::AUDIT_VERDICT_TREATED_DESPITE_WARNING:
      return "treated_despite_warning";
    case needlecheck::v1::AUDIT_VERDICT_CLEAR:
      return "clear";
    default:
      return "unspecified";
  }
}

TEST(SynthEngineCheckTest, ExpectedVerdictsEqualTheAuditEngine) {
  auto kb = kb::LoadBundledKnowledgeBase();
  ASSERT_TRUE(kb.ok()) << kb.status();
  SynthOptions options;
  options.patients = 400;
  options.seed = 11;
  int64_t sessions = 0;
  std::map<std::string, int64_t> mismatches;
  for (int64_t i = 0; i < options.patients; ++i) {
    GeneratedPatient p = GeneratePatient(options, i);
    fhir::FhirRecordBuilder builder{fhir::ExtractOptions()};
    for (const auto& lines : p.lines) {
      for (const std::string& line : lines) {
        ASSERT_TRUE(builder.AddNdjsonLine(line).ok()) << line;
      }
    }
    absl::StatusOr<fhir::FhirExtract> extract = builder.Finish();
    ASSERT_TRUE(extract.ok()) << extract.status();
    std::vector<needlecheck::v1::AuditFinding> findings =
        engine::AuditRecord(**kb, extract->record);
    std::map<std::string, std::string> actual;
    std::map<std::string, std::string> rules;
    for (const auto& f : findings) {
      actual[f.session().procedure_id()] = VerdictName(f.verdict());
      for (const auto& a : f.alerts()) {
        absl::StrAppend(&rules[f.session().procedure_id()], a.rule_id(), ":",
                        a.severity(), " ");
      }
    }
    EXPECT_EQ(actual.size(), p.findings.size()) << p.patient_id;
    for (const ExpectedFinding& e : p.findings) {
      ++sessions;
      EXPECT_EQ(actual[e.session_id], e.verdict)
          << p.scenario << " " << e.session_id
          << " alerts: " << rules[e.session_id];
      if (actual[e.session_id] != e.verdict) ++mismatches[p.scenario];
    }
  }
  EXPECT_GT(sessions, 0);
  for (const auto& [scenario, n] : mismatches) {
    ADD_FAILURE() << scenario << ": " << n << " mismatches";
  }
}

}  // namespace
}  // namespace needlecheck::synth
