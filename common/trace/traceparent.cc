#include "common/trace/traceparent.h"

#include <cstdint>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/ids/uuid.h"

namespace needlecheck::trace {
namespace {

bool IsLowerHex(absl::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool AllZeros(absl::string_view s) {
  return s.find_first_not_of('0') == absl::string_view::npos;
}

// `n` (at most 16) random bytes as lower-case hex, not all zeros; "" if the
// CSPRNG fails.
std::string RandomHex(int n) {
  uint8_t bytes[16];
  for (int attempt = 0; attempt < 4; ++attempt) {
    if (!ids::FillRandomBytes(bytes, static_cast<size_t>(n)).ok()) return "";
    std::string hex = absl::BytesToHexString(
        absl::string_view(reinterpret_cast<const char*>(bytes), n));
    if (!AllZeros(hex)) return hex;
  }
  return "";
}

}  // namespace

std::string TraceIdFromTraceparent(absl::string_view tp) {
  // version "-" trace-id "-" parent-id "-" flags: 2+1+32+1+16+1+2 = 55.
  if (tp.size() < 55) return "";
  const absl::string_view version = tp.substr(0, 2);
  const absl::string_view trace_id = tp.substr(3, 32);
  const absl::string_view parent_id = tp.substr(36, 16);
  const absl::string_view flags = tp.substr(53, 2);
  if (tp[2] != '-' || tp[35] != '-' || tp[52] != '-') return "";
  if (!IsLowerHex(version) || !IsLowerHex(trace_id) || !IsLowerHex(parent_id) ||
      !IsLowerHex(flags)) {
    return "";
  }
  if (version == "ff" || AllZeros(trace_id) || AllZeros(parent_id)) return "";
  // Version 00 is exactly 55 characters; later versions may add fields.
  if (tp.size() > 55 && (version == "00" || tp[55] != '-')) return "";
  return std::string(trace_id);
}

std::string NewTraceparent() {
  const std::string trace_id = RandomHex(16);
  const std::string parent_id = RandomHex(8);
  if (trace_id.empty() || parent_id.empty()) return "";
  return absl::StrCat("00-", trace_id, "-", parent_id, "-01");
}

}  // namespace needlecheck::trace
