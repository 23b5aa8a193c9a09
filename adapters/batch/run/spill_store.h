// Spill files: the export's resources, hash-partitioned by patient on disk,
// then read back one partition at a time, grouped by patient in memory.
// A body is opaque here; the audit stores each resource as the FHIR adapter
// mapped it when it was routed (adapters/fhir/resource_fragment.h), and
// records that format in the scratch's meta table (audit_scratch.h).
//
// Why: grouping an export by patient must work for any size with bounded
// memory. Appending each resource to the file of its patient's partition
// costs one buffered write; a partition is then small enough to sort in
// memory (or, when it is not, is sorted externally in runs), so memory is
// flat in the number of patients.
//
// Order: partitions are read in index order; within a partition, patients
// in byte order of the id and each patient's resources in (file, line)
// order. So the audit order is (PartitionOf(id), id); findings are put back
// in patient-id order afterwards (findings_runs.h).
//
// A spill file is a sequence of records: a 24-byte header (patient id
// length, body length, file index, line, and a check word over the
// lengths), the patient id, the body. The owner commits the length of every
// file with its reading progress (audit_scratch.h); a reopened writer
// truncates each file to that length, so a kill mid-read loses nothing
// committed and keeps nothing uncommitted.
//
// Contract
// - SpillWriter: one thread. Append() buffers, Flush() hands every buffer
//   to the kernel (a kill after it loses nothing); errors of write(2) (disk
//   full: UNAVAILABLE naming the file and the system's message).
// - SpillReader: one thread, its own file descriptors; reads only the
//   committed lengths it is given.
// - A spill file shorter than its committed length, or holding a record
//   that does not parse or whose patient is not of its partition:
//   DATA_LOSS naming the file and the byte offset (never record content).
// - Files hold patient data; the owner deletes the folder.
#ifndef ADAPTERS_BATCH_RUN_SPILL_STORE_H_
#define ADAPTERS_BATCH_RUN_SPILL_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace needlecheck::batch {

inline constexpr uint32_t kMaxSpillPartitions = 256;

// The partition of a patient id among `partitions` (independent of the
// shard a patient is in, so a shard's patients spread over all partitions).
uint32_t SpillPartitionOf(absl::string_view patient_id, uint32_t partitions);

// One resource as read back: views into the reader's memory, valid until
// the next call of SpillReader::Next.
struct SpillRecord {
  absl::string_view patient_id;
  int file = 0;
  int64_t line = 0;
  absl::string_view body;
};

class SpillWriter {
 public:
  // Opens the `sizes.size()` partition files in `dir` (created if need be),
  // each truncated to its committed length in `sizes`; `buffer_bytes` of
  // buffer per partition.
  static absl::StatusOr<std::unique_ptr<SpillWriter>> Open(
      const std::string& dir, const std::vector<int64_t>& sizes,
      size_t buffer_bytes);
  ~SpillWriter();
  SpillWriter(const SpillWriter&) = delete;
  SpillWriter& operator=(const SpillWriter&) = delete;

  absl::Status Append(absl::string_view patient_id, int file, int64_t line,
                      absl::string_view body);
  absl::Status Flush();
  // The length of every file once flushed (what to commit).
  const std::vector<int64_t>& sizes() const { return sizes_; }

 private:
  SpillWriter(std::string dir, std::vector<int> fds, std::vector<int64_t> sizes,
              size_t buffer_bytes);
  absl::Status FlushPartition(size_t partition);

  std::string dir_;
  std::vector<int> fds_;
  std::vector<int64_t> sizes_;  // written to the file + buffered
  std::vector<std::string> buffers_;
  size_t buffer_bytes_;
};

// Reads the partitions back in audit order (see the top of this file).
class SpillReader {
 public:
  // `sizes`: the committed length of every partition file in `dir`.
  // `memory_bytes`: a partition of at most about this size is sorted in
  // memory; a larger one is sorted in runs of that size written beside it.
  // Starts at the partition of `after_patient` ("": the first), past the
  // patients up to it.
  static absl::StatusOr<std::unique_ptr<SpillReader>> Open(
      const std::string& dir, std::vector<int64_t> sizes, size_t memory_bytes,
      const std::string& after_patient);
  ~SpillReader();
  SpillReader(const SpillReader&) = delete;
  SpillReader& operator=(const SpillReader&) = delete;

  // The next resource in audit order; false at the end.
  absl::StatusOr<bool> Next(SpillRecord* record);

  class Source;  // one partition's records in order (spill_store.cc)

 private:
  SpillReader(std::string dir, std::vector<int64_t> sizes, size_t memory_bytes,
              std::string after_patient);
  absl::Status LoadPartition(uint32_t partition);

  std::string dir_;
  std::vector<int64_t> sizes_;
  size_t memory_bytes_;
  std::string after_patient_;  // skipped up to, in the first partition
  uint32_t first_partition_ = 0;
  uint32_t next_partition_ = 0;
  std::unique_ptr<Source> source_;
};

// The path of partition `partition`'s file in `dir`.
std::string SpillFilePath(const std::string& dir, uint32_t partition);

}  // namespace needlecheck::batch

#endif  // ADAPTERS_BATCH_RUN_SPILL_STORE_H_
