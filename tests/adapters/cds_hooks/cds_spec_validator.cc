#include "tests/adapters/cds_hooks/cds_spec_validator.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace needlecheck::cds_hooks::testing {

namespace {

using Json = nlohmann::json;
using Problems = std::vector<std::string>;

void Add(Problems* p, const std::string& path, const std::string& problem) {
  p->push_back(absl::StrCat(path, ": ", problem));
}

void Append(Problems* p, const Problems& more) {
  p->insert(p->end(), more.begin(), more.end());
}

bool IsAbsoluteUrl(const std::string& s) {
  return absl::StartsWith(s, "https://") || absl::StartsWith(s, "http://");
}

size_t CodePoints(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// "Elements SHALL NOT be null or empty unless stated" (general rule).
void NoEmpty(const Json& j, const std::string& path, Problems* p) {
  if (j.is_null()) Add(p, path, "null value");
  if (j.is_string() && j.get<std::string>().empty())
    Add(p, path, "empty string");
  if ((j.is_array() || j.is_object()) && j.empty()) {
    Add(p, path, "empty array or object");
  }
}

// Checks a required/optional string member.
bool StringMember(const Json& o, const char* key, const std::string& path,
                  bool required, Problems* p) {
  if (!o.contains(key)) {
    if (required) Add(p, absl::StrCat(path, ".", key), "REQUIRED, missing");
    return false;
  }
  const Json& v = o.at(key);
  if (!v.is_string()) {
    Add(p, absl::StrCat(path, ".", key), "expected a string");
    return false;
  }
  NoEmpty(v, absl::StrCat(path, ".", key), p);
  return true;
}

}  // namespace

Problems ValidateCoding(const Json& coding, const std::string& path,
                        bool require_display) {
  Problems p;
  if (!coding.is_object()) {
    Add(&p, path, "a Coding must be an object");
    return p;
  }
  StringMember(coding, "code", path, true, &p);
  StringMember(coding, "system", path, true, &p);
  StringMember(coding, "display", path, require_display, &p);
  return p;
}

Problems ValidateAction(const Json& action, const std::string& path,
                        bool require_description) {
  Problems p;
  if (!action.is_object()) {
    Add(&p, path, "an Action must be an object");
    return p;
  }
  std::string type;
  if (StringMember(action, "type", path, true, &p)) {
    type = action.at("type").get<std::string>();
    if (type != "create" && type != "update" && type != "delete") {
      Add(&p, path + ".type", "must be create, update or delete");
    }
  }
  StringMember(action, "description", path, require_description, &p);
  if (type == "create" || type == "update") {
    if (!action.contains("resource") || !action.at("resource").is_object() ||
        !action.at("resource").contains("resourceType")) {
      Add(&p, path + ".resource", "create/update need the whole FHIR resource");
    }
  }
  if (type == "delete") {
    // cds-resp-2: delete uses resourceId (a string resource is deprecated).
    if (!action.contains("resourceId") &&
        !(action.contains("resource") && action.at("resource").is_string())) {
      Add(&p, path + ".resourceId", "delete needs resourceId");
    }
  }
  if (action.contains("resourceId")) {
    StringMember(action, "resourceId", path, false, &p);
  }
  return p;
}

Problems ValidateCard(const Json& card, const std::string& path) {
  Problems p;
  if (!card.is_object()) {
    Add(&p, path, "a Card must be an object");
    return p;
  }
  StringMember(card, "uuid", path, false, &p);
  if (StringMember(card, "summary", path, true, &p) &&
      CodePoints(card.at("summary").get<std::string>()) >= 140) {
    Add(&p, path + ".summary", "must be a <140-character summary");
  }
  StringMember(card, "detail", path, false, &p);
  if (StringMember(card, "indicator", path, true, &p)) {
    const std::string i = card.at("indicator").get<std::string>();
    if (i != "info" && i != "warning" && i != "critical") {
      Add(&p, path + ".indicator", "must be info, warning or critical");
    }
  }
  if (!card.contains("source") || !card.at("source").is_object()) {
    Add(&p, path + ".source", "REQUIRED object missing");
  } else {
    const Json& source = card.at("source");
    const std::string sp = path + ".source";
    StringMember(source, "label", sp, true, &p);
    if (StringMember(source, "url", sp, false, &p) &&
        !IsAbsoluteUrl(source.at("url").get<std::string>())) {
      Add(&p, sp + ".url", "must be an absolute URL");
    }
    if (StringMember(source, "icon", sp, false, &p) &&
        !IsAbsoluteUrl(source.at("icon").get<std::string>())) {
      Add(&p, sp + ".icon", "must be an absolute URL");
    }
    if (source.contains("topic")) {
      Append(&p, ValidateCoding(source.at("topic"), sp + ".topic", false));
    }
  }
  if (card.contains("suggestions")) {
    const Json& suggestions = card.at("suggestions");
    const std::string sp = path + ".suggestions";
    if (!suggestions.is_array()) {
      Add(&p, sp, "expected an array");
    } else {
      NoEmpty(suggestions, sp, &p);
      // cds-resp-6: suggestions => selectionBehavior.
      if (!card.contains("selectionBehavior")) {
        Add(&p, path + ".selectionBehavior",
            "MUST be present when suggestions are");
      }
      for (size_t i = 0; i < suggestions.size(); ++i) {
        const Json& s = suggestions[i];
        const std::string ip = absl::StrCat(sp, "[", i, "]");
        if (!s.is_object()) {
          Add(&p, ip, "expected an object");
          continue;
        }
        StringMember(s, "label", ip, true, &p);
        StringMember(s, "uuid", ip, false, &p);
        if (s.contains("isRecommended") &&
            !s.at("isRecommended").is_boolean()) {
          Add(&p, ip + ".isRecommended", "expected a boolean");
        }
        if (s.contains("actions")) {
          const Json& actions = s.at("actions");
          if (!actions.is_array()) {
            Add(&p, ip + ".actions", "expected an array");
          } else {
            for (size_t a = 0; a < actions.size(); ++a) {
              Append(&p, ValidateAction(actions[a],
                                        absl::StrCat(ip, ".actions[", a, "]"),
                                        true));
            }
          }
        }
      }
    }
  }
  if (card.contains("selectionBehavior")) {
    if (StringMember(card, "selectionBehavior", path, false, &p)) {
      const std::string b = card.at("selectionBehavior").get<std::string>();
      if (b != "at-most-one" && b != "any") {
        Add(&p, path + ".selectionBehavior", "must be at-most-one or any");
      }
    }
  }
  if (card.contains("overrideReasons")) {
    const Json& reasons = card.at("overrideReasons");
    if (!reasons.is_array()) {
      Add(&p, path + ".overrideReasons", "expected an array");
    } else {
      NoEmpty(reasons, path + ".overrideReasons", &p);
      for (size_t i = 0; i < reasons.size(); ++i) {
        // cds-resp-4: display REQUIRED for override reasons.
        Append(&p, ValidateCoding(
                       reasons[i],
                       absl::StrCat(path, ".overrideReasons[", i, "]"), true));
      }
    }
  }
  if (card.contains("links")) {
    const Json& links = card.at("links");
    if (!links.is_array()) {
      Add(&p, path + ".links", "expected an array");
    } else {
      for (size_t i = 0; i < links.size(); ++i) {
        const Json& l = links[i];
        const std::string lp = absl::StrCat(path, ".links[", i, "]");
        StringMember(l, "label", lp, true, &p);
        StringMember(l, "url", lp, true, &p);
        std::string type;
        if (StringMember(l, "type", lp, true, &p)) {
          type = l.at("type").get<std::string>();
          if (type != "absolute" && type != "smart") {
            Add(&p, lp + ".type", "must be absolute or smart");
          }
        }
        // cds-resp-3: appContext only for smart links.
        if (l.contains("appContext") && type != "smart") {
          Add(&p, lp + ".appContext", "only valid on smart links");
        }
        if (l.contains("autolaunchable") &&
            !l.at("autolaunchable").is_boolean()) {
          Add(&p, lp + ".autolaunchable", "expected a boolean");
        }
      }
    }
  }
  return p;
}

Problems ValidateCdsResponse(const Json& response) {
  Problems p;
  if (!response.is_object()) {
    Add(&p, "$", "the response must be an object");
    return p;
  }
  if (!response.contains("cards") || !response.at("cards").is_array()) {
    Add(&p, "cards", "REQUIRED array missing");
    return p;
  }
  const Json& cards = response.at("cards");
  for (size_t i = 0; i < cards.size(); ++i) {
    Append(&p, ValidateCard(cards[i], absl::StrCat("cards[", i, "]")));
  }
  if (response.contains("systemActions")) {
    const Json& actions = response.at("systemActions");
    if (!actions.is_array()) {
      Add(&p, "systemActions", "expected an array");
    } else {
      for (size_t i = 0; i < actions.size(); ++i) {
        Append(&p, ValidateAction(actions[i],
                                  absl::StrCat("systemActions[", i, "]"),
                                  /*require_description=*/false));
      }
    }
  }
  return p;
}

Problems ValidateDiscovery(const Json& discovery) {
  Problems p;
  if (!discovery.is_object() || !discovery.contains("services") ||
      !discovery.at("services").is_array()) {
    Add(&p, "services", "REQUIRED array missing");
    return p;
  }
  const Json& services = discovery.at("services");
  for (size_t i = 0; i < services.size(); ++i) {
    const Json& s = services[i];
    const std::string sp = absl::StrCat("services[", i, "]");
    if (!s.is_object()) {
      Add(&p, sp, "expected an object");
      continue;
    }
    StringMember(s, "hook", sp, true, &p);
    StringMember(s, "title", sp, false, &p);
    StringMember(s, "description", sp, true, &p);
    StringMember(s, "id", sp, true, &p);
    StringMember(s, "usageRequirements", sp, false, &p);
    if (s.contains("prefetch")) {
      const Json& prefetch = s.at("prefetch");
      if (!prefetch.is_object()) {
        Add(&p, sp + ".prefetch", "expected an object");
      } else {
        for (const auto& [key, value] : prefetch.items()) {
          if (!value.is_string() || value.get<std::string>().empty()) {
            Add(&p, absl::StrCat(sp, ".prefetch.", key),
                "expected a non-empty template string");
          }
        }
      }
    }
    if (s.contains("extension") && !s.at("extension").is_object()) {
      Add(&p, sp + ".extension", "must be an object");
    }
  }
  return p;
}

Problems ValidateFeedback(const Json& feedback) {
  Problems p;
  if (!feedback.is_object() || !feedback.contains("feedback") ||
      !feedback.at("feedback").is_array()) {
    Add(&p, "feedback", "REQUIRED array missing");
    return p;
  }
  const Json& items = feedback.at("feedback");
  for (size_t i = 0; i < items.size(); ++i) {
    const Json& f = items[i];
    const std::string fp = absl::StrCat("feedback[", i, "]");
    StringMember(f, "card", fp, true, &p);
    if (StringMember(f, "outcome", fp, true, &p)) {
      const std::string o = f.at("outcome").get<std::string>();
      if (o != "accepted" && o != "overridden") {
        Add(&p, fp + ".outcome", "must be accepted or overridden");
      }
      if (o == "accepted" && !f.contains("acceptedSuggestions")) {
        Add(&p, fp + ".acceptedSuggestions", "REQUIRED for accepted");
      }
    }
    StringMember(f, "outcomeTimestamp", fp, true, &p);
  }
  return p;
}

}  // namespace needlecheck::cds_hooks::testing
