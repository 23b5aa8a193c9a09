#include "common/files/bounded_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace needlecheck {
namespace {

// Closes a descriptor on every path out of ReadRegularFile.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;
  ~FdCloser() { close(fd_); }

 private:
  const int fd_;
};

absl::string_view FileKind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a file";
}

absl::Status OpenError(const std::string& path, int err) {
  const std::string message =
      absl::StrCat("cannot open \"", path, "\": ", std::strerror(err));
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return absl::NotFoundError(message);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(message);
    default:
      return absl::UnavailableError(message);
  }
}

absl::Status TooLarge(const std::string& path, size_t max_bytes) {
  return absl::ResourceExhaustedError(
      absl::StrCat("\"", path, "\" is larger than ", max_bytes, " bytes"));
}

}  // namespace

absl::StatusOr<std::string> ReadRegularFile(const std::string& path,
                                            size_t max_bytes) {
  int fd = -1;
  do {
    fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return OpenError(path, errno);
  FdCloser closer(fd);

  struct stat st;
  if (fstat(fd, &st) != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot stat \"", path, "\": ", std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "\"", path, "\" is not a regular file (", FileKind(st.st_mode), ")"));
  }
  if (st.st_size < 0 || static_cast<uint64_t>(st.st_size) > max_bytes) {
    return TooLarge(path, max_bytes);
  }

  // Read until end of file, but never past max_bytes: the file may have
  // grown since fstat().
  std::string content;
  content.reserve(static_cast<size_t>(st.st_size));
  char chunk[64 * 1024];
  while (true) {
    const ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::UnavailableError(
          absl::StrCat("cannot read \"", path, "\": ", std::strerror(errno)));
    }
    if (n == 0) break;
    if (static_cast<size_t>(n) > max_bytes - content.size()) {
      return TooLarge(path, max_bytes);
    }
    content.append(chunk, static_cast<size_t>(n));
  }
  return content;
}

}  // namespace needlecheck
