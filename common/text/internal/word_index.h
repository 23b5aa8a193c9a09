// Internal building blocks of TermMatcher: byte classes, case-folded word
// hashing (including the hashes of every one-deletion variant of a word in
// O(length)), a one-edit (OSA) comparison, a small hash index with a
// Bloom-filter front, and AnchorFilter, a cheap sound pre-check for "within
// one edit of some indexed word". Callers outside common/text must not use
// this header.
//
// Words are compared ASCII case-insensitively; bytes >= 0x80 are kept as is,
// so edits are counted in bytes (a multi-byte UTF-8 letter substituted for
// another counts as more than one edit).
//
// Thread safety: WordHashIndex is immutable after Finalize(); its const
// methods may be called from any number of threads.
#ifndef COMMON_TEXT_INTERNAL_WORD_INDEX_H_
#define COMMON_TEXT_INTERNAL_WORD_INDEX_H_

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace needlecheck::text::internal {

// Byte classes, built at compile time (no dynamic initialisation).
struct ByteTables {
  bool word[256];
  unsigned char lower[256];
  unsigned char word_lower[256];  // lower[c] for word bytes, 0 otherwise
};

constexpr ByteTables MakeByteTables() {
  ByteTables t{};
  for (int c = 0; c < 256; ++c) {
    const bool digit = c >= '0' && c <= '9';
    const bool upper = c >= 'A' && c <= 'Z';
    const bool lower = c >= 'a' && c <= 'z';
    t.word[c] = digit || upper || lower || c >= 0x80;
    t.lower[c] = static_cast<unsigned char>(upper ? c + ('a' - 'A') : c);
    t.word_lower[c] = t.word[c] ? t.lower[c] : 0;
  }
  return t;
}

inline constexpr ByteTables kByteTables = MakeByteTables();

// A word byte: ASCII letter or digit, or any byte >= 0x80.
inline bool IsWordByte(char c) {
  return kByteTables.word[static_cast<unsigned char>(c)];
}
inline unsigned char FoldByte(char c) {
  return kByteTables.lower[static_cast<unsigned char>(c)];
}

// Polynomial hash (mod 2^64) of the case-folded bytes; RawHash is combined
// with the length by WordKey into the key stored in a WordHashIndex.
inline constexpr uint64_t kHashBase = 0x100000001b3ULL;

inline uint64_t RawHash(absl::string_view word) {
  uint64_t h = 0;
  for (char c : word) h = h * kHashBase + FoldByte(c);
  return h;
}

inline uint64_t WordKey(uint64_t raw_hash, size_t length) {
  uint64_t k =
      raw_hash ^ (static_cast<uint64_t>(length) * 0x9e3779b97f4a7c15ULL);
  // murmur3 finaliser: spreads the weak low bits of the polynomial hash.
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

inline uint64_t WordKeyOf(absl::string_view word) {
  return WordKey(RawHash(word), word.size());
}

// True when `text_word` (folded on the fly) equals `folded` (already
// lower-case).
inline bool FoldedEquals(absl::string_view text_word,
                         absl::string_view folded) {
  if (text_word.size() != folded.size()) return false;
  for (size_t i = 0; i < folded.size(); ++i) {
    if (FoldByte(text_word[i]) != static_cast<unsigned char>(folded[i])) {
      return false;
    }
  }
  return true;
}

// Optimal-string-alignment distance between `text_word` (folded on the fly)
// and `folded` is exactly 1: one byte inserted, deleted or substituted, or
// two adjacent bytes swapped. Equal words return false.
bool WithinOneEdit(absl::string_view text_word, absl::string_view folded);

// Scratch space for ForEachDeletionKey; words up to 47 bytes stay on the
// stack.
using HashScratch = absl::InlinedVector<uint64_t, 48>;

// Computes, for a word of length L, the WordKey of the word itself and of
// each of its L one-deletion variants, calling `fn(key)` for each.
// `pow` must hold kHashBase^k for k in [0, L) and `scratch` is reused to
// avoid allocations.
template <typename Fn>
void ForEachDeletionKey(absl::string_view word, absl::Span<const uint64_t> pow,
                        HashScratch& scratch, Fn&& fn) {
  const size_t n = word.size();
  // suffix[j] = hash of word[j, n) weighted as if it ended the word.
  scratch.resize(n + 1);
  scratch[n] = 0;
  for (size_t j = n; j-- > 0;) {
    scratch[j] = scratch[j + 1] + FoldByte(word[j]) * pow[n - 1 - j];
  }
  fn(WordKey(scratch[0], n));
  if (n == 0) return;
  uint64_t prefix = 0;  // hash of word[0, i)
  for (size_t i = 0; i < n; ++i) {
    // Deleting word[i]: prefix shifts by the n - 1 - i bytes after it.
    fn(WordKey(prefix * pow[n - 1 - i] + scratch[i + 1], n - 1));
    prefix = prefix * kHashBase + FoldByte(word[i]);
  }
}

// Rules out, with a few bit tests, most words that are not within one edit
// of any added word. One edit leaves intact either the first k bytes or the
// last k bytes of a word of at least 2k + 1 bytes, and changes the length by
// at most one. So a text word within one edit of an added word of length L
// shares its prefix or its suffix of k = min(3, (L - 1) / 2) bytes and has
// a length within one of L. (k, prefix, length) and (k, suffix, length) are
// kept in a 64 Kib bitset by hash; a false positive only costs a lookup.
class AnchorFilter {
 public:
  AnchorFilter() : bits_(kBits / 64, 0) {}

  // `folded_word` must have at least 3 bytes.
  void Add(absl::string_view folded_word) {
    const size_t n = folded_word.size();
    const size_t k = AnchorFor(n);
    anchors_used_ |= 1u << k;
    const uint32_t head = Head(folded_word);
    const uint32_t tail = Tail(folded_word);
    for (size_t len = n - 1; len <= n + 1; ++len) {
      Set(Index(k, head >> (8 * (kMaxAnchor - k)), len, kPrefixSalt));
      Set(Index(k, tail & TailMask(k), len, kSuffixSalt));
    }
  }

  // False only if `text_word` is more than one edit from every added word.
  bool MayBeNear(absl::string_view text_word) const {
    const size_t n = text_word.size();
    const uint32_t head = Head(text_word);
    const uint32_t tail = Tail(text_word);
    for (size_t k = 1; k <= kMaxAnchor; ++k) {
      // A word within one edit of an added word with anchor k has >= 2k
      // bytes.
      if ((anchors_used_ & (1u << k)) == 0 || n < 2 * k) continue;
      if (Test(Index(k, head >> (8 * (kMaxAnchor - k)), n, kPrefixSalt)) ||
          Test(Index(k, tail & TailMask(k), n, kSuffixSalt))) {
        return true;
      }
    }
    return false;
  }

 private:
  static constexpr size_t kBits = size_t{1} << 16;
  static constexpr size_t kMaxAnchor = 3;
  static constexpr uint64_t kPrefixSalt = 0x51ed270b27a4c1f5ULL;
  static constexpr uint64_t kSuffixSalt = 0x2545f4914f6cdd1dULL;

  static size_t AnchorFor(size_t length) {
    const size_t k = (length - 1) / 2;
    return k < kMaxAnchor ? k : kMaxAnchor;
  }
  // First (up to) 3 folded bytes, the first in bits 16..23.
  static uint32_t Head(absl::string_view w) {
    uint32_t h = 0;
    for (size_t i = 0; i < kMaxAnchor; ++i) {
      h = (h << 8) | (i < w.size() ? FoldByte(w[i]) : 0u);
    }
    return h;
  }
  // Last (up to) 3 folded bytes, the last in bits 0..7.
  static uint32_t Tail(absl::string_view w) {
    uint32_t t = 0;
    for (size_t i = w.size() < kMaxAnchor ? 0 : w.size() - kMaxAnchor;
         i < w.size(); ++i) {
      t = (t << 8) | FoldByte(w[i]);
    }
    return t;
  }
  static uint32_t TailMask(size_t k) { return (uint32_t{1} << (8 * k)) - 1; }
  static size_t Index(size_t k, uint32_t anchor, size_t length, uint64_t salt) {
    uint64_t v = (uint64_t{k} << 56) | (uint64_t{anchor} << 24) |
                 (length < 0xffffff ? length : 0xffffff);
    v = (v ^ salt) * 0x9e3779b97f4a7c15ULL;
    return static_cast<size_t>(v >> 48);
  }
  void Set(size_t i) { bits_[i >> 6] |= uint64_t{1} << (i & 63); }
  bool Test(size_t i) const { return ((bits_[i >> 6] >> (i & 63)) & 1) != 0; }

  std::vector<uint64_t> bits_;
  unsigned anchors_used_ = 0;
};

// Maps 64-bit keys to lists of int32 ids. Keys collide only by accident of
// the hash; callers always confirm a candidate by comparing the words.
class WordHashIndex {
 public:
  void Add(uint64_t key, int32_t id);
  // Freezes the index; call once after the last Add().
  void Finalize();

  // Ids stored under `key`, in insertion order without duplicates.
  absl::Span<const int32_t> Find(uint64_t key) const {
    if (!MayContain(key)) return {};
    return FindInMap(key);
  }

  bool empty() const { return map_.empty(); }

 private:
  // A blocked Bloom filter: both bits of a key lie in one 64-bit word, so a
  // probe costs one load (a text word looks up several keys, each a likely
  // cache miss in a large index).
  static uint64_t BloomBits(uint64_t key) {
    return (uint64_t{1} << (key & 63)) | (uint64_t{1} << ((key >> 6) & 63));
  }
  size_t BloomWord(uint64_t key) const {
    return static_cast<size_t>(key >> 12) & bloom_word_mask_;
  }
  bool MayContain(uint64_t key) const {
    const uint64_t bits = BloomBits(key);
    return (bloom_[BloomWord(key)] & bits) == bits;
  }

  absl::Span<const int32_t> FindInMap(uint64_t key) const;

  absl::flat_hash_map<uint64_t, std::vector<int32_t>> building_;
  absl::flat_hash_map<uint64_t, std::pair<uint32_t, uint32_t>> map_;
  std::vector<int32_t> ids_;
  std::vector<uint64_t> bloom_ = std::vector<uint64_t>(1, 0);
  uint64_t bloom_word_mask_ = 0;
};

}  // namespace needlecheck::text::internal

#endif  // COMMON_TEXT_INTERNAL_WORD_INDEX_H_
