// SmokeInputGenerator: the seeded input generator of the fuzz smoke tests
// (tests/fuzz/*_smoke_test.cc), which feed a fuzz target's
// LLVMFuzzerTestOneInput a bounded, deterministic set of inputs so that ctest
// exercises the fuzz invariants on every compiler. Test-only, header-only
// (library needlecheck_fuzz_smoke, linked into every smoke test by
// needlecheck_fuzzer() in tests/fuzz/CMakeLists.txt).
//
// Contract:
// - Deterministic: the same seed, tables and calls give the same inputs on
//   every platform and standard library (std::mt19937 reduced modulo n; no
//   std::uniform_int_distribution, whose output is implementation-defined).
//   Every draw goes through Below(), in the order the comments below give, so
//   a test that interleaves its own Below() calls (e.g. to pick a seed) keeps
//   a fixed sequence too.
// - The token and separator tables are borrowed, not copied: they must
//   outlive the generator (a test's static arrays do). An operation that
//   draws from a table needs it non-empty (TokenSoup, kInsertToken and
//   kReplaceQuoted need tokens; kInsertSeparator needs separators);
//   Below(0) aborts rather than divide by zero.
// - Bounded: RandomBytes and TokenSoup are bounded by their arguments,
//   Mutate by MutateOptions::max_size when that is set.
// - Nothing here checks the target's result: the smoke test asserts on the
//   return value, and the fuzz target aborts on a broken invariant.
#ifndef TESTS_FUZZ_SMOKE_INPUT_GENERATOR_H_
#define TESTS_FUZZ_SMOKE_INPUT_GENERATOR_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace needlecheck::fuzz_testing {

class SmokeInputGenerator {
 public:
  // One edit of Mutate(), at a position drawn uniformly from [0, size]. An
  // edit that needs a byte at that position does nothing at the end.
  enum class Edit {
    kFlipBit,          // xor one bit of the byte at the position
    kFlipCase,         // xor 0x20 (ASCII case) of the byte at the position
    kInsertByte,       // insert one random byte
    kDeleteByte,       // delete the byte at the position
    kDeleteChunk,      // delete 1..max_delete bytes from the position
    kSwapBytes,        // swap the byte at the position with the next one
    kTruncate,         // cut the input at the position
    kDuplicateChunk,   // insert a copy of 1..max_duplicate bytes from there
    kReplaceQuoted,    // replace the first "..." at or after it with a token
    kInsertToken,      // insert a token
    kInsertSeparator,  // insert a separator (as a C string: never a NUL)
  };

  struct MutateOptions {
    // Edits per call: 1 + Below(max_edits).
    size_t max_edits = 6;
    // The kinds of edit, each edit picking one with Below(edits.size()): list
    // a kind twice to pick it twice as often. Must not be empty.
    std::vector<Edit> edits;
    size_t max_delete = 32;     // kDeleteChunk
    size_t max_duplicate = 64;  // kDuplicateChunk
    // After every edit the input is cut to this many bytes; 0: no limit.
    size_t max_size = 0;
  };

  // `tokens` are the pieces TokenSoup() joins and Mutate() inserts (JSON
  // tokens, vocabulary words); `separators`, when given, go before every
  // token of a TokenSoup() and back kInsertSeparator.
  SmokeInputGenerator(uint32_t seed, absl::Span<const char* const> tokens,
                      absl::Span<const char* const> separators = {})
      : rng_(seed), tokens_(tokens), separators_(separators) {}

  // Uniform enough in [0, n) for a smoke test; n > 0. Modulo keeps it
  // identical on every platform.
  size_t Below(size_t n) {
    if (n == 0) {
      std::fprintf(stderr, "SmokeInputGenerator: Below(0) (empty table?)\n");
      std::abort();
    }
    return static_cast<size_t>(rng_() % n);
  }

  // Below(size_bound) bytes. Without an alphabet each is Below(256); with
  // one, each is an alphabet byte or a random byte, half and half (a draw of
  // Below(2) first, 0 meaning the alphabet).
  std::string RandomBytes(size_t size_bound, absl::string_view alphabet = {}) {
    std::string s(Below(size_bound), '\0');
    for (char& c : s) {
      if (!alphabet.empty() && Below(2) == 0) {
        c = alphabet[Below(alphabet.size())];
      } else {
        c = static_cast<char>(Below(256));
      }
    }
    return s;
  }

  // 1 + Below(max_tokens) random tokens, concatenated. With separators, a
  // random separator goes before each token; one that is empty as a C string
  // ("" or "\0") stands, one time in four, for a single NUL byte.
  std::string TokenSoup(size_t max_tokens) {
    std::string s;
    const size_t n = 1 + Below(max_tokens);
    for (size_t i = 0; i < n; ++i) {
      if (!separators_.empty()) {
        const char* sep = Pick(separators_);
        s.append(sep, sep[0] == '\0' && Below(4) == 0 ? 1 : std::strlen(sep));
      }
      s += Pick(tokens_);
    }
    return s;
  }

  // `s` after 1 + Below(options.max_edits) random edits of the kinds in
  // options.edits.
  std::string Mutate(std::string s, const MutateOptions& options) {
    const size_t n = 1 + Below(options.max_edits);
    for (size_t i = 0; i < n; ++i) {
      const size_t pos = s.empty() ? 0 : Below(s.size() + 1);
      switch (options.edits[Below(options.edits.size())]) {
        case Edit::kFlipBit:
          if (pos < s.size()) {
            s[pos] = static_cast<char>(s[pos] ^ (1 << Below(8)));
          }
          break;
        case Edit::kFlipCase:
          if (pos < s.size()) s[pos] = static_cast<char>(s[pos] ^ 0x20);
          break;
        case Edit::kInsertByte:
          s.insert(s.begin() + pos, static_cast<char>(Below(256)));
          break;
        case Edit::kDeleteByte:
          if (pos < s.size()) s.erase(pos, 1);
          break;
        case Edit::kDeleteChunk:
          if (pos < s.size()) s.erase(pos, 1 + Below(options.max_delete));
          break;
        case Edit::kSwapBytes:
          if (pos + 1 < s.size()) std::swap(s[pos], s[pos + 1]);
          break;
        case Edit::kTruncate:
          s.resize(pos);
          break;
        case Edit::kDuplicateChunk:
          if (pos < s.size()) {
            s.insert(pos, s.substr(pos, 1 + Below(options.max_duplicate)));
          }
          break;
        case Edit::kReplaceQuoted: {
          const size_t q = s.find('"', pos);
          if (q != std::string::npos) {
            const size_t end = s.find('"', q + 1);
            if (end != std::string::npos) {
              s.replace(q, end - q + 1, Pick(tokens_));
            }
          }
          break;
        }
        case Edit::kInsertToken:
          s.insert(pos, Pick(tokens_));
          break;
        case Edit::kInsertSeparator:
          s.insert(pos, Pick(separators_));
          break;
      }
      if (options.max_size != 0 && s.size() > options.max_size) {
        s.resize(options.max_size);
      }
    }
    return s;
  }

 private:
  const char* Pick(absl::Span<const char* const> table) {
    return table[Below(table.size())];
  }

  std::mt19937 rng_;
  absl::Span<const char* const> tokens_;
  absl::Span<const char* const> separators_;
};

}  // namespace needlecheck::fuzz_testing

#endif  // TESTS_FUZZ_SMOKE_INPUT_GENERATOR_H_
