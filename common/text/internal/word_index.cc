#include "common/text/internal/word_index.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace needlecheck::text::internal {
namespace {

// Folded text_word[ti, end) == folded[fi, end); both tails have equal length.
bool TailsEqual(absl::string_view text_word, size_t ti,
                absl::string_view folded, size_t fi) {
  if (text_word.size() - ti != folded.size() - fi) return false;
  for (; ti < text_word.size(); ++ti, ++fi) {
    if (FoldByte(text_word[ti]) != static_cast<unsigned char>(folded[fi])) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool WithinOneEdit(absl::string_view text_word, absl::string_view folded) {
  const size_t a = text_word.size();
  const size_t b = folded.size();
  if (a > b + 1 || b > a + 1) return false;
  const size_t common = std::min(a, b);
  size_t i = 0;
  while (i < common &&
         FoldByte(text_word[i]) == static_cast<unsigned char>(folded[i])) {
    ++i;
  }
  if (a == b) {
    if (i == a) return false;  // equal: distance 0
    // Substitution at i.
    if (TailsEqual(text_word, i + 1, folded, i + 1)) return true;
    // Transposition of i and i + 1.
    return i + 1 < a &&
           FoldByte(text_word[i]) ==
               static_cast<unsigned char>(folded[i + 1]) &&
           FoldByte(text_word[i + 1]) ==
               static_cast<unsigned char>(folded[i]) &&
           TailsEqual(text_word, i + 2, folded, i + 2);
  }
  // Lengths differ by one: the longer one without its byte i is the shorter.
  if (a > b) return TailsEqual(text_word, i + 1, folded, i);
  return TailsEqual(text_word, i, folded, i + 1);
}

void WordHashIndex::Add(uint64_t key, int32_t id) {
  std::vector<int32_t>& ids = building_[key];
  if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
}

absl::Span<const int32_t> WordHashIndex::FindInMap(uint64_t key) const {
  auto it = map_.find(key);
  if (it == map_.end()) return {};
  return absl::MakeConstSpan(ids_.data() + it->second.first, it->second.second);
}

void WordHashIndex::Finalize() {
  map_.clear();
  ids_.clear();
  map_.reserve(building_.size());
  for (const auto& [key, ids] : building_) {
    map_.emplace(key, std::make_pair(static_cast<uint32_t>(ids_.size()),
                                     static_cast<uint32_t>(ids.size())));
    ids_.insert(ids_.end(), ids.begin(), ids.end());
  }
  // About 16 bits per key, two bits of one word each: ~2% false positives,
  // so most text words that are no term word cost one load and no map probe.
  size_t bits = 4096;
  while (bits < building_.size() * 16 && bits < (size_t{1} << 32)) bits <<= 1;
  bloom_.assign(bits / 64, 0);
  bloom_word_mask_ = bits / 64 - 1;
  for (const auto& entry : map_) {
    bloom_[BloomWord(entry.first)] |= BloomBits(entry.first);
  }
  building_.clear();
}

}  // namespace needlecheck::text::internal
