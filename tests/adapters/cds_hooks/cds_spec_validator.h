// Test-only: checks CDS Hooks 2.0 JSON documents against the specification's
// rules (field optionality, types, enumerations, the conditional rules and
// the 3.0 FSH invariants that restate 2.0 text: cds-resp-1..6). Each
// problem is returned as "path: problem"; an empty list means valid.
//
// Written from the spec text (HL7/cds-hooks v2.0.1 index.md), because no
// JSON Schema for 2.0 is published. Deliberate leniency: a systemAction
// without `description` is accepted (the spec's own systemActions example
// omits it).
#ifndef TESTS_ADAPTERS_CDS_HOOKS_CDS_SPEC_VALIDATOR_H_
#define TESTS_ADAPTERS_CDS_HOOKS_CDS_SPEC_VALIDATOR_H_

#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace needlecheck::cds_hooks::testing {

std::vector<std::string> ValidateCdsResponse(const nlohmann::json& response);
std::vector<std::string> ValidateCard(const nlohmann::json& card,
                                      const std::string& path);
std::vector<std::string> ValidateAction(const nlohmann::json& action,
                                        const std::string& path,
                                        bool require_description);
std::vector<std::string> ValidateCoding(const nlohmann::json& coding,
                                        const std::string& path,
                                        bool require_display);
std::vector<std::string> ValidateDiscovery(const nlohmann::json& discovery);
std::vector<std::string> ValidateFeedback(const nlohmann::json& feedback);

}  // namespace needlecheck::cds_hooks::testing

#endif  // TESTS_ADAPTERS_CDS_HOOKS_CDS_SPEC_VALIDATOR_H_
