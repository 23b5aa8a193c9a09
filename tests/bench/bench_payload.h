// Benchmark payloads: realistic ScreenRequests built in code, so the load
// generator (and any benchmark) needs no fixture files.
//
// Contract
// - kTypical: one patient as a clinic sees it: 20 conditions, 6 allergies
//   with free-text notes, 10 medications, 12 procedures (4 of them
//   microneedling sessions), 4 observations. Some rules fire on it.
// - kLarge: the same kinds of entries, about 500 in all (a long chart).
// - Every date, status, enum and depth passes the server's input
//   validation; the planned session is on 2026-12-01.
// - Deterministic: the same kind always gives the same message. Pure,
//   thread-safe.
#ifndef TESTS_BENCH_BENCH_PAYLOAD_H_
#define TESTS_BENCH_BENCH_PAYLOAD_H_

#include <string>

#include "absl/strings/string_view.h"
#include "needlecheck/v1/screening.pb.h"

namespace needlecheck::bench {

enum class PayloadKind { kTypical, kLarge };

// "typical" / "large" -> kind; false for anything else.
bool ParsePayloadKind(absl::string_view name, PayloadKind* kind);

needlecheck::v1::ScreenRequest BuildScreenRequest(PayloadKind kind);

// Total entries of the record (conditions + allergies + medications +
// procedures + observations).
int RecordEntryCount(const needlecheck::v1::PatientRecord& record);

}  // namespace needlecheck::bench

#endif  // TESTS_BENCH_BENCH_PAYLOAD_H_
