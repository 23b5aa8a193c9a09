// Validation of a parsed knowledge-base definition, before it is compiled.
//
// Contract: returns every problem found (empty when valid), each as
// "<source>:<line>:<column>: <field path>: <problem>", where line and column
// come from the text-format parse locations in `locations` (1-based) and the
// field path is like "rules[3].criteria[0].value_set". Problems for a field
// that is absent from the file point at the enclosing message. Pure,
// thread-safe. Internal to service/kb.
#ifndef SERVICE_KB_KB_VALIDATION_H_
#define SERVICE_KB_KB_VALIDATION_H_

#include <string>
#include <vector>

#include "google/protobuf/text_format.h"
#include "needlecheck/v1/knowledge_base.pb.h"

namespace needlecheck::kb {

std::vector<std::string> ValidateKnowledgeBaseDefinition(
    const needlecheck::v1::KnowledgeBaseDefinition& definition,
    const google::protobuf::TextFormat::ParseInfoTree& locations,
    const std::string& source);

}  // namespace needlecheck::kb

#endif  // SERVICE_KB_KB_VALIDATION_H_
