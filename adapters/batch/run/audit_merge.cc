#include "adapters/batch/run/audit_merge.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "adapters/batch/findings/finding_lines.h"
#include "adapters/batch/report/summary_json.h"
#include "adapters/batch/run/audit_outputs.h"
#include "common/files/atomic_file.h"

namespace needlecheck::batch {
namespace {

// One shard's NDJSON file, read line by line with a sort key per line.
class ShardLines {
 public:
  ShardLines(std::string path, std::string shard)
      : path_(std::move(path)), shard_(std::move(shard)), in_(path_) {}

  absl::Status Open() {
    if (!in_) {
      return absl::FailedPreconditionError(absl::StrCat(
          shard_, ": cannot read ", path_, ": ", std::strerror(errno)));
    }
    return absl::OkStatus();
  }
  // Advances to the next non-empty line; false at the end.
  bool Next() {
    while (std::getline(in_, line_)) {
      ++number_;
      if (!line_.empty()) return true;
    }
    done_ = true;
    return false;
  }
  bool done() const { return done_; }
  const std::string& line() const { return line_; }
  int64_t number() const { return number_; }
  const std::string& path() const { return path_; }
  const std::string& shard() const { return shard_; }
  bool bad() const { return in_.bad(); }

 private:
  std::string path_;
  std::string shard_;
  std::ifstream in_;
  std::string line_;
  int64_t number_ = 0;
  bool done_ = false;
};

absl::Status LineError(const ShardLines& lines, absl::string_view what) {
  return absl::FailedPreconditionError(absl::StrCat(
      lines.shard(), ": ", lines.path(), ":", lines.number(), ": ", what));
}

// Merges the shards' findings into `out_path` by patient id.
absl::Status MergeFindings(const std::vector<std::string>& dirs,
                           const std::string& out_path) {
  std::vector<std::unique_ptr<ShardLines>> shards;
  std::vector<std::string> patient(dirs.size());
  for (size_t i = 0; i < dirs.size(); ++i) {
    shards.push_back(std::make_unique<ShardLines>(
        absl::StrCat(dirs[i], "/", kFindingsFile), dirs[i]));
    if (absl::Status status = shards[i]->Open(); !status.ok()) return status;
  }
  const auto advance = [&](size_t i) -> absl::Status {
    const std::string previous = patient[i];
    if (!shards[i]->Next()) {
      return shards[i]->bad() ? LineError(*shards[i], "read error")
                              : absl::OkStatus();
    }
    absl::StatusOr<FindingRecord> finding =
        FindingFromJsonLine(shards[i]->line());
    if (!finding.ok()) return LineError(*shards[i], finding.status().message());
    if (finding->patient_id < previous) {
      return LineError(*shards[i], "findings are not in patient order");
    }
    patient[i] = std::move(finding->patient_id);
    return absl::OkStatus();
  };
  for (size_t i = 0; i < shards.size(); ++i) {
    if (absl::Status status = advance(i); !status.ok()) return status;
  }
  absl::StatusOr<files::AtomicFileWriter> out =
      files::AtomicFileWriter::Create(out_path);
  if (!out.ok()) return out.status();
  while (true) {
    std::optional<size_t> next;
    for (size_t i = 0; i < shards.size(); ++i) {
      if (shards[i]->done()) continue;
      if (!next.has_value() || patient[i] < patient[*next]) next = i;
    }
    if (!next.has_value()) break;
    // All of this patient's lines (consecutive in its shard).
    const std::string current = patient[*next];
    for (size_t i = 0; i < shards.size(); ++i) {
      if (i != *next && !shards[i]->done() && patient[i] == current) {
        return LineError(*shards[i],
                         "a patient appears in two shards (the shards are not "
                         "of one sharded run)");
      }
    }
    while (!shards[*next]->done() && patient[*next] == current) {
      if (absl::Status status =
              out->Append(absl::StrCat(shards[*next]->line(), "\n"));
          !status.ok()) {
        return status;
      }
      if (absl::Status status = advance(*next); !status.ok()) return status;
    }
  }
  return out->Commit();
}

// Merges the shards' errors.ndjson into `out_path` by file, line, message.
absl::Status MergeErrors(const std::vector<std::string>& dirs,
                         const std::string& out_path) {
  std::vector<std::unique_ptr<ShardLines>> shards;
  std::vector<ErrorLine> current(dirs.size());
  const auto advance = [&](size_t i) -> absl::Status {
    if (!shards[i]->Next()) {
      return shards[i]->bad() ? LineError(*shards[i], "read error")
                              : absl::OkStatus();
    }
    absl::StatusOr<ErrorLine> error = ErrorFromJsonLine(shards[i]->line());
    if (!error.ok()) return LineError(*shards[i], error.status().message());
    if (ErrorLineBefore(*error, current[i])) {
      return LineError(*shards[i], "errors are not in file and line order");
    }
    current[i] = std::move(*error);
    return absl::OkStatus();
  };
  for (size_t i = 0; i < dirs.size(); ++i) {
    shards.push_back(std::make_unique<ShardLines>(
        absl::StrCat(dirs[i], "/", kErrorsFile), dirs[i]));
    if (absl::Status status = shards[i]->Open(); !status.ok()) return status;
    if (absl::Status status = advance(i); !status.ok()) return status;
  }
  std::string merged;
  while (true) {
    std::optional<size_t> next;
    for (size_t i = 0; i < shards.size(); ++i) {
      if (shards[i]->done()) continue;
      if (!next.has_value() || ErrorLineBefore(current[i], current[*next])) {
        next = i;
      }
    }
    if (!next.has_value()) break;
    absl::StrAppend(&merged, shards[*next]->line(), "\n");
    if (absl::Status status = advance(*next); !status.ok()) return status;
  }
  return files::WriteFileAtomically(out_path, merged);
}

}  // namespace

void AddInputCounts(const InputCounts& shard, InputCounts* total) {
  for (const auto& [name, counts] : shard.files) {
    InputFileCounts& sum = total->files[name];
    sum.lines += counts.lines;
    sum.resources += counts.resources;
    sum.malformed += counts.malformed;
    sum.without_patient += counts.without_patient;
  }
  for (const auto& [name, reason] : shard.skipped_files) {
    total->skipped_files.emplace(name, reason);
  }
  for (const auto& [type, n] : shard.resources_by_type) {
    total->resources_by_type[type] += n;
  }
  total->rejected_resources += shard.rejected_resources;
  total->rejected_patients += shard.rejected_patients;
  total->patients_audited += shard.patients_audited;
}

absl::StatusOr<AuditSummary> MergeShardOutputs(
    const std::vector<std::string>& shard_dirs, const std::string& out_dir) {
  if (shard_dirs.empty()) {
    return absl::InvalidArgumentError("merge needs the shard output folders");
  }
  std::vector<AuditManifest> manifests;
  std::vector<bool> seen;
  InputCounts input;
  for (const std::string& dir : shard_dirs) {
    absl::StatusOr<std::string> text =
        ReadSmallFile(absl::StrCat(dir, "/", kManifestFile));
    if (!text.ok()) {
      return absl::FailedPreconditionError(absl::StrCat(
          dir, ": not an audit output folder: ", text.status().message()));
    }
    absl::StatusOr<AuditManifest> manifest = ManifestFromJson(*text);
    if (!manifest.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat(dir, ": ", manifest.status().message()));
    }
    if (!manifest->complete) {
      return absl::FailedPreconditionError(absl::StrCat(
          dir, ": the audit there is not complete (resume it first)"));
    }
    if (manifest->merged_from != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat(dir, ": is itself a merge, not a shard run"));
    }
    if (!manifests.empty()) {
      const AuditManifest& first = manifests.front();
      if (manifest->shard_count != first.shard_count) {
        return absl::FailedPreconditionError(
            absl::StrCat(dir, ": shard count ", manifest->shard_count, ", but ",
                         shard_dirs.front(), " has ", first.shard_count));
      }
      bool same_files = manifest->files.size() == first.files.size();
      for (size_t i = 0; same_files && i < first.files.size(); ++i) {
        same_files = manifest->files[i].name == first.files[i].name &&
                     manifest->files[i].bytes == first.files[i].bytes;
      }
      if (!same_files) {
        return absl::FailedPreconditionError(absl::StrCat(
            dir, ": audited other export files than ", shard_dirs.front()));
      }
    } else {
      seen.assign(manifest->shard_count + 1, false);
    }
    if (manifest->shard_index < 1 ||
        manifest->shard_index > manifest->shard_count) {
      return absl::FailedPreconditionError(
          absl::StrCat(dir, ": bad shard index"));
    }
    if (seen[manifest->shard_index]) {
      return absl::FailedPreconditionError(
          absl::StrCat(dir, ": shard ", manifest->shard_index, "/",
                       manifest->shard_count, " is given twice"));
    }
    seen[manifest->shard_index] = true;
    absl::StatusOr<std::string> summary =
        ReadSmallFile(absl::StrCat(dir, "/", kSummaryFile));
    if (!summary.ok()) return summary.status();
    absl::StatusOr<InputCounts> counts = InputCountsFromSummaryJson(*summary);
    if (!counts.ok()) {
      return absl::FailedPreconditionError(absl::StrCat(
          dir, "/", kSummaryFile, ": ", counts.status().message()));
    }
    AddInputCounts(*counts, &input);
    manifests.push_back(*std::move(manifest));
  }
  for (uint32_t k = 1; k < seen.size(); ++k) {
    if (!seen[k]) {
      return absl::FailedPreconditionError(absl::StrCat(
          "shard ", k, "/", seen.size() - 1, " is missing from the merge"));
    }
  }
  if (mkdir(out_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::UnavailableError(
        absl::StrCat("cannot create ", out_dir, ": ", std::strerror(errno)));
  }
  const std::string findings = absl::StrCat(out_dir, "/", kFindingsFile);
  if (absl::Status status = MergeFindings(shard_dirs, findings); !status.ok()) {
    return status;
  }
  if (absl::Status status =
          MergeErrors(shard_dirs, absl::StrCat(out_dir, "/", kErrorsFile));
      !status.ok()) {
    return status;
  }
  absl::StatusOr<AuditSummary> summary =
      WriteReports(findings, out_dir, std::move(input));
  if (!summary.ok()) return summary.status();
  AuditManifest merged;
  merged.files = manifests.front().files;
  merged.merged_from = static_cast<uint32_t>(shard_dirs.size());
  merged.complete = true;
  if (absl::Status status = files::WriteFileAtomically(
          absl::StrCat(out_dir, "/", kManifestFile), ManifestToJson(merged));
      !status.ok()) {
    return status;
  }
  return summary;
}

}  // namespace needlecheck::batch
