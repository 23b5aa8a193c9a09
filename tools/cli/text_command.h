// `needlecheck text classify`: how the knowledge base's ConText lists read a
// phrase in a sentence, for knowledge-base authors. Runs in process: no
// server needed.
//
//   needlecheck text classify --tsv FILE [--knowledge_base FILE.textproto]
//   needlecheck text classify --term TERM --text SENTENCE [--json]
//                             [--knowledge_base FILE.textproto]
//
// Contract
// - --tsv: each line of FILE is TERM<TAB>SENTENCE (split at the first tab;
//   a trailing '\r' is dropped). One JSON object is printed per input line,
//   in order:
//     {"found": true|false, "negation": "affirmed"|"negated"|"possible",
//      "temporality": "recent"|"historical"|"hypothetical",
//      "experiencer": "patient"|"other"}
//   for the first occurrence of TERM in SENTENCE (any phrase; matched
//   case-insensitively as a token sequence, whitespace normalized; see
//   common/text/context.h FindPhrase). When TERM is not found, "found" is
//   false and the other fields are the defaults (affirmed, recent,
//   patient).
// - A bad line does not stop the run: its output line is
//     {"line": N, "error": "..."}
//   (N counts from 1), the same message goes to stderr as FILE:N: ..., the
//   remaining lines are classified, and the exit code is 2. Bad lines: no
//   tab, an empty TERM (no token), more than kMaxTextLineBytes bytes (read
//   in bounded pieces: an endless line costs no more memory than that). An
//   empty final line after the last newline is not a line.
// - A FILE that cannot be opened or read, or a knowledge base that does not
//   load, prints the error on stderr and exits 2 with nothing on stdout
//   (for a read error in the middle, what was printed stays printed).
// - --term/--text: one pair, printed readably (or as the JSON object with
//   --json); exit 0, or 2 when TERM has no token.
// - Exit codes as for every command: 0 done, 2 usage or input error.
#ifndef TOOLS_CLI_TEXT_COMMAND_H_
#define TOOLS_CLI_TEXT_COMMAND_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/text/context.h"

namespace needlecheck::cli {

inline constexpr size_t kMaxTextLineBytes = 1 << 20;  // 1 MiB

struct TextOptions {
  bool help = false;           // --help: print TextUsageText()
  std::string tsv_path;        // --tsv
  std::string term;            // --term
  std::string text;            // --text
  bool has_term = false;       // --term given (it may be "")
  bool has_text = false;       // --text given
  std::string knowledge_base;  // --knowledge_base; "": the bundled one
  bool json = false;           // --json (single-pair form)
};

// `args` are the arguments after "text". INVALID_ARGUMENT with a message a
// person can act on: no or another subcommand than "classify", unknown
// flags, a missing or repeated value, --tsv together with --term/--text,
// --term without --text (or the reverse), --json with --tsv.
absl::StatusOr<TextOptions> ParseTextArgs(const std::vector<std::string>& args);

// The JSON object for TERM in SENTENCE (no trailing newline).
std::string ClassifyToJson(const text::ContextClassifier& classifier,
                           absl::string_view term, absl::string_view sentence);

// The output line (no trailing newline) for one TSV line; `error` is set to
// the problem (and the result is the error object) for a bad line.
std::string ClassifyTsvLine(const text::ContextClassifier& classifier,
                            absl::string_view line, size_t line_number,
                            std::string* error);

std::string TextUsageText();

// Parses `args` (after "text"), runs and prints; the process exit code.
int RunTextCommand(const std::vector<std::string>& args);

}  // namespace needlecheck::cli

#endif  // TOOLS_CLI_TEXT_COMMAND_H_
