// Internal to needlecheck_batch_export: the parsing and routing core that
// ResourceRouter (resource_route.h) and the bundle splitter
// (bundle_splitter.h) share. Callers outside adapters/batch use those
// headers instead.
#ifndef ADAPTERS_BATCH_EXPORT_INTERNAL_ROUTE_OBJECT_H_
#define ADAPTERS_BATCH_EXPORT_INTERNAL_ROUTE_OBJECT_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "adapters/batch/export/resource_route.h"
#include "simdjson.h"

namespace needlecheck::batch::internal {

// The enumerator name of a simdjson error ("TAPE_ERROR", "UTF8_ERROR", ...).
const char* SimdjsonErrorName(simdjson::error_code error);

// Parses `json` with `parser` (grown to fit, depth limit applied). `padded`:
// SIMDJSON_PADDING bytes after the input are readable (no copy). Errors are
// INVALID_ARGUMENT with the fixed messages of resource_route.h ("empty (no
// JSON)", "larger than N bytes", "nesting deeper than N levels",
// "malformed JSON (NAME)"); RESOURCE_EXHAUSTED if the parser cannot
// allocate.
absl::Status ParseJson(simdjson::dom::parser* parser, absl::string_view json,
                       bool padded, size_t max_bytes, size_t max_depth,
                       simdjson::dom::element* root);

// Routes a parsed top-level value (see resource_route.h): "top level is not
// an object" for anything but an object.
absl::Status RouteElement(const simdjson::dom::element& element,
                          const UrnPatientMap* urns, RouteResult* out);

}  // namespace needlecheck::batch::internal

#endif  // ADAPTERS_BATCH_EXPORT_INTERNAL_ROUTE_OBJECT_H_
