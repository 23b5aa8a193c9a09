// Strict FHIR R4 date / dateTime / instant checks for the FHIR adapter.
//
// A deliberate small duplicate of the service's date parser: adapters depend
// on proto/ only (see docs/architecture.md), so they keep their own. Grammar
// (FHIR R4 "dateTime"): YYYY, YYYY-MM, YYYY-MM-DD, or
// YYYY-MM-DDThh:mm:ss[.fraction](Z|+hh:mm|-hh:mm). Year 0001-9999, month
// 01-12, a day that exists in its month (leap years included), hour 00-23,
// minute 00-59, second 00-60, offset up to 14:00. Internal to
// needlecheck_fhir; thread-safe; no clock.
#ifndef ADAPTERS_FHIR_INTERNAL_FHIR_DATE_H_
#define ADAPTERS_FHIR_INTERNAL_FHIR_DATE_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace needlecheck::fhir::internal {

struct DateCheck {
  bool ok = false;
  // When !ok: what is wrong, never quoting the value (it may be patient
  // data), e.g. "the date does not exist (no such day in its month)" or
  // "the value is not a FHIR date or dateTime (month out of range)".
  std::string error;
  // When ok: the first calendar day the value may mean, as days since
  // 1970-01-01 ("2026" -> 2026-01-01), the date as written (offset ignored).
  int32_t first_day = 0;
  // Whether the value names at least a full day.
  bool full_day = false;
};

// Checks a FHIR date or dateTime.
DateCheck CheckFhirDate(absl::string_view text);

// Days since 1970-01-01 of a valid civil date (no validation).
int32_t DaysFromCivil(int year, int month, int day);

}  // namespace needlecheck::fhir::internal

#endif  // ADAPTERS_FHIR_INTERNAL_FHIR_DATE_H_
