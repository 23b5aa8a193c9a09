#include "tools/cli/text_command.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "service/kb/knowledge_base.h"
#include "tools/cli/cli_args.h"

namespace needlecheck::cli {
namespace {

absl::Status UsageError(absl::string_view message) {
  return absl::InvalidArgumentError(message);
}

void PrintError(absl::string_view message) {
  std::cerr << "needlecheck: " << message << "\n";
}

// Fixed messages only: a line's content (possibly patient text) is never
// echoed.
constexpr char kNoTab[] = "no tab between TERM and SENTENCE";
constexpr char kEmptyTerm[] = "TERM has no letters, digits or punctuation";
constexpr char kTooLong[] = "line longer than 1 MiB";

std::string ErrorObject(size_t line_number, absl::string_view error) {
  return absl::StrCat("{\"line\": ", line_number, ", \"error\": \"", error,
                      "\"}");
}

// Reads lines of at most kMaxTextLineBytes from a FILE*, in bounded pieces.
class LineReader {
 public:
  explicit LineReader(std::FILE* file) : file_(file) {}

  // False at the end (or on a read error: see failed()). `oversized` is set
  // when the line was longer than the limit (its text is then cut).
  bool Next(std::string* line, bool* oversized) {
    line->clear();
    *oversized = false;
    bool any = false;
    for (;;) {
      if (pos_ == end_) {
        end_ = std::fread(buffer_, 1, sizeof(buffer_), file_);
        pos_ = 0;
        if (end_ == 0) {
          failed_ = std::ferror(file_) != 0;
          return any;
        }
      }
      any = true;
      const char* start = buffer_ + pos_;
      const void* nl = std::memchr(start, '\n', end_ - pos_);
      const size_t n =
          nl != nullptr
              ? static_cast<size_t>(static_cast<const char*>(nl) - start)
              : end_ - pos_;
      if (line->size() + n > kMaxTextLineBytes) {
        *oversized = true;
        line->append(start, kMaxTextLineBytes - line->size());
      } else if (!*oversized) {
        line->append(start, n);
      }
      pos_ += n;
      if (nl != nullptr) {
        ++pos_;  // the newline
        return true;
      }
    }
  }
  bool failed() const { return failed_; }

 private:
  std::FILE* file_;
  char buffer_[1 << 16];
  size_t pos_ = 0;
  size_t end_ = 0;
  bool failed_ = false;
};

absl::StatusOr<std::shared_ptr<const kb::KnowledgeBase>> LoadKb(
    const TextOptions& options) {
  return options.knowledge_base.empty()
             ? kb::LoadBundledKnowledgeBase()
             : kb::LoadKnowledgeBaseFile(options.knowledge_base);
}

int RunTsv(const TextOptions& options,
           const text::ContextClassifier& classifier) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(
      std::fopen(options.tsv_path.c_str(), "rb"), &std::fclose);
  if (file == nullptr) {
    PrintError(absl::StrCat(options.tsv_path,
                            ": cannot open: ", std::strerror(errno)));
    return kExitUsage;
  }
  LineReader reader(file.get());
  std::string line, out, error;
  bool oversized = false;
  bool any_bad = false;
  size_t line_number = 0;
  while (reader.Next(&line, &oversized)) {
    ++line_number;
    if (oversized) {
      error = kTooLong;
      absl::StrAppend(&out, ErrorObject(line_number, error), "\n");
    } else {
      absl::StrAppend(
          &out, ClassifyTsvLine(classifier, line, line_number, &error), "\n");
    }
    if (!error.empty()) {
      any_bad = true;
      PrintError(absl::StrCat(options.tsv_path, ":", line_number, ": ", error));
    }
    if (out.size() > (1 << 16)) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      out.clear();
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
  if (reader.failed()) {
    PrintError(absl::StrCat(options.tsv_path, ": read error after line ",
                            line_number));
    return kExitUsage;
  }
  return any_bad ? kExitUsage : kExitOk;
}

int RunPair(const TextOptions& options,
            const text::ContextClassifier& classifier) {
  const auto span = text::FindPhrase(options.text, options.term);
  if (text::NormalizedPhrase(options.term).empty()) {
    PrintError(kEmptyTerm);
    return kExitUsage;
  }
  if (options.json) {
    std::cout << ClassifyToJson(classifier, options.term, options.text) << "\n";
    return kExitOk;
  }
  if (!span.has_value()) {
    std::cout << "term:        not found in the text\n";
    return kExitOk;
  }
  const text::MentionContext c =
      classifier.Classify(options.text, span->first, span->second);
  std::cout << "term:        \""
            << options.text.substr(span->first, span->second - span->first)
            << "\" at bytes " << span->first << "-" << span->second << "\n"
            << "negation:    " << text::NegationName(c.negation) << "\n"
            << "temporality: " << text::TemporalityName(c.temporality) << "\n"
            << "experiencer: " << text::ExperiencerName(c.experiencer) << "\n";
  return kExitOk;
}

}  // namespace

absl::StatusOr<TextOptions> ParseTextArgs(
    const std::vector<std::string>& args) {
  TextOptions options;
  for (const std::string& arg : args) {
    if (arg == "--help" || arg == "-h" || arg == "-help") {
      options.help = true;
      return options;
    }
  }
  if (args.empty() || args[0] != "classify") {
    return UsageError(args.empty()
                          ? "'text' needs a subcommand: classify"
                          : absl::StrCat("unknown 'text' subcommand '", args[0],
                                         "' (expected classify)"));
  }
  bool seen_tsv = false, seen_kb = false, seen_json = false;
  for (size_t i = 1; i < args.size(); ++i) {
    absl::StatusOr<FlagArgument> flag =
        ParseFlagArgument(args[i], "text classify");
    if (!flag.ok()) return flag.status();
    const std::string& name = flag->name;
    std::string& value = flag->value;
    const bool has_value = flag->has_value;
    if (name == "json") {
      if (has_value) return UsageError("--json takes no value");
      if (seen_json) return UsageError("--json given twice");
      seen_json = options.json = true;
      continue;
    }
    bool* seen = nullptr;
    std::string* target = nullptr;
    if (name == "tsv") {
      seen = &seen_tsv;
      target = &options.tsv_path;
    } else if (name == "term") {
      seen = &options.has_term;
      target = &options.term;
    } else if (name == "text") {
      seen = &options.has_text;
      target = &options.text;
    } else if (name == "knowledge_base") {
      seen = &seen_kb;
      target = &options.knowledge_base;
    } else {
      return UsageError(
          absl::StrCat("unknown flag '--", name, "' for 'text classify'"));
    }
    if (*seen) return UsageError(absl::StrCat("--", name, " given twice"));
    if (!has_value) {
      if (i + 1 >= args.size()) {
        return UsageError(absl::StrCat("--", name, " needs a value"));
      }
      value = args[++i];
    }
    *seen = true;
    *target = value;
  }
  if (seen_tsv && (options.has_term || options.has_text)) {
    return UsageError("--tsv cannot be combined with --term/--text");
  }
  if (seen_tsv && options.json) {
    return UsageError("--tsv always prints JSON lines; drop --json");
  }
  if (seen_tsv && options.tsv_path.empty()) {
    return UsageError("--tsv needs a file name");
  }
  if (!seen_tsv && !(options.has_term && options.has_text)) {
    return UsageError(
        "'text classify' needs --tsv FILE, or both --term and --text");
  }
  if (seen_kb && options.knowledge_base.empty()) {
    return UsageError("--knowledge_base needs a file name");
  }
  return options;
}

std::string ClassifyToJson(const text::ContextClassifier& classifier,
                           absl::string_view term, absl::string_view sentence) {
  const auto span = text::FindPhrase(sentence, term);
  text::MentionContext c;
  if (span.has_value())
    c = classifier.Classify(sentence, span->first, span->second);
  return absl::StrCat(
      "{\"found\": ", span.has_value() ? "true" : "false", ", \"negation\": \"",
      text::NegationName(c.negation), "\", \"temporality\": \"",
      text::TemporalityName(c.temporality), "\", \"experiencer\": \"",
      text::ExperiencerName(c.experiencer), "\"}");
}

std::string ClassifyTsvLine(const text::ContextClassifier& classifier,
                            absl::string_view line, size_t line_number,
                            std::string* error) {
  error->clear();
  if (absl::EndsWith(line, "\r")) line.remove_suffix(1);
  if (line.size() > kMaxTextLineBytes) {
    *error = kTooLong;
    return ErrorObject(line_number, *error);
  }
  const size_t tab = line.find('\t');
  if (tab == absl::string_view::npos) {
    *error = kNoTab;
    return ErrorObject(line_number, *error);
  }
  const absl::string_view term = line.substr(0, tab);
  if (text::NormalizedPhrase(term).empty()) {
    *error = kEmptyTerm;
    return ErrorObject(line_number, *error);
  }
  return ClassifyToJson(classifier, term, line.substr(tab + 1));
}

std::string TextUsageText() {
  return R"(needlecheck text classify: how the knowledge base's ConText lists read a phrase.

Usage:
  needlecheck text classify --tsv FILE [--knowledge_base FILE.textproto]
  needlecheck text classify --term TERM --text SENTENCE [--json] [--knowledge_base FILE.textproto]

Runs locally (no server). For the first occurrence of TERM in SENTENCE (any phrase,
case-insensitive, any whitespace) prints its negation (affirmed, negated, possible),
temporality (recent, historical, hypothetical) and experiencer (patient, other).

  --tsv FILE        lines TERM<TAB>SENTENCE; prints one JSON object per line, in order:
                    {"found": true, "negation": "negated", "temporality": "recent",
                     "experiencer": "patient"}
                    A bad line (no tab, empty TERM, over 1 MiB) prints
                    {"line": N, "error": "..."} in its place, is reported on stderr as
                    FILE:N, and makes the exit code 2; the other lines are still classified.
  --term, --text    one pair, printed for people (--json: the JSON object)
  --knowledge_base  the knowledge-base file whose context lists to use (default: bundled)
)";
}

int RunTextCommand(const std::vector<std::string>& args) {
  absl::StatusOr<TextOptions> options = ParseTextArgs(args);
  if (!options.ok()) {
    PrintError(options.status().message());
    std::cerr << "Run 'needlecheck text --help' for usage.\n";
    return kExitUsage;
  }
  if (options->help) {
    std::cout << TextUsageText();
    return kExitOk;
  }
  absl::StatusOr<std::shared_ptr<const kb::KnowledgeBase>> kb =
      LoadKb(*options);
  if (!kb.ok()) {
    // The loader's messages already start with FILE:LINE:COL.
    std::cerr << kb.status().message() << "\n";
    return kExitUsage;
  }
  const text::ContextClassifier& classifier = (*kb)->context_classifier();
  return options->tsv_path.empty() ? RunPair(*options, classifier)
                                   : RunTsv(*options, classifier);
}

}  // namespace needlecheck::cli
