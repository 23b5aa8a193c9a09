#include "adapters/batch/export/line_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "adapters/batch/export/internal/gzip_file.h"

namespace needlecheck::batch {
namespace {

constexpr size_t kMinReadChunk = size_t{64} << 10;

bool IsBlank(const char* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r') return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<NdjsonLineReader>> NdjsonLineReader::Open(
    const std::string& path, const LineReaderOptions& options) {
  if (options.max_line_bytes < 1) {
    return absl::InvalidArgumentError("max_line_bytes must be at least 1");
  }
  if (options.read_chunk_bytes < kMinReadChunk ||
      options.read_chunk_bytes > (size_t{1} << 30)) {
    return absl::InvalidArgumentError(
        "read_chunk_bytes must be between 64 KiB and 1 GiB");
  }
  if (options.gz_buffer_bytes < 1024) {
    return absl::InvalidArgumentError("gz_buffer_bytes must be at least 1024");
  }
  // Before the first read, as zlib requires (OpenGzipFile sets it).
  absl::StatusOr<internal::GzipFile> opened =
      internal::OpenGzipFile(path, options.gz_buffer_bytes);
  if (!opened.ok()) return opened.status();
  gzFile file = opened->file;
  // gzdirect() looks at the first bytes: gzip or plain.
  const bool gzip = gzdirect(file) == 0;
  int errnum = Z_OK;
  const char* message = gzerror(file, &errnum);
  if (errnum != Z_OK && errnum != Z_BUF_ERROR) {
    const std::string what = errnum == Z_ERRNO    ? std::strerror(errno)
                             : message != nullptr ? message
                                                  : "zlib error";
    gzclose(file);
    return absl::DataLossError(
        absl::StrCat(path, ": line 1: cannot read: ", what));
  }
  return std::make_unique<NdjsonLineReader>(Key(), path, options, file,
                                            opened->size_bytes, gzip);
}

NdjsonLineReader::NdjsonLineReader(Key, std::string path,
                                   const LineReaderOptions& options,
                                   gzFile_s* file, uint64_t file_size,
                                   bool gzip)
    : path_(std::move(path)),
      options_(options),
      file_(file),
      file_size_(file_size),
      gzip_(gzip),
      buffer_(std::make_unique<char[]>(options.read_chunk_bytes + kPadding)),
      capacity_(options.read_chunk_bytes) {
  begin_ = end_ = scan_ = buffer_.get();
}

NdjsonLineReader::~NdjsonLineReader() { gzclose(file_); }

absl::Status NdjsonLineReader::Fail(absl::Status status) {
  sticky_ = std::move(status);
  return sticky_;
}

absl::Status NdjsonLineReader::ReadError(int gz_errnum,
                                         const char* zlib_message) {
  std::string what;
  switch (gz_errnum) {
    case Z_ERRNO:
      what = absl::StrCat("read error: ", std::strerror(errno));
      break;
    case Z_BUF_ERROR:
      what = "gzip stream ends early (truncated file?)";
      break;
    case Z_DATA_ERROR:
      what = absl::StrCat("corrupt gzip data (",
                          zlib_message != nullptr ? zlib_message : "", ")");
      break;
    case Z_MEM_ERROR:
      what = "out of memory (zlib)";
      break;
    default:
      what = absl::StrCat("zlib error ", gz_errnum, " (",
                          zlib_message != nullptr ? zlib_message : "", ")");
      break;
  }
  return absl::DataLossError(
      absl::StrCat(path_, ": line ", line_number_ + 1, ": ", what));
}

absl::Status NdjsonLineReader::LineTooLong(int64_t number) const {
  return absl::ResourceExhaustedError(
      absl::StrCat(path_, ": line ", number, ": longer than ",
                   options_.max_line_bytes, " bytes (skipped)"));
}

absl::Status NdjsonLineReader::Fill() {
  if (eof_) return absl::OkStatus();
  const size_t keep = static_cast<size_t>(end_ - begin_);
  if (begin_ != buffer_.get()) {
    const size_t shift = static_cast<size_t>(begin_ - buffer_.get());
    std::memmove(buffer_.get(), begin_, keep);
    buffer_offset_ += shift;
    scan_ -= shift;
    begin_ = buffer_.get();
    end_ = begin_ + keep;
  }
  if (capacity_ - keep < options_.read_chunk_bytes) {
    // Only for a line longer than any before (bounded by max_line_bytes
    // plus one chunk, since longer partial lines are skipped).
    const size_t capacity = keep + options_.read_chunk_bytes;
    auto grown = std::make_unique<char[]>(capacity + kPadding);
    std::memcpy(grown.get(), buffer_.get(), keep);
    const size_t scanned = static_cast<size_t>(scan_ - begin_);
    buffer_ = std::move(grown);
    capacity_ = capacity;
    begin_ = buffer_.get();
    end_ = begin_ + keep;
    scan_ = begin_ + scanned;
  }
  const size_t want =
      std::min<size_t>(capacity_ - keep, static_cast<size_t>(INT_MAX));
  const int n = gzread(file_, end_, static_cast<unsigned>(want));
  int errnum = Z_OK;
  const char* message = gzerror(file_, &errnum);
  if (n < 0) return Fail(ReadError(errnum, message));
  end_ += n;
  if (static_cast<size_t>(n) < want) {
    // A short read is the end of the stream; zlib marks a gzip stream cut
    // short with Z_BUF_ERROR ("unexpected end of file").
    eof_ = true;
    if (errnum == Z_BUF_ERROR) truncated_ = true;
  }
  return absl::OkStatus();
}

absl::Status NdjsonLineReader::SkipRestOfLine() {
  for (;;) {
    if (begin_ < end_) {
      char* nl = static_cast<char*>(
          std::memchr(begin_, '\n', static_cast<size_t>(end_ - begin_)));
      if (nl != nullptr) {
        begin_ = scan_ = nl + 1;
        return absl::OkStatus();
      }
    }
    begin_ = scan_ = end_;
    if (eof_) {
      if (truncated_) return Fail(ReadError(Z_BUF_ERROR, nullptr));
      return absl::OkStatus();
    }
    if (absl::Status s = Fill(); !s.ok()) return s;
  }
}

absl::StatusOr<bool> NdjsonLineReader::Next(NdjsonLine* line) {
  if (!sticky_.ok()) return sticky_;
  for (;;) {
    char* nl = nullptr;
    if (scan_ < end_) {
      nl = static_cast<char*>(
          std::memchr(scan_, '\n', static_cast<size_t>(end_ - scan_)));
    }
    char* line_end = nl;
    if (nl == nullptr) {
      scan_ = end_;
      if (!eof_) {
        if (static_cast<size_t>(end_ - begin_) > options_.max_line_bytes) {
          const int64_t number = ++line_number_;
          line->text = absl::string_view();
          line->number = number;
          line->offset = OffsetOf(begin_);
          begin_ = scan_ = end_;
          if (absl::Status s = SkipRestOfLine(); !s.ok()) return s;
          return LineTooLong(number);
        }
        if (absl::Status s = Fill(); !s.ok()) return s;
        continue;
      }
      // End of the stream: an unterminated last line, unless it was cut.
      if (truncated_) return Fail(ReadError(Z_BUF_ERROR, nullptr));
      if (begin_ == end_) return false;
      line_end = end_;
    }
    char* start = begin_;
    begin_ = scan_ = nl != nullptr ? nl + 1 : end_;
    const int64_t number = ++line_number_;
    size_t len = static_cast<size_t>(line_end - start);
    if (len > options_.max_line_bytes) {
      line->text = absl::string_view();
      line->number = number;
      line->offset = OffsetOf(start);
      return LineTooLong(number);
    }
    if (len > 0 && start[len - 1] == '\r') --len;
    if (!options_.return_blank_lines && IsBlank(start, len)) continue;
    line->text = absl::string_view(start, len);
    line->number = number;
    line->offset = OffsetOf(start);
    return true;
  }
}

absl::Status NdjsonLineReader::SkipLines(int64_t n) {
  if (n < 0) return absl::InvalidArgumentError("SkipLines: n < 0");
  const int64_t target = line_number_ + n;
  while (line_number_ < target) {
    if (!sticky_.ok()) return sticky_;
    if (scan_ < end_) {
      char* nl = static_cast<char*>(
          std::memchr(scan_, '\n', static_cast<size_t>(end_ - scan_)));
      if (nl != nullptr) {
        begin_ = scan_ = nl + 1;
        ++line_number_;
        continue;
      }
    }
    scan_ = end_;
    if (eof_) {
      if (truncated_) return Fail(ReadError(Z_BUF_ERROR, nullptr));
      if (begin_ < end_) {
        begin_ = scan_ = end_;
        ++line_number_;
        continue;
      }
      return absl::OutOfRangeError(absl::StrCat(path_, ": has ", line_number_,
                                                " lines, cannot skip to line ",
                                                target + 1));
    }
    if (static_cast<size_t>(end_ - begin_) > options_.max_line_bytes) {
      begin_ = scan_ = end_;
      if (absl::Status s = SkipRestOfLine(); !s.ok()) return s;
      ++line_number_;
      continue;
    }
    if (absl::Status s = Fill(); !s.ok()) return s;
  }
  return absl::OkStatus();
}

LineCheckpoint NdjsonLineReader::checkpoint() const {
  LineCheckpoint c;
  c.offset = OffsetOf(begin_);
  c.next_line = line_number_ + 1;
  return c;
}

absl::Status NdjsonLineReader::Resume(const LineCheckpoint& checkpoint) {
  if (checkpoint.next_line < 1) {
    return absl::InvalidArgumentError("Resume: next_line must be >= 1");
  }
  if (checkpoint.offset > static_cast<uint64_t>(LONG_MAX)) {
    return absl::InvalidArgumentError("Resume: offset too large");
  }
  if (!gzip_ && checkpoint.offset > file_size_) {
    return absl::OutOfRangeError(
        absl::StrCat(path_, ": resume offset ", checkpoint.offset,
                     " is past the end (", file_size_, " bytes)"));
  }
  gzclearerr(file_);
  // Plain files: an lseek. gzip: zlib rewinds if needed and decompresses up
  // to the offset on the next read (the skip is deferred).
  if (gzseek(file_, static_cast<z_off_t>(checkpoint.offset), SEEK_SET) < 0) {
    int errnum = Z_OK;
    const char* message = gzerror(file_, &errnum);
    return Fail(ReadError(errnum, message));
  }
  sticky_ = absl::OkStatus();
  truncated_ = false;
  eof_ = false;
  begin_ = end_ = scan_ = buffer_.get();
  buffer_offset_ = checkpoint.offset;
  line_number_ = checkpoint.next_line - 1;
  return absl::OkStatus();
}

uint64_t NdjsonLineReader::file_bytes_consumed() const {
  const z_off_t off = gzoffset(file_);
  return off < 0 ? 0 : static_cast<uint64_t>(off);
}

}  // namespace needlecheck::batch
