#include "common/ids/uuid.h"

#include <openssl/rand.h>

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"

namespace needlecheck::ids {

absl::StatusOr<std::string> NewUuidV4() {
  uint8_t b[16];
  if (RAND_bytes(b, sizeof(b)) != 1) {
    return absl::UnavailableError("the CSPRNG (RAND_bytes) failed");
  }
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);  // variant 10xx
  return absl::StrFormat(
      "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
      b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
      b[12], b[13], b[14], b[15]);
}

}  // namespace needlecheck::ids
