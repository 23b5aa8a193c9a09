// `needlecheck text classify`: the argument parser and the per-line output
// in process, then the real binary on real files (both forms, bad lines,
// unreadable files, an oversized line, a custom knowledge base).
#include "tools/cli/text_command.h"

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/kb/knowledge_base.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"
#include "tests/tools/run_command.h"

namespace needlecheck::cli {
namespace {

using ::needlecheck::testing::CommandResult;
using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::RunCommand;
using ::needlecheck::testing::ScopedTempDir;
using ::needlecheck::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ParseTextArgsTest, BothForms) {
  auto tsv = ParseTextArgs({"classify", "--tsv", "in.tsv"});
  ASSERT_THAT(tsv, IsOk());
  EXPECT_EQ(tsv->tsv_path, "in.tsv");
  auto pair =
      ParseTextArgs({"classify", "--term=lidocaine", "--text", "no lidocaine",
                     "--json", "--knowledge_base", "kb.textproto"});
  ASSERT_THAT(pair, IsOk());
  EXPECT_EQ(pair->term, "lidocaine");
  EXPECT_EQ(pair->text, "no lidocaine");
  EXPECT_TRUE(pair->json);
  EXPECT_EQ(pair->knowledge_base, "kb.textproto");
  EXPECT_TRUE(ParseTextArgs({"--help"})->help);
}

TEST(ParseTextArgsTest, UsageErrors) {
  for (const auto& [args, message] :
       std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{}, "needs a subcommand"},
           {{"show"}, "unknown 'text' subcommand 'show'"},
           {{"classify"}, "needs --tsv FILE, or both --term and --text"},
           {{"classify", "--term", "x"}, "both --term and --text"},
           {{"classify", "--tsv"}, "--tsv needs a value"},
           {{"classify", "--tsv", "a", "--tsv", "b"}, "--tsv given twice"},
           {{"classify", "--tsv", "a", "--term", "x", "--text", "y"},
            "cannot be combined"},
           {{"classify", "--tsv", "a", "--json"}, "drop --json"},
           {{"classify", "--tsv", "a", "--bogus", "1"}, "unknown flag"},
           {{"classify", "stray"}, "unexpected argument"},
       }) {
    EXPECT_THAT(
        ParseTextArgs(args),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(message)))
        << absl::StrJoin(args, " ");
  }
}

class ClassifyLineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto kb = kb::LoadBundledKnowledgeBase();
    ASSERT_THAT(kb, IsOk());
    kb_ = new std::shared_ptr<const kb::KnowledgeBase>(*std::move(kb));
  }
  static void TearDownTestSuite() { delete kb_; }
  static const text::ContextClassifier& Classifier() {
    return (*kb_)->context_classifier();
  }
  static std::shared_ptr<const kb::KnowledgeBase>* kb_;
};
std::shared_ptr<const kb::KnowledgeBase>* ClassifyLineTest::kb_ = nullptr;

TEST_F(ClassifyLineTest, JsonObjectPerLine) {
  std::string error;
  EXPECT_EQ(
      ClassifyTsvLine(Classifier(),
                      "lidocaine\tDenies any history of allergic reaction to "
                      "lidocaine",
                      1, &error),
      "{\"found\": true, \"negation\": \"negated\", \"temporality\": "
      "\"historical\", \"experiencer\": \"patient\"}");
  EXPECT_EQ(error, "");
  EXPECT_EQ(ClassifyTsvLine(Classifier(),
                            "LIDOCAINE  ALLERGY\tlidocaine allergy unlikely\r",
                            2, &error),
            "{\"found\": true, \"negation\": \"possible\", \"temporality\": "
            "\"recent\", \"experiencer\": \"patient\"}");
  EXPECT_EQ(
      ClassifyTsvLine(Classifier(), "lidocaine\tmother allergic to lidocaine",
                      3, &error),
      "{\"found\": true, \"negation\": \"affirmed\", \"temporality\": "
      "\"recent\", \"experiencer\": \"other\"}");
  EXPECT_EQ(
      ClassifyTsvLine(Classifier(), "rash\tif a rash develops", 4, &error),
      "{\"found\": true, \"negation\": \"affirmed\", \"temporality\": "
      "\"hypothetical\", \"experiencer\": \"patient\"}");
  EXPECT_EQ(ClassifyTsvLine(Classifier(), "latex\tno lidocaine", 5, &error),
            "{\"found\": false, \"negation\": \"affirmed\", \"temporality\": "
            "\"recent\", \"experiencer\": \"patient\"}");
  // The sentence may hold tabs: only the first one splits.
  EXPECT_THAT(ClassifyTsvLine(Classifier(), "x\tno\tx", 6, &error),
              HasSubstr("\"negated\""));
}

TEST_F(ClassifyLineTest, BadLinesGiveAnErrorObject) {
  std::string error;
  EXPECT_EQ(ClassifyTsvLine(Classifier(), "no tab here", 7, &error),
            "{\"line\": 7, \"error\": \"no tab between TERM and SENTENCE\"}");
  EXPECT_EQ(error, "no tab between TERM and SENTENCE");
  EXPECT_THAT(ClassifyTsvLine(Classifier(), "  \tsentence", 8, &error),
              HasSubstr("\"line\": 8"));
  EXPECT_THAT(error, HasSubstr("TERM has no"));
  EXPECT_THAT(ClassifyTsvLine(Classifier(), "", 9, &error),
              HasSubstr("\"line\": 9"));
}

// --- The real binary --------------------------------------------------------

class TextCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cli_ = testing::BinaryPath("tools/cli/needlecheck");
    ASSERT_FALSE(cli_.empty()) << "NEEDLECHECK_BINARY_DIR is not set";
  }
  std::string Write(const std::string& name, const std::string& contents) {
    const std::string path = absl::StrCat(tmp_.path(), "/", name);
    std::ofstream(path, std::ios::binary) << contents;
    return path;
  }
  CommandResult Run(const std::vector<std::string>& args) {
    absl::StatusOr<CommandResult> r = RunCommand(cli_, args);
    EXPECT_THAT(r, IsOk());
    return r.ok() ? *r : CommandResult();
  }
  static std::vector<std::string> Lines(const std::string& s) {
    std::vector<std::string> out = absl::StrSplit(s, '\n');
    if (!out.empty() && out.back().empty()) out.pop_back();
    return out;
  }

  std::string cli_;
  ScopedTempDir tmp_;
};

TEST_F(TextCliTest, TsvPrintsOneLinePerInputLineInOrder) {
  const std::string tsv =
      Write("in.tsv",
            "lidocaine\tNo latex allergy, lidocaine causes hives\n"
            "lidocaine\tFamily history: mother allergic to lidocaine\n"
            "cough\tShe denies any COUGH or sputum production.\r\n"
            "bad line without a tab\n"
            "lidocaine\tLidocaine allergy unlikely per allergist\n");
  CommandResult r = Run({"text", "classify", "--tsv", tsv});
  EXPECT_EQ(r.exit_code, 2);  // one bad line
  EXPECT_THAT(
      Lines(r.stdout_text),
      ElementsAre(
          "{\"found\": true, \"negation\": \"affirmed\", \"temporality\": "
          "\"recent\", \"experiencer\": \"patient\"}",
          "{\"found\": true, \"negation\": \"affirmed\", \"temporality\": "
          "\"historical\", \"experiencer\": \"other\"}",
          "{\"found\": true, \"negation\": \"negated\", \"temporality\": "
          "\"recent\", \"experiencer\": \"patient\"}",
          "{\"line\": 4, \"error\": \"no tab between TERM and SENTENCE\"}",
          "{\"found\": true, \"negation\": \"possible\", \"temporality\": "
          "\"recent\", \"experiencer\": \"patient\"}"));
  EXPECT_THAT(r.stderr_text,
              HasSubstr(absl::StrCat(tsv, ":4: no tab between TERM")));
  // Patient text never goes to stderr.
  EXPECT_THAT(r.stderr_text, ::testing::Not(HasSubstr("without a tab")));

  CommandResult ok = Run({"text", "classify", "--tsv",
                          Write("ok.tsv", "rash\tno rash\nrash\trash")});
  EXPECT_EQ(ok.exit_code, 0);
  EXPECT_EQ(Lines(ok.stdout_text).size(), 2u);  // no final newline needed
  EXPECT_EQ(ok.stderr_text, "");
}

TEST_F(TextCliTest, OversizedLineIsAnErrorAndTheRunGoesOn) {
  std::string big(kMaxTextLineBytes + 10, 'a');
  big[3] = '\t';
  const std::string tsv =
      Write("big.tsv", absl::StrCat("rash\tno rash\n", big, "\nrash\trash\n"));
  CommandResult r = Run({"text", "classify", "--tsv", tsv});
  EXPECT_EQ(r.exit_code, 2);
  std::vector<std::string> lines = Lines(r.stdout_text);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(lines[0], HasSubstr("\"negated\""));
  EXPECT_EQ(lines[1], "{\"line\": 2, \"error\": \"line longer than 1 MiB\"}");
  EXPECT_THAT(lines[2], HasSubstr("\"affirmed\""));
  EXPECT_THAT(r.stderr_text, HasSubstr(":2: line longer than 1 MiB"));
}

TEST_F(TextCliTest, UnreadableFileIsAClearError) {
  CommandResult r =
      Run({"text", "classify", "--tsv", tmp_.path() + "/missing.tsv"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.stdout_text, "");
  EXPECT_THAT(r.stderr_text, HasSubstr("missing.tsv: cannot open"));
  CommandResult dir = Run({"text", "classify", "--tsv", tmp_.path()});
  EXPECT_EQ(dir.exit_code, 2);
  EXPECT_EQ(dir.stdout_text, "");
  EXPECT_THAT(dir.stderr_text, HasSubstr(tmp_.path()));
}

TEST_F(TextCliTest, SinglePairReadableAndJson) {
  CommandResult r = Run({"text", "classify", "--term", "lidocaine", "--text",
                         "Denies any history of allergic reaction to "
                         "lidocaine"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.stdout_text, HasSubstr("negation:    negated"));
  EXPECT_THAT(r.stdout_text, HasSubstr("temporality: historical"));
  EXPECT_THAT(r.stdout_text, HasSubstr("experiencer: patient"));
  CommandResult json = Run({"text", "classify", "--term", "lido", "--text",
                            "NKA; lido -> rash", "--json"});
  EXPECT_EQ(json.exit_code, 0);
  EXPECT_EQ(json.stdout_text,
            "{\"found\": true, \"negation\": \"affirmed\", \"temporality\": "
            "\"recent\", \"experiencer\": \"patient\"}\n");
  CommandResult missing =
      Run({"text", "classify", "--term", "latex", "--text", "no lidocaine"});
  EXPECT_EQ(missing.exit_code, 0);
  EXPECT_THAT(missing.stdout_text, HasSubstr("not found"));
  CommandResult usage = Run({"text", "classify", "--term", "x"});
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_THAT(usage.stderr_text, HasSubstr("--term and --text"));
}

TEST_F(TextCliTest, KnowledgeBaseFlagUsesThatFilesLists) {
  std::string kb(kb::BundledKnowledgeBaseText());
  // Make "unlikely" a definite negation in a copy of the bundled file.
  const std::string from = "phrases: [\"unlikely\", \"doubt\"";
  const size_t pos = kb.find(from);
  ASSERT_NE(pos, std::string::npos);
  kb.replace(pos, from.size(), "phrases: [\"doubt\"");
  const std::string neg = "phrases: [\"absence of\"";
  kb.replace(kb.find(neg), neg.size(),
             "phrases: [\"unlikely\", \"absence of\"");
  const std::string path = Write("kb.textproto", kb);
  CommandResult r = Run({"text", "classify", "--term", "rash", "--text",
                         "rash unlikely", "--json", "--knowledge_base", path});
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_THAT(r.stdout_text, HasSubstr("\"negation\": \"affirmed\""));
  r = Run({"text", "classify", "--term", "rash", "--text", "unlikely rash",
           "--json", "--knowledge_base", path});
  EXPECT_THAT(r.stdout_text, HasSubstr("\"negation\": \"negated\""));

  CommandResult bad = Run({"text", "classify", "--term", "a", "--text", "a",
                           "--knowledge_base", Write("bad.textproto", "x")});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.stderr_text, HasSubstr("bad.textproto"));
}

}  // namespace
}  // namespace needlecheck::cli
