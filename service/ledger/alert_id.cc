#include <openssl/rand.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "service/ledger/alert_ledger.h"

namespace needlecheck::ledger {
namespace {

constexpr size_t kIdBytes = 16;

// The text form of a 16-byte UUID: 8-4-4-4-12 lower-case hex digits.
std::string UuidText(const uint8_t* b) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text(36, '-');
  size_t pos = 0;
  for (size_t i = 0; i < kIdBytes; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) ++pos;  // keep the dash
    text[pos++] = kHex[b[i] >> 4];
    text[pos++] = kHex[b[i] & 0x0f];
  }
  return text;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> NewAlertIds(size_t n, absl::Time now) {
  std::vector<std::string> ids;
  if (n == 0) return ids;
  std::vector<uint8_t> bytes(n * kIdBytes);
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    return absl::UnavailableError("the CSPRNG (RAND_bytes) failed");
  }
  // RFC 9562 UUID version 7: 48 bits of Unix time in milliseconds (a clock
  // before 1970 counts as 0), then version, 12 random bits, variant, 62
  // random bits.
  const uint64_t ms = static_cast<uint64_t>(
      std::max<int64_t>(0, absl::ToUnixMillis(now)) & ((int64_t{1} << 48) - 1));
  ids.reserve(n);
  for (size_t k = 0; k < n; ++k) {
    uint8_t* b = bytes.data() + k * kIdBytes;
    for (int i = 0; i < 6; ++i) {
      b[i] = static_cast<uint8_t>(ms >> (40 - 8 * i));
    }
    b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x70);  // version 7
    b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);  // variant 10xx
    ids.push_back(UuidText(b));
  }
  return ids;
}

absl::StatusOr<std::string> NewAlertId() {
  absl::StatusOr<std::vector<std::string>> ids = NewAlertIds(1, absl::Now());
  if (!ids.ok()) return ids.status();
  return std::move(ids->front());
}

}  // namespace needlecheck::ledger
