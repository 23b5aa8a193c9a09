#include "adapters/batch/run/spill_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <queue>
#include <utility>

#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "adapters/batch/export/shard.h"

namespace needlecheck::batch {

// One partition's records in audit order.
class SpillReader::Source {
 public:
  virtual ~Source() = default;
  virtual absl::StatusOr<bool> Next(SpillRecord* record) = 0;
};

namespace {

constexpr size_t kHeaderBytes = 24;
// Bounds a damaged header cannot pass unnoticed.
constexpr uint32_t kMaxPatientIdBytes = 1 << 16;
constexpr uint32_t kMaxBodyBytes = 1u << 30;

uint32_t CheckWord(uint32_t patient_bytes, uint32_t body_bytes, int32_t file) {
  return (patient_bytes * 2654435761u) ^ (body_bytes * 40503u) ^
         (static_cast<uint32_t>(file) * 2246822519u) ^ 0x4e435350u;
}

void AppendRecord(absl::string_view patient_id, int file, int64_t line,
                  absl::string_view body, std::string* out) {
  const uint32_t patient_bytes = static_cast<uint32_t>(patient_id.size());
  const uint32_t body_bytes = static_cast<uint32_t>(body.size());
  const int32_t file32 = file;
  const uint32_t check = CheckWord(patient_bytes, body_bytes, file32);
  char header[kHeaderBytes];
  std::memcpy(header, &patient_bytes, 4);
  std::memcpy(header + 4, &body_bytes, 4);
  std::memcpy(header + 8, &file32, 4);
  std::memcpy(header + 12, &check, 4);
  std::memcpy(header + 16, &line, 8);
  out->append(header, kHeaderBytes);
  out->append(patient_id.data(), patient_id.size());
  out->append(body.data(), body.size());
}

absl::Status Damaged(const std::string& path, int64_t offset,
                     absl::string_view what) {
  return absl::DataLossError(absl::StrCat(
      "the audit's spill file ", path, " is damaged at byte ", offset, " (",
      what,
      "): delete the output folder's .needlecheck-audit folder, or pass "
      "--overwrite, to read the export again"));
}

// Parses the record at the start of `data`: its length, 0 when `data` ends
// before the record does, or an error when the header is not one of ours.
absl::StatusOr<size_t> ParseRecord(absl::string_view data,
                                   const std::string& path, int64_t offset,
                                   SpillRecord* record) {
  if (data.size() < kHeaderBytes) return 0;
  uint32_t patient_bytes, body_bytes, check;
  int32_t file;
  std::memcpy(&patient_bytes, data.data(), 4);
  std::memcpy(&body_bytes, data.data() + 4, 4);
  std::memcpy(&file, data.data() + 8, 4);
  std::memcpy(&check, data.data() + 12, 4);
  std::memcpy(&record->line, data.data() + 16, 8);
  if (check != CheckWord(patient_bytes, body_bytes, file) ||
      patient_bytes == 0 || patient_bytes > kMaxPatientIdBytes ||
      body_bytes > kMaxBodyBytes || file < 0) {
    return Damaged(path, offset, "not a record header");
  }
  const size_t total = kHeaderBytes + patient_bytes + body_bytes;
  if (data.size() < total) return 0;
  record->file = file;
  record->patient_id = data.substr(kHeaderBytes, patient_bytes);
  record->body = data.substr(kHeaderBytes + patient_bytes, body_bytes);
  return total;
}

bool RecordBefore(const SpillRecord& a, const SpillRecord& b) {
  if (a.patient_id != b.patient_id) return a.patient_id < b.patient_id;
  if (a.file != b.file) return a.file < b.file;
  return a.line < b.line;
}

absl::Status ErrnoStatus(absl::string_view what, const std::string& path) {
  return absl::UnavailableError(
      absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

// Writes all of `data` at the end of `fd`.
absl::Status WriteAll(int fd, absl::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return ErrnoStatus("cannot write", path);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

// Reads up to `want` bytes of `fd` from `offset` into `out` (appended).
absl::Status ReadAt(int fd, int64_t offset, size_t want,
                    const std::string& path, std::string* out) {
  const size_t start = out->size();
  out->resize(start + want);
  size_t got = 0;
  while (got < want) {
    const ssize_t n = pread(fd, out->data() + start + got, want - got,
                            static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("cannot read", path);
    if (n == 0) {
      return Damaged(path, offset + static_cast<int64_t>(got),
                     "shorter than its committed length");
    }
    got += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

// Checks that every record of partition `partition` is of it.
absl::Status CheckPartition(const SpillRecord& record, uint32_t partition,
                            uint32_t partitions, const std::string& path,
                            int64_t offset) {
  if (SpillPartitionOf(record.patient_id, partitions) != partition) {
    return Damaged(path, offset, "a record of another partition");
  }
  return absl::OkStatus();
}

// A partition small enough to sort in memory: the file, read whole, and
// its records sorted.
class MemorySource : public SpillReader::Source {
 public:
  static absl::StatusOr<std::unique_ptr<MemorySource>> Load(
      const std::string& path, int64_t size, uint32_t partition,
      uint32_t partitions) {
    auto source = absl::WrapUnique(new MemorySource());
    Fd fd{open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (fd.fd < 0) return ErrnoStatus("cannot open", path);
    if (absl::Status status =
            ReadAt(fd.fd, 0, static_cast<size_t>(size), path, &source->data_);
        !status.ok()) {
      return status;
    }
    absl::string_view rest = source->data_;
    while (!rest.empty()) {
      const int64_t offset = size - static_cast<int64_t>(rest.size());
      SpillRecord record;
      absl::StatusOr<size_t> used = ParseRecord(rest, path, offset, &record);
      if (!used.ok()) return used.status();
      if (*used == 0) return Damaged(path, offset, "a record cut short");
      if (absl::Status status =
              CheckPartition(record, partition, partitions, path, offset);
          !status.ok()) {
        return status;
      }
      source->records_.push_back(record);
      rest.remove_prefix(*used);
    }
    std::sort(source->records_.begin(), source->records_.end(), RecordBefore);
    return source;
  }

  absl::StatusOr<bool> Next(SpillRecord* record) override {
    if (next_ >= records_.size()) return false;
    *record = records_[next_++];
    return true;
  }

 private:
  MemorySource() = default;
  std::string data_;
  std::vector<SpillRecord> records_;
  size_t next_ = 0;
};

// Reads one sorted run file record by record (a buffered stream).
class RunCursor {
 public:
  RunCursor(std::string path, int fd, int64_t size)
      : path_(std::move(path)), fd_(fd), size_(size) {}
  ~RunCursor() { close(fd_); }

  // Advances; false at the end of the run.
  absl::StatusOr<bool> Advance() {
    while (true) {
      absl::string_view rest(buffer_.data() + used_, buffer_.size() - used_);
      absl::StatusOr<size_t> n = ParseRecord(
          rest, path_, offset_ - static_cast<int64_t>(rest.size()), &current_);
      if (!n.ok()) return n.status();
      if (*n > 0) {
        used_ += *n;
        return true;
      }
      if (offset_ >= size_) {
        if (!rest.empty()) return Damaged(path_, offset_, "a record cut short");
        return false;
      }
      buffer_.erase(0, used_);
      used_ = 0;
      const size_t want = static_cast<size_t>(
          std::min<int64_t>(size_ - offset_, static_cast<int64_t>(kChunk)));
      if (absl::Status status = ReadAt(fd_, offset_, want, path_, &buffer_);
          !status.ok()) {
        return status;
      }
      offset_ += static_cast<int64_t>(want);
    }
  }
  const SpillRecord& current() const { return current_; }

 private:
  static constexpr size_t kChunk = 1 << 20;
  std::string path_;
  int fd_;
  int64_t size_;
  int64_t offset_ = 0;  // read from the file so far
  std::string buffer_;
  size_t used_ = 0;
  SpillRecord current_;
};

// A partition too large for memory: sorted runs of about `run_bytes` of
// records written beside it, then merged.
class MergeSource : public SpillReader::Source {
 public:
  static absl::StatusOr<std::unique_ptr<MergeSource>> Build(
      const std::string& path, int64_t size, uint32_t partition,
      uint32_t partitions, size_t run_bytes) {
    auto source = absl::WrapUnique(new MergeSource());
    Fd fd{open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (fd.fd < 0) return ErrnoStatus("cannot open", path);
    std::string chunk;
    std::vector<SpillRecord> records;
    std::string run;
    int64_t offset = 0;  // of chunk[0] in the file
    while (offset < size) {
      const size_t want = static_cast<size_t>(
          std::min<int64_t>(size - offset - static_cast<int64_t>(chunk.size()),
                            static_cast<int64_t>(run_bytes)));
      if (absl::Status status =
              ReadAt(fd.fd, offset + static_cast<int64_t>(chunk.size()), want,
                     path, &chunk);
          !status.ok()) {
        return status;
      }
      const bool last = offset + static_cast<int64_t>(chunk.size()) >= size;
      absl::string_view rest = chunk;
      records.clear();
      while (!rest.empty()) {
        const int64_t at =
            offset + static_cast<int64_t>(chunk.size() - rest.size());
        SpillRecord record;
        absl::StatusOr<size_t> used = ParseRecord(rest, path, at, &record);
        if (!used.ok()) return used.status();
        if (*used == 0) {
          if (last) return Damaged(path, at, "a record cut short");
          break;  // the rest comes with the next chunk
        }
        if (absl::Status status =
                CheckPartition(record, partition, partitions, path, at);
            !status.ok()) {
          return status;
        }
        records.push_back(record);
        rest.remove_prefix(*used);
      }
      std::sort(records.begin(), records.end(), RecordBefore);
      run.clear();
      for (const SpillRecord& record : records) {
        AppendRecord(record.patient_id, record.file, record.line, record.body,
                     &run);
      }
      if (absl::Status status = source->AddRun(
              absl::StrCat(path, ".run", source->runs_.size()), run);
          !status.ok()) {
        return status;
      }
      const size_t consumed = chunk.size() - rest.size();
      offset += static_cast<int64_t>(consumed);
      chunk.erase(0, consumed);
    }
    for (size_t i = 0; i < source->runs_.size(); ++i) {
      absl::StatusOr<bool> more = source->runs_[i]->Advance();
      if (!more.ok()) return more.status();
      if (*more) source->heap_.push(i);
    }
    return source;
  }

  ~MergeSource() override {
    for (const std::string& path : paths_) unlink(path.c_str());
  }

  absl::StatusOr<bool> Next(SpillRecord* record) override {
    if (pending_.has_value()) {
      // The previous record's cursor moves only now: its views were valid
      // until this call.
      const size_t i = *pending_;
      pending_.reset();
      absl::StatusOr<bool> more = runs_[i]->Advance();
      if (!more.ok()) return more.status();
      if (*more) heap_.push(i);
    }
    if (heap_.empty()) return false;
    const size_t i = heap_.top();
    heap_.pop();
    *record = runs_[i]->current();
    pending_ = i;
    return true;
  }

 private:
  // Orders cursors for a min-heap on their current record.
  struct Later {
    const MergeSource* source;
    bool operator()(size_t a, size_t b) const {
      return RecordBefore(source->runs_[b]->current(),
                          source->runs_[a]->current());
    }
  };
  MergeSource() : heap_(Later{this}) {}

  absl::Status AddRun(std::string path, absl::string_view data) {
    const int fd =
        open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return ErrnoStatus("cannot create", path);
    paths_.push_back(path);
    runs_.push_back(std::make_unique<RunCursor>(
        path, fd, static_cast<int64_t>(data.size())));
    return WriteAll(fd, data, path);
  }

  std::vector<std::string> paths_;
  std::vector<std::unique_ptr<RunCursor>> runs_;
  std::priority_queue<size_t, std::vector<size_t>, Later> heap_;
  std::optional<size_t> pending_;
};

}  // namespace

uint32_t SpillPartitionOf(absl::string_view patient_id, uint32_t partitions) {
  if (partitions <= 1) return 0;
  // PatientHash again through another finalizer: independent of the shard
  // (PatientHash % shards).
  uint64_t h = PatientHash(patient_id) ^ 0x9e3779b97f4a7c15ull;
  h ^= h >> 31;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 29;
  return static_cast<uint32_t>(h % partitions);
}

std::string SpillFilePath(const std::string& dir, uint32_t partition) {
  return absl::StrFormat("%s/p%03u", dir, partition);
}

SpillWriter::SpillWriter(std::string dir, std::vector<int> fds,
                         std::vector<int64_t> sizes, size_t buffer_bytes)
    : dir_(std::move(dir)),
      fds_(std::move(fds)),
      sizes_(std::move(sizes)),
      buffers_(fds_.size()),
      buffer_bytes_(buffer_bytes) {}

SpillWriter::~SpillWriter() {
  for (int fd : fds_) close(fd);
}

absl::StatusOr<std::unique_ptr<SpillWriter>> SpillWriter::Open(
    const std::string& dir, const std::vector<int64_t>& sizes,
    size_t buffer_bytes) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) {
    return absl::UnavailableError(
        absl::StrCat("cannot create ", dir, ": ", error.message()));
  }
  auto writer = absl::WrapUnique(
      new SpillWriter(dir, {}, sizes, std::max<size_t>(buffer_bytes, 4096)));
  for (uint32_t i = 0; i < sizes.size(); ++i) {
    const std::string path = SpillFilePath(dir, i);
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return ErrnoStatus("cannot open", path);
    writer->fds_.push_back(fd);
    writer->buffers_.emplace_back();
    struct stat st {};
    if (fstat(fd, &st) != 0) return ErrnoStatus("cannot stat", path);
    if (st.st_size < sizes[i]) {
      return Damaged(path, st.st_size, "shorter than its committed length");
    }
    // What was written after the last commit goes: it is read again.
    if ((st.st_size > sizes[i] && ftruncate(fd, sizes[i]) != 0) ||
        lseek(fd, sizes[i], SEEK_SET) != sizes[i]) {
      return ErrnoStatus("cannot truncate", path);
    }
  }
  return writer;
}

absl::Status SpillWriter::Append(absl::string_view patient_id, int file,
                                 int64_t line, absl::string_view body) {
  if (patient_id.empty() || patient_id.size() > kMaxPatientIdBytes ||
      body.size() > kMaxBodyBytes) {
    return absl::InvalidArgumentError(
        "a resource too large for the spill file (or without a patient)");
  }
  const uint32_t partition =
      SpillPartitionOf(patient_id, static_cast<uint32_t>(fds_.size()));
  std::string& buffer = buffers_[partition];
  const size_t before = buffer.size();
  AppendRecord(patient_id, file, line, body, &buffer);
  sizes_[partition] += static_cast<int64_t>(buffer.size() - before);
  if (buffer.size() >= buffer_bytes_) return FlushPartition(partition);
  return absl::OkStatus();
}

absl::Status SpillWriter::FlushPartition(size_t partition) {
  std::string& buffer = buffers_[partition];
  if (buffer.empty()) return absl::OkStatus();
  absl::Status status =
      WriteAll(fds_[partition], buffer, SpillFilePath(dir_, partition));
  buffer.clear();
  return status;
}

absl::Status SpillWriter::Flush() {
  for (size_t i = 0; i < buffers_.size(); ++i) {
    if (absl::Status status = FlushPartition(i); !status.ok()) return status;
  }
  return absl::OkStatus();
}

SpillReader::SpillReader(std::string dir, std::vector<int64_t> sizes,
                         size_t memory_bytes, std::string after_patient)
    : dir_(std::move(dir)),
      sizes_(std::move(sizes)),
      memory_bytes_(memory_bytes),
      after_patient_(std::move(after_patient)) {}

SpillReader::~SpillReader() = default;

absl::StatusOr<std::unique_ptr<SpillReader>> SpillReader::Open(
    const std::string& dir, std::vector<int64_t> sizes, size_t memory_bytes,
    const std::string& after_patient) {
  auto reader = absl::WrapUnique(
      new SpillReader(dir, std::move(sizes),
                      std::max<size_t>(memory_bytes, 1 << 16), after_patient));
  if (!after_patient.empty()) {
    reader->first_partition_ = SpillPartitionOf(
        after_patient, static_cast<uint32_t>(reader->sizes_.size()));
  }
  reader->next_partition_ = reader->first_partition_;
  return reader;
}

absl::Status SpillReader::LoadPartition(uint32_t partition) {
  source_.reset();  // its memory goes before the next partition's comes
  const std::string path = SpillFilePath(dir_, partition);
  const int64_t size = sizes_[partition];
  const uint32_t partitions = static_cast<uint32_t>(sizes_.size());
  // The in-memory sort needs the file and about a third more for its index.
  if (static_cast<uint64_t>(size) <= memory_bytes_ / 4 * 3) {
    absl::StatusOr<std::unique_ptr<MemorySource>> source =
        MemorySource::Load(path, size, partition, partitions);
    if (!source.ok()) return source.status();
    source_ = *std::move(source);
  } else {
    absl::StatusOr<std::unique_ptr<MergeSource>> source = MergeSource::Build(
        path, size, partition, partitions, memory_bytes_ / 2);
    if (!source.ok()) return source.status();
    source_ = *std::move(source);
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> SpillReader::Next(SpillRecord* record) {
  while (true) {
    if (source_ != nullptr) {
      absl::StatusOr<bool> more = source_->Next(record);
      if (!more.ok()) return more.status();
      if (*more) {
        if (next_partition_ == first_partition_ + 1 &&
            !after_patient_.empty() && record->patient_id <= after_patient_) {
          continue;  // audited before the resume
        }
        return true;
      }
      source_.reset();
    }
    if (next_partition_ >= sizes_.size()) return false;
    if (absl::Status status = LoadPartition(next_partition_++); !status.ok()) {
      return status;
    }
  }
}

}  // namespace needlecheck::batch
