#include "adapters/batch/run/findings_runs.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <queue>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "adapters/batch/run/spill_store.h"
#include "common/files/atomic_file.h"

namespace needlecheck::batch {
namespace {

constexpr size_t kFrameHeader = 8;
constexpr size_t kReadChunk = 64 << 10;  // per run: at most 256 of them

absl::Status Damaged(const std::string& path, int64_t offset,
                     absl::string_view what) {
  return absl::DataLossError(absl::StrCat("the findings part file ", path,
                                          " is damaged at byte ", offset, " (",
                                          what, ")"));
}

// Reads frames of [start, end) of the part file, one at a time.
class FrameCursor {
 public:
  FrameCursor(int fd, std::string path, int64_t start, int64_t end)
      : fd_(fd), path_(std::move(path)), offset_(start), end_(end) {}

  // Advances to the next frame; false at the end of the range.
  absl::StatusOr<bool> Advance() {
    pos_ += used_;
    used_ = 0;
    frame_start_ = offset_ - static_cast<int64_t>(buffer_.size() - pos_);
    if (pos_ == buffer_.size() && offset_ >= end_) return false;
    if (absl::Status status = Fill(kFrameHeader); !status.ok()) return status;
    uint32_t id_bytes, lines_bytes;
    std::memcpy(&id_bytes, buffer_.data() + pos_, 4);
    std::memcpy(&lines_bytes, buffer_.data() + pos_ + 4, 4);
    const size_t total = kFrameHeader + id_bytes + size_t{lines_bytes};
    if (id_bytes == 0) return Damaged(path_, frame_start_, "no patient id");
    if (absl::Status status = Fill(total); !status.ok()) return status;
    const char* frame = buffer_.data() + pos_;
    patient_id_ = absl::string_view(frame + kFrameHeader, id_bytes);
    lines_ = absl::string_view(frame + kFrameHeader + id_bytes, lines_bytes);
    used_ = total;
    return true;
  }
  absl::string_view patient_id() const { return patient_id_; }
  absl::string_view lines() const { return lines_; }
  int64_t frame_start() const { return frame_start_; }

 private:
  // Makes the buffer hold at least `want` bytes from pos_ on (moving what
  // is left to its start first, only when it must read).
  absl::Status Fill(size_t want) {
    if (buffer_.size() - pos_ >= want) return absl::OkStatus();
    buffer_.erase(0, pos_);
    pos_ = 0;
    while (buffer_.size() < want) {
      if (offset_ >= end_) {
        return Damaged(path_, frame_start_, "a frame cut short");
      }
      const size_t chunk = static_cast<size_t>(std::min<int64_t>(
          end_ - offset_,
          static_cast<int64_t>(std::max(kReadChunk, want - buffer_.size()))));
      const size_t at = buffer_.size();
      buffer_.resize(at + chunk);
      const ssize_t n = pread(fd_, buffer_.data() + at, chunk, offset_);
      if (n <= 0) {
        buffer_.resize(at);
        if (n < 0 && errno == EINTR) continue;
        return n < 0 ? absl::UnavailableError(absl::StrCat(
                           "cannot read ", path_, ": ", std::strerror(errno)))
                     : Damaged(path_, offset_, "shorter than committed");
      }
      buffer_.resize(at + static_cast<size_t>(n));
      offset_ += n;
    }
    return absl::OkStatus();
  }

  int fd_;
  std::string path_;
  int64_t offset_;
  int64_t end_;
  int64_t frame_start_ = 0;
  std::string buffer_;
  size_t pos_ = 0;   // where the current frame starts in buffer_
  size_t used_ = 0;  // its length
  absl::string_view patient_id_;
  absl::string_view lines_;
};

struct Fd {
  int fd;
  ~Fd() { close(fd); }
};

}  // namespace

void AppendFindingsFrame(absl::string_view patient_id, absl::string_view lines,
                         std::string* out) {
  const uint32_t id_bytes = static_cast<uint32_t>(patient_id.size());
  const uint32_t lines_bytes = static_cast<uint32_t>(lines.size());
  char header[kFrameHeader];
  std::memcpy(header, &id_bytes, 4);
  std::memcpy(header + 4, &lines_bytes, 4);
  out->append(header, kFrameHeader);
  out->append(patient_id.data(), patient_id.size());
  out->append(lines.data(), lines.size());
}

absl::Status MergeFindingsRuns(const std::string& part_path, int64_t bytes,
                               uint32_t partitions,
                               const std::string& out_path) {
  const Fd fd{open(part_path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (fd.fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot open ", part_path, ": ", std::strerror(errno)));
  }
  // The runs: where the partition of the patient changes.
  std::vector<int64_t> starts;
  {
    FrameCursor scan(fd.fd, part_path, 0, bytes);
    uint32_t partition = 0;
    std::string previous;
    while (true) {
      absl::StatusOr<bool> more = scan.Advance();
      if (!more.ok()) return more.status();
      if (!*more) break;
      const uint32_t p = SpillPartitionOf(scan.patient_id(), partitions);
      if (starts.empty() || p != partition) {
        starts.push_back(scan.frame_start());
        partition = p;
      } else if (scan.patient_id() <= previous) {
        return Damaged(part_path, scan.frame_start(), "out of patient order");
      }
      previous.assign(scan.patient_id().data(), scan.patient_id().size());
    }
  }
  std::vector<std::unique_ptr<FrameCursor>> runs;
  for (size_t i = 0; i < starts.size(); ++i) {
    runs.push_back(std::make_unique<FrameCursor>(
        fd.fd, part_path, starts[i],
        i + 1 < starts.size() ? starts[i + 1] : bytes));
  }
  const auto later = [&runs](size_t a, size_t b) {
    return runs[b]->patient_id() < runs[a]->patient_id();
  };
  std::priority_queue<size_t, std::vector<size_t>, decltype(later)> heap(later);
  for (size_t i = 0; i < runs.size(); ++i) {
    absl::StatusOr<bool> more = runs[i]->Advance();
    if (!more.ok()) return more.status();
    if (*more) heap.push(i);
  }
  absl::StatusOr<files::AtomicFileWriter> out =
      files::AtomicFileWriter::Create(out_path);
  if (!out.ok()) return out.status();
  while (!heap.empty()) {
    const size_t i = heap.top();
    heap.pop();
    if (absl::Status status = out->Append(runs[i]->lines()); !status.ok()) {
      return status;
    }
    absl::StatusOr<bool> more = runs[i]->Advance();
    if (!more.ok()) return more.status();
    if (*more) heap.push(i);
  }
  return out->Commit();
}

}  // namespace needlecheck::batch
