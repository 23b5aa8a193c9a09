#include "adapters/batch/export/bundle_splitter.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "adapters/batch/export/internal/gzip_file.h"
#include "adapters/batch/export/internal/route_object.h"
#include "adapters/common/json_members.h"
#include "adapters/common/json_type_name.h"
#include "simdjson.h"

namespace needlecheck::batch {
namespace {

using adapters::ToAbsl;
using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

bool IsBundle(const object& obj) {
  std::string_view type;
  return obj["resourceType"].get_string().get(type) == simdjson::SUCCESS &&
         type == "Bundle";
}

// fullUrl ("urn:...") -> Patient.id for every Patient entry, nested Bundles
// included; the first fullUrl wins. Malformed entries are left to the walk.
void CollectPatients(const array& entries, UrnPatientMap* urns) {
  for (element e : entries) {
    object entry;
    element resource;
    object res;
    std::string_view type;
    if (e.get_object().get(entry) != simdjson::SUCCESS ||
        entry["resource"].get(resource) != simdjson::SUCCESS ||
        resource.get_object().get(res) != simdjson::SUCCESS ||
        res["resourceType"].get_string().get(type) != simdjson::SUCCESS) {
      continue;
    }
    if (type == "Bundle") {
      array nested;
      if (res["entry"].get_array().get(nested) == simdjson::SUCCESS) {
        CollectPatients(nested, urns);
      }
      continue;
    }
    if (type != "Patient") continue;
    std::string_view full_url;
    std::string_view id;
    if (entry["fullUrl"].get_string().get(full_url) != simdjson::SUCCESS ||
        res["id"].get_string().get(id) != simdjson::SUCCESS ||
        !absl::StartsWith(ToAbsl(full_url), "urn:") || !IsFhirId(ToAbsl(id))) {
      continue;
    }
    urns->emplace(std::string(full_url), std::string(id));
  }
}

// Walks the entries, yielding resources in document order.
class Walker {
 public:
  Walker(const UrnPatientMap* urns, BundleEntryCallback on_entry,
         BundleStats* stats)
      : urns_(urns), on_entry_(on_entry), stats_(stats) {}
  void set_keep_json(bool keep) { keep_json_ = keep; }

  // `path` is the path of the entry array, e.g. "$.entry".
  absl::Status Entries(const array& entries, const std::string& path) {
    size_t i = 0;
    for (element e : entries) {
      const std::string entry_path = absl::StrCat(path, "[", i++, "]");
      object entry;
      if (e.get_object().get(entry) != simdjson::SUCCESS) {
        if (absl::Status s = EmitError(entry_path, "entry is not an object");
            !s.ok()) {
          return s;
        }
        continue;
      }
      element resource;
      if (entry["resource"].get(resource) != simdjson::SUCCESS ||
          resource.is_null()) {
        ++stats_->without_resource;
        continue;
      }
      const std::string resource_path = absl::StrCat(entry_path, ".resource");
      object res;
      if (resource.get_object().get(res) != simdjson::SUCCESS) {
        if (absl::Status s =
                EmitError(resource_path, "resource is not an object");
            !s.ok()) {
          return s;
        }
        continue;
      }
      if (IsBundle(res)) {
        ++stats_->nested_bundles;
        element nested;
        if (res["entry"].get(nested) != simdjson::SUCCESS || nested.is_null()) {
          continue;  // an empty Bundle
        }
        array nested_entries;
        if (nested.get_array().get(nested_entries) != simdjson::SUCCESS) {
          if (absl::Status s =
                  EmitError(absl::StrCat(resource_path, ".entry"),
                            "entry of a nested Bundle is not an array");
              !s.ok()) {
            return s;
          }
          continue;
        }
        if (absl::Status s =
                Entries(nested_entries, absl::StrCat(resource_path, ".entry"));
            !s.ok()) {
          return s;
        }
        continue;
      }
      if (absl::Status s = EmitResource(resource, resource_path); !s.ok()) {
        return s;
      }
    }
    return absl::OkStatus();
  }

  absl::Status EmitResource(const element& resource, std::string path) {
    BundleEntry entry;
    entry.path = std::move(path);
    if (keep_json_) entry.json = simdjson::to_string(resource);
    entry.resource = resource;
    entry.status = internal::RouteElement(resource, urns_, &entry.route);
    return Emit(&entry);
  }

 private:
  absl::Status EmitError(std::string path, const char* what) {
    BundleEntry entry;
    entry.path = std::move(path);
    entry.status = absl::InvalidArgumentError(what);
    return Emit(&entry);
  }

  absl::Status Emit(BundleEntry* entry) {
    ++stats_->entries;
    if (!entry->status.ok()) ++stats_->errors;
    entry->index = stats_->entries;
    return on_entry_(*entry);
  }

  const UrnPatientMap* urns_;
  BundleEntryCallback on_entry_;
  BundleStats* stats_;
  bool keep_json_ = true;
};

absl::StatusOr<BundleStats> Split(absl::string_view json, bool padded,
                                  const BundleOptions& options,
                                  BundleEntryCallback on_entry) {
  simdjson::dom::parser parser;
  element root;
  if (absl::Status s = internal::ParseJson(
          &parser, json, padded, options.max_bytes, options.max_depth, &root);
      !s.ok()) {
    return s;
  }
  object top;
  if (root.get_object().get(top) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError(absl::StrCat(
        "top level is not an object (", adapters::JsonTypeName(root), ")"));
  }
  element type;
  if (top["resourceType"].get(type) != simdjson::SUCCESS) {
    // Valid JSON, but not FHIR (a Bulk Data manifest, a generator's
    // summary): the caller skips the file rather than calling it malformed.
    return absl::FailedPreconditionError(
        "not a FHIR resource or Bundle (no resourceType)");
  }
  BundleStats stats;
  UrnPatientMap urns;
  Walker walker(&urns, on_entry, &stats);
  walker.set_keep_json(options.keep_json);
  if (!IsBundle(top)) {
    if (absl::Status s = walker.EmitResource(root, "$"); !s.ok()) return s;
    return stats;
  }
  element entries_value;
  if (top["entry"].get(entries_value) != simdjson::SUCCESS ||
      entries_value.is_null()) {
    return stats;  // an empty Bundle
  }
  array entries;
  if (entries_value.get_array().get(entries) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("Bundle entry is not an array");
  }
  CollectPatients(entries, &urns);
  if (absl::Status s = walker.Entries(entries, "$.entry"); !s.ok()) return s;
  return stats;
}

// Reads the whole (decompressed) file into *data, followed by
// SIMDJSON_PADDING bytes; *length is the document's length.
absl::Status ReadPadded(const std::string& path, size_t max_bytes,
                        std::string* data, size_t* length) {
  absl::StatusOr<internal::GzipFile> opened =
      internal::OpenGzipFile(path, 1u << 20);
  if (!opened.ok()) return opened.status();
  gzFile file = opened->file;
  size_t n = 0;
  // Plain files: their size (+1 to see the end without a regrow); gzip: a
  // guess that doubles as needed.
  data->resize(std::min<size_t>(static_cast<size_t>(opened->size_bytes) + 1,
                                max_bytes + 1) +
               simdjson::SIMDJSON_PADDING);
  absl::Status status;
  for (;;) {
    if (n > max_bytes) {
      status = absl::InvalidArgumentError(
          absl::StrCat(path, ": larger than ", max_bytes, " bytes"));
      break;
    }
    if (data->size() - n < simdjson::SIMDJSON_PADDING + 4096) {
      data->resize(std::min<size_t>(
          data->size() * 2, max_bytes + 1 + simdjson::SIMDJSON_PADDING));
    }
    const size_t want =
        std::min<size_t>(data->size() - n - simdjson::SIMDJSON_PADDING,
                         static_cast<size_t>(INT_MAX));
    const int got = gzread(file, &(*data)[n], static_cast<unsigned>(want));
    int errnum = Z_OK;
    const char* message = gzerror(file, &errnum);
    if (got < 0 || (static_cast<size_t>(got) < want && errnum == Z_BUF_ERROR)) {
      std::string what;
      if (errnum == Z_ERRNO) {
        what = absl::StrCat("read error: ", std::strerror(errno));
      } else if (errnum == Z_BUF_ERROR) {
        what = "gzip stream ends early (truncated file?)";
      } else {
        what = absl::StrCat("corrupt gzip data (",
                            message != nullptr ? message : "", ")");
      }
      status = absl::DataLossError(absl::StrCat(path, ": ", what));
      break;
    }
    n += static_cast<size_t>(got);
    if (static_cast<size_t>(got) < want) {
      if (n > max_bytes) {
        status = absl::InvalidArgumentError(
            absl::StrCat(path, ": larger than ", max_bytes, " bytes"));
      }
      break;
    }
  }
  gzclose(file);
  if (!status.ok()) return status;
  data->resize(n + simdjson::SIMDJSON_PADDING);
  *length = n;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<BundleStats> SplitBundle(absl::string_view json,
                                        const BundleOptions& options,
                                        BundleEntryCallback on_entry) {
  return Split(json, /*padded=*/false, options, on_entry);
}

absl::StatusOr<BundleStats> SplitBundleFile(const std::string& path,
                                            const BundleOptions& options,
                                            BundleEntryCallback on_entry) {
  std::string data;
  size_t length = 0;
  if (absl::Status s = ReadPadded(path, options.max_bytes, &data, &length);
      !s.ok()) {
    return s;
  }
  bool callback_failed = false;
  absl::StatusOr<BundleStats> stats =
      Split(absl::string_view(data.data(), length), /*padded=*/true, options,
            [&](const BundleEntry& entry) {
              absl::Status s = on_entry(entry);
              callback_failed = !s.ok();
              return s;
            });
  if (!stats.ok() && !callback_failed) {
    // Document errors name the file; the callback's own errors pass as is.
    return absl::Status(stats.status().code(),
                        absl::StrCat(path, ": ", stats.status().message()));
  }
  return stats;
}

}  // namespace needlecheck::batch
