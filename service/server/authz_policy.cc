#include "service/server/authz_policy.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace needlecheck::server {
namespace {

constexpr char kWildcard[] = "*";

// `line` without a comment: from a '#' at its start or after a blank.
absl::string_view StripComment(absl::string_view line) {
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '#' && (i == 0 || absl::ascii_isspace(line[i - 1]))) {
      return line.substr(0, i);
    }
  }
  return line;
}

std::string SortedNames(const absl::flat_hash_set<std::string>& names) {
  std::vector<std::string> sorted(names.begin(), names.end());
  std::sort(sorted.begin(), sorted.end());
  return absl::StrJoin(sorted, ", ");
}

}  // namespace

absl::StatusOr<AuthzPolicy> AuthzPolicy::Parse(
    absl::string_view text, absl::string_view file_name,
    const absl::flat_hash_set<std::string>& known_methods) {
  AuthzPolicy policy;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    const auto problem = [&](absl::string_view what) {
      return absl::InvalidArgumentError(
          absl::StrCat(file_name, ":", line_number, ": ", what));
    };
    const std::vector<absl::string_view> fields = absl::StrSplit(
        StripComment(line), absl::ByAnyChar(" \t\r\f\v"), absl::SkipEmpty());
    if (fields.empty()) continue;
    if (fields.size() != 2) {
      return problem(absl::StrCat(
          "expected \"IDENTITY METHOD[,METHOD...]\" (2 fields), found ",
          fields.size(),
          fields.size() > 2 ? " (no blanks inside a method list)" : ""));
    }
    Methods& methods = policy.rules_[fields[0]];
    for (absl::string_view method : absl::StrSplit(fields[1], ',')) {
      if (method.empty()) return problem("empty method name in the list");
      if (method == kWildcard) {
        methods.all = true;
      } else if (known_methods.contains(method)) {
        methods.names.emplace(method);
      } else {
        return problem(absl::StrCat("unknown method \"", method, "\" (known: ",
                                    SortedNames(known_methods), ", or *)"));
      }
    }
    ++policy.rule_count_;
  }
  return policy;
}

absl::Status AuthzPolicy::Check(const CallerIdentity& caller,
                                absl::string_view method) const {
  if (!caller.verified) {
    return absl::UnauthenticatedError(absl::StrCat(
        "calling ", method, " needs a verified client certificate"));
  }
  if (auto it = rules_.find(kWildcard);
      it != rules_.end() && it->second.Allows(method)) {
    return absl::OkStatus();
  }
  for (const std::string& name : caller.names) {
    if (name == kWildcard) continue;  // a certificate name, not the wildcard
    auto it = rules_.find(name);
    if (it != rules_.end() && it->second.Allows(method)) {
      return absl::OkStatus();
    }
  }
  return absl::PermissionDeniedError(
      absl::StrCat("this client certificate is not allowed to call ", method));
}

}  // namespace needlecheck::server
