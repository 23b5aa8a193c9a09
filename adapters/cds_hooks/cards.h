// ScreenResponse -> CDS Hooks 2.0 response ({"cards": [...]}). Pure: the
// caller passes the rule citations, the planned resources and a uuid source.
//
// One card per alert:
//   uuid             Alert.alert_id (the ledger's id, so feedback can name
//                    it); a fresh UUID from `new_uuid` when empty
//   summary          Alert.summary, shortened to fewer than 140 characters
//                    (Unicode code points; the spec says "<140-character")
//                    with a trailing ellipsis when cut
//   indicator        SEVERITY_CRITICAL -> "critical", SEVERITY_WARNING ->
//                    "warning", anything else -> "info"
//   detail           GitHub-flavoured markdown: the alert's detail, the
//                    evidence (entry ids and matched text, markdown-escaped),
//                    the suggestions' text, the citation and the
//                    knowledge-base version
//   source           label "needlecheck"; url = the rule's citation_url
//                    resolved against docs_base_url (omitted when either is
//                    empty, since the spec wants an absolute URL); topic =
//                    Coding {system "urn:needlecheck:rule", code rule id,
//                    display "<category> (<rule id>)"}
//   suggestions      MN-FREQ-INTERVAL with an earliest date and planned
//                    resources: one suggestion (with a uuid) whose actions
//                    `update` each planned Appointment / ServiceRequest /
//                    Procedure to the earliest date (the whole resource, as
//                    the spec requires for update); selectionBehavior
//                    "at-most-one" whenever suggestions are present
//   overrideReasons  critical cards only: each Alert.override_reasons text
//                    as Coding {system "urn:needlecheck:override-reason",
//                    code (a slug of the text), display (the text)}
//
// Readiness mode (patient-view): the interval rule becomes an info card
// "Next microneedling session allowed from <date>" with no suggestion.
//
// Error codes: INTERNAL only if JSON rendering fails (it should not).
// Thread-safe if `new_uuid` is.
#ifndef ADAPTERS_CDS_HOOKS_CARDS_H_
#define ADAPTERS_CDS_HOOKS_CARDS_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "adapters/cds_hooks/hook_request.h"
#include "needlecheck/v1/screening.pb.h"

namespace needlecheck::cds_hooks {

inline constexpr char kRuleSystem[] = "urn:needlecheck:rule";
inline constexpr char kOverrideReasonSystem[] =
    "urn:needlecheck:override-reason";
inline constexpr char kIntervalRuleId[] = "MN-FREQ-INTERVAL";

struct CardOptions {
  // Rule id -> citation_url from the knowledge base (GetKnowledgeBase), e.g.
  // "docs/rules.md#mn-ci-acne". Missing rules get no source.url.
  std::map<std::string, std::string> citation_urls;
  // Absolute URL the citation_url values are relative to, e.g.
  // "https://docs.example.org/needlecheck/". Empty: no source.url.
  std::string docs_base_url;
  // Planned resources the session came from (for the interval suggestion),
  // read in their parsed tree, which must live until RenderCards returns.
  std::vector<PlannedResource> planned_resources;
  // patient-view: report the interval rule as readiness information.
  bool readiness = false;
  // Returns a new random UUID (lower case, 36 characters), or an error that
  // RenderCards returns as it is (ids::NewUuidV4 in the service).
  std::function<absl::StatusOr<std::string>()> new_uuid;
};

// The response body.
absl::StatusOr<std::string> RenderCards(
    const needlecheck::v1::ScreenResponse& response,
    const CardOptions& options);

// The summary rule: fewer than 140 code points, ellipsis when cut.
std::string ShortenSummary(absl::string_view summary);

// "docs/rules.md#x" against "https://h/p/" -> "https://h/p/docs/rules.md#x";
// an absolute citation_url is returned as is; empty when it cannot be made
// absolute.
std::string ResolveUrl(absl::string_view base, absl::string_view relative);

}  // namespace needlecheck::cds_hooks

#endif  // ADAPTERS_CDS_HOOKS_CARDS_H_
