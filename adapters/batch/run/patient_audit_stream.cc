#include "adapters/batch/run/patient_audit_stream.h"

#include <algorithm>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "adapters/batch/run/audit_request_bytes.h"
#include "adapters/batch/run/record_rejection.h"
#include "adapters/fhir/fhir_extract.h"
#include "adapters/fhir/resource_fragment.h"
#include "grpcpp/grpcpp.h"

namespace needlecheck::batch {
namespace {

namespace v1 = needlecheck::v1;

struct Job {
  std::string request_id;
  bool sent = false;
  AuditedPatient result;
};

// The patients written to the stream and not yet answered, in order.
class JobQueue {
 public:
  explicit JobQueue(size_t capacity) : capacity_(capacity) {}

  // Blocks while full; false if closed.
  bool Push(Job job) {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](JobQueue* q) {
          return q->closed_ || q->jobs_.size() < q->capacity_;
        },
        this));
    if (closed_) return false;
    jobs_.push_back(std::move(job));
    return true;
  }
  // Blocks until a job or the end; nullopt when finished and empty.
  std::optional<Job> Pop() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](JobQueue* q) {
          return q->closed_ || q->finished_ || !q->jobs_.empty();
        },
        this));
    if (jobs_.empty()) return std::nullopt;
    Job job = std::move(jobs_.front());
    jobs_.pop_front();
    return job;
  }
  // The producer has pushed everything.
  void Finish() {
    absl::MutexLock lock(&mu_);
    finished_ = true;
  }
  // Stop: wakes a blocked producer; Push fails from now on.
  void Close() {
    absl::MutexLock lock(&mu_);
    closed_ = true;
  }

 private:
  absl::Mutex mu_;
  std::deque<Job> jobs_;
  const size_t capacity_;
  bool closed_ = false;
  bool finished_ = false;
};

// Builds the record of one patient, serialized, with `writer` (restarted
// for it; one writer serves patient after patient: the resources' mapped
// fragments go into the record as bytes, nothing is decoded); fills `job`
// (rejected when impossible) and, when it is sent, *record.
void BuildRecord(const PatientResources& patient, size_t max_resources,
                 int64_t position, fhir::FragmentRecordWriter& writer, Job* job,
                 std::string* record) {
  AuditedPatient& result = job->result;
  result.patient_id = patient.patient_id;
  job->request_id = absl::StrCat("n", position);
  const int first_file =
      patient.resources.empty() ? 0 : patient.resources.front().file;
  const int64_t first_line =
      patient.resources.empty() ? 0 : patient.resources.front().line;
  result.first_file = first_file;
  result.first_line = first_line;
  result.resources = static_cast<int64_t>(patient.resources.size()) +
                     patient.resources_dropped;
  if (patient.resources_dropped > 0) {
    result.rejected = true;
    result.errors.push_back(
        {first_file, first_line,
         absl::StrCat("patient not audited: ",
                      patient.resources.size() + patient.resources_dropped,
                      " resources, more than the limit of ", max_resources,
                      " for one patient")});
    return;
  }
  // The grouped id: the record's patient is always this one (the
  // writer's choice, and needlecheckd's record never has an empty id).
  fhir::ExtractOptions options;
  options.patient_id = patient.patient_id;
  options.max_resources = max_resources;
  writer.Restart(std::move(options));
  for (const StoredResource& resource : patient.resources) {
    absl::Status status = writer.Add(resource.body);
    if (!status.ok()) {
      ++result.rejected_resources;
      result.errors.push_back(
          {resource.file, resource.line,
           absl::StrCat("resource skipped: ", status.message())});
    }
  }
  record->clear();
  if (absl::Status status = writer.FinishRecord(record); !status.ok()) {
    result.rejected = true;
    result.errors.push_back(
        {first_file, first_line,
         absl::StrCat("patient not audited: ", status.message())});
    return;
  }
  job->sent = true;
}

bool Retryable(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::CANCELLED:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::UNKNOWN:
      return true;
    default:
      return false;
  }
}

// Reads the answers of a stream one finding (or end-of-record marker) at a
// time, unpacking the answers to batched requests (AuditFinding.batch).
class AnswerReader {
 public:
  explicit AnswerReader(
      grpc::ClientReaderWriterInterface<v1::AuditRequest, v1::AuditFinding>*
          stream)
      : stream_(stream) {}

  // False when the stream has no more answers.
  bool Next(v1::AuditFinding* finding) {
    while (next_ >= message_.batch_size()) {
      message_.Clear();
      next_ = 0;
      if (!stream_->Read(&message_)) return false;
      if (message_.batch_size() == 0) {
        finding->Swap(&message_);
        return true;
      }
    }
    finding->Swap(message_.mutable_batch(next_++));
    return true;
  }

 private:
  grpc::ClientReaderWriterInterface<v1::AuditRequest, v1::AuditFinding>*
      stream_;
  v1::AuditFinding message_;
  int next_ = 0;
};

// How one stream ended.
struct StreamEnd {
  absl::Status local;             // an error of ours (stop for good)
  grpc::Status grpc;              // the call's status
  std::optional<Job> unanswered;  // the first sent patient not answered
  bool complete = false;          // every patient answered
  bool progressed = false;        // at least one patient answered
  std::string after_patient;      // where a new stream starts
};

StreamEnd RunStream(
    AuditScratch& scratch, const std::string& after_patient,
    v1::ScreeningService::StubInterface& stub,
    const AuditStreamOptions& options,
    const std::function<absl::Status(AuditedPatient&)>& on_patient) {
  StreamEnd end;
  end.after_patient = after_patient;
  absl::StatusOr<std::unique_ptr<GroupedReader>> reader =
      scratch.OpenReader(after_patient, options.max_resources_per_patient);
  if (!reader.ok()) {
    end.local = reader.status();
    return end;
  }
  grpc::ClientContext context;
  std::unique_ptr<
      grpc::ClientReaderWriterInterface<v1::AuditRequest, v1::AuditFinding>>
      stream = stub.Audit(&context);
  JobQueue queue(options.max_in_flight);
  absl::Status producer_status;
  absl::Notification producer_done;
  std::thread producer([&] {
    struct NotifyAtEnd {
      absl::Notification& done;
      ~NotifyAtEnd() { done.Notify(); }
    } notify_at_end{producer_done};
    PatientResources patient;
    fhir::FragmentRecordWriter writer;
    std::string record;
    bool writable = true;
    int64_t position = 0;
    // The batch being filled (its elements' jobs are already queued): a
    // request of AuditRequest.batch elements, or, for one patient, that
    // patient's AuditRequest itself.
    v1::AuditRequest batch;
    size_t batch_size = 0;
    size_t batch_bytes = 0;
    std::string first_id, first_record;  // a batch's first element
    const size_t per_message = std::max<size_t>(
        1, std::min(options.patients_per_message,
                    std::max<size_t>(1, options.max_in_flight / 2)));
    // One patient's request, unbatched (the form a one-patient batch is
    // sent in, as every needlecheckd reads it).
    auto write_one = [&](const std::string& id, std::string* bytes) {
      v1::AuditRequest request;
      SetAuditRequest(id, bytes, &request);
      return stream->Write(request);
    };
    auto flush = [&] {
      if (batch_size == 0) return;
      if (writable) {
        writable = batch_size == 1 ? write_one(first_id, &first_record)
                                   : stream->Write(batch);
      }
      batch.Clear();
      batch_size = 0;
      batch_bytes = 0;
    };
    while (writable) {
      absl::StatusOr<bool> more = (*reader)->Next(&patient);
      if (!more.ok()) {
        producer_status = more.status();
        break;
      }
      if (!*more) break;
      Job job;
      BuildRecord(patient, options.max_resources_per_patient, position++,
                  writer, &job, &record);
      const bool sent = job.sent;
      const std::string request_id = job.request_id;
      // What the element weighs in the message (its request_id and record
      // fields), as AuditRequest::ByteSizeLong() counts it.
      size_t bytes = 0;
      if (sent && per_message > 1) {
        bytes = BatchElementSize(request_id.size(), record.size());
        if (batch_bytes + bytes > options.max_batch_bytes) flush();
      }
      // Queued before it is written: the reader expects its answer.
      if (!queue.Push(std::move(job))) return;  // stopped
      if (!sent) continue;
      if (per_message == 1) {
        writable = write_one(request_id, &record);
        continue;
      }
      // The first element waits: alone, it goes unbatched.
      if (batch_size == 0) {
        first_id = request_id;
        first_record.swap(record);
      } else {
        if (batch_size == 1) {
          AddBatchElement(first_id, first_record, &batch);
        }
        AddBatchElement(request_id, record, &batch);
      }
      ++batch_size;
      batch_bytes += bytes;
      if (batch_size >= per_message || batch_bytes >= options.max_batch_bytes) {
        flush();
      }
    }
    flush();
    if (writable) stream->WritesDone();
    queue.Finish();
  });

  AnswerReader answers(stream.get());
  absl::Status local;
  bool server_ended = false;
  while (true) {
    std::optional<Job> job = queue.Pop();
    if (!job.has_value()) {
      end.complete = producer_status.ok();
      break;
    }
    if (job->sent) {
      v1::AuditFinding finding;
      bool answered = false;
      while (answers.Next(&finding)) {
        if (finding.request_id() != job->request_id) {
          local = absl::InternalError(
              absl::StrCat("needlecheckd answered another request where ",
                           job->request_id, " was expected"));
          break;
        }
        if (finding.end_of_record()) {
          answered = true;
          break;
        }
        job->result.findings.push_back(std::move(finding));
      }
      if (!answered) {
        if (local.ok()) {
          // needlecheckd ended the call: its status is on the way.
          server_ended = true;
          end.unanswered = std::move(job);
        }
        break;
      }
    }
    std::string done_patient = job->result.patient_id;
    local = on_patient(job->result);
    if (!local.ok()) break;
    end.progressed = true;
    end.after_patient = std::move(done_patient);
  }
  queue.Close();
  // Cancel only a call we stop: one needlecheckd ended carries its status
  // (a rejected record's INVALID_ARGUMENT), which a cancel would replace
  // with CANCELLED. Its writes fail from now on, so the producer ends.
  // Should a write still block (it should not), cancelling after a
  // generous wait trades the status for not hanging.
  if (!end.complete &&
      (!server_ended ||
       !producer_done.WaitForNotificationWithTimeout(absl::Seconds(30)))) {
    context.TryCancel();
  }
  producer.join();
  if (end.complete) {
    v1::AuditFinding extra;
    if (answers.Next(&extra)) {
      local = absl::InternalError("needlecheckd sent a finding for no request");
    }
  }
  end.grpc = stream->Finish();
  end.local = local.ok() ? producer_status : local;
  if (end.complete && end.local.ok() && !end.grpc.ok()) end.complete = false;
  return end;
}

// Fills `rejected->errors` for a record needlecheckd would not audit: one
// error per field it named (at most kMaxFieldErrors), at the export line of
// the resource the field came from, naming the field and the problem but
// no value. `after_patient` is where the patient's stream started, so the
// next patient of the scratch file is this one: its record is built again
// to map the fields back to resources.
constexpr size_t kMaxFieldErrors = 10;

absl::Status ReportRejection(AuditScratch& scratch,
                             const std::string& after_patient,
                             const AuditStreamOptions& options,
                             const grpc::Status& grpc_status,
                             AuditedPatient* rejected) {
  constexpr absl::string_view kPrefix =
      "patient not audited: needlecheckd rejected the record";
  const std::vector<RejectedField> fields = RejectedFields(grpc_status);
  if (fields.empty()) {
    rejected->errors.push_back(
        {rejected->first_file, rejected->first_line,
         absl::StrCat(kPrefix, grpc_status.error_code() ==
                                       grpc::StatusCode::RESOURCE_EXHAUSTED
                                   ? " as too large (RESOURCE_EXHAUSTED)"
                                   : " as invalid (INVALID_ARGUMENT, no "
                                     "field named)")});
    return absl::OkStatus();
  }
  absl::StatusOr<std::unique_ptr<GroupedReader>> reader =
      scratch.OpenReader(after_patient, options.max_resources_per_patient);
  if (!reader.ok()) return reader.status();
  PatientResources patient;
  absl::StatusOr<bool> more = (*reader)->Next(&patient);
  if (!more.ok()) return more.status();
  Job job;
  v1::PatientRecord record;
  bool rebuilt = *more && patient.patient_id == rejected->patient_id;
  if (rebuilt) {
    fhir::FragmentRecordWriter writer;
    std::string bytes;
    BuildRecord(patient, options.max_resources_per_patient, 0, writer, &job,
                &bytes);
    rebuilt = job.sent && record.ParseFromString(bytes);
  }
  for (size_t i = 0; i < fields.size() && i < kMaxFieldErrors; ++i) {
    std::optional<ExportPosition> at;
    if (rebuilt) {
      at = LocateRecordField(patient.resources, record, fields[i].field);
    }
    rejected->errors.push_back({at ? at->file : rejected->first_file,
                                at ? at->line : rejected->first_line,
                                absl::StrCat(kPrefix, ": ", fields[i].field,
                                             ": ", fields[i].problem)});
  }
  if (fields.size() > kMaxFieldErrors) {
    rejected->errors.push_back(
        {rejected->first_file, rejected->first_line,
         absl::StrCat(kPrefix, ": and ", fields.size() - kMaxFieldErrors,
                      " more fields")});
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status AuditPatients(
    AuditScratch& scratch, const std::string& after_patient,
    v1::ScreeningService::StubInterface& stub,
    const AuditStreamOptions& options,
    const std::function<absl::Status(AuditedPatient&)>& on_patient) {
  int failures = 0;
  absl::Duration backoff = options.first_backoff;
  std::string from = after_patient;
  while (true) {
    StreamEnd end = RunStream(scratch, from, stub, options, on_patient);
    if (!end.local.ok()) return end.local;
    if (end.complete) return absl::OkStatus();
    from = end.after_patient;
    const grpc::StatusCode code = end.grpc.error_code();
    if ((code == grpc::StatusCode::INVALID_ARGUMENT ||
         code == grpc::StatusCode::RESOURCE_EXHAUSTED) &&
        end.unanswered.has_value()) {
      // needlecheckd rejected this patient's record: report it, go on with
      // the next one on a new stream.
      AuditedPatient& rejected = end.unanswered->result;
      rejected.findings.clear();
      rejected.rejected = true;
      if (absl::Status status =
              ReportRejection(scratch, from, options, end.grpc, &rejected);
          !status.ok()) {
        return status;
      }
      if (absl::Status status = on_patient(rejected); !status.ok()) {
        return status;
      }
      from = rejected.patient_id;
      failures = 0;
      backoff = options.first_backoff;
      continue;
    }
    if (end.progressed) {
      failures = 0;
      backoff = options.first_backoff;
    }
    if (code == grpc::StatusCode::OK) {
      return absl::InternalError(
          "needlecheckd ended the Audit stream before answering every "
          "patient");
    }
    // Messages name the code and needlecheckd's words, never a value of
    // the record (DescribeNeedlecheckdStatus).
    if (!Retryable(code)) {
      return absl::InternalError(
          absl::StrCat("the Audit call to needlecheckd failed: ",
                       DescribeNeedlecheckdStatus(end.grpc)));
    }
    if (++failures > options.max_retries) {
      return absl::UnavailableError(absl::StrCat(
          "the Audit call to needlecheckd failed",
          failures > 1 ? absl::StrCat(" ", failures, " times") : "", ": ",
          DescribeNeedlecheckdStatus(end.grpc)));
    }
    if (options.on_retry) {
      options.on_retry(absl::StrCat(
          "the Audit call to needlecheckd failed (",
          DescribeNeedlecheckdStatus(end.grpc), "); retry ", failures, " of ",
          options.max_retries, " in ", absl::FormatDuration(backoff)));
    }
    // The wait, in steps, so that a stop request ends it.
    for (absl::Time until = absl::Now() + backoff; absl::Now() < until;) {
      if (options.stop != nullptr && options.stop->load()) {
        return absl::CancelledError(
            "stopped on request while waiting to retry");
      }
      absl::SleepFor(std::min(absl::Milliseconds(100), until - absl::Now()));
    }
    backoff *= 2;
  }
}

}  // namespace needlecheck::batch
