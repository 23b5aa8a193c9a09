// NdjsonLineReader: plain and gzip files, line ends, blank, long and
// over-long lines, truncated and corrupt gzip, resuming, progress.
#include "adapters/batch/export/line_reader.h"

#include <zlib.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/scoped_temp_dir.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::batch {
namespace {

using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::ScopedTempDir;
using ::needlecheck::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

// Writes `contents` gzip-compressed (one member).
std::string WriteGzip(const std::string& path, const std::string& contents) {
  gzFile f = gzopen(path.c_str(), "wb6");
  if (f == nullptr) return "";
  size_t done = 0;
  while (done < contents.size()) {
    const unsigned n = static_cast<unsigned>(
        std::min<size_t>(contents.size() - done, 1 << 20));
    if (gzwrite(f, contents.data() + done, n) != static_cast<int>(n)) break;
    done += n;
  }
  gzclose(f);
  return done == contents.size() ? path : "";
}

std::string ReadRaw(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::unique_ptr<NdjsonLineReader> OpenOrDie(
    const std::string& path, const LineReaderOptions& options = {}) {
  absl::StatusOr<std::unique_ptr<NdjsonLineReader>> r =
      NdjsonLineReader::Open(path, options);
  EXPECT_THAT(r, IsOk());
  return r.ok() ? std::move(*r) : nullptr;
}

// Every line as (number, text) until the end; fails the test on errors.
std::vector<std::pair<int64_t, std::string>> ReadAll(NdjsonLineReader* r) {
  std::vector<std::pair<int64_t, std::string>> lines;
  NdjsonLine line;
  for (;;) {
    absl::StatusOr<bool> more = r->Next(&line);
    EXPECT_THAT(more, IsOk());
    if (!more.ok() || !*more) break;
    // The padding promised for simdjson is readable (ASan checks this).
    volatile char last =
        line.text.data()[line.text.size() + NdjsonLineReader::kPadding - 1];
    (void)last;
    lines.emplace_back(line.number, std::string(line.text));
  }
  return lines;
}

// The same tests on a plain and on a gzip file.
class LineReaderTest : public ::testing::TestWithParam<bool> {
 protected:
  bool gzip() const { return GetParam(); }
  std::string Write(const std::string& name, const std::string& contents) {
    return gzip() ? WriteGzip(dir_.Path(name + ".gz"), contents)
                  : dir_.WriteFile(name, contents);
  }
  ScopedTempDir dir_;
};

TEST_P(LineReaderTest, LinesNumbersAndOffsets) {
  const std::string path = Write("a.ndjson", "{\"a\":1}\n{\"b\":2}\n{}\n");
  auto r = OpenOrDie(path);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->gzip(), gzip());
  NdjsonLine line;
  ASSERT_THAT(r->Next(&line), IsOk());
  EXPECT_EQ(line.text, "{\"a\":1}");
  EXPECT_EQ(line.number, 1);
  EXPECT_EQ(line.offset, 0u);
  ASSERT_TRUE(*r->Next(&line));
  EXPECT_EQ(line.text, "{\"b\":2}");
  EXPECT_EQ(line.number, 2);
  EXPECT_EQ(line.offset, 8u);
  ASSERT_TRUE(*r->Next(&line));
  EXPECT_EQ(line.text, "{}");
  EXPECT_EQ(line.offset, 16u);
  EXPECT_FALSE(*r->Next(&line));
  EXPECT_FALSE(*r->Next(&line));  // stays at the end
  EXPECT_EQ(r->line_number(), 3);
  EXPECT_EQ(r->file_bytes_consumed(), r->file_size());
}

TEST_P(LineReaderTest, CrLfAndLastLineWithoutNewline) {
  auto r = OpenOrDie(Write("crlf.ndjson", "a\r\nb\r\nc\rd\r\nlast"));
  ASSERT_NE(r, nullptr);
  EXPECT_THAT(ReadAll(r.get()), ElementsAre(Pair(1, "a"), Pair(2, "b"),
                                            Pair(3, "c\rd"), Pair(4, "last")));
}

TEST_P(LineReaderTest, LoneCarriageReturnAtTheEnd) {
  auto r = OpenOrDie(Write("cr.ndjson", "a\nb\r"));
  ASSERT_NE(r, nullptr);
  EXPECT_THAT(ReadAll(r.get()), ElementsAre(Pair(1, "a"), Pair(2, "b")));
}

TEST_P(LineReaderTest, BlankLinesAreNumberedAndSkipped) {
  const std::string path = Write("blank.ndjson", "a\n\n  \t\n\r\nb\n\n");
  auto r = OpenOrDie(path);
  ASSERT_NE(r, nullptr);
  EXPECT_THAT(ReadAll(r.get()), ElementsAre(Pair(1, "a"), Pair(5, "b")));
  EXPECT_EQ(r->line_number(), 6);

  LineReaderOptions options;
  options.return_blank_lines = true;
  auto all = OpenOrDie(path, options);
  ASSERT_NE(all, nullptr);
  EXPECT_THAT(ReadAll(all.get()),
              ElementsAre(Pair(1, "a"), Pair(2, ""), Pair(3, "  \t"),
                          Pair(4, ""), Pair(5, "b"), Pair(6, "")));
}

TEST_P(LineReaderTest, EmptyFile) {
  auto r = OpenOrDie(Write("empty.ndjson", ""));
  ASSERT_NE(r, nullptr);
  NdjsonLine line;
  EXPECT_FALSE(*r->Next(&line));
  EXPECT_EQ(r->line_number(), 0);
}

TEST_P(LineReaderTest, OneMebibyteLine) {
  const std::string big =
      absl::StrCat("{\"x\":\"", std::string(1 << 20, 'x'), "\"}");
  auto r =
      OpenOrDie(Write("big.ndjson", absl::StrCat("{}\n", big, "\n{}\n")), [] {
        LineReaderOptions o;
        o.read_chunk_bytes = 64 << 10;  // forces growth
        return o;
      }());
  ASSERT_NE(r, nullptr);
  auto lines = ReadAll(r.get());
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[1].first, 2);
  EXPECT_EQ(lines[1].second, big);
  EXPECT_EQ(lines[2], std::make_pair(int64_t{3}, std::string("{}")));
}

TEST_P(LineReaderTest, OverLongLinesAreSkippedAndReported) {
  LineReaderOptions options;
  options.max_line_bytes = 100 << 10;
  options.read_chunk_bytes = 64 << 10;
  // Line 2 spans many chunks; line 4 fits in one chunk but is too long;
  // line 6 is too long and has no newline.
  const std::string path =
      Write("long.ndjson",
            absl::StrCat("first\n", std::string(1 << 20, 'y'), "\nsecond\n",
                         std::string((100 << 10) + 1, 'z'), "\nthird\n",
                         std::string(300 << 10, 'w')));
  auto r = OpenOrDie(path, options);
  ASSERT_NE(r, nullptr);
  NdjsonLine line;
  ASSERT_TRUE(*r->Next(&line));
  EXPECT_EQ(line.text, "first");
  for (const auto& [number, next] :
       std::vector<std::pair<int64_t, std::string>>{{2, "second"},
                                                    {4, "third"}}) {
    absl::StatusOr<bool> more = r->Next(&line);
    EXPECT_THAT(more, StatusIs(absl::StatusCode::kResourceExhausted,
                               AllOf(HasSubstr(path),
                                     HasSubstr(absl::StrCat("line ", number)),
                                     HasSubstr("longer than 102400 bytes"))));
    EXPECT_TRUE(NdjsonLineReader::IsLineError(more.status()));
    EXPECT_EQ(line.number, number);
    EXPECT_TRUE(line.text.empty());
    ASSERT_TRUE(*r->Next(&line));
    EXPECT_EQ(line.text, next);
    EXPECT_EQ(line.number, number + 1);
  }
  absl::StatusOr<bool> more = r->Next(&line);
  EXPECT_THAT(more, StatusIs(absl::StatusCode::kResourceExhausted,
                             HasSubstr("line 6")));
  EXPECT_FALSE(*r->Next(&line));
}

TEST_P(LineReaderTest, ExactlyMaxLineBytesIsAccepted) {
  LineReaderOptions options;
  options.max_line_bytes = 70000;
  options.read_chunk_bytes = 64 << 10;
  const std::string exact(70000, 'e');
  auto r = OpenOrDie(Write("exact.ndjson", exact + "\n" + exact), options);
  ASSERT_NE(r, nullptr);
  auto lines = ReadAll(r.get());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].second, exact);
  EXPECT_EQ(lines[1].second, exact);
}

TEST_P(LineReaderTest, SkipLinesAndResume) {
  std::string contents;
  for (int i = 1; i <= 5000; ++i) {
    absl::StrAppend(&contents, "{\"n\":", i, "}\n");
    if (i % 1000 == 0) contents += "\n";  // blank lines count as lines
  }
  const std::string path = Write("resume.ndjson", contents);
  LineReaderOptions options;
  options.read_chunk_bytes = 64 << 10;

  auto r = OpenOrDie(path, options);
  ASSERT_NE(r, nullptr);
  NdjsonLine line;
  for (int i = 0; i < 2500; ++i) ASSERT_TRUE(*r->Next(&line));
  EXPECT_EQ(line.text, "{\"n\":2500}");
  EXPECT_EQ(line.number, 2502);
  const LineCheckpoint checkpoint = r->checkpoint();
  EXPECT_EQ(checkpoint.next_line, 2503);
  ASSERT_TRUE(*r->Next(&line));
  const std::string expected_text(line.text);
  const int64_t expected_number = line.number;
  const uint64_t expected_offset = line.offset;
  EXPECT_EQ(expected_offset, checkpoint.offset);

  // A fresh reader resumes at the checkpoint.
  auto resumed = OpenOrDie(path, options);
  ASSERT_NE(resumed, nullptr);
  ASSERT_THAT(resumed->Resume(checkpoint), IsOk());
  ASSERT_TRUE(*resumed->Next(&line));
  EXPECT_EQ(line.text, expected_text);
  EXPECT_EQ(line.number, expected_number);
  EXPECT_EQ(line.offset, expected_offset);
  EXPECT_EQ(ReadAll(resumed.get()).back(),
            std::make_pair(int64_t{5004}, std::string("{\"n\":5000}")));

  // Backwards on the same reader, after reaching the end.
  ASSERT_THAT(resumed->Resume(checkpoint), IsOk());
  ASSERT_TRUE(*resumed->Next(&line));
  EXPECT_EQ(line.text, expected_text);

  // SkipLines counts lines, blank ones included.
  auto skipping = OpenOrDie(path, options);
  ASSERT_NE(skipping, nullptr);
  ASSERT_THAT(skipping->SkipLines(2502), IsOk());
  ASSERT_TRUE(*skipping->Next(&line));
  EXPECT_EQ(line.text, expected_text);
  EXPECT_EQ(line.number, expected_number);
  EXPECT_THAT(skipping->SkipLines(5000),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr(path)));
  EXPECT_FALSE(*skipping->Next(&line));
  EXPECT_THAT(skipping->SkipLines(-1),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(skipping->Resume(LineCheckpoint{0, 0}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_P(LineReaderTest, ProgressReachesTheFileSize) {
  std::string contents;
  for (int i = 0; i < 200000; ++i)
    absl::StrAppend(&contents, "{\"i\":", i, "}\n");
  LineReaderOptions options;
  options.read_chunk_bytes = 64 << 10;
  options.gz_buffer_bytes = 16 << 10;
  auto r = OpenOrDie(Write("progress.ndjson", contents), options);
  ASSERT_NE(r, nullptr);
  NdjsonLine line;
  uint64_t last = 0;
  bool grew_midway = false;
  while (*r->Next(&line)) {
    const uint64_t now = r->file_bytes_consumed();
    EXPECT_GE(now, last);
    if (now > 0 && now < r->file_size()) grew_midway = true;
    last = now;
  }
  EXPECT_TRUE(grew_midway);
  EXPECT_EQ(r->file_bytes_consumed(), r->file_size());
}

INSTANTIATE_TEST_SUITE_P(PlainAndGzip, LineReaderTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Gzip" : "Plain";
                         });

TEST(LineReaderGzipTest, TruncatedGzipIsAnError) {
  ScopedTempDir dir;
  std::string contents;
  for (int i = 1; i <= 20000; ++i) {
    absl::StrAppend(&contents, "{\"resourceType\":\"Observation\",\"id\":\"o",
                    i, "\"}\n");
  }
  const std::string whole = WriteGzip(dir.Path("whole.ndjson.gz"), contents);
  ASSERT_FALSE(whole.empty());
  const std::string raw = ReadRaw(whole);
  const std::string cut =
      dir.WriteFile("cut.ndjson.gz", raw.substr(0, raw.size() / 2));

  auto r = OpenOrDie(cut);
  ASSERT_NE(r, nullptr);
  NdjsonLine line;
  int64_t lines = 0;
  absl::StatusOr<bool> more;
  while ((more = r->Next(&line)).ok() && *more) {
    ++lines;
    EXPECT_EQ(line.text,
              absl::StrCat("{\"resourceType\":\"Observation\",\"id\":\"o",
                           lines, "\"}"));
  }
  EXPECT_GT(lines, 0);
  EXPECT_LT(lines, 20000);
  EXPECT_THAT(more, StatusIs(absl::StatusCode::kDataLoss,
                             AllOf(HasSubstr(cut),
                                   HasSubstr(absl::StrCat("line ", lines + 1)),
                                   HasSubstr("ends early"))));
  EXPECT_FALSE(NdjsonLineReader::IsLineError(more.status()));
  // Sticky.
  EXPECT_THAT(r->Next(&line), StatusIs(absl::StatusCode::kDataLoss));

  // Skipping runs into the same end.
  auto s = OpenOrDie(cut);
  ASSERT_NE(s, nullptr);
  EXPECT_THAT(s->SkipLines(20000), StatusIs(absl::StatusCode::kDataLoss));

  // Cut inside the header: still an error, not an empty file.
  const std::string header =
      dir.WriteFile("header.ndjson.gz", raw.substr(0, 5));
  auto h = OpenOrDie(header);
  if (h != nullptr) {
    EXPECT_THAT(h->Next(&line), StatusIs(absl::StatusCode::kDataLoss));
  }
}

TEST(LineReaderGzipTest, CorruptGzipIsAnError) {
  ScopedTempDir dir;
  std::string contents;
  for (int i = 0; i < 50000; ++i)
    absl::StrAppend(&contents, "{\"i\":", i, "}\n");
  std::string raw = ReadRaw(WriteGzip(dir.Path("ok.ndjson.gz"), contents));
  ASSERT_GT(raw.size(), 1000u);
  for (size_t i = raw.size() / 2; i < raw.size() / 2 + 64; ++i) raw[i] ^= 0x5a;
  const std::string path = dir.WriteFile("bad.ndjson.gz", raw);
  auto r = OpenOrDie(path);
  ASSERT_NE(r, nullptr);
  NdjsonLine line;
  absl::StatusOr<bool> more;
  while ((more = r->Next(&line)).ok() && *more) {
  }
  EXPECT_THAT(more, StatusIs(absl::StatusCode::kDataLoss, HasSubstr(path)));
}

TEST(LineReaderGzipTest, ConcatenatedMembersAndMislabelledFiles) {
  ScopedTempDir dir;
  const std::string a = ReadRaw(WriteGzip(dir.Path("a.gz"), "one\ntwo\n"));
  const std::string b = ReadRaw(WriteGzip(dir.Path("b.gz"), "three\n"));
  auto r = OpenOrDie(dir.WriteFile("both.ndjson.gz", a + b));
  ASSERT_NE(r, nullptr);
  EXPECT_THAT(ReadAll(r.get()),
              ElementsAre(Pair(1, "one"), Pair(2, "two"), Pair(3, "three")));
  // Plain content under a .gz name, gzip content under a plain name.
  auto plain = OpenOrDie(dir.WriteFile("plain.ndjson.gz", "x\n"));
  ASSERT_NE(plain, nullptr);
  EXPECT_FALSE(plain->gzip());
  EXPECT_THAT(ReadAll(plain.get()), ElementsAre(Pair(1, "x")));
  auto zipped = OpenOrDie(dir.WriteFile("zipped.ndjson", b));
  ASSERT_NE(zipped, nullptr);
  EXPECT_TRUE(zipped->gzip());
  EXPECT_THAT(ReadAll(zipped.get()), ElementsAre(Pair(1, "three")));
}

TEST(LineReaderOpenTest, Errors) {
  ScopedTempDir dir;
  const std::string missing = dir.Path("missing.ndjson");
  EXPECT_THAT(NdjsonLineReader::Open(missing),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr(missing)));
  EXPECT_THAT(NdjsonLineReader::Open(dir.path()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not a regular file")));
  LineReaderOptions bad;
  bad.read_chunk_bytes = 10;
  EXPECT_THAT(NdjsonLineReader::Open(dir.WriteFile("x.ndjson", "x"), bad),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(LineReaderOpenTest, ResumePastTheEndOfAPlainFile) {
  ScopedTempDir dir;
  auto r = OpenOrDie(dir.WriteFile("x.ndjson", "a\nb\n"));
  ASSERT_NE(r, nullptr);
  EXPECT_THAT(r->Resume(LineCheckpoint{5, 3}),
              StatusIs(absl::StatusCode::kOutOfRange));
  ASSERT_THAT(r->Resume(LineCheckpoint{4, 3}), IsOk());  // at the very end
  NdjsonLine line;
  EXPECT_FALSE(*r->Next(&line));
  ASSERT_THAT(r->Resume(LineCheckpoint{2, 2}), IsOk());
  ASSERT_TRUE(*r->Next(&line));
  EXPECT_EQ(line.text, "b");
  EXPECT_EQ(line.number, 2);
}

}  // namespace
}  // namespace needlecheck::batch
