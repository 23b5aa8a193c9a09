// Fuzz target for the FHIR adapter (adapters/fhir), which faces untrusted
// JSON from EHRs: ExtractFromJson, ExtractFromNdjsonLine and
// PlannedSessionFromHookContext on the same bytes. Every input is checked
// for these invariants (a violation prints a message and aborts):
// - no crash, no sanitizer report, no exception;
// - errors are INVALID_ARGUMENT or RESOURCE_EXHAUSTED (NOT_FOUND too for the
//   planned session), with a non-empty, bounded message free of control
//   characters (messages quote untrusted strings);
// - on success: the stats add up (resources == sum of by_type, skipped <=
//   seen), the Fitzpatrick type is 0-6, needle depths are finite and >= 0,
//   every date in the record is empty or a valid FHIR date, a planned
//   session's date names a full day;
// - reading twice gives the same record (determinism).
//
// Built as a libFuzzer binary with clang and -DNEEDLECHECK_FUZZ=ON; always
// linked into fhir_extract_fuzz_smoke_test so ctest exercises it on gcc too.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "adapters/fhir/fhir_extract.h"
#include "adapters/fhir/planned_session.h"
#include "common/calendar/fhir_date.h"

namespace {

using needlecheck::fhir::ExtractOptions;
using needlecheck::fhir::FhirExtract;
using needlecheck::fhir::PlannedSessionExtract;
using needlecheck::fhir::SessionOptions;

[[noreturn]] void Fail(absl::string_view input, const std::string& what) {
  std::fprintf(stderr,
               "fhir_extract_fuzz: %s; input (%zu bytes):", what.c_str(),
               input.size());
  for (unsigned char c : input.substr(0, 512)) std::fprintf(stderr, " %02x", c);
  std::fprintf(stderr, "\n");
  std::abort();
}

void CheckError(absl::string_view input, const absl::Status& st,
                bool allow_not_found) {
  const absl::StatusCode code = st.code();
  if (code != absl::StatusCode::kInvalidArgument &&
      code != absl::StatusCode::kResourceExhausted &&
      !(allow_not_found && code == absl::StatusCode::kNotFound)) {
    Fail(input, "unexpected status " + st.ToString());
  }
  if (st.message().empty()) Fail(input, "empty error message");
  if (st.message().size() > 4096) Fail(input, "error message too long");
  for (unsigned char c : st.message()) {
    if (c < 0x20 || c == 0x7f) {
      Fail(input, "control character in error message: " + st.ToString());
    }
  }
}

void CheckDate(absl::string_view input, const std::string& date,
               const char* what) {
  if (date.empty()) return;
  if (!needlecheck::ParseFhirDate(date, needlecheck::kFhirJsonDates).ok()) {
    Fail(input, std::string("invalid date in ") + what + ": " + date);
  }
}

void CheckExtract(absl::string_view input, const FhirExtract& x) {
  int64_t sum = 0;
  for (const auto& [type, n] : x.stats.by_type) {
    if (n <= 0) Fail(input, "non-positive by_type count");
    sum += n;
  }
  if (sum != x.stats.resources) Fail(input, "by_type does not add up");
  for (const auto& [type, n] : x.stats.skipped_by_type) {
    auto it = x.stats.by_type.find(type);
    if (it == x.stats.by_type.end() || it->second < n) {
      Fail(input, "skipped more than seen: " + type);
    }
  }
  const auto& r = x.record;
  if (r.fitzpatrick_skin_type() < 0 || r.fitzpatrick_skin_type() > 6) {
    Fail(input, "Fitzpatrick type out of range");
  }
  for (const auto& c : r.conditions()) {
    CheckDate(input, c.onset(), "onset");
    CheckDate(input, c.abatement(), "abatement");
  }
  for (const auto& a : r.allergies()) {
    CheckDate(input, a.recorded_date(), "recorded_date");
  }
  for (const auto& m : r.medications()) {
    CheckDate(input, m.start(), "start");
    CheckDate(input, m.end(), "end");
  }
  for (const auto& p : r.procedures()) {
    CheckDate(input, p.performed(), "performed");
    if (!std::isfinite(p.needle_depth_mm()) || p.needle_depth_mm() < 0) {
      Fail(input, "bad procedure needle depth");
    }
  }
  for (const auto& o : r.observations()) {
    CheckDate(input, o.effective(), "effective");
  }
  for (const auto& area : x.planned.areas) {
    if (area.areas.empty()) Fail(input, "planned area without areas");
    CheckDate(input, area.date, "planned date");
    for (const auto& plan : area.areas) {
      if (!std::isfinite(plan.needle_depth_mm()) ||
          plan.needle_depth_mm() < 0) {
        Fail(input, "bad planned needle depth");
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  ExtractOptions options;
  options.max_input_bytes = 1 << 20;
  options.max_resources = 10000;
  options.as_of_date = "2026-12-01";

  auto first = needlecheck::fhir::ExtractFromJson(input, options);
  if (first.ok()) {
    CheckExtract(input, *first);
    auto second = needlecheck::fhir::ExtractFromJson(input, options);
    if (!second.ok() || second->record.SerializeAsString() !=
                            first->record.SerializeAsString()) {
      Fail(input, "second read differs");
    }
  } else {
    CheckError(input, first.status(), /*allow_not_found=*/false);
  }

  auto line = needlecheck::fhir::ExtractFromNdjsonLine(input, options);
  if (line.ok()) {
    CheckExtract(input, *line);
  } else {
    CheckError(input, line.status(), /*allow_not_found=*/false);
  }

  SessionOptions session_options;
  session_options.max_input_bytes = 1 << 20;
  session_options.default_date = "2026-12-01";
  auto session =
      needlecheck::fhir::PlannedSessionFromHookContext(input, session_options);
  if (session.ok()) {
    const absl::StatusOr<needlecheck::FhirDate> d = needlecheck::ParseFhirDate(
        session->session.date(), needlecheck::kFhirJsonDates);
    if (!d.ok() || d->precision != needlecheck::DatePrecision::kDay) {
      Fail(input, "session date is not a full day");
    }
    for (const auto& plan : session->session.areas()) {
      if (!std::isfinite(plan.needle_depth_mm()) ||
          plan.needle_depth_mm() < 0) {
        Fail(input, "bad session needle depth");
      }
    }
  } else {
    CheckError(input, session.status(), /*allow_not_found=*/true);
  }
  return 0;
}
