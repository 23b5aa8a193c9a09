// Files that appear whole or not at all: a reader (or a restart after a
// crash) sees the old contents or the new, never a part.
//
// Contract
// - WriteFileAtomically(path, contents) and AtomicFileWriter both write a
//   temporary file "<path>.tmp" beside `path`, fsync it, rename it over
//   `path`, and fsync the folder, so that once they return OK the new file
//   survives a power loss.
// - On any error the temporary file is removed and `path` is untouched.
//   Errors are UNAVAILABLE and name the file and the system's reason.
// - AtomicFileWriter streams: Append() as often as needed, then Commit().
//   Destroyed without Commit() (an error, an early return): the temporary
//   file is removed and `path` is untouched.
// - Not thread-safe per writer; distinct paths are independent.
// - SyncFolderOf(path): the fsync of the folder holding `path` ("." for a
//   bare name) that both use, for code that renames or creates files
//   itself: OK, or UNAVAILABLE naming the folder and the system's reason.
//
// Example
//   ASSIGN_OR_RETURN(AtomicFileWriter out, AtomicFileWriter::Create(path));
//   for (const auto& line : lines) RETURN_IF_ERROR(out.Append(line));
//   RETURN_IF_ERROR(out.Commit());
#ifndef COMMON_FILES_ATOMIC_FILE_H_
#define COMMON_FILES_ATOMIC_FILE_H_

#include <cstdio>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace needlecheck::files {

absl::Status WriteFileAtomically(const std::string& path,
                                 absl::string_view contents);

absl::Status SyncFolderOf(const std::string& path);

class AtomicFileWriter {
 public:
  static absl::StatusOr<AtomicFileWriter> Create(const std::string& path);

  AtomicFileWriter(AtomicFileWriter&&) = default;
  AtomicFileWriter& operator=(AtomicFileWriter&&) = default;
  ~AtomicFileWriter();

  absl::Status Append(absl::string_view bytes);
  // Flushes, fsyncs, renames into place and fsyncs the folder. Once.
  absl::Status Commit();

  const std::string& path() const { return path_; }

 private:
  struct FileCloser {
    void operator()(std::FILE* file) const;
  };
  AtomicFileWriter(std::string path, std::string temp, std::FILE* file)
      : path_(std::move(path)), temp_(std::move(temp)), file_(file) {}

  std::string path_;
  std::string temp_;
  std::unique_ptr<std::FILE, FileCloser> file_;  // null once committed
};

}  // namespace needlecheck::files

#endif  // COMMON_FILES_ATOMIC_FILE_H_
