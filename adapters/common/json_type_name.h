// JsonTypeName: how adapters name a JSON value's type in error messages
// ("expected an object, got an array"). Shared by the FHIR and CDS Hooks
// adapters so their errors read alike. Pure, thread-safe.
#ifndef ADAPTERS_COMMON_JSON_TYPE_NAME_H_
#define ADAPTERS_COMMON_JSON_TYPE_NAME_H_

#include "simdjson.h"

namespace needlecheck::adapters {

// "an array", "an object", "a number", "a string", "a boolean" or "null".
const char* JsonTypeName(const simdjson::dom::element& e);

}  // namespace needlecheck::adapters

#endif  // ADAPTERS_COMMON_JSON_TYPE_NAME_H_
