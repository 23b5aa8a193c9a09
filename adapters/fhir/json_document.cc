#include "adapters/fhir/json_document.h"

#include "adapters/fhir/internal/collector.h"

namespace needlecheck::fhir {

absl::Status JsonDocument::Parse(absl::string_view json, size_t max_input_bytes,
                                 size_t max_depth) {
  internal::Limits limits;
  limits.max_input_bytes = max_input_bytes;
  limits.max_depth = max_depth;
  status_ = internal::ParseJson(json, limits, &parser_, &root_);
  return status_;
}

}  // namespace needlecheck::fhir
