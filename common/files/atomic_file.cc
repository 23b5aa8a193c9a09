#include "common/files/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace needlecheck::files {
namespace {

absl::Status ErrnoError(absl::string_view what, const std::string& path) {
  return absl::UnavailableError(
      absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

}  // namespace

// The folder's entry for the renamed file is durable only once the folder
// itself is fsynced.
absl::Status SyncFolderOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string folder = slash == std::string::npos
                                 ? "."
                                 : (slash == 0 ? "/" : path.substr(0, slash));
  const int fd = open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot open the folder", folder);
  const int rc = fsync(fd);
  const int saved = errno;
  close(fd);
  errno = saved;
  if (rc != 0) return ErrnoError("cannot sync the folder", folder);
  return absl::OkStatus();
}

void AtomicFileWriter::FileCloser::operator()(std::FILE* file) const {
  if (file != nullptr) std::fclose(file);
}

absl::StatusOr<AtomicFileWriter> AtomicFileWriter::Create(
    const std::string& path) {
  std::string temp = absl::StrCat(path, ".tmp");
  std::FILE* file = std::fopen(temp.c_str(), "wbe");  // e: O_CLOEXEC
  if (file == nullptr) return ErrnoError("cannot create", temp);
  return AtomicFileWriter(path, std::move(temp), file);
}

AtomicFileWriter::~AtomicFileWriter() {
  if (file_ != nullptr) {
    file_.reset();
    std::remove(temp_.c_str());
  }
}

absl::Status AtomicFileWriter::Append(absl::string_view bytes) {
  if (file_ == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("append to ", path_, " after it was committed"));
  }
  if (!bytes.empty() &&
      std::fwrite(bytes.data(), 1, bytes.size(), file_.get()) != bytes.size()) {
    return ErrnoError("cannot write", temp_);
  }
  return absl::OkStatus();
}

absl::Status AtomicFileWriter::Commit() {
  if (file_ == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat(path_, " was already committed"));
  }
  if (std::fflush(file_.get()) != 0 || fsync(fileno(file_.get())) != 0) {
    return ErrnoError("cannot write", temp_);
  }
  if (std::fclose(file_.release()) != 0) {
    std::remove(temp_.c_str());
    return ErrnoError("cannot write", temp_);
  }
  if (std::rename(temp_.c_str(), path_.c_str()) != 0) {
    const absl::Status error = ErrnoError("cannot rename to", path_);
    std::remove(temp_.c_str());
    return error;
  }
  return SyncFolderOf(path_);
}

absl::Status WriteFileAtomically(const std::string& path,
                                 absl::string_view contents) {
  absl::StatusOr<AtomicFileWriter> writer = AtomicFileWriter::Create(path);
  if (!writer.ok()) return writer.status();
  if (absl::Status status = writer->Append(contents); !status.ok()) {
    return status;
  }
  return writer->Commit();
}

}  // namespace needlecheck::files
