#include "adapters/batch/export/shard.h"

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace needlecheck::batch {
namespace {

// Digits only, at most 9 of them (no overflow), value in *out.
bool ParseCount(absl::string_view s, uint32_t* out) {
  if (s.empty() || s.size() > 9) return false;
  uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  *out = v;
  return true;
}

std::string Quote(absl::string_view s) {
  // The spec comes from a flag: short, but keep it printable and bounded.
  std::string q = "\"";
  for (char c : s.substr(0, 64)) {
    q += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  if (s.size() > 64) q += "...";
  q += "\"";
  return q;
}

}  // namespace

uint64_t PatientHash(absl::string_view patient_id) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : patient_id) {
    h ^= c;
    h *= 1099511628211ull;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

uint32_t ShardOf(absl::string_view patient_id, uint32_t shard_count) {
  if (shard_count <= 1) return 0;
  return static_cast<uint32_t>(PatientHash(patient_id) % shard_count);
}

absl::StatusOr<ShardSpec> ParseShardSpec(absl::string_view spec) {
  const size_t slash = spec.find('/');
  ShardSpec out;
  if (slash == absl::string_view::npos ||
      !ParseCount(spec.substr(0, slash), &out.index) ||
      !ParseCount(spec.substr(slash + 1), &out.count)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "shard ", Quote(spec), ": expected K/N, e.g. 2/4 (shard 2 of 4)"));
  }
  if (out.count < 1 || out.count > kMaxShards) {
    return absl::InvalidArgumentError(absl::StrCat(
        "shard ", Quote(spec), ": N must be between 1 and ", kMaxShards));
  }
  if (out.index < 1 || out.index > out.count) {
    return absl::InvalidArgumentError(
        absl::StrCat("shard ", Quote(spec), ": K must be between 1 and N (",
                     out.count, ")"));
  }
  return out;
}

absl::StatusOr<ShardSpec> ResolveShard(absl::string_view shard_flag,
                                       int64_t shard_count,
                                       const char* job_completion_index) {
  if (shard_count == 0) {
    return shard_flag.empty() ? ShardSpec() : ParseShardSpec(shard_flag);
  }
  if (!shard_flag.empty()) {
    return absl::InvalidArgumentError(
        "--shard and --shard_count exclude each other: --shard K/N picks the "
        "shard, --shard_count=N takes it from " +
        std::string(kJobCompletionIndexEnv));
  }
  if (shard_count < 1 || shard_count > kMaxShards) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--shard_count=", shard_count, ": must be between 1 and ", kMaxShards));
  }
  if (job_completion_index == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--shard_count needs the environment variable ", kJobCompletionIndexEnv,
        " (set by a Kubernetes Indexed Job), which is not set"));
  }
  ShardSpec out;
  out.count = static_cast<uint32_t>(shard_count);
  uint32_t index = 0;
  if (!ParseCount(job_completion_index, &index)) {
    return absl::InvalidArgumentError(absl::StrCat(
        kJobCompletionIndexEnv, "=", Quote(job_completion_index),
        ": expected the 0-based completion index, a whole number"));
  }
  if (index >= out.count) {
    return absl::InvalidArgumentError(
        absl::StrCat(kJobCompletionIndexEnv, "=", index, ": must be below ",
                     "--shard_count=", shard_count));
  }
  out.index = index + 1;
  return out;
}

}  // namespace needlecheck::batch
