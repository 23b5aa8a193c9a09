// NdjsonLineReader: the lines of one NDJSON file, plain or gzip, one by
// one, fast. Part of `needlecheck_batch_export` (reading the export).
//
// What it returns. Each line without its "\n" or "\r\n" (a lone trailing
// "\r" is removed too), with its 1-based line number and the byte offset of
// its start in the (decompressed) stream. The last line need not end with
// a newline. Blank lines (empty, or only spaces, tabs and "\r") are counted
// in the numbering but not returned unless LineReaderOptions says so, so
// the numbers always match what an editor shows.
//
// Compression. The file is opened with zlib (gzdopen), which detects gzip
// from the content and reads other files transparently: the file name does
// not matter. Concatenated gzip members are read as one stream.
//
// The returned text: a view into the reader's buffer, valid until the next
// call of Next(), SkipLines() or Resume() (or the reader's destruction). No
// allocation per line: the buffer grows only for lines longer than any
// before. Padding: at least kPadding (64) readable bytes follow the end of
// every returned view (their content is unspecified), which is what
// simdjson asks for (SIMDJSON_PADDING): pass the view to
// ResourceRouter::RoutePadded() or simdjson's parse(data, size, false)
// without a copy.
//
// Errors. Next() returns true (a line), false (end of file) or an error:
//   RESOURCE_EXHAUSTED  that ONE line is longer than max_line_bytes: it has
//                       been skipped (up to the next newline); `line->number`
//                       says which; the reader goes on with the next line on
//                       the next call (the caller counts it as malformed).
//                       IsLineError() tells this case apart.
//   DATA_LOSS           the file cannot be read any further: gzip stream
//                       truncated ("ends early"), corrupt gzip data, or a
//                       read error. Sticky: every later call returns it.
// Every message starts with "<path>: line <n>: ". Open() errors: NOT_FOUND
// (no such file), PERMISSION_DENIED, INVALID_ARGUMENT (not a regular file,
// bad options), DATA_LOSS (the first bytes cannot be read), UNKNOWN (other
// errno), RESOURCE_EXHAUSTED (zlib out of memory); they start with
// "<path>: ".
//
// Resuming. checkpoint() after a line gives {offset, next line number};
// Resume(checkpoint) on a fresh reader of the same file continues there.
// For a plain file that is one lseek (cheap at any size); for gzip, zlib
// decompresses and discards everything before the offset (costs about as
// much as reading up to it, minus the line splitting). SkipLines(n) skips
// n lines by counting newlines.
//
// Progress. file_bytes_consumed() is how far into the FILE zlib has read
// (compressed bytes for gzip), to compare with file_size(); it runs ahead
// of the returned lines by at most one buffer.
//
// Thread safety: a reader is used by one thread at a time. Readers of
// different files (or the same file) are independent.
//
// Example:
//   ASSIGN_OR_RETURN(auto reader, NdjsonLineReader::Open(file.path));
//   NdjsonLine line;
//   for (;;) {
//     absl::StatusOr<bool> more = reader->Next(&line);
//     if (!more.ok()) {
//       if (NdjsonLineReader::IsLineError(more.status())) {
//         ++malformed;  // too long; message names file and line
//         continue;
//       }
//       return more.status();  // the rest of the file is unreadable
//     }
//     if (!*more) break;
//     Use(line.number, line.text);
//   }
#ifndef ADAPTERS_BATCH_EXPORT_LINE_READER_H_
#define ADAPTERS_BATCH_EXPORT_LINE_READER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

// zlib's file handle, without including zlib.h here.
struct gzFile_s;

namespace needlecheck::batch {

struct LineReaderOptions {
  // Longest line accepted, in bytes, counting everything before the "\n"
  // (a "\r" included). A longer line is skipped and reported (see above).
  // Default 64 MiB, the FHIR adapter's max_input_bytes.
  size_t max_line_bytes = size_t{64} << 20;
  // How much the reader asks zlib for at a time (decompressed bytes); also
  // the buffer's initial size. Default 4 MiB. Minimum 64 KiB.
  size_t read_chunk_bytes = size_t{4} << 20;
  // zlib's own buffer (gzbuffer), for the compressed input. zlib hands
  // reads of at least twice this size straight into our buffer. Default
  // 1 MiB (zlib's default is 8 KiB).
  unsigned gz_buffer_bytes = 1u << 20;
  // Return blank lines too (as empty or whitespace views). Default false:
  // blank lines are numbered and skipped.
  bool return_blank_lines = false;
};

// One line. `text` points into the reader's buffer (see the top of this
// file for how long it stays valid and the padding after it).
struct NdjsonLine {
  absl::string_view text;
  int64_t number = 0;   // 1-based
  uint64_t offset = 0;  // byte offset of the line's start in the stream
};

// Where to resume: the line that starts at `offset` is line `next_line`.
struct LineCheckpoint {
  uint64_t offset = 0;
  int64_t next_line = 1;
};

class NdjsonLineReader {
 public:
  // Readable bytes guaranteed after every returned line (>= simdjson's
  // SIMDJSON_PADDING; resource_route.cc checks it at compile time).
  static constexpr size_t kPadding = 64;

  // Opens `path` (plain or gzip). Errors as listed at the top of this file.
  static absl::StatusOr<std::unique_ptr<NdjsonLineReader>> Open(
      const std::string& path, const LineReaderOptions& options = {});

  ~NdjsonLineReader();
  NdjsonLineReader(const NdjsonLineReader&) = delete;
  NdjsonLineReader& operator=(const NdjsonLineReader&) = delete;

  // The next line: true (in *line), false at end of file, or an error (see
  // the top of this file). On RESOURCE_EXHAUSTED, line->number is the
  // skipped line's number and line->text is empty.
  absl::StatusOr<bool> Next(NdjsonLine* line);

  // True for the per-line error of Next() (the reader can go on).
  static bool IsLineError(const absl::Status& status) {
    return status.code() == absl::StatusCode::kResourceExhausted;
  }

  // Skips the next `n` lines (blank and over-long lines count as lines).
  // OUT_OF_RANGE if the file ends first (the reader is then at its end);
  // DATA_LOSS as for Next(); INVALID_ARGUMENT if n < 0.
  absl::Status SkipLines(int64_t n);

  // Where the next line starts and its number.
  LineCheckpoint checkpoint() const;

  // Continues at a checkpoint taken on the same file contents (the offset
  // must be the start of a line; this is not checked). Allowed at any time,
  // also after an error or the end of the file. INVALID_ARGUMENT for
  // next_line < 1; OUT_OF_RANGE for a plain file shorter than the offset
  // (for gzip the next Next() simply reports the end of the file); DATA_LOSS
  // if zlib cannot seek.
  absl::Status Resume(const LineCheckpoint& checkpoint);

  // Number of the last line read (returned, skipped or too long); 0 before
  // the first.
  int64_t line_number() const { return line_number_; }
  // Bytes of the FILE read so far (compressed bytes for gzip).
  uint64_t file_bytes_consumed() const;
  // The file's size on disk when opened.
  uint64_t file_size() const { return file_size_; }
  // The content is gzip (detected by zlib, not from the name).
  bool gzip() const { return gzip_; }
  const std::string& path() const { return path_; }

  // Only Open() can make the key: use Open().
  class Key {
    friend class NdjsonLineReader;
    Key() = default;
  };
  NdjsonLineReader(Key, std::string path, const LineReaderOptions& options,
                   gzFile_s* file, uint64_t file_size, bool gzip);

 private:
  // Reads more data after end_, compacting and growing the buffer as
  // needed. Sets eof_ at the end of the stream.
  absl::Status Fill();
  // Discards the rest of an over-long line (up to and including "\n").
  absl::Status SkipRestOfLine();
  absl::Status Fail(absl::Status status);
  absl::Status ReadError(int gz_errnum, const char* zlib_message);
  absl::Status LineTooLong(int64_t number) const;
  uint64_t OffsetOf(const char* p) const {
    return buffer_offset_ + static_cast<uint64_t>(p - buffer_.get());
  }

  std::string path_;
  LineReaderOptions options_;
  gzFile_s* file_;
  uint64_t file_size_;
  bool gzip_;

  // buffer_[0, capacity_) holds data; kPadding more bytes are allocated.
  std::unique_ptr<char[]> buffer_;
  size_t capacity_ = 0;
  char* begin_ = nullptr;  // the unread data: [begin_, end_)
  char* end_ = nullptr;
  char* scan_ = nullptr;        // no "\n" in [begin_, scan_)
  uint64_t buffer_offset_ = 0;  // stream offset of buffer_[0]
  bool eof_ = false;
  bool truncated_ = false;  // the gzip stream ended early (at eof_)
  int64_t line_number_ = 0;
  absl::Status sticky_;  // DATA_LOSS once the stream is broken
};

}  // namespace needlecheck::batch

#endif  // ADAPTERS_BATCH_EXPORT_LINE_READER_H_
