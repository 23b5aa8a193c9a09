// One parsed JSON document, shared by every reader of it: a CDS Hooks body
// is parsed once and the hook request (adapters/cds_hooks/hook_request.h),
// the planned session (planned_session.h) and the record
// (FhirRecordBuilder::AddDocument) all read the same tree; a page fetched
// from a FHIR server is parsed once for its `next` links and its resources.
//
// simdjson DOM (see fhir_extract.h for why DOM): the whole document is
// validated (structure, UTF-8, depth) before any field is read.
//
// Errors of Parse(), kept in status() (the messages FhirRecordBuilder and
// the planned-session readers give for the same input):
//   RESOURCE_EXHAUSTED  input longer than max_input_bytes, or the parser's
//                       memory could not be allocated.
//   INVALID_ARGUMENT    malformed or truncated JSON; nesting deeper than
//                       max_depth ("JSON nests deeper than 64 levels").
//
// Not copyable or movable (the tree points into the parser); not
// thread-safe: one per call or thread. The tree lives until the next Parse()
// or the document's end.
//
// Example:
//   fhir::JsonDocument body;
//   if (absl::Status s = body.Parse(json, 16 << 20, 64); !s.ok()) return s;
//   auto planned = fhir::PlannedSessionFromHookRequest(body, options);
//   RETURN_IF_ERROR(builder.AddDocument(body));
#ifndef ADAPTERS_FHIR_JSON_DOCUMENT_H_
#define ADAPTERS_FHIR_JSON_DOCUMENT_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "simdjson.h"

namespace needlecheck::fhir {

class JsonDocument {
 public:
  JsonDocument() = default;
  JsonDocument(const JsonDocument&) = delete;
  JsonDocument& operator=(const JsonDocument&) = delete;

  // Parses `json` (simdjson copies it: the view need not outlive the call),
  // replacing any earlier tree. Returns status().
  absl::Status Parse(absl::string_view json, size_t max_input_bytes,
                     size_t max_depth);

  // OK after a successful Parse(); the error of the last Parse(); or
  // FAILED_PRECONDITION before any.
  const absl::Status& status() const { return status_; }
  bool ok() const { return status_.ok(); }
  // The root element. Only meaningful when ok().
  const simdjson::dom::element& root() const { return root_; }
  // The largest document the parser's buffers now hold without growing, in
  // bytes (their size is about 14 times this): for pools of documents.
  size_t capacity() const { return parser_.capacity(); }

 private:
  simdjson::dom::parser parser_;
  simdjson::dom::element root_;
  absl::Status status_ =
      absl::FailedPreconditionError("no JSON document parsed");
};

}  // namespace needlecheck::fhir

#endif  // ADAPTERS_FHIR_JSON_DOCUMENT_H_
