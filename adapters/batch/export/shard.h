// Sharding patients across machines: `needlecheck-audit --shard K/N` audits
// only the patients of shard K of N; in a Kubernetes Indexed Job,
// `--shard_count=N` takes K from the pod's JOB_COMPLETION_INDEX (K = index
// + 1). Part of `needlecheck_batch_export`.
//
// The split is a pure function of the patient id's bytes, identical on
// every machine, compiler, run and version of this library (never
// std::hash, whose value is unspecified):
//
//   h = FNV-1a 64-bit over the UTF-8 bytes of the id
//       (offset basis 14695981039346656037, prime 1099511628211);
//   h = MurmurHash3's fmix64 finalizer of h
//       (h ^= h >> 33; h *= 0xff51afd7ed558ccd; h ^= h >> 33;
//        h *= 0xc4ceb9fe1a85ec53; h ^= h >> 33);
//   shard = h mod N  (0-based; --shard K/N takes shard K-1).
//
// The finalizer matters: FNV-1a's low bits depend only on the low bits of
// the input bytes (the parity of h is the parity of the byte sum), so a
// bare "FNV-1a mod 2^k" splits look-alike ids unevenly. Changing any of
// this re-shards every export: the tests pin values.
//
// Thread safety: pure functions.
#ifndef ADAPTERS_BATCH_EXPORT_SHARD_H_
#define ADAPTERS_BATCH_EXPORT_SHARD_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace needlecheck::batch {

// Largest N accepted by ParseShardSpec.
inline constexpr uint32_t kMaxShards = 1024;

// The stable 64-bit hash above (FNV-1a 64 then fmix64).
uint64_t PatientHash(absl::string_view patient_id);

// The 0-based shard of `patient_id` among `shard_count` shards:
// PatientHash(patient_id) % shard_count; 0 when shard_count is 0 or 1.
uint32_t ShardOf(absl::string_view patient_id, uint32_t shard_count);

// "K/N": shard K (1-based) of N.
struct ShardSpec {
  uint32_t index = 1;  // K, 1 <= K <= N
  uint32_t count = 1;  // N, 1 <= N <= kMaxShards

  // Whether this shard audits `patient_id`.
  bool Contains(absl::string_view patient_id) const {
    return ShardOf(patient_id, count) == index - 1;
  }
};

// Parses "K/N" (decimal digits only, no spaces or signs; e.g. "2/4").
// INVALID_ARGUMENT naming the input when malformed, K or N is 0, K > N or
// N > kMaxShards. "1/1" is every patient.
absl::StatusOr<ShardSpec> ParseShardSpec(absl::string_view spec);

// The variable a Kubernetes Indexed Job sets in each pod: the pod's 0-based
// completion index, 0 to completions - 1.
inline constexpr char kJobCompletionIndexEnv[] = "JOB_COMPLETION_INDEX";

// The shard a run audits, from the tool's flags and environment:
//   `shard_flag`: --shard ("" when not given);
//   `shard_count`: --shard_count (0 when not given);
//   `job_completion_index`: the value of JOB_COMPLETION_INDEX (null when
//   unset; read only with a shard_count).
// Neither flag: 1/1. --shard alone: ParseShardSpec. --shard_count=N alone:
// shard index+1 of N, i.e. index i audits the patients of --shard (i+1)/N.
// INVALID_ARGUMENT, naming the flag or variable, when both flags are given
// (they exclude each other, even when they agree), N is not in
// 1..kMaxShards, or the index is unset, not decimal digits, or >= N.
absl::StatusOr<ShardSpec> ResolveShard(absl::string_view shard_flag,
                                       int64_t shard_count,
                                       const char* job_completion_index);

}  // namespace needlecheck::batch

#endif  // ADAPTERS_BATCH_EXPORT_SHARD_H_
