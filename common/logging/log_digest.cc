#include "common/logging/log_digest.h"

#include <openssl/evp.h>

#include <string>

#include "absl/strings/escaping.h"

namespace needlecheck::logging {

std::string LogDigest(absl::string_view value) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(value.data(), value.size(), digest, &size, EVP_sha256(),
                 nullptr) != 1 ||
      size < 8) {
    return "unhashable";
  }
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), 8));
}

}  // namespace needlecheck::logging
