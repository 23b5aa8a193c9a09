#include "adapters/batch/report/summary_json.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "adapters/common/json_members.h"
#include "adapters/common/json_string.h"
#include "adapters/common/json_writer.h"
#include "simdjson.h"

namespace needlecheck::batch {
namespace {

using adapters::JsonWriter;

constexpr Verdict kVerdicts[kNumVerdicts] = {
    Verdict::kIntervalViolation, Verdict::kTreatedDespiteCritical,
    Verdict::kTreatedDespiteWarning, Verdict::kClear};

void WriteVerdictCounts(const VerdictCounts& counts, bool with_total,
                        JsonWriter& w) {
  w.BeginObject();
  for (Verdict verdict : kVerdicts) {
    w.Key(VerdictName(verdict));
    w.Int(counts.by_verdict[static_cast<int>(verdict)]);
  }
  if (with_total) {
    w.Key("total");
    w.Int(counts.sessions());
  }
  w.EndObject();
}

void WriteVerdictCountsMap(const std::map<std::string, VerdictCounts>& map,
                           JsonWriter& w) {
  w.BeginObject();
  for (const auto& [key, counts] : map) {
    w.Key(key);
    WriteVerdictCounts(counts, /*with_total=*/true, w);
  }
  w.EndObject();
}

// `key`: `value`, an integer member.
void IntMember(const char* key, int64_t value, JsonWriter& w) {
  w.Key(key);
  w.Int(value);
}

void StringMember(const char* key, absl::string_view value, JsonWriter& w) {
  w.Key(key);
  w.String(value);
}

void WriteHistogram(const IntervalHistogram& histogram, JsonWriter& w) {
  w.BeginObject();
  IntMember("bucket_days", IntervalHistogram::kBucketDays, w);
  w.Key("buckets");
  w.BeginArray();
  for (int i = 0; i < IntervalHistogram::kBuckets; ++i) {
    const int from = i * IntervalHistogram::kBucketDays;
    w.BeginObject();
    IntMember("from", from, w);
    w.Key("to");
    if (i + 1 < IntervalHistogram::kBuckets) {
      w.Int(from + IntervalHistogram::kBucketDays - 1);
    } else {
      w.Null();
    }
    IntMember("sessions", histogram.buckets[i], w);
    w.EndObject();
  }
  w.EndArray();
  IntMember("under_28_days", histogram.under_28_days, w);
  IntMember("with_previous", histogram.with_previous, w);
  w.EndObject();
}

void WriteWorstCase(const WorstCase& worst, JsonWriter& w) {
  const FindingRecord& f = worst.finding;
  w.BeginObject();
  StringMember("patient_id", f.patient_id, w);
  StringMember("session_id", f.session_id, w);
  StringMember("session_date", f.session_date, w);
  StringMember("verdict", VerdictName(f.verdict), w);
  w.Key("areas");
  w.BeginArray();
  for (const std::string& area : f.areas) w.String(area);
  w.EndArray();
  StringMember("performer", f.performer, w);
  StringMember("location", f.location, w);
  w.Key("days_since_previous_session");
  if (f.days_since_previous_session < 0) {
    w.Null();
  } else {
    w.Int(f.days_since_previous_session);
  }
  IntMember("critical", worst.critical, w);
  IntMember("warning", worst.warning, w);
  w.Key("alerts");
  w.BeginArray();
  for (const FindingAlert& alert : f.alerts) {
    w.BeginObject();
    StringMember("rule_id", alert.rule_id, w);
    StringMember("severity", alert.severity, w);
    StringMember("summary", alert.summary, w);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

void WriteInput(const InputCounts& input, JsonWriter& w) {
  w.BeginObject();
  w.Key("files");
  w.BeginObject();
  for (const auto& [name, counts] : input.files) {
    w.Key(name);
    w.BeginObject();
    IntMember("lines", counts.lines, w);
    IntMember("resources", counts.resources, w);
    IntMember("malformed", counts.malformed, w);
    IntMember("without_patient", counts.without_patient, w);
    w.EndObject();
  }
  w.EndObject();
  w.Key("skipped_files");
  w.BeginObject();
  for (const auto& [name, reason] : input.skipped_files) {
    w.Key(name);
    w.String(reason);
  }
  w.EndObject();
  w.Key("resources_by_type");
  w.BeginObject();
  for (const auto& [type, n] : input.resources_by_type) {
    w.Key(type);
    w.Int(n);
  }
  w.EndObject();

  const InputFileCounts total = TotalFileCounts(input);
  IntMember("lines", total.lines, w);
  IntMember("resources", total.resources, w);
  IntMember("malformed_lines", total.malformed, w);
  IntMember("resources_without_patient", total.without_patient, w);
  IntMember("rejected_resources", input.rejected_resources, w);
  IntMember("rejected_patients", input.rejected_patients, w);
  w.EndObject();
}

// --- Reading back ---------------------------------------------------------
//
// As nlohmann's parser (which read these files before) sees a document: of
// a key given twice the last value counts, at the place of the first.

using adapters::JsonMember;
using adapters::LastMember;
using adapters::UniqueMembers;
using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

// A JSON object key written as it would appear in a path: ["key"].
std::string KeyPath(std::string_view key) {
  std::string path = "[";
  adapters::AppendJsonString(adapters::ToAbsl(key), &path);
  path.push_back(']');
  return path;
}

const char* TypeName(element value) {
  return adapters::NlohmannTypeName(value);
}

absl::Status Invalid(absl::string_view path, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("summary.json: ", path, ": ", what));
}

// The member `key` of `o`; NotFound-like error if absent.
absl::StatusOr<element> Member(object o, const std::string& path,
                               const char* key) {
  std::optional<element> found = LastMember(o, key);
  if (!found.has_value()) {
    return Invalid(path, absl::StrCat("missing \"", key, "\""));
  }
  return *found;
}

absl::StatusOr<int64_t> Count(element value, const std::string& path) {
  if (value.type() == element_type::UINT64) {
    // simdjson keeps integers that fit int64 as INT64: this one does not.
    return Invalid(path, "count out of range");
  }
  if (value.type() == element_type::INT64) {
    const int64_t n = int64_t(value);
    if (n < 0) return Invalid(path, absl::StrCat("negative count ", n));
    return n;
  }
  return Invalid(path, absl::StrCat("expected a non-negative integer, got ",
                                    TypeName(value)));
}

absl::StatusOr<int64_t> CountMember(object o, const std::string& path,
                                    const char* key) {
  absl::StatusOr<element> member = Member(o, path, key);
  if (!member.ok()) return member.status();
  return Count(*member, absl::StrCat(path, ".", key));
}

absl::StatusOr<object> ObjectMember(object o, const std::string& path,
                                    const char* key) {
  absl::StatusOr<element> member = Member(o, path, key);
  if (!member.ok()) return member.status();
  object result;
  if (member->get_object().get(result) != simdjson::SUCCESS) {
    return Invalid(absl::StrCat(path, ".", key),
                   absl::StrCat("expected an object, got ", TypeName(*member)));
  }
  return result;
}

absl::Status ReadFiles(object files, const std::string& path,
                       InputCounts& input) {
  for (const JsonMember& member : UniqueMembers(files)) {
    const std::string file_path = absl::StrCat(path, KeyPath(member.key));
    object file;
    if (member.value.get_object().get(file) != simdjson::SUCCESS) {
      return Invalid(file_path, absl::StrCat("expected an object, got ",
                                             TypeName(member.value)));
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
    input.files[std::string(member.key)] = counts;
  }
  return absl::OkStatus();
}

absl::Status CheckTotal(object o, const std::string& path, const char* key,
                        int64_t sum) {
  absl::StatusOr<int64_t> total = CountMember(o, path, key);
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

absl::StatusOr<InputCounts> ReadInput(object input_json) {
  const std::string path = "input";
  InputCounts input;

  absl::StatusOr<object> files = ObjectMember(input_json, path, "files");
  if (!files.ok()) return files.status();
  absl::Status status = ReadFiles(*files, path + ".files", input);
  if (!status.ok()) return status;

  absl::StatusOr<object> skipped =
      ObjectMember(input_json, path, "skipped_files");
  if (!skipped.ok()) return skipped.status();
  for (const JsonMember& member : UniqueMembers(*skipped)) {
    std::string_view reason;
    if (member.value.get_string().get(reason) != simdjson::SUCCESS) {
      return Invalid(
          absl::StrCat(path, ".skipped_files", KeyPath(member.key)),
          absl::StrCat("expected a string, got ", TypeName(member.value)));
    }
    input.skipped_files[std::string(member.key)] = std::string(reason);
  }

  absl::StatusOr<object> by_type =
      ObjectMember(input_json, path, "resources_by_type");
  if (!by_type.ok()) return by_type.status();
  for (const JsonMember& member : UniqueMembers(*by_type)) {
    absl::StatusOr<int64_t> n =
        Count(member.value,
              absl::StrCat(path, ".resources_by_type", KeyPath(member.key)));
    if (!n.ok()) return n.status();
    input.resources_by_type[std::string(member.key)] = *n;
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
  // ensure_ascii off (UTF-8 as is); invalid UTF-8 replaced, never thrown.
  JsonWriter w(/*indent=*/2);
  w.BeginObject();
  StringMember("schema", kSummarySchema, w);
  w.Key("knowledge_base_versions");
  w.BeginArray();
  for (const std::string& version : summary.knowledge_base_versions) {
    w.String(version);
  }
  w.EndArray();

  w.Key("patients");
  w.BeginObject();
  IntMember("audited", summary.patients, w);
  IntMember("with_sessions", summary.patients_with_sessions, w);
  IntMember("flagged", summary.patients_flagged, w);
  w.EndObject();

  w.Key("sessions");
  w.BeginObject();
  IntMember("total", summary.totals.sessions(), w);
  w.Key("by_verdict");
  WriteVerdictCounts(summary.totals, /*with_total=*/false, w);
  w.EndObject();

  w.Key("by_rule");
  w.BeginObject();
  for (const auto& [rule_id, counts] : summary.by_rule) {
    w.Key(rule_id);
    w.BeginObject();
    StringMember("category", counts.category, w);
    StringMember("summary", counts.summary, w);
    IntMember("sessions", counts.sessions, w);
    IntMember("critical", counts.critical, w);
    IntMember("warning", counts.warning, w);
    IntMember("info", counts.info, w);
    w.EndObject();
  }
  w.EndObject();
  w.Key("by_month");
  WriteVerdictCountsMap(summary.by_month, w);
  w.Key("by_performer");
  WriteVerdictCountsMap(summary.by_performer, w);
  w.Key("by_location");
  WriteVerdictCountsMap(summary.by_location, w);
  w.Key("days_between_sessions");
  WriteHistogram(summary.days_between_sessions, w);

  w.Key("worst_cases");
  w.BeginArray();
  for (const WorstCase& worst : summary.worst_cases) WriteWorstCase(worst, w);
  w.EndArray();
  w.Key("input");
  WriteInput(summary.input, w);
  w.EndObject();

  std::string text = std::move(w).Text();
  text.push_back('\n');
  return text;
}

absl::StatusOr<InputCounts> InputCountsFromSummaryJson(absl::string_view json) {
  simdjson::dom::parser parser;
  element root;
  if (adapters::ParseJson(parser, std::string_view(json.data(), json.size()))
          .get(root) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("summary.json: not valid JSON");
  }
  object root_object;
  if (root.get_object().get(root_object) != simdjson::SUCCESS) {
    return Invalid("(root)",
                   absl::StrCat("expected an object, got ", TypeName(root)));
  }
  std::optional<element> schema = LastMember(root_object, "schema");
  if (!schema.has_value()) return Invalid("(root)", "missing \"schema\"");
  std::string_view schema_text;
  if (schema->get_string().get(schema_text) != simdjson::SUCCESS ||
      schema_text != kSummarySchema) {
    adapters::JsonWriter got;
    got.Element(*schema);
    return Invalid("schema", absl::StrCat("expected \"", kSummarySchema,
                                          "\", got ", std::move(got).Text()));
  }
  absl::StatusOr<object> input = ObjectMember(root_object, "(root)", "input");
  if (!input.ok()) return input.status();
  absl::StatusOr<InputCounts> counts = ReadInput(*input);
  if (!counts.ok()) return counts.status();
  // patients.audited is the input side's patients_audited (audit_summary.h).
  absl::StatusOr<object> patients =
      ObjectMember(root_object, "(root)", "patients");
  if (!patients.ok()) return patients.status();
  absl::StatusOr<int64_t> audited =
      CountMember(*patients, "patients", "audited");
  if (!audited.ok()) return audited.status();
  counts->patients_audited = *audited;
  return counts;
}

}  // namespace needlecheck::batch
