// Fuzz target for what needlecheckd does with an untrusted request before
// and after validation (service/engine/input_validation.h, engine.h,
// audit.h), the path of the Screen and Audit RPCs without gRPC around it.
//
// The bytes are decoded four ways, each decoded message going through the
// same checks as in the server's backend (service/server/
// screening_backend.cc):
// - ScreenRequest and PatientRecord from the protobuf wire format
//   (ParseFromArray, what gRPC hands the handlers);
// - ScreenRequest in text format and PatientRecord in proto JSON (what the
//   `needlecheck` CLI reads with --record).
// A ScreenRequest with a record and a session that passes
// ValidateScreenInput is screened with EvaluateAsOf as of its session date;
// a PatientRecord that passes ValidateRecord is audited with AuditRecord;
// both against the bundled knowledge base. Invariants (a violation prints a
// message and aborts):
// - no crash, no sanitizer report, on any input and on any validated input;
// - violations name a field rooted at "record." or "session." and say what
//   is wrong; validating twice gives the same list;
// - every violation ValidateRecord finds is also in ValidateScreenInput's
//   list for the same record (the audit never accepts what a screening
//   rejects);
// - a validated session date parses as a full day (the backend refuses to
//   guess one);
// - the alerts are ordered by severity (CRITICAL first), then rule id, each
//   with a rule id and a known severity, and evaluating twice gives the same
//   alerts (the engine is pure);
// - the audit gives at most one finding per procedure, each with a known
//   verdict and the record's patient id.
//
// Built as a libFuzzer binary with clang and -DNEEDLECHECK_FUZZ=ON; always
// linked into screen_request_fuzz_smoke_test so ctest exercises it on gcc
// too.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "common/calendar/fhir_date.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"
#include "needlecheck/v1/alert.pb.h"
#include "needlecheck/v1/audit.pb.h"
#include "needlecheck/v1/record.pb.h"
#include "needlecheck/v1/screening.pb.h"
#include "needlecheck/v1/session.pb.h"
#include "service/engine/audit.h"
#include "service/engine/engine.h"
#include "service/engine/input_validation.h"
#include "service/kb/knowledge_base.h"

namespace {

using needlecheck::DayNumber;
using needlecheck::ParseFhirDay;
using needlecheck::engine::FieldViolation;
using needlecheck::v1::Alert;
using needlecheck::v1::AuditFinding;
using needlecheck::v1::PatientRecord;
using needlecheck::v1::ScreenRequest;

absl::string_view g_input;  // for Fail(): the input under test

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr,
               "screen_request_fuzz: %s; input (%zu bytes):", what.c_str(),
               g_input.size());
  for (unsigned char c : g_input.substr(0, 512)) {
    std::fprintf(stderr, " %02x", c);
  }
  std::fprintf(stderr, "\n");
  std::abort();
}

const needlecheck::kb::KnowledgeBase& Kb() {
  // Function-local static: compiled on first use, never destroyed.
  static const std::shared_ptr<const needlecheck::kb::KnowledgeBase>* const kb =
      [] {
        // Proto3 string fields with bad UTF-8 log an error on every parse;
        // the fuzzer makes millions of them.
        google::protobuf::SetLogHandler(nullptr);
        auto loaded = needlecheck::kb::LoadBundledKnowledgeBase();
        if (!loaded.ok()) {
          std::fprintf(stderr, "screen_request_fuzz: bundled KB: %s\n",
                       loaded.status().ToString().c_str());
          std::abort();
        }
        return new std::shared_ptr<const needlecheck::kb::KnowledgeBase>(
            *std::move(loaded));
      }();
  return **kb;
}

bool SameViolations(const std::vector<FieldViolation>& a,
                    const std::vector<FieldViolation>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].field != b[i].field || a[i].description != b[i].description) {
      return false;
    }
  }
  return true;
}

void CheckViolations(const std::vector<FieldViolation>& violations) {
  for (const FieldViolation& v : violations) {
    if (!absl::StartsWith(v.field, "record.") &&
        !absl::StartsWith(v.field, "session.")) {
      Fail("violation field not rooted at record. or session.: " + v.field);
    }
    if (v.description.empty()) Fail("violation without description");
  }
}

bool Contains(const std::vector<FieldViolation>& list,
              const FieldViolation& v) {
  for (const FieldViolation& w : list) {
    if (w.field == v.field && w.description == v.description) return true;
  }
  return false;
}

void CheckAlerts(const std::vector<Alert>& alerts) {
  for (size_t i = 0; i < alerts.size(); ++i) {
    const Alert& a = alerts[i];
    if (a.rule_id().empty()) Fail("alert without rule id");
    if (a.severity() < needlecheck::v1::SEVERITY_INFO ||
        a.severity() > needlecheck::v1::SEVERITY_CRITICAL) {
      Fail("alert " + a.rule_id() + " with an unknown severity");
    }
    if (i == 0) continue;
    const Alert& p = alerts[i - 1];
    if (p.severity() < a.severity() ||
        (p.severity() == a.severity() && p.rule_id() >= a.rule_id())) {
      Fail("alerts not ordered by (severity desc, rule id): " + p.rule_id() +
           ", " + a.rule_id());
    }
  }
}

bool SameAlerts(const std::vector<Alert>& a, const std::vector<Alert>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].SerializeAsString() != b[i].SerializeAsString()) return false;
  }
  return true;
}

// What EngineBackend::Screen does with a request, minus the ledger.
void CheckScreen(const ScreenRequest& request) {
  const needlecheck::kb::KnowledgeBase& kb = Kb();
  const double max_depth = kb.thresholds().max_needle_depth_mm();
  const std::vector<FieldViolation> violations =
      needlecheck::engine::ValidateScreenInput(request.record(),
                                               request.session(), max_depth);
  CheckViolations(violations);
  if (!SameViolations(violations,
                      needlecheck::engine::ValidateScreenInput(
                          request.record(), request.session(), max_depth))) {
    Fail("ValidateScreenInput is not deterministic");
  }
  for (const FieldViolation& v :
       needlecheck::engine::ValidateRecord(request.record(), max_depth)) {
    if (!Contains(violations, v)) {
      Fail("ValidateRecord found " + v.field +
           " that ValidateScreenInput accepts");
    }
  }
  if (!violations.empty() || !request.has_record() || !request.has_session()) {
    return;  // the backend answers INVALID_ARGUMENT
  }
  const absl::StatusOr<DayNumber> as_of =
      ParseFhirDay(request.session().date());
  if (!as_of.ok()) {
    Fail("validated session date does not parse as a day: " +
         as_of.status().ToString());
  }
  const std::vector<Alert> alerts = needlecheck::engine::EvaluateAsOf(
      kb, request.record(), request.session(), *as_of);
  CheckAlerts(alerts);
  if (!SameAlerts(alerts,
                  needlecheck::engine::EvaluateAsOf(
                      kb, request.record(), request.session(), *as_of))) {
    Fail("EvaluateAsOf is not deterministic");
  }
}

// What EngineBackend::Audit does with a record.
void CheckAudit(const PatientRecord& record) {
  const needlecheck::kb::KnowledgeBase& kb = Kb();
  const std::vector<FieldViolation> violations =
      needlecheck::engine::ValidateRecord(
          record, kb.thresholds().max_needle_depth_mm());
  CheckViolations(violations);
  if (!violations.empty()) return;
  const std::vector<AuditFinding> findings =
      needlecheck::engine::AuditRecord(kb, record);
  if (findings.size() > static_cast<size_t>(record.procedures_size())) {
    Fail("more audit findings than procedures");
  }
  for (const AuditFinding& f : findings) {
    if (f.verdict() < needlecheck::v1::AUDIT_VERDICT_INTERVAL_VIOLATION ||
        f.verdict() > needlecheck::v1::AUDIT_VERDICT_CLEAR) {
      Fail("audit finding without a known verdict");
    }
    if (f.patient_id() != record.patient_id()) {
      Fail("audit finding with another patient id");
    }
    std::vector<Alert> alerts(f.alerts().begin(), f.alerts().end());
    CheckAlerts(alerts);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Kb();  // before any parse: silences protobuf's parse-error logs
  // ParseFromArray takes an int size; gRPC caps messages far below that.
  if (size > (1u << 24)) return 0;
  g_input = absl::string_view(reinterpret_cast<const char*>(data), size);
  const int n = static_cast<int>(size);

  ScreenRequest request;
  if (request.ParseFromArray(data, n)) CheckScreen(request);
  PatientRecord record;
  if (record.ParseFromArray(data, n)) CheckAudit(record);

  request.Clear();
  if (google::protobuf::TextFormat::ParseFromString(std::string(g_input),
                                                    &request)) {
    CheckScreen(request);
  }
  record.Clear();
  google::protobuf::util::JsonParseOptions json_options;
  json_options.ignore_unknown_fields = false;  // as the CLI reads --record
  if (google::protobuf::util::JsonStringToMessage(
          google::protobuf::StringPiece(g_input.data(), g_input.size()),
          &record, json_options)
          .ok()) {
    CheckAudit(record);
    ScreenRequest wrapped;
    *wrapped.mutable_record() = record;
    wrapped.mutable_session()->set_date("2026-12-01");
    wrapped.mutable_session()->add_areas()->set_area(
        needlecheck::v1::TREATMENT_AREA_CHEEKS);
    CheckScreen(wrapped);
  }
  g_input = {};
  return 0;
}
