// Reading the CLI's input files and formatting what it prints.
//
// Contract
// - Pure functions over strings and messages: no I/O, no clock, no gRPC
//   (RPC errors come in as code, message and the serialized
//   google.rpc.Status details), so every function is unit-testable and
//   thread-safe.
// - Text output is for people: one block per alert, severity badge first.
//   With OutputStyle::color the badges carry ANSI colours; the caller decides
//   (UseColor(): a terminal and NO_COLOR unset or empty).
// - JSON output is the proto JSON mapping (lowerCamelCase names, enums as
//   names, default values printed), stable for scripts.
#ifndef TOOLS_CLI_CLI_OUTPUT_H_
#define TOOLS_CLI_CLI_OUTPUT_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "needlecheck/v1/knowledge_base.pb.h"
#include "needlecheck/v1/record.pb.h"
#include "needlecheck/v1/screening.pb.h"

namespace needlecheck::cli {

struct OutputStyle {
  // ANSI colours on severity badges and headings. Default: off.
  bool color = false;
};

// Whether to colour: only on a terminal, and not when NO_COLOR is set to a
// non-empty value (https://no-color.org). `no_color_env` may be null.
bool UseColor(bool stdout_is_tty, const char* no_color_env);

// Parses the proto JSON form of needlecheck.v1.PatientRecord. Unknown fields
// are errors. INVALID_ARGUMENT names `file_name` and the problem.
absl::StatusOr<needlecheck::v1::PatientRecord> ParseRecordJson(
    absl::string_view json, absl::string_view file_name);

// Proto JSON of any message, indented, default values included, ending in a
// newline.
std::string ToJson(const google::protobuf::Message& message);

// "CRITICAL", "WARNING", "INFO" (or "UNSPECIFIED").
std::string SeverityName(needlecheck::v1::Severity severity);

// The alerts of a ScreenResponse for people, or "No alerts" when none; with
// the knowledge-base version.
std::string FormatScreenResponse(
    const needlecheck::v1::ScreenResponse& response, const OutputStyle& style);

// The loaded knowledge base: version, rules (id, severity, enabled,
// category), value-set sizes.
std::string FormatKnowledgeBase(const needlecheck::v1::KnowledgeBase& kb,
                                const OutputStyle& style);

// An RPC failure: "<rpc> failed: <CODE>: <message>", then one line per
// google.rpc.BadRequest field violation found in `error_details` (a
// serialized google.rpc.Status; may be empty or unparsable, then ignored).
std::string FormatRpcError(absl::string_view rpc, absl::StatusCode code,
                           absl::string_view message,
                           absl::string_view error_details);

}  // namespace needlecheck::cli

#endif  // TOOLS_CLI_CLI_OUTPUT_H_
