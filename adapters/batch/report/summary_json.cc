#include "adapters/batch/report/summary_json.h"

#include <cstdint>
#include <limits>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace needlecheck::batch {
namespace {

using Json = nlohmann::ordered_json;

constexpr Verdict kVerdicts[kNumVerdicts] = {
    Verdict::kIntervalViolation, Verdict::kTreatedDespiteCritical,
    Verdict::kTreatedDespiteWarning, Verdict::kClear};

Json VerdictCountsJson(const VerdictCounts& counts, bool with_total) {
  Json out = Json::object();
  for (Verdict verdict : kVerdicts) {
    out[VerdictName(verdict)] = counts.by_verdict[static_cast<int>(verdict)];
  }
  if (with_total) out["total"] = counts.sessions();
  return out;
}

Json VerdictCountsMapJson(const std::map<std::string, VerdictCounts>& map) {
  Json out = Json::object();
  for (const auto& [key, counts] : map) {
    out[key] = VerdictCountsJson(counts, /*with_total=*/true);
  }
  return out;
}

Json HistogramJson(const IntervalHistogram& histogram) {
  Json buckets = Json::array();
  for (int i = 0; i < IntervalHistogram::kBuckets; ++i) {
    const int from = i * IntervalHistogram::kBucketDays;
    Json bucket = Json::object();
    bucket["from"] = from;
    if (i + 1 < IntervalHistogram::kBuckets) {
      bucket["to"] = from + IntervalHistogram::kBucketDays - 1;
    } else {
      bucket["to"] = nullptr;
    }
    bucket["sessions"] = histogram.buckets[i];
    buckets.push_back(std::move(bucket));
  }
  Json out = Json::object();
  out["bucket_days"] = IntervalHistogram::kBucketDays;
  out["buckets"] = std::move(buckets);
  out["under_28_days"] = histogram.under_28_days;
  out["with_previous"] = histogram.with_previous;
  return out;
}

Json WorstCaseJson(const WorstCase& worst) {
  const FindingRecord& f = worst.finding;
  Json out = Json::object();
  out["patient_id"] = f.patient_id;
  out["session_id"] = f.session_id;
  out["session_date"] = f.session_date;
  out["verdict"] = VerdictName(f.verdict);
  out["areas"] = f.areas;
  out["performer"] = f.performer;
  out["location"] = f.location;
  if (f.days_since_previous_session < 0) {
    out["days_since_previous_session"] = nullptr;
  } else {
    out["days_since_previous_session"] = f.days_since_previous_session;
  }
  out["critical"] = worst.critical;
  out["warning"] = worst.warning;
  Json alerts = Json::array();
  for (const FindingAlert& alert : f.alerts) {
    Json a = Json::object();
    a["rule_id"] = alert.rule_id;
    a["severity"] = alert.severity;
    a["summary"] = alert.summary;
    alerts.push_back(std::move(a));
  }
  out["alerts"] = std::move(alerts);
  return out;
}

Json InputJson(const InputCounts& input) {
  Json files = Json::object();
  for (const auto& [name, counts] : input.files) {
    Json file = Json::object();
    file["lines"] = counts.lines;
    file["resources"] = counts.resources;
    file["malformed"] = counts.malformed;
    file["without_patient"] = counts.without_patient;
    files[name] = std::move(file);
  }
  Json skipped = Json::object();
  for (const auto& [name, reason] : input.skipped_files) {
    skipped[name] = reason;
  }
  Json by_type = Json::object();
  for (const auto& [type, n] : input.resources_by_type) by_type[type] = n;

  const InputFileCounts total = TotalFileCounts(input);
  Json out = Json::object();
  out["files"] = std::move(files);
  out["skipped_files"] = std::move(skipped);
  out["resources_by_type"] = std::move(by_type);
  out["lines"] = total.lines;
  out["resources"] = total.resources;
  out["malformed_lines"] = total.malformed;
  out["resources_without_patient"] = total.without_patient;
  out["rejected_resources"] = input.rejected_resources;
  out["rejected_patients"] = input.rejected_patients;
  return out;
}

// --- Reading back ---------------------------------------------------------

// A JSON object key written as it would appear in a path: ["key"].
std::string KeyPath(const std::string& key) {
  return absl::StrCat(
      "[", Json(key).dump(-1, ' ', false, Json::error_handler_t::replace), "]");
}

const char* TypeName(const Json& value) { return value.type_name(); }

absl::Status Invalid(absl::string_view path, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("summary.json: ", path, ": ", what));
}

// The member `key` of `object` (an object); NotFound-like error if absent.
absl::StatusOr<const Json*> Member(const Json& object, const std::string& path,
                                   const char* key) {
  auto it = object.find(key);
  if (it == object.end()) {
    return Invalid(path, absl::StrCat("missing \"", key, "\""));
  }
  return &*it;
}

absl::StatusOr<int64_t> Count(const Json& value, const std::string& path) {
  if (value.is_number_unsigned()) {
    const uint64_t n = value.get<uint64_t>();
    if (n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return Invalid(path, "count out of range");
    }
    return static_cast<int64_t>(n);
  }
  if (value.is_number_integer()) {
    const int64_t n = value.get<int64_t>();
    if (n < 0) return Invalid(path, absl::StrCat("negative count ", n));
    return n;
  }
  return Invalid(path, absl::StrCat("expected a non-negative integer, got ",
                                    TypeName(value)));
}

absl::StatusOr<int64_t> CountMember(const Json& object, const std::string& path,
                                    const char* key) {
  absl::StatusOr<const Json*> member = Member(object, path, key);
  if (!member.ok()) return member.status();
  return Count(**member, absl::StrCat(path, ".", key));
}

absl::StatusOr<const Json*> ObjectMember(const Json& object,
                                         const std::string& path,
                                         const char* key) {
  absl::StatusOr<const Json*> member = Member(object, path, key);
  if (!member.ok()) return member.status();
  if (!(*member)->is_object()) {
    return Invalid(
        absl::StrCat(path, ".", key),
        absl::StrCat("expected an object, got ", TypeName(**member)));
  }
  return member;
}

absl::Status ReadFiles(const Json& files, const std::string& path,
                       InputCounts& input) {
  for (auto it = files.begin(); it != files.end(); ++it) {
    const std::string file_path = absl::StrCat(path, KeyPath(it.key()));
    const Json& file = it.value();
    if (!file.is_object()) {
      return Invalid(file_path,
                     absl::StrCat("expected an object, got ", TypeName(file)));
    }
    InputFileCounts counts;
    struct Field {
      const char* key;
      int64_t* value;
    };
    for (const Field& field :
         {Field{"lines", &counts.lines}, Field{"resources", &counts.resources},
          Field{"malformed", &counts.malformed},
          Field{"without_patient", &counts.without_patient}}) {
      absl::StatusOr<int64_t> n = CountMember(file, file_path, field.key);
      if (!n.ok()) return n.status();
      *field.value = *n;
    }
    input.files[it.key()] = counts;
  }
  return absl::OkStatus();
}

absl::Status CheckTotal(const Json& object, const std::string& path,
                        const char* key, int64_t sum) {
  absl::StatusOr<int64_t> total = CountMember(object, path, key);
  if (!total.ok()) return total.status();
  if (*total != sum) {
    return Invalid(absl::StrCat(path, ".", key),
                   absl::StrCat(*total,
                                " disagrees with the sum over "
                                "\"files\", ",
                                sum));
  }
  return absl::OkStatus();
}

absl::StatusOr<InputCounts> ReadInput(const Json& input_json) {
  const std::string path = "input";
  InputCounts input;

  absl::StatusOr<const Json*> files = ObjectMember(input_json, path, "files");
  if (!files.ok()) return files.status();
  absl::Status status = ReadFiles(**files, path + ".files", input);
  if (!status.ok()) return status;

  absl::StatusOr<const Json*> skipped =
      ObjectMember(input_json, path, "skipped_files");
  if (!skipped.ok()) return skipped.status();
  for (auto it = (*skipped)->begin(); it != (*skipped)->end(); ++it) {
    if (!it.value().is_string()) {
      return Invalid(
          absl::StrCat(path, ".skipped_files", KeyPath(it.key())),
          absl::StrCat("expected a string, got ", TypeName(it.value())));
    }
    input.skipped_files[it.key()] = it.value().get<std::string>();
  }

  absl::StatusOr<const Json*> by_type =
      ObjectMember(input_json, path, "resources_by_type");
  if (!by_type.ok()) return by_type.status();
  for (auto it = (*by_type)->begin(); it != (*by_type)->end(); ++it) {
    absl::StatusOr<int64_t> n =
        Count(it.value(),
              absl::StrCat(path, ".resources_by_type", KeyPath(it.key())));
    if (!n.ok()) return n.status();
    input.resources_by_type[it.key()] = *n;
  }

  const InputFileCounts total = TotalFileCounts(input);
  for (const auto& [key, sum] :
       {std::pair<const char*, int64_t>{"lines", total.lines},
        {"resources", total.resources},
        {"malformed_lines", total.malformed},
        {"resources_without_patient", total.without_patient}}) {
    status = CheckTotal(input_json, path, key, sum);
    if (!status.ok()) return status;
  }

  absl::StatusOr<int64_t> rejected =
      CountMember(input_json, path, "rejected_resources");
  if (!rejected.ok()) return rejected.status();
  input.rejected_resources = *rejected;
  rejected = CountMember(input_json, path, "rejected_patients");
  if (!rejected.ok()) return rejected.status();
  input.rejected_patients = *rejected;
  return input;
}

}  // namespace

InputFileCounts TotalFileCounts(const InputCounts& input) {
  InputFileCounts total;
  for (const auto& [name, counts] : input.files) {
    total.lines += counts.lines;
    total.resources += counts.resources;
    total.malformed += counts.malformed;
    total.without_patient += counts.without_patient;
  }
  return total;
}

std::string SummaryToJson(const AuditSummary& summary) {
  Json out = Json::object();
  out["schema"] = kSummarySchema;
  Json versions = Json::array();
  for (const std::string& version : summary.knowledge_base_versions) {
    versions.push_back(version);
  }
  out["knowledge_base_versions"] = std::move(versions);

  Json patients = Json::object();
  patients["audited"] = summary.patients;
  patients["with_sessions"] = summary.patients_with_sessions;
  patients["flagged"] = summary.patients_flagged;
  out["patients"] = std::move(patients);

  Json sessions = Json::object();
  sessions["total"] = summary.totals.sessions();
  sessions["by_verdict"] = VerdictCountsJson(summary.totals,
                                             /*with_total=*/false);
  out["sessions"] = std::move(sessions);

  Json by_rule = Json::object();
  for (const auto& [rule_id, counts] : summary.by_rule) {
    Json rule = Json::object();
    rule["category"] = counts.category;
    rule["summary"] = counts.summary;
    rule["sessions"] = counts.sessions;
    rule["critical"] = counts.critical;
    rule["warning"] = counts.warning;
    rule["info"] = counts.info;
    by_rule[rule_id] = std::move(rule);
  }
  out["by_rule"] = std::move(by_rule);
  out["by_month"] = VerdictCountsMapJson(summary.by_month);
  out["by_performer"] = VerdictCountsMapJson(summary.by_performer);
  out["by_location"] = VerdictCountsMapJson(summary.by_location);
  out["days_between_sessions"] = HistogramJson(summary.days_between_sessions);

  Json worst = Json::array();
  for (const WorstCase& w : summary.worst_cases) {
    worst.push_back(WorstCaseJson(w));
  }
  out["worst_cases"] = std::move(worst);
  out["input"] = InputJson(summary.input);

  // ensure_ascii off (UTF-8 as is); invalid UTF-8 replaced, never thrown.
  std::string text = out.dump(2, ' ', false, Json::error_handler_t::replace);
  text.push_back('\n');
  return text;
}

absl::StatusOr<InputCounts> InputCountsFromSummaryJson(absl::string_view json) {
  const Json root = Json::parse(json.data(), json.data() + json.size(),
                                /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) {
    return absl::InvalidArgumentError("summary.json: not valid JSON");
  }
  if (!root.is_object()) {
    return Invalid("(root)",
                   absl::StrCat("expected an object, got ", TypeName(root)));
  }
  auto schema = root.find("schema");
  if (schema == root.end()) return Invalid("(root)", "missing \"schema\"");
  if (!schema->is_string() || schema->get<std::string>() != kSummarySchema) {
    return Invalid("schema",
                   absl::StrCat("expected \"", kSummarySchema, "\", got ",
                                schema->dump(-1, ' ', false,
                                             Json::error_handler_t::replace)));
  }
  absl::StatusOr<const Json*> input = ObjectMember(root, "(root)", "input");
  if (!input.ok()) return input.status();
  absl::StatusOr<InputCounts> counts = ReadInput(**input);
  if (!counts.ok()) return counts.status();
  // patients.audited is the input side's patients_audited (audit_summary.h).
  absl::StatusOr<const Json*> patients =
      ObjectMember(root, "(root)", "patients");
  if (!patients.ok()) return patients.status();
  absl::StatusOr<int64_t> audited =
      CountMember(**patients, "patients", "audited");
  if (!audited.ok()) return audited.status();
  counts->patients_audited = *audited;
  return counts;
}

}  // namespace needlecheck::batch
