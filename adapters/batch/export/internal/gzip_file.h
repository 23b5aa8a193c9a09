// Opening an export file for reading through zlib, which reads gzip and
// plain files alike (told by the content, not the name): the one place the
// line reader and the bundle splitter open files.
//
// Contract: `path` must name a regular file. Errors name the path:
// NOT_FOUND (no such file), PERMISSION_DENIED, INVALID_ARGUMENT (not a
// regular file), RESOURCE_EXHAUSTED (zlib out of memory), UNKNOWN (other
// errno). On success the caller owns `file` (gzclose it).
#ifndef ADAPTERS_BATCH_EXPORT_INTERNAL_GZIP_FILE_H_
#define ADAPTERS_BATCH_EXPORT_INTERNAL_GZIP_FILE_H_

#include <zlib.h>

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace needlecheck::batch::internal {

struct GzipFile {
  gzFile file = nullptr;
  uint64_t size_bytes = 0;  // on disk (compressed size for gzip)
};

// Opens `path` and sets zlib's buffer to `buffer_bytes` (before any read,
// as zlib requires).
absl::StatusOr<GzipFile> OpenGzipFile(const std::string& path,
                                      unsigned buffer_bytes);

// The status for an open(2) failure `err` on `path`.
absl::Status FileOpenError(const std::string& path, int err);

}  // namespace needlecheck::batch::internal

#endif  // ADAPTERS_BATCH_EXPORT_INTERNAL_GZIP_FILE_H_
