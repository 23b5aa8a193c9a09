// What needlecheckd says when it will not audit a record, told without the
// record's values, and where in the export the field it names came from.
//
// needlecheckd rejects a record with INVALID_ARGUMENT and a
// google.rpc.BadRequest detail naming each bad field ("record.procedures[0]
// .needle_depth_mm") with a description that may quote the value ("needle
// depth 4 mm is out of range ..."). The batch audit writes errors.ndjson and
// logs for a compliance team, so it keeps the field path, replaces the
// description by the problem that field's rule describes (never the value),
// and points at the export line of the resource the field came from.
//
// Contract
// - Nothing returned here holds a value from the record or free text from
//   the server's validation messages; field paths are the server's
//   proto paths ([A-Za-z0-9_.[\]] only; anything else is replaced by '?').
// - Pure functions; thread-safe.
#ifndef ADAPTERS_BATCH_RUN_RECORD_REJECTION_H_
#define ADAPTERS_BATCH_RUN_RECORD_REJECTION_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "adapters/batch/run/audit_scratch.h"
#include "grpcpp/support/status.h"
#include "needlecheck/v1/record.pb.h"

namespace needlecheck::batch {

// One field needlecheckd named: its path and what is wrong, value-free.
struct RejectedField {
  std::string field;    // "record.procedures[0].needle_depth_mm"
  std::string problem;  // "needle depth out of range (...)"
};

// The fields of the BadRequest detail of `status` (empty when it has none).
std::vector<RejectedField> RejectedFields(const grpc::Status& status);

// The problem a field's rule describes, from its path alone.
std::string ProblemOfField(absl::string_view field);

// A value-free text for `status`, for logs and errors: INVALID_ARGUMENT is
// its code and the field paths it names; any other code is its code and
// its message (transport and service messages, which quote no record),
// bounded and printable.
std::string DescribeNeedlecheckdStatus(const grpc::Status& status);

// The export position (file index, line) of the resource that `field` (a
// path rooted at "record.") of `record` came from: the resource of the
// field's type whose id is the record entry's id (Patient for
// record.birth_date). `resources` are the patient's stored resources the
// record was built from. nullopt when it cannot be told.
struct ExportPosition {
  int file = 0;
  int64_t line = 0;
};
std::optional<ExportPosition> LocateRecordField(
    const std::vector<StoredResource>& resources,
    const needlecheck::v1::PatientRecord& record, absl::string_view field);

}  // namespace needlecheck::batch

#endif  // ADAPTERS_BATCH_RUN_RECORD_REJECTION_H_
