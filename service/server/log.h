// Structured one-line logs on stderr for needlecheckd.
//
// Contract
// - One event per line: "ts=2026-11-23T10:00:00.123Z level=info
//   event=kb_loaded version=2026.11.1 rules=18". Values with spaces, quotes,
//   '=' or control characters are quoted and C-escaped; each line is written
//   with a single write under a mutex, so lines never interleave.
// - NEVER log patient data: no patient or entry ids, names, notes, codes or
//   texts from records, nor any other request content. Counts, durations,
//   field paths ("session.date"), status codes and configuration (file
//   names, knowledge-base errors) are fine. A request id is the caller's
//   text (the CDS Hooks gateway passes its hookInstance): log it only as
//   request_id_hash=RequestIdHash(id), never verbatim.
// - Thread-safe.
#ifndef SERVICE_SERVER_LOG_H_
#define SERVICE_SERVER_LOG_H_

#include <initializer_list>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace needlecheck::server {

struct LogField {
  LogField(absl::string_view k, const absl::AlphaNum& v)
      : key(k), value(v.Piece()) {}
  absl::string_view key;
  std::string value;
};

enum class LogLevel { kInfo, kWarning, kError };

void Log(LogLevel level, absl::string_view event,
         std::initializer_list<LogField> fields = {});

inline void LogInfo(absl::string_view event,
                    std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kInfo, event, fields);
}
inline void LogWarning(absl::string_view event,
                       std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kWarning, event, fields);
}
inline void LogError(absl::string_view event,
                     std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kError, event, fields);
}

// The LogDigest() of `request_id` (common/logging/log_digest.h: the first
// 16 hex digits of its SHA-256), for the "request_id_hash" field: a caller
// who knows its request id can find its lines, while the log carries none of
// the caller's text. "" for "".
std::string RequestIdHash(absl::string_view request_id);

// The log line for an event, without the trailing newline (for tests).
std::string FormatLogLine(absl::string_view timestamp, LogLevel level,
                          absl::string_view event,
                          std::initializer_list<LogField> fields);

}  // namespace needlecheck::server

#endif  // SERVICE_SERVER_LOG_H_
