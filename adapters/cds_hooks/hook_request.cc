#include "adapters/cds_hooks/hook_request.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "adapters/cds_hooks/discovery.h"
#include "adapters/common/json_type_name.h"
#include "common/net/percent_encoding.h"
#include "simdjson.h"

namespace needlecheck::cds_hooks {

namespace {

using ::needlecheck::adapters::JsonTypeName;

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

absl::string_view AV(std::string_view s) { return {s.data(), s.size()}; }

absl::Status Invalid(absl::string_view path, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", problem));
}

// A string member: absent -> empty optional-like (found=false); wrong type
// or empty -> error.
absl::Status OptionalString(object o, std::string_view key,
                            absl::string_view path, std::string* out,
                            bool* found) {
  *found = false;
  element e;
  if (o.at_key(key).get(e) != simdjson::SUCCESS) return absl::OkStatus();
  std::string_view value;
  if (e.get_string().get(value) != simdjson::SUCCESS) {
    return Invalid(path,
                   absl::StrCat("expected a string, got ", JsonTypeName(e)));
  }
  if (value.empty()) {
    return Invalid(path, "empty string (omit the field instead)");
  }
  *out = std::string(value);
  *found = true;
  return absl::OkStatus();
}

absl::Status RequiredString(object o, std::string_view key,
                            absl::string_view path, std::string* out) {
  bool found = false;
  absl::Status s = OptionalString(o, key, path, out, &found);
  if (!s.ok()) return s;
  if (!found) return Invalid(path, "required string missing");
  return absl::OkStatus();
}

bool IsHttpUrl(absl::string_view url) {
  return (absl::StartsWith(url, "https://") && url.size() > 8) ||
         (absl::StartsWith(url, "http://") && url.size() > 7);
}

// "Type/id" with Type among `types`.
bool IsReference(absl::string_view ref, const std::vector<std::string>& types) {
  const size_t slash = ref.find('/');
  if (slash == absl::string_view::npos || slash + 1 >= ref.size()) return false;
  if (ref.find('/', slash + 1) != absl::string_view::npos) return false;
  const absl::string_view type = ref.substr(0, slash);
  for (const std::string& t : types) {
    if (type == t) return true;
  }
  return false;
}

std::string ResourceReference(object resource) {
  std::string_view type, id;
  if (resource["resourceType"].get(type) != simdjson::SUCCESS) return "";
  if (resource["id"].get(id) != simdjson::SUCCESS) return std::string(type);
  return absl::StrCat(AV(type), "/", AV(id));
}

// The resources of a Bundle (entry[].resource) or of an array.
absl::Status ResourcesOf(element container, absl::string_view path,
                         bool allow_array, std::vector<object>* out) {
  array items;
  object bundle;
  if (container.get(bundle) == simdjson::SUCCESS) {
    std::string_view type;
    if (bundle["resourceType"].get(type) != simdjson::SUCCESS ||
        type != "Bundle") {
      return Invalid(path, "expected a FHIR Bundle");
    }
    element entries;
    if (bundle.at_key("entry").get(entries) != simdjson::SUCCESS) {
      return absl::OkStatus();  // an empty Bundle
    }
    array entry_array;
    if (entries.get(entry_array) != simdjson::SUCCESS) {
      return Invalid(absl::StrCat(path, ".entry"), "expected an array");
    }
    int i = 0;
    for (element entry : entry_array) {
      object entry_object, resource;
      if (entry.get(entry_object) != simdjson::SUCCESS) {
        return Invalid(absl::StrCat(path, ".entry[", i, "]"),
                       "expected an object");
      }
      element r;
      if (entry_object.at_key("resource").get(r) == simdjson::SUCCESS) {
        if (r.get(resource) != simdjson::SUCCESS) {
          return Invalid(absl::StrCat(path, ".entry[", i, "].resource"),
                         "expected an object");
        }
        out->push_back(resource);
      }
      ++i;
    }
    return absl::OkStatus();
  }
  if (allow_array && container.get(items) == simdjson::SUCCESS) {
    int i = 0;
    for (element item : items) {
      object resource;
      if (item.get(resource) != simdjson::SUCCESS) {
        return Invalid(absl::StrCat(path, "[", i, "]"), "expected an object");
      }
      out->push_back(resource);
      ++i;
    }
    return absl::OkStatus();
  }
  return Invalid(path, absl::StrCat("expected a FHIR Bundle, got ",
                                    JsonTypeName(container)));
}

void KeepPlanned(const std::vector<object>& resources,
                 const std::vector<std::string>& types,
                 std::vector<PlannedResource>* out) {
  for (object r : resources) {
    std::string_view type;
    if (r["resourceType"].get(type) != simdjson::SUCCESS) continue;
    for (const std::string& t : types) {
      if (type == t) {
        out->push_back({ResourceReference(r), r});
      }
    }
  }
}

absl::Status ParseFhirAuthorization(element e, FhirAuthorization* out) {
  object o;
  if (e.get(o) != simdjson::SUCCESS) {
    return Invalid("fhirAuthorization",
                   absl::StrCat("expected an object, got ", JsonTypeName(e)));
  }
  absl::Status s = RequiredString(
      o, "access_token", "fhirAuthorization.access_token", &out->access_token);
  if (!s.ok()) return s;
  std::string token_type;
  s = RequiredString(o, "token_type", "fhirAuthorization.token_type",
                     &token_type);
  if (!s.ok()) return s;
  if (!absl::EqualsIgnoreCase(token_type, "Bearer")) {
    return Invalid("fhirAuthorization.token_type", "must be \"Bearer\"");
  }
  element expires;
  int64_t expires_in = 0;
  if (o.at_key("expires_in").get(expires) != simdjson::SUCCESS) {
    return Invalid("fhirAuthorization.expires_in", "required integer missing");
  }
  if (expires.get_int64().get(expires_in) != simdjson::SUCCESS) {
    return Invalid(
        "fhirAuthorization.expires_in",
        absl::StrCat("expected an integer, got ", JsonTypeName(expires)));
  }
  out->expires_in = expires_in;
  s = RequiredString(o, "scope", "fhirAuthorization.scope", &out->scope);
  if (!s.ok()) return s;
  s = RequiredString(o, "subject", "fhirAuthorization.subject", &out->subject);
  if (!s.ok()) return s;
  bool found = false;
  return OptionalString(o, "patient", "fhirAuthorization.patient",
                        &out->patient, &found);
}

// Records the `next` link of a searchset Bundle.
void CollectNextLinks(object bundle, std::vector<std::string>* out) {
  array links;
  if (bundle["link"].get(links) != simdjson::SUCCESS) return;
  for (element link : links) {
    std::string_view relation, url;
    if (link["relation"].get(relation) == simdjson::SUCCESS &&
        relation == "next" && link["url"].get(url) == simdjson::SUCCESS &&
        !url.empty()) {
      out->push_back(std::string(url));
    }
  }
}

absl::Status ParsePrefetch(element e, HookRequest* out) {
  object prefetch;
  if (e.get(prefetch) != simdjson::SUCCESS) {
    return Invalid("prefetch",
                   absl::StrCat("expected an object, got ", JsonTypeName(e)));
  }
  for (const PrefetchTemplate& t : PrefetchTemplates()) {
    element value;
    if (prefetch.at_key(t.key).get(value) != simdjson::SUCCESS) {
      out->prefetch_missing.push_back(t.key);
      continue;
    }
    if (value.is_null()) {
      out->prefetch_null.push_back(t.key);
      continue;
    }
    object resource;
    const std::string path = absl::StrCat("prefetch.", t.key);
    if (value.get(resource) != simdjson::SUCCESS) {
      return Invalid(path,
                     absl::StrCat("expected a FHIR resource or null, got ",
                                  JsonTypeName(value)));
    }
    std::string_view type;
    if (resource["resourceType"].get(type) != simdjson::SUCCESS) {
      return Invalid(path, "a FHIR resource needs a resourceType string");
    }
    if (type == "OperationOutcome") {
      // The client could not fetch it: fetch it ourselves if we may.
      out->prefetch_missing.push_back(t.key);
      continue;
    }
    if (type == "Bundle") CollectNextLinks(resource, &out->prefetch_next_pages);
    out->prefetch_present.push_back(t.key);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<HookRequest> ParseHookRequest(absl::string_view body,
                                             absl::string_view service_id) {
  auto parser = std::make_shared<simdjson::dom::parser>();
  element root;
  if (parser->parse(body.data(), body.size()).get(root) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("the request body is not valid JSON");
  }
  absl::StatusOr<HookRequest> request = ParseHookRequest(root, service_id);
  if (request.ok()) request->tree = std::move(parser);
  return request;
}

absl::StatusOr<HookRequest> ParseHookRequest(const simdjson::dom::element& root,
                                             absl::string_view service_id) {
  object request;
  if (root.get(request) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the request body must be a JSON object, got ", JsonTypeName(root)));
  }
  HookRequest out;
  absl::Status s = RequiredString(request, "hook", "hook", &out.hook);
  if (!s.ok()) return s;
  if (FindServiceEntry(service_id, out.hook) == nullptr) {
    return Invalid(
        "hook", absl::StrCat("service ", service_id, " does not serve hook \"",
                             out.hook.substr(0, 64), "\" (it serves ",
                             HooksOf(service_id), ")"));
  }
  s = RequiredString(request, "hookInstance", "hookInstance",
                     &out.hook_instance);
  if (!s.ok()) return s;
  if (out.hook_instance.size() > 256) {
    return Invalid("hookInstance", "longer than 256 characters");
  }
  bool has_server = false;
  s = OptionalString(request, "fhirServer", "fhirServer", &out.fhir_server,
                     &has_server);
  if (!s.ok()) return s;
  if (has_server && !IsHttpUrl(out.fhir_server)) {
    return Invalid("fhirServer", "expected an absolute http(s) URL");
  }
  element auth;
  if (request.at_key("fhirAuthorization").get(auth) == simdjson::SUCCESS) {
    FhirAuthorization fhir_authorization;
    s = ParseFhirAuthorization(auth, &fhir_authorization);
    if (!s.ok()) return s;
    if (!has_server) {
      return Invalid("fhirServer", "required when fhirAuthorization is given");
    }
    out.fhir_authorization = std::move(fhir_authorization);
  }

  // Context.
  element context_element;
  object context;
  if (request.at_key("context").get(context_element) != simdjson::SUCCESS) {
    return Invalid("context", "required object missing");
  }
  if (context_element.get(context) != simdjson::SUCCESS) {
    return Invalid("context", absl::StrCat("expected an object, got ",
                                           JsonTypeName(context_element)));
  }
  s = RequiredString(context, "userId", "context.userId", &out.user_id);
  if (!s.ok()) return s;
  const bool patient_users =
      out.hook == "patient-view" || out.hook == "appointment-book";
  const std::vector<std::string> user_types =
      patient_users
          ? std::vector<std::string>{"Practitioner", "PractitionerRole",
                                     "Patient", "RelatedPerson"}
          : std::vector<std::string>{"Practitioner", "PractitionerRole"};
  if (!IsReference(out.user_id, user_types)) {
    return Invalid(
        "context.userId",
        absl::StrCat("expected \"Type/id\" with Type one of ",
                     absl::StrJoin(user_types, ", "), " for hook ", out.hook));
  }
  s = RequiredString(context, "patientId", "context.patientId",
                     &out.patient_id);
  if (!s.ok()) return s;
  bool found = false;
  s = OptionalString(context, "encounterId", "context.encounterId",
                     &out.encounter_id, &found);
  if (!s.ok()) return s;

  if (out.hook == "order-select" || out.hook == "order-sign") {
    element draft_orders;
    if (context.at_key("draftOrders").get(draft_orders) != simdjson::SUCCESS) {
      return Invalid("context.draftOrders", "required Bundle missing");
    }
    std::vector<object> resources;
    s = ResourcesOf(draft_orders, "context.draftOrders", /*allow_array=*/false,
                    &resources);
    if (!s.ok()) return s;
    KeepPlanned(resources, {"ServiceRequest", "Procedure"},
                &out.planned_resources);
    if (out.hook == "order-select") {
      element selections_element;
      array selections;
      if (context.at_key("selections").get(selections_element) !=
          simdjson::SUCCESS) {
        return Invalid("context.selections", "required array missing");
      }
      if (selections_element.get(selections) != simdjson::SUCCESS) {
        return Invalid("context.selections",
                       absl::StrCat("expected an array, got ",
                                    JsonTypeName(selections_element)));
      }
      std::vector<std::string> references;
      for (object r : resources) references.push_back(ResourceReference(r));
      int i = 0;
      for (element selection : selections) {
        const std::string path = absl::StrCat("context.selections[", i++, "]");
        std::string_view value;
        if (selection.get_string().get(value) != simdjson::SUCCESS ||
            value.empty()) {
          return Invalid(path, "expected a \"Type/id\" string");
        }
        bool known = false;
        for (const std::string& r : references) known |= (r == value);
        if (!known) {
          return Invalid(path, "names no resource in context.draftOrders");
        }
        out.selections.push_back(std::string(value));
      }
      if (out.selections.empty()) {
        return Invalid("context.selections", "must name at least one order");
      }
    }
  } else if (out.hook == "appointment-book") {
    element appointments;
    if (context.at_key("appointments").get(appointments) != simdjson::SUCCESS) {
      return Invalid("context.appointments", "required Bundle missing");
    }
    std::vector<object> resources;
    s = ResourcesOf(appointments, "context.appointments", /*allow_array=*/true,
                    &resources);
    if (!s.ok()) return s;
    KeepPlanned(resources, {"Appointment"}, &out.planned_resources);
  }

  // Prefetch.
  element prefetch;
  if (request.at_key("prefetch").get(prefetch) == simdjson::SUCCESS) {
    s = ParsePrefetch(prefetch, &out);
    if (!s.ok()) return s;
  } else {
    for (const PrefetchTemplate& t : PrefetchTemplates()) {
      out.prefetch_missing.push_back(t.key);
    }
  }
  return out;
}

std::vector<std::string> BundleNextLinks(const simdjson::dom::element& root) {
  std::vector<std::string> out;
  object bundle;
  if (root.get(bundle) != simdjson::SUCCESS) return out;
  std::string_view type;
  if (bundle["resourceType"].get(type) != simdjson::SUCCESS ||
      type != "Bundle") {
    return out;
  }
  CollectNextLinks(bundle, &out);
  return out;
}

std::string ExpandPrefetchTemplate(absl::string_view query,
                                   const HookRequest& request) {
  return absl::StrReplaceAll(
      query,
      {{"{{context.patientId}}",
        net::PercentEncodeReserved(request.patient_id)},
       {"{{context.userId}}", net::PercentEncodeReserved(request.user_id)},
       {"{{context.encounterId}}",
        net::PercentEncodeReserved(request.encounter_id)}});
}

absl::StatusOr<std::vector<needlecheck::v1::RecordFeedbackRequest>>
ParseFeedback(absl::string_view body, absl::string_view service_id,
              size_t max_items) {
  simdjson::dom::parser parser;
  element root;
  if (parser.parse(body.data(), body.size()).get(root) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("the feedback body is not valid JSON");
  }
  object request;
  if (root.get(request) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError(
        "the feedback body must be a JSON object");
  }
  element items_element;
  array items;
  if (request.at_key("feedback").get(items_element) != simdjson::SUCCESS) {
    return Invalid("feedback", "required array missing");
  }
  if (items_element.get(items) != simdjson::SUCCESS) {
    return Invalid("feedback", absl::StrCat("expected an array, got ",
                                            JsonTypeName(items_element)));
  }
  if (items.size() > max_items) {
    return Invalid("feedback", absl::StrCat(items.size(),
                                            " entries, more than the limit "
                                            "of ",
                                            max_items,
                                            " per request (send them "
                                            "in several requests)"));
  }
  std::vector<needlecheck::v1::RecordFeedbackRequest> out;
  int i = 0;
  for (element item_element : items) {
    const std::string base = absl::StrCat("feedback[", i++, "]");
    object item;
    if (item_element.get(item) != simdjson::SUCCESS) {
      return Invalid(base, "expected an object");
    }
    needlecheck::v1::RecordFeedbackRequest r;
    r.set_service_id(std::string(service_id));
    std::string value;
    absl::Status s = RequiredString(item, "card", base + ".card", &value);
    if (!s.ok()) return s;
    r.set_alert_id(value);
    s = RequiredString(item, "outcome", base + ".outcome", &value);
    if (!s.ok()) return s;
    if (value == "accepted") {
      r.set_outcome(needlecheck::v1::FEEDBACK_OUTCOME_ACCEPTED);
    } else if (value == "overridden") {
      r.set_outcome(needlecheck::v1::FEEDBACK_OUTCOME_OVERRIDDEN);
    } else {
      return Invalid(base + ".outcome",
                     "expected \"accepted\" or \"overridden\"");
    }
    s = RequiredString(item, "outcomeTimestamp", base + ".outcomeTimestamp",
                       &value);
    if (!s.ok()) return s;
    absl::Time when;
    std::string error;
    if (!absl::ParseTime(absl::RFC3339_full, value, &when, &error)) {
      return Invalid(base + ".outcomeTimestamp",
                     "expected an RFC 3339 date-time such as "
                     "2021-12-11T10:05:31Z");
    }
    r.set_outcome_timestamp(value);

    element accepted_element;
    const bool has_accepted =
        item.at_key("acceptedSuggestions").get(accepted_element) ==
        simdjson::SUCCESS;
    if (r.outcome() == needlecheck::v1::FEEDBACK_OUTCOME_ACCEPTED &&
        !has_accepted) {
      return Invalid(base + ".acceptedSuggestions",
                     "required when outcome is \"accepted\"");
    }
    if (has_accepted) {
      array accepted;
      if (accepted_element.get(accepted) != simdjson::SUCCESS) {
        return Invalid(base + ".acceptedSuggestions", "expected an array");
      }
      int j = 0;
      for (element a : accepted) {
        const std::string path =
            absl::StrCat(base, ".acceptedSuggestions[", j++, "]");
        object suggestion;
        if (a.get(suggestion) != simdjson::SUCCESS) {
          return Invalid(path, "expected an object with an id");
        }
        std::string id;
        s = RequiredString(suggestion, "id", path + ".id", &id);
        if (!s.ok()) return s;
        r.add_accepted_suggestion_ids(id);
      }
    }

    element reason_element;
    if (item.at_key("overrideReason").get(reason_element) ==
        simdjson::SUCCESS) {
      const std::string path = base + ".overrideReason";
      object reason;
      if (reason_element.get(reason) != simdjson::SUCCESS) {
        return Invalid(path, "expected an object");
      }
      element coding_element;
      const bool has_coding =
          reason.at_key("reason").get(coding_element) == simdjson::SUCCESS;
      if (has_coding) {
        object coding;
        if (coding_element.get(coding) != simdjson::SUCCESS) {
          return Invalid(path + ".reason", "expected a Coding object");
        }
        std::string system, code, display;
        s = RequiredString(coding, "system", path + ".reason.system", &system);
        if (!s.ok()) return s;
        s = RequiredString(coding, "code", path + ".reason.code", &code);
        if (!s.ok()) return s;
        bool found = false;
        s = OptionalString(coding, "display", path + ".reason.display",
                           &display, &found);
        if (!s.ok()) return s;
        auto* o = r.mutable_override_reason();
        o->set_system(system);
        o->set_code(code);
        o->set_display(display);
      }
      std::string comment;
      bool has_comment = false;
      s = OptionalString(reason, "userComment", path + ".userComment", &comment,
                         &has_comment);
      if (!s.ok()) return s;
      if (!has_coding && !has_comment) {
        return Invalid(path, "needs a reason, a userComment or both");
      }
      r.set_user_comment(comment);
    }
    out.push_back(std::move(r));
  }
  if (out.empty()) return Invalid("feedback", "the array is empty");
  return out;
}

}  // namespace needlecheck::cds_hooks
