// FHIR_RETURN_IF_ERROR for absl::Status, internal to needlecheck_fhir.
// Adapters do not include service/ (service/common/status_macros.h has the
// project's pair), so this is the accepted small duplicate.
#ifndef ADAPTERS_FHIR_INTERNAL_STATUS_MACROS_H_
#define ADAPTERS_FHIR_INTERNAL_STATUS_MACROS_H_

#include "absl/status/status.h"

#define FHIR_RETURN_IF_ERROR(expr)               \
  do {                                           \
    const ::absl::Status fhir_status_ = (expr);  \
    if (!fhir_status_.ok()) return fhir_status_; \
  } while (false)

#endif  // ADAPTERS_FHIR_INTERNAL_STATUS_MACROS_H_
