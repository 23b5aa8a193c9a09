#include "adapters/batch/run/audit_outputs.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "adapters/batch/findings/finding_lines.h"
#include "adapters/batch/report/report_html.h"
#include "adapters/batch/report/summary_builder.h"
#include "adapters/batch/report/summary_json.h"
#include "common/files/atomic_file.h"
#include "nlohmann/json.hpp"

namespace needlecheck::batch {
namespace {

absl::Status ErrnoError(absl::string_view what, const std::string& path) {
  return absl::UnavailableError(
      absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

}  // namespace

absl::StatusOr<std::string> ReadSmallFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return ErrnoError("cannot read", path);
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) return ErrnoError("cannot read", path);
  return contents.str();
}

absl::StatusOr<AuditSummary> WriteReports(const std::string& findings_path,
                                          const std::string& out_dir,
                                          InputCounts input) {
  std::ifstream findings(findings_path, std::ios::binary);
  if (!findings) return ErrnoError("cannot read", findings_path);
  const std::string csv_path = absl::StrCat(out_dir, "/", kFindingsCsvFile);
  absl::StatusOr<files::AtomicFileWriter> csv =
      files::AtomicFileWriter::Create(csv_path);
  if (!csv.ok()) return csv.status();
  if (absl::Status status = csv->Append(FindingsCsvHeader()); !status.ok()) {
    return status;
  }

  SummaryBuilder builder;
  std::string line;
  int64_t line_number = 0;
  while (std::getline(findings, line)) {
    ++line_number;
    if (line.empty()) continue;
    absl::StatusOr<FindingRecord> finding = FindingFromJsonLine(line);
    if (!finding.ok()) {
      return absl::InternalError(absl::StrCat(
          findings_path, ":", line_number, ": ", finding.status().message()));
    }
    builder.Add(*finding);
    if (absl::Status status = csv->Append(FindingToCsvRow(*finding));
        !status.ok()) {
      return status;
    }
  }
  if (findings.bad()) return ErrnoError("cannot read", findings_path);
  if (absl::Status status = csv->Commit(); !status.ok()) {
    return status;
  }
  AuditSummary summary = builder.Finish(std::move(input));
  if (absl::Status status = files::WriteFileAtomically(
          absl::StrCat(out_dir, "/", kSummaryFile), SummaryToJson(summary));
      !status.ok()) {
    return status;
  }
  if (absl::Status status = files::WriteFileAtomically(
          absl::StrCat(out_dir, "/", kReportFile), RenderAuditReport(summary));
      !status.ok()) {
    return status;
  }
  return summary;
}

std::string ErrorToJsonLine(const ErrorLine& error) {
  nlohmann::ordered_json line;
  line["file"] = error.file;
  line["line"] = error.line;
  line["error"] = error.error;
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

absl::StatusOr<ErrorLine> ErrorFromJsonLine(absl::string_view text) {
  nlohmann::json json = nlohmann::json::parse(text, nullptr, false);
  if (json.is_discarded() || !json.is_object() || !json.contains("file") ||
      !json["file"].is_string() || !json.contains("line") ||
      !json["line"].is_number_integer() || !json.contains("error") ||
      !json["error"].is_string()) {
    return absl::InvalidArgumentError(
        "not an errors.ndjson line ({\"file\", \"line\", \"error\"})");
  }
  ErrorLine error;
  error.file = json["file"].get<std::string>();
  error.line = json["line"].get<int64_t>();
  error.error = json["error"].get<std::string>();
  return error;
}

bool ErrorLineBefore(const ErrorLine& a, const ErrorLine& b) {
  return std::tie(a.file, a.line, a.error) < std::tie(b.file, b.line, b.error);
}

std::string ManifestToJson(const AuditManifest& manifest) {
  nlohmann::ordered_json json;
  json["schema"] = "needlecheck.audit.run/1";
  nlohmann::ordered_json files = nlohmann::ordered_json::array();
  for (const ExportFileFacts& file : manifest.files) {
    files.push_back({{"name", file.name}, {"bytes", file.bytes}});
  }
  json["export_files"] = std::move(files);
  json["shard"] = {{"index", manifest.shard_index},
                   {"count", manifest.shard_count}};
  json["merged_from"] = manifest.merged_from;
  json["complete"] = manifest.complete;
  return json.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) +
         "\n";
}

absl::StatusOr<AuditManifest> ManifestFromJson(absl::string_view text) {
  nlohmann::json json = nlohmann::json::parse(text, nullptr, false);
  const auto bad = [](absl::string_view what) {
    return absl::InvalidArgumentError(
        absl::StrCat("not an audit.json manifest: ", what));
  };
  if (json.is_discarded() || !json.is_object()) return bad("not JSON");
  if (json.value("schema", "") != "needlecheck.audit.run/1") {
    return bad("schema is not needlecheck.audit.run/1");
  }
  AuditManifest manifest;
  if (!json.contains("export_files") || !json["export_files"].is_array()) {
    return bad("export_files missing");
  }
  for (const nlohmann::json& file : json["export_files"]) {
    if (!file.is_object() || !file.contains("name") ||
        !file["name"].is_string() || !file.contains("bytes") ||
        !file["bytes"].is_number_unsigned()) {
      return bad("export_files holds a bad entry");
    }
    manifest.files.push_back(
        {file["name"].get<std::string>(), file["bytes"].get<uint64_t>()});
  }
  const nlohmann::json& shard = json.value("shard", nlohmann::json());
  if (!shard.is_object() || !shard.contains("index") ||
      !shard["index"].is_number_unsigned() || !shard.contains("count") ||
      !shard["count"].is_number_unsigned()) {
    return bad("shard missing");
  }
  manifest.shard_index = shard["index"].get<uint32_t>();
  manifest.shard_count = shard["count"].get<uint32_t>();
  if (json.contains("merged_from") &&
      json["merged_from"].is_number_unsigned()) {
    manifest.merged_from = json["merged_from"].get<uint32_t>();
  }
  if (!json.contains("complete") || !json["complete"].is_boolean()) {
    return bad("complete missing");
  }
  manifest.complete = json["complete"].get<bool>();
  return manifest;
}

}  // namespace needlecheck::batch
