#include "adapters/batch/run/audit_outputs.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string_view>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "adapters/batch/findings/finding_lines.h"
#include "adapters/batch/report/report_html.h"
#include "adapters/batch/report/summary_builder.h"
#include "adapters/batch/report/summary_json.h"
#include "adapters/common/json_members.h"
#include "adapters/common/json_writer.h"
#include "common/files/atomic_file.h"
#include "simdjson.h"

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
  std::string row;
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
    row.clear();
    AppendFindingCsvRow(*finding, &row);
    if (absl::Status status = csv->Append(row); !status.ok()) {
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
  adapters::JsonWriter line;
  line.BeginObject();
  line.Key("file");
  line.String(error.file);
  line.Key("line");
  line.Int(error.line);
  line.Key("error");
  line.String(error.error);
  line.EndObject();
  return std::move(line).Text();
}

absl::StatusOr<ErrorLine> ErrorFromJsonLine(absl::string_view text) {
  // Accepts what nlohmann's parser did (a repeated key: its last value; an
  // integer above INT64_MAX: wrapped, as its get<int64_t>() gave).
  simdjson::dom::parser parser;
  std::optional<simdjson::dom::element> file, line, error_text;
  if (std::optional<simdjson::dom::object> object = adapters::ParseObject(
          parser, std::string_view(text.data(), text.size()))) {
    file = adapters::LastMember(*object, "file");
    line = adapters::LastMember(*object, "line");
    error_text = adapters::LastMember(*object, "error");
  }
  if (!file.has_value() || !file->is_string() || !line.has_value() ||
      !(line->is_int64() || line->is_uint64()) || !error_text.has_value() ||
      !error_text->is_string()) {
    return absl::InvalidArgumentError(
        "not an errors.ndjson line ({\"file\", \"line\", \"error\"})");
  }
  ErrorLine error;
  error.file = std::string(std::string_view(*file));
  error.line =
      line->is_int64() ? int64_t(*line) : static_cast<int64_t>(uint64_t(*line));
  error.error = std::string(std::string_view(*error_text));
  return error;
}

bool ErrorLineBefore(const ErrorLine& a, const ErrorLine& b) {
  return std::tie(a.file, a.line, a.error) < std::tie(b.file, b.line, b.error);
}

std::string ManifestToJson(const AuditManifest& manifest) {
  adapters::JsonWriter json(/*indent=*/2);
  json.BeginObject();
  json.Key("schema");
  json.String("needlecheck.audit.run/1");
  json.Key("export_files");
  json.BeginArray();
  for (const ExportFileFacts& file : manifest.files) {
    json.BeginObject();
    json.Key("name");
    json.String(file.name);
    json.Key("bytes");
    json.Uint(file.bytes);
    json.EndObject();
  }
  json.EndArray();
  json.Key("shard");
  json.BeginObject();
  json.Key("index");
  json.Uint(manifest.shard_index);
  json.Key("count");
  json.Uint(manifest.shard_count);
  json.EndObject();
  json.Key("merged_from");
  json.Uint(manifest.merged_from);
  json.Key("complete");
  json.Bool(manifest.complete);
  json.EndObject();
  return std::move(json).Text() + "\n";
}

namespace {

// A non-negative integer (nlohmann's is_number_unsigned()).
bool IsUnsigned(const std::optional<simdjson::dom::element>& value) {
  return value.has_value() && value->is_uint64();
}

}  // namespace

absl::StatusOr<AuditManifest> ManifestFromJson(absl::string_view text) {
  // Accepts what nlohmann's parser did: of a repeated key the last value
  // counts; 32-bit fields take the low bits of a larger integer, as its
  // get<uint32_t>() did.
  const auto bad = [](absl::string_view what) {
    return absl::InvalidArgumentError(
        absl::StrCat("not an audit.json manifest: ", what));
  };
  simdjson::dom::parser parser;
  const std::optional<simdjson::dom::object> parsed =
      adapters::ParseObject(parser, std::string_view(text.data(), text.size()));
  if (!parsed.has_value()) return bad("not JSON");
  const simdjson::dom::object json = *parsed;
  // A schema that is not a string was a type_error thrown by nlohmann's
  // value(); it is now this answer.
  std::string_view schema;
  std::optional<simdjson::dom::element> schema_value =
      adapters::LastMember(json, "schema");
  if (!schema_value.has_value() ||
      schema_value->get_string().get(schema) != simdjson::SUCCESS ||
      schema != "needlecheck.audit.run/1") {
    return bad("schema is not needlecheck.audit.run/1");
  }
  AuditManifest manifest;
  std::optional<simdjson::dom::element> files_value =
      adapters::LastMember(json, "export_files");
  simdjson::dom::array files;
  if (!files_value.has_value() ||
      files_value->get_array().get(files) != simdjson::SUCCESS) {
    return bad("export_files missing");
  }
  for (simdjson::dom::element file : files) {
    simdjson::dom::object entry;
    std::optional<simdjson::dom::element> name, bytes;
    if (file.get_object().get(entry) == simdjson::SUCCESS) {
      name = adapters::LastMember(entry, "name");
      bytes = adapters::LastMember(entry, "bytes");
    }
    if (!name.has_value() || !name->is_string() || !IsUnsigned(bytes)) {
      return bad("export_files holds a bad entry");
    }
    manifest.files.push_back(
        {std::string(std::string_view(*name)), uint64_t(*bytes)});
  }
  std::optional<simdjson::dom::element> shard_value =
      adapters::LastMember(json, "shard");
  simdjson::dom::object shard;
  std::optional<simdjson::dom::element> index, count;
  if (shard_value.has_value() &&
      shard_value->get_object().get(shard) == simdjson::SUCCESS) {
    index = adapters::LastMember(shard, "index");
    count = adapters::LastMember(shard, "count");
  }
  if (!IsUnsigned(index) || !IsUnsigned(count)) return bad("shard missing");
  manifest.shard_index = static_cast<uint32_t>(uint64_t(*index));
  manifest.shard_count = static_cast<uint32_t>(uint64_t(*count));
  std::optional<simdjson::dom::element> merged_from =
      adapters::LastMember(json, "merged_from");
  if (IsUnsigned(merged_from)) {
    manifest.merged_from = static_cast<uint32_t>(uint64_t(*merged_from));
  }
  std::optional<simdjson::dom::element> complete =
      adapters::LastMember(json, "complete");
  if (!complete.has_value() || !complete->is_bool()) {
    return bad("complete missing");
  }
  manifest.complete = bool(*complete);
  return manifest;
}

}  // namespace needlecheck::batch
