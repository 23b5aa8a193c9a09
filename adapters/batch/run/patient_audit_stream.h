// AuditPatients: sends each grouped patient of the scratch file (after
// `after_patient`, in the scratch file's audit order) to
// needlecheckd's Audit RPC and hands back each patient's findings, in order.
//
// Contract
// - Two threads: a producer reads patients from the scratch file (its own
//   connection), builds each record with the FHIR adapter
//   (fhir::FragmentRecordWriter over the resources the reader mapped when
//   it routed them: nothing is parsed again, and the mapped entries go
//   into the request as the bytes their fragments hold; a resource the
//   mapping rejected is skipped and reported, the rest of the record is
//   used) and writes the requests; the calling thread
//   reads the findings and calls `on_patient` once per patient, in grouped
//   order. gRPC flow control plus a bounded queue of in-flight patients
//   (`max_in_flight`) keep memory bounded: a slow server slows the reader.
// - A patient is done when its end-of-record marker arrives (audit.proto);
//   a patient whose record cannot be built (or has more than
//   `max_resources_per_patient` resources) is not sent and comes back with
//   rejected = true and the reason.
// - needlecheckd ends the stream when it rejects a record (INVALID_ARGUMENT,
//   or RESOURCE_EXHAUSTED for one too large): that call is not cancelled
//   (a cancel would turn the status into CANCELLED), the patient comes back
//   rejected with one error per field needlecheckd named, at the export
//   line of the resource the field came from, naming the field and the
//   problem but never the value (record_rejection.h), and a new stream
//   resumes with the next patient. UNAVAILABLE, DEADLINE_EXCEEDED,
//   CANCELLED, ABORTED, INTERNAL and UNKNOWN are retried from the first
//   unanswered patient, with backoff (1 s, doubling, `max_retries` in a
//   row); then UNAVAILABLE is returned. Any other code is INTERNAL at once.
//   Messages (returned, or given to on_retry) carry the gRPC code and
//   needlecheckd's text for codes other than INVALID_ARGUMENT, the field
//   paths for INVALID_ARGUMENT: never a value from the record.
// - Request ids are "n<position in the stream>" (never a patient id:
//   request ids reach server logs).
// - Patients go `patients_per_message` to a message (AuditRequest.batch,
//   answered by one message per batch; 1: one patient per message, the
//   form every needlecheckd understands). A batch is written when full, when
//   its records reach `max_batch_bytes`, or when the scratch file has no
//   more patients; a record of more than `max_batch_bytes` goes alone.
// - Returns the first error of `on_patient` (after stopping the stream), or
//   of the scratch file, or the gRPC error after the retries.
#ifndef ADAPTERS_BATCH_RUN_PATIENT_AUDIT_STREAM_H_
#define ADAPTERS_BATCH_RUN_PATIENT_AUDIT_STREAM_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "adapters/batch/run/audit_scratch.h"
#include "needlecheck/v1/audit.pb.h"
#include "needlecheck/v1/screening.grpc.pb.h"

namespace needlecheck::batch {

struct AuditedPatient {
  // The id the resources were grouped by.
  std::string patient_id;
  // Where the patient's first resource is (errors about the whole record
  // name it).
  int first_file = 0;
  int64_t first_line = 0;
  // The patient's resources (kept or beyond the cap).
  int64_t resources = 0;
  // The findings (end-of-record marker not included), in record order.
  std::vector<needlecheck::v1::AuditFinding> findings;
  // Resources the FHIR adapter rejected (skipped), and, when rejected, the
  // reason the record as a whole was not audited.
  std::vector<InputError> errors;
  int64_t rejected_resources = 0;
  bool rejected = false;
};

struct AuditStreamOptions {
  // Patients sent and not yet answered (at least 2 x patients_per_message).
  size_t max_in_flight = 256;
  // Patients per Audit message; 1 = unbatched. Default 64.
  size_t patients_per_message = 64;
  // Serialized records per message, in bytes, before it is written.
  // Default 1 MiB (needlecheckd accepts 4 MiB messages by default).
  size_t max_batch_bytes = size_t{1} << 20;
  size_t max_resources_per_patient = 200000;
  int max_retries = 5;
  absl::Duration first_backoff = absl::Seconds(1);
  // Told about each retry before its wait (what failed, which retry, how
  // long the wait is); the message carries no patient data. May be empty.
  std::function<void(const std::string&)> on_retry;
  // When set and true, a retry wait ends early and AuditPatients returns
  // CANCELLED (the caller's on_patient stops the stream itself). May be null.
  const std::atomic<bool>* stop = nullptr;
};

absl::Status AuditPatients(
    AuditScratch& scratch, const std::string& after_patient,
    needlecheck::v1::ScreeningService::StubInterface& stub,
    const AuditStreamOptions& options,
    const std::function<absl::Status(AuditedPatient&)>& on_patient);

}  // namespace needlecheck::batch

#endif  // ADAPTERS_BATCH_RUN_PATIENT_AUDIT_STREAM_H_
