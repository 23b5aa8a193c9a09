// Fuzz target for the knowledge-base loader (service/kb), the path a
// knowledge-base file takes when needlecheckd starts and on every SIGHUP:
// KnowledgeBase::FromText parses the text format, validates the definition
// and compiles the lookups and the term matcher. A file is written by the
// clinic's editors, not by patients, but a broken edit must give an error
// that names its place and leave the daemon serving, never crash it.
//
// Invariants (a violation prints a message and aborts):
// - no crash, no sanitizer report, no exception;
// - an error is INVALID_ARGUMENT and its message starts with the source name
//   (every problem is "<source>:<line>:<column>: ..." or "<source>: ...");
// - a knowledge base that loads is usable: its summary has the definition's
//   version, one entry per rule and per value set and a 64-digit SHA-256;
//   ClassifyText, and EvaluateAsOf and AuditRecord on a few fixed requests
//   that pass its own input validation, run without crashing and give
//   alerts ordered by severity (CRITICAL first), then rule id.
//
// Built as a libFuzzer binary with clang and -DNEEDLECHECK_FUZZ=ON; always
// linked into knowledge_base_fuzz_smoke_test so ctest exercises it on gcc
// too.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "common/calendar/fhir_date.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/text_format.h"
#include "needlecheck/v1/alert.pb.h"
#include "needlecheck/v1/knowledge_base.pb.h"
#include "needlecheck/v1/screening.pb.h"
#include "service/engine/audit.h"
#include "service/engine/engine.h"
#include "service/engine/input_validation.h"
#include "service/kb/knowledge_base.h"

namespace {

using needlecheck::kb::KnowledgeBase;
using needlecheck::v1::Alert;
using needlecheck::v1::ScreenRequest;

constexpr absl::string_view kSource = "kb.textproto";

absl::string_view g_input;  // for Fail(): the input under test

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr,
               "knowledge_base_fuzz: %s; input (%zu bytes):", what.c_str(),
               g_input.size());
  for (unsigned char c : g_input.substr(0, 512)) {
    std::fprintf(stderr, " %02x", c);
  }
  std::fprintf(stderr, "\n");
  std::abort();
}

// Requests that touch every rule family of the bundled knowledge base:
// codes and texts of conditions, an anesthetic allergy in a note, recent and
// older sessions, the eye area with and without a depth, medications,
// observations and a skin type.
const std::vector<ScreenRequest>& Requests() {
  static const std::vector<ScreenRequest>* const requests = [] {
    const char* const texts[] = {
        R"pb(
          record {
            patient_id: "p1"
            birth_date: "1988-04-17"
            fitzpatrick_skin_type: 5
            conditions {
              id: "c1"
              code {
                codings { system: "http://snomed.info/sct" code: "24079001" }
                text: "Atopic dermatitis"
              }
              clinical_status: "active"
              onset: "2026-10"
            }
            conditions {
              id: "c2"
              code { text: "history of keloid scars; no acne" }
              clinical_status: "resolved"
              onset: "2019"
              abatement: "2020-01-01"
            }
            allergies {
              id: "a1"
              substance { text: "Reaction at dental visit" }
              clinical_status: "active"
              recorded_date: "2024-03-12"
              notes: "facial swelling after lidocaine, tolerated EMLA"
              reactions: "hives"
            }
            medications {
              id: "m1"
              code { text: "isotretinoin 20 mg" }
              status: "active"
              start: "2026-06-01"
            }
            procedures {
              id: "s1"
              code { text: "Microneedling (SkinPen)" }
              status: "completed"
              performed: "2026-11-11"
              areas: TREATMENT_AREA_CHEEKS
              areas: TREATMENT_AREA_PERIORBITAL
              needle_depth_mm: 1.5
              used { text: "lidocaine 4% cream" }
            }
            procedures {
              id: "s0"
              code { text: "dermapen" }
              status: "completed"
              performed: "2026-09"
              areas: TREATMENT_AREA_CHEEKS
            }
            observations {
              id: "o1"
              code { codings { system: "http://loinc.org" code: "66555-4" } }
              value { text: "Type V" }
              effective: "2026-01-01"
            }
          }
          session {
            date: "2026-12-01"
            areas { area: TREATMENT_AREA_PERIORBITAL needle_depth_mm: 1 }
            areas { area: TREATMENT_AREA_CHEEKS }
            anesthetic { text: "EMLA" }
          }
        )pb",
        R"pb(
          record { patient_id: "p2" no_known_allergies: true }
          session {
            date: "2026-12-01"
            areas { area: TREATMENT_AREA_PERIORBITAL }
          }
        )pb",
        R"pb(
          record {
            allergies {
              substance {
                codings {
                  system: "http://hl7.org/fhir/sid/icd-10-cm"
                  code: "Z88.4"
                }
              }
            }
            conditions { code { text: "pregnant, herpes labialis" } }
          }
          session {
            date: "2026-02-28"
            anesthetic { text: "tetracaine" }
          }
        )pb",
    };
    auto* out = new std::vector<ScreenRequest>();
    for (const char* text : texts) {
      ScreenRequest request;
      if (!google::protobuf::TextFormat::ParseFromString(text, &request)) {
        std::fprintf(stderr, "knowledge_base_fuzz: bad fixed request\n");
        std::abort();
      }
      out->push_back(std::move(request));
    }
    return out;
  }();
  return *requests;
}

void CheckAlerts(const std::vector<Alert>& alerts) {
  for (size_t i = 1; i < alerts.size(); ++i) {
    const Alert& p = alerts[i - 1];
    const Alert& a = alerts[i];
    if (p.severity() < a.severity() ||
        (p.severity() == a.severity() && p.rule_id() >= a.rule_id())) {
      Fail("alerts not ordered by (severity desc, rule id): " + p.rule_id() +
           ", " + a.rule_id());
    }
  }
}

void CheckLoaded(const KnowledgeBase& kb) {
  const needlecheck::v1::KnowledgeBase summary = kb.Summary();
  if (summary.version() != kb.definition().version()) {
    Fail("summary version differs from the definition's");
  }
  if (summary.source() != kSource) Fail("summary source is not the source");
  if (summary.sha256().size() != 64) Fail("summary sha256 not 64 digits");
  if (summary.rules_size() != kb.definition().rules_size() ||
      summary.value_sets_size() != kb.definition().value_sets_size()) {
    Fail("summary does not list every rule and value set");
  }
  for (absl::string_view text :
       {absl::string_view("no acne but rash after lidocaine; EMLA tolerated"),
        absl::string_view("Microneedling x3, numbing cream, keloid"),
        g_input.substr(0, 256)}) {
    needlecheck::kb::ConceptMatch match;
    kb.ClassifyText(text, &match);
  }
  const double max_depth = kb.thresholds().max_needle_depth_mm();
  for (const ScreenRequest& request : Requests()) {
    if (!needlecheck::engine::ValidateRecord(request.record(), max_depth)
             .empty()) {
      continue;
    }
    needlecheck::engine::AuditRecord(kb, request.record());
    if (!needlecheck::engine::ValidateScreenInput(request.record(),
                                                  request.session(), max_depth)
             .empty()) {
      continue;
    }
    auto as_of = needlecheck::ParseFhirDay(request.session().date());
    if (!as_of.ok()) Fail("fixed request date does not parse");
    CheckAlerts(needlecheck::engine::EvaluateAsOf(kb, request.record(),
                                                  request.session(), *as_of));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool init = [] {
    // The text-format parser logs every error it also reports to us.
    google::protobuf::SetLogHandler(nullptr);
    Requests();
    return true;
  }();
  (void)init;
  g_input = absl::string_view(reinterpret_cast<const char*>(data), size);
  auto kb = KnowledgeBase::FromText(g_input, kSource);
  if (kb.ok()) {
    if (*kb == nullptr) Fail("FromText returned OK and null");
    CheckLoaded(**kb);
  } else {
    const absl::Status& st = kb.status();
    if (st.code() != absl::StatusCode::kInvalidArgument) {
      Fail("error is not INVALID_ARGUMENT: " + st.ToString());
    }
    if (!absl::StartsWith(st.message(), kSource)) {
      Fail("error does not start with the source name: " + st.ToString());
    }
  }
  g_input = {};
  return 0;
}
