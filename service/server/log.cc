#include "service/server/log.h"

#include <unistd.h>

#include <cerrno>

#include "absl/base/thread_annotations.h"
#include "absl/strings/escaping.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/logging/log_digest.h"

namespace needlecheck::server {
namespace {

absl::Mutex log_mu(absl::kConstInit);

bool NeedsQuoting(absl::string_view value) {
  if (value.empty()) return true;
  for (char c : value) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u <= ' ' || u >= 0x7f || c == '"' || c == '=' || c == '\\') {
      return true;
    }
  }
  return false;
}

void AppendValue(std::string* out, absl::string_view value) {
  if (NeedsQuoting(value)) {
    absl::StrAppend(out, "\"", absl::CEscape(value), "\"");
  } else {
    absl::StrAppend(out, value);
  }
}

absl::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

}  // namespace

std::string RequestIdHash(absl::string_view request_id) {
  if (request_id.empty()) return "";
  return logging::LogDigest(request_id);
}

std::string FormatLogLine(absl::string_view timestamp, LogLevel level,
                          absl::string_view event,
                          std::initializer_list<LogField> fields) {
  std::string line =
      absl::StrCat("ts=", timestamp, " level=", LevelName(level), " event=");
  AppendValue(&line, event);
  for (const LogField& f : fields) {
    absl::StrAppend(&line, " ", f.key, "=");
    AppendValue(&line, f.value);
  }
  return line;
}

void Log(LogLevel level, absl::string_view event,
         std::initializer_list<LogField> fields) {
  const std::string ts = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                                          absl::UTCTimeZone());
  std::string line = FormatLogLine(ts, level, event, fields);
  line.push_back('\n');
  absl::MutexLock lock(&log_mu);
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    const ssize_t n = write(STDERR_FILENO, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace needlecheck::server
