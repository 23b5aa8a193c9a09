// The CDS Services needlecheck offers and the discovery document that lists
// them (CDS Hooks 2.0 "Discovery": GET {baseUrl}/cds-services).
//
// Services (the spec lets one id appear in several entries with different
// hooks, "Update stale guidance": the EHR replaces the cards of an earlier
// hook of the same id, e.g. order-select cards by order-sign cards):
//   microneedling-safety     appointment-book, order-select, order-sign: the
//                            planned session from context.appointments or
//                            context.draftOrders (+ selections)
//   microneedling-readiness  patient-view: standing contraindications and
//                            the earliest date the next session is allowed
//
// Every entry asks for the same prefetch (kPrefetchKeys): everything the
// rules read. Pure data; thread-safe.
#ifndef ADAPTERS_CDS_HOOKS_DISCOVERY_H_
#define ADAPTERS_CDS_HOOKS_DISCOVERY_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace needlecheck::cds_hooks {

inline constexpr char kSafetyServiceId[] = "microneedling-safety";
inline constexpr char kReadinessServiceId[] = "microneedling-readiness";

// One discovery entry.
struct CdsServiceEntry {
  std::string id;
  std::string hook;
  std::string title;
  std::string description;
};

// A prefetch key and its template.
struct PrefetchTemplate {
  std::string key;
  std::string query;  // relative FHIR URL with {{context.patientId}}
};

// Every discovery entry, in discovery order.
const std::vector<CdsServiceEntry>& CdsServiceEntries();

// The prefetch templates every entry declares.
const std::vector<PrefetchTemplate>& PrefetchTemplates();

// True when `id` is one of our service ids.
bool IsKnownServiceId(absl::string_view id);

// The entry for (id, hook), or nullptr when the service does not serve that
// hook.
const CdsServiceEntry* FindServiceEntry(absl::string_view id,
                                        absl::string_view hook);

// The hooks a service id serves, comma separated (for error messages).
std::string HooksOf(absl::string_view id);

// The discovery document: {"services": [...]}, each entry with hook, title,
// description, id and prefetch.
std::string DiscoveryJson();

}  // namespace needlecheck::cds_hooks

#endif  // ADAPTERS_CDS_HOOKS_DISCOVERY_H_
