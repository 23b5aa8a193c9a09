#include "common/ids/uuid.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cstdint>

#include "absl/status/status.h"

namespace needlecheck::ids {
namespace {

constexpr size_t kUuidBytes = 16;

// Sets the version nibble and the 10xx variant, and writes the text form.
std::string UuidText(uint8_t* b, uint8_t version) {
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | (version << 4));
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text(36, '-');
  size_t pos = 0;
  for (size_t i = 0; i < kUuidBytes; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) ++pos;  // keep the dash
    text[pos++] = kHex[b[i] >> 4];
    text[pos++] = kHex[b[i] & 0x0f];
  }
  return text;
}

}  // namespace

absl::Status FillRandomBytes(uint8_t* bytes, size_t n) {
  if (RAND_bytes(bytes, static_cast<int>(n)) != 1) {
    return absl::UnavailableError("the CSPRNG (RAND_bytes) failed");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> NewUuidV4() {
  uint8_t b[kUuidBytes];
  if (absl::Status status = FillRandomBytes(b, sizeof(b)); !status.ok()) {
    return status;
  }
  return UuidText(b, 4);
}

absl::StatusOr<std::vector<std::string>> NewUuidV7s(size_t n, absl::Time now) {
  std::vector<std::string> ids;
  if (n == 0) return ids;
  std::vector<uint8_t> bytes(n * kUuidBytes);
  if (absl::Status status = FillRandomBytes(bytes.data(), bytes.size());
      !status.ok()) {
    return status;
  }
  const uint64_t ms = static_cast<uint64_t>(
      std::max<int64_t>(0, absl::ToUnixMillis(now)) & ((int64_t{1} << 48) - 1));
  ids.reserve(n);
  for (size_t k = 0; k < n; ++k) {
    uint8_t* b = bytes.data() + k * kUuidBytes;
    for (int i = 0; i < 6; ++i) b[i] = static_cast<uint8_t>(ms >> (40 - 8 * i));
    ids.push_back(UuidText(b, 7));
  }
  return ids;
}

}  // namespace needlecheck::ids
