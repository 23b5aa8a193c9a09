// ReadRegularFile: reads a whole configuration file (knowledge base, and
// later TLS certificates or policies) with bounds, so that a path pointing
// at something other than a file can neither block the reader nor grow its
// memory without limit.
//
// Contract
// - The path is opened with O_NONBLOCK (a FIFO without a writer does not
//   block the open) and checked with fstat() on the opened descriptor (no
//   race with a rename between check and read). Symlinks are followed: a
//   symlink to a regular file is fine, one to /dev/zero is not.
// - Only a regular file is read: anything else (character device such as
//   /dev/zero, FIFO, socket, directory) is FAILED_PRECONDITION "... is not
//   a regular file (a FIFO)".
// - At most `max_bytes` are read: a larger file (by its size, or because it
//   grows while being read) is RESOURCE_EXHAUSTED "... is larger than N
//   bytes", without reading more than max_bytes + 1 bytes.
// - NOT_FOUND when the path does not exist, PERMISSION_DENIED when it
//   cannot be opened for reading, UNAVAILABLE for other read errors. Every
//   message names the path.
// - Thread-safe (no state); blocking only as long as reading a regular file
//   of at most max_bytes takes.
//
// Example
//   ASSIGN_OR_RETURN(std::string text,
//                    ReadRegularFile(path, kMaxKnowledgeBaseFileBytes));
#ifndef COMMON_FILES_BOUNDED_FILE_H_
#define COMMON_FILES_BOUNDED_FILE_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"

namespace needlecheck {

absl::StatusOr<std::string> ReadRegularFile(const std::string& path,
                                            size_t max_bytes);

}  // namespace needlecheck

#endif  // COMMON_FILES_BOUNDED_FILE_H_
