#include "adapters/batch/export/internal/gzip_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace needlecheck::batch::internal {

absl::Status FileOpenError(const std::string& path, int err) {
  const std::string what =
      absl::StrCat(path, ": cannot open: ", std::strerror(err));
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return absl::NotFoundError(what);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(what);
    default:
      return absl::UnknownError(what);
  }
}

absl::StatusOr<GzipFile> OpenGzipFile(const std::string& path,
                                      unsigned buffer_bytes) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return FileOpenError(path, errno);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    const int err = errno;
    close(fd);
    return FileOpenError(path, err);
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a regular file"));
  }
  gzFile file = gzdopen(fd, "rb");
  if (file == nullptr) {
    close(fd);
    return absl::ResourceExhaustedError(
        absl::StrCat(path, ": cannot open: out of memory (zlib)"));
  }
  gzbuffer(file, buffer_bytes);
  return GzipFile{file, static_cast<uint64_t>(st.st_size)};
}

}  // namespace needlecheck::batch::internal
