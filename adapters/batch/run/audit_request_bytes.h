// AuditRequest messages built from patient records that are already
// serialized (fhir::FragmentRecordWriter writes them straight from the
// spill fragments), without parsing them into PatientRecord messages only
// to serialize them again.
//
// Contract
// - Each function gives the message whose SerializeAsString() is, byte for
//   byte, what the generated code writes for the same request with the
//   record parsed: the fields are written in field-number order as protobuf
//   length-delimited fields (tags and lengths by protobuf's CodedOutputStream)
//   and carried as an unknown field of the message, which protobuf
//   serializes as is. `record` must be a serialized needlecheck.v1.
//   PatientRecord; it is not checked here (needlecheckd parses it).
// - Only for sending: the message's `record`/`batch` accessors do not see
//   what these functions added.
#ifndef NEEDLECHECK_ADAPTERS_BATCH_RUN_AUDIT_REQUEST_BYTES_H_
#define NEEDLECHECK_ADAPTERS_BATCH_RUN_AUDIT_REQUEST_BYTES_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"
#include "needlecheck/v1/audit.pb.h"

namespace needlecheck::batch {

// *request becomes {request_id, record} (one patient, unbatched); the
// record's bytes are moved out of *record.
void SetAuditRequest(const std::string& request_id, std::string* record,
                     v1::AuditRequest* request);

// Appends the element {request_id, record} to request->batch.
void AddBatchElement(const std::string& request_id, absl::string_view record,
                     v1::AuditRequest* request);

// What such an element weighs: its request_id and record fields, as the
// element's ByteSizeLong() counts them (not the batch field's own tag and
// length).
size_t BatchElementSize(size_t request_id_bytes, size_t record_bytes);

}  // namespace needlecheck::batch

#endif  // NEEDLECHECK_ADAPTERS_BATCH_RUN_AUDIT_REQUEST_BYTES_H_
