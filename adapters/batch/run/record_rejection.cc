#include "adapters/batch/run/record_rejection.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "adapters/common/grpc_error_details.h"
#include "adapters/fhir/resource_fragment.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace needlecheck::batch {
namespace {

namespace v1 = needlecheck::v1;

// The last name of a path, without index: "record.procedures[0].areas[1]"
// -> "areas".
absl::string_view LastName(absl::string_view path) {
  if (absl::EndsWith(path, "]")) {
    const size_t open = path.rfind('[');
    if (open != absl::string_view::npos) path = path.substr(0, open);
  }
  const size_t dot = path.rfind('.');
  return dot == absl::string_view::npos ? path : path.substr(dot + 1);
}

// "record.procedures[3].needle_depth_mm" -> list "procedures", index 3.
bool ListEntry(absl::string_view field, absl::string_view* list, int* index) {
  constexpr absl::string_view kRecord = "record.";
  if (!absl::StartsWith(field, kRecord)) return false;
  field.remove_prefix(kRecord.size());
  const size_t open = field.find('[');
  const size_t close = field.find(']');
  if (open == absl::string_view::npos || close == absl::string_view::npos ||
      close < open) {
    return false;
  }
  *list = field.substr(0, open);
  return absl::SimpleAtoi(field.substr(open + 1, close - open - 1), index) &&
         *index >= 0;
}

// The record entry id at list[index], and whether `type` may have made it.
struct ListKind {
  absl::string_view list;
  std::vector<absl::string_view> types;
};
const ListKind kLists[] = {
    {"conditions", {"Condition"}},
    {"allergies", {"AllergyIntolerance"}},
    {"medications",
     {"MedicationStatement", "MedicationRequest", "MedicationAdministration"}},
    {"procedures", {"Procedure"}},
    {"observations", {"Observation"}},
};

std::optional<std::string> EntryId(const v1::PatientRecord& record,
                                   absl::string_view list, int index) {
  auto get = [&](const auto& entries) -> std::optional<std::string> {
    if (index >= entries.size()) return std::nullopt;
    return entries.Get(index).id();
  };
  if (list == "conditions") return get(record.conditions());
  if (list == "allergies") return get(record.allergies());
  if (list == "medications") return get(record.medications());
  if (list == "procedures") return get(record.procedures());
  if (list == "observations") return get(record.observations());
  return std::nullopt;
}

}  // namespace

std::vector<RejectedField> RejectedFields(const grpc::Status& status) {
  std::vector<RejectedField> fields;
  for (std::string& path : grpc_client::BadRequestFieldPaths(status)) {
    RejectedField field;
    field.problem = ProblemOfField(path);
    field.field = std::move(path);
    fields.push_back(std::move(field));
  }
  return fields;
}

std::string ProblemOfField(absl::string_view field) {
  const absl::string_view name = LastName(field);
  if (name == "needle_depth_mm") {
    return "needle depth out of range (give none, or more than 0 mm up to "
           "the knowledge base's maximum)";
  }
  if (name == "areas" && absl::EndsWith(field, "]")) {
    return "unknown treatment area";
  }
  if (name == "fitzpatrick_skin_type") {
    return "Fitzpatrick skin type out of range (1-6, or 0 when unknown)";
  }
  for (absl::string_view date :
       {"birth_date", "onset", "abatement", "recorded_date", "start", "end",
        "performed", "effective", "date"}) {
    if (name == date) return "not a valid FHIR date or dateTime";
  }
  return "invalid value";
}

std::string DescribeNeedlecheckdStatus(const grpc::Status& status) {
  const std::string code = absl::StatusCodeToString(
      static_cast<absl::StatusCode>(status.error_code()));
  if (status.error_code() != grpc::StatusCode::INVALID_ARGUMENT) {
    return absl::StrCat(code, ": ",
                        grpc_client::PrintableText(status.error_message()));
  }
  std::vector<RejectedField> fields = RejectedFields(status);
  if (fields.empty()) return absl::StrCat(code, " (no field named)");
  std::vector<std::string> paths;
  for (const RejectedField& f : fields) paths.push_back(f.field);
  if (paths.size() > 10) {
    const size_t more = paths.size() - 10;
    paths.resize(10);
    paths.push_back(absl::StrCat("and ", more, " more"));
  }
  return absl::StrCat(code, " (fields ", absl::StrJoin(paths, ", "), ")");
}

std::optional<ExportPosition> LocateRecordField(
    const std::vector<StoredResource>& resources,
    const v1::PatientRecord& record, absl::string_view field) {
  std::vector<absl::string_view> types;
  std::string id;
  if (field == "record.birth_date") {
    types = {"Patient"};
    id = record.patient_id();
  } else {
    absl::string_view list;
    int index = 0;
    if (!ListEntry(field, &list, &index)) return std::nullopt;
    for (const ListKind& kind : kLists) {
      if (kind.list == list) types = kind.types;
    }
    std::optional<std::string> entry_id = EntryId(record, list, index);
    if (!entry_id.has_value()) return std::nullopt;
    id = *std::move(entry_id);
  }
  if (types.empty() || id.empty()) return std::nullopt;
  std::optional<ExportPosition> found;
  for (const StoredResource& resource : resources) {
    absl::StatusOr<fhir::FragmentSource> source =
        fhir::ReadFragmentSource(resource.body);
    if (!source.ok() || source->id != id) continue;
    for (absl::string_view type : types) {
      if (source->resource_type != type) continue;
      // Two resources of one type with one id: the position is ambiguous.
      if (found.has_value()) return std::nullopt;
      found = ExportPosition{resource.file, resource.line};
    }
  }
  return found;
}

}  // namespace needlecheck::batch
