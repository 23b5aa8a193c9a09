#include "tools/cli/stats_command.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace needlecheck::cli {
namespace {

absl::Status UsageError(absl::string_view message) {
  return absl::InvalidArgumentError(message);
}

// A real calendar day written YYYY-MM-DD.
bool IsDay(absl::string_view text) {
  if (text.size() != 10) return false;
  absl::Time t;
  std::string error;
  return absl::ParseTime("%Y-%m-%d", text, absl::UTCTimeZone(), &t, &error) &&
         absl::FormatTime("%Y-%m-%d", t, absl::UTCTimeZone()) == text;
}

std::string Period(const needlecheck::v1::AlertStats& stats) {
  const std::string& from = stats.from_date();
  const std::string& to = stats.to_date();
  if (from.empty() && to.empty()) return "all days";
  if (to.empty()) return absl::StrCat("from ", from);
  if (from.empty()) return absl::StrCat("up to ", to);
  if (from == to) return from;
  return absl::StrCat(from, " to ", to);
}

}  // namespace

absl::StatusOr<StatsOptions> ParseStatsArgs(
    const std::vector<std::string>& args) {
  StatsOptions options;
  bool seen_from = false, seen_to = false, seen_top = false,
       seen_server = false, seen_json = false, seen_timeout = false,
       seen_tls_ca = false, seen_tls_cert = false, seen_tls_key = false,
       seen_tls_server_name = false;
  // --help anywhere wins over every other problem.
  for (const std::string& arg : args) {
    if (arg == "--help" || arg == "-h" || arg == "-help") {
      StatsOptions help;
      help.help = true;
      return help;
    }
  }
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (!absl::StartsWith(arg, "--") || arg.size() == 2) {
      return UsageError(
          absl::StrCat("unexpected argument '", arg, "' for 'stats'"));
    }
    std::string name = arg.substr(2);
    std::string value;
    bool has_value = false;
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
      has_value = true;
    }
    if (name == "json") {
      if (has_value) return UsageError("--json takes no value");
      if (seen_json) return UsageError("--json given twice");
      seen_json = true;
      options.json = true;
      continue;
    }
    if (name != "from" && name != "to" && name != "rule" && name != "top" &&
        name != "server" && name != "timeout" && name != "tls_ca" &&
        name != "tls_cert" && name != "tls_key" && name != "tls_server_name") {
      return UsageError(absl::StrCat("unknown flag --", name, " for 'stats'"));
    }
    if (!has_value) {
      if (i + 1 >= args.size()) {
        return UsageError(absl::StrCat("--", name, " needs a value"));
      }
      value = args[++i];
    }
    if (value.empty()) {
      return UsageError(absl::StrCat("--", name, " needs a non-empty value"));
    }
    auto once = [&](bool* seen) -> absl::Status {
      if (*seen) return UsageError(absl::StrCat("--", name, " given twice"));
      *seen = true;
      return absl::OkStatus();
    };
    absl::Status status;
    if (name == "from" || name == "to") {
      status = once(name == "from" ? &seen_from : &seen_to);
      if (status.ok() && !IsDay(value)) {
        status = UsageError(absl::StrCat("--", name, " ", value,
                                         ": not a calendar day (expected "
                                         "YYYY-MM-DD)"));
      }
      (name == "from" ? options.from : options.to) = value;
    } else if (name == "rule") {
      options.rules.push_back(value);
    } else if (name == "top") {
      status = once(&seen_top);
      if (status.ok() && (!absl::SimpleAtoi(value, &options.top) ||
                          options.top < 1 || options.top > 50)) {
        status = UsageError(
            absl::StrCat("--top ", value, ": expected a number from 1 to 50"));
      }
    } else if (name == "server") {
      status = once(&seen_server);
      options.server = value;
    } else if (name == "tls_ca") {
      status = once(&seen_tls_ca);
      options.tls.ca_file = value;
    } else if (name == "tls_cert") {
      status = once(&seen_tls_cert);
      options.tls.cert_file = value;
    } else if (name == "tls_key") {
      status = once(&seen_tls_key);
      options.tls.key_file = value;
    } else if (name == "tls_server_name") {
      status = once(&seen_tls_server_name);
      options.tls.server_name = value;
    } else {  // timeout
      status = once(&seen_timeout);
      if (status.ok() && (!absl::ParseDuration(value, &options.timeout) ||
                          options.timeout <= absl::ZeroDuration() ||
                          options.timeout == absl::InfiniteDuration())) {
        status = UsageError(absl::StrCat(
            "--timeout ", value,
            ": expected a positive duration such as 10s, 500ms or 1m"));
      }
    }
    if (!status.ok()) return status;
  }
  if (!options.from.empty() && !options.to.empty() &&
      options.from > options.to) {
    return UsageError(
        absl::StrCat("--from ", options.from, " is after --to ", options.to));
  }
  if (absl::Status s =
          needlecheck::grpc_client::CheckClientTlsOptions(options.tls, "");
      !s.ok()) {
    return s;
  }
  return options;
}

needlecheck::v1::GetAlertStatsRequest BuildStatsRequest(
    const StatsOptions& options) {
  needlecheck::v1::GetAlertStatsRequest request;
  request.set_from_date(options.from);
  request.set_to_date(options.to);
  for (const std::string& rule : options.rules) request.add_rule_ids(rule);
  request.set_top_reasons(options.top);
  return request;
}

std::string FormatAlertStats(const needlecheck::v1::AlertStats& stats) {
  std::string out = absl::StrCat(
      "Alert statistics, ", Period(stats), ": ", stats.screenings(),
      stats.screenings() == 1 ? " screening\n" : " screenings\n");
  if (stats.rules_size() == 0) {
    absl::StrAppend(&out, "No alerts were issued in this period.\n");
    return out;
  }
  size_t rule_width = 4;  // "RULE"
  for (const auto& rule : stats.rules()) {
    rule_width = std::max(rule_width, rule.rule_id().size());
  }
  const int w = static_cast<int>(rule_width);
  absl::StrAppend(
      &out, "\n",
      absl::StrFormat("%-*s  %6s  %5s  %5s  %5s  %8s  %10s  %10s  %s", w,
                      "RULE", "FIRED", "CRIT", "WARN", "INFO", "ACCEPTED",
                      "OVERRIDDEN", "OVERRIDE %", "TOP OVERRIDE REASONS"),
      "\n");
  int64_t fired = 0, accepted = 0, overridden = 0;
  for (const auto& rule : stats.rules()) {
    fired += rule.fired();
    accepted += rule.accepted();
    overridden += rule.overridden();
    const bool answered = rule.accepted() + rule.overridden() > 0;
    const std::string rate =
        answered ? absl::StrFormat("%.1f%%", rule.override_rate() * 100.0)
                 : "-";
    std::vector<std::string> reasons;
    for (const auto& reason : rule.top_override_reasons()) {
      reasons.push_back(
          absl::StrCat(reason.reason(), " (", reason.count(), ")"));
    }
    std::string line = absl::StrFormat(
        "%-*s  %6d  %5d  %5d  %5d  %8d  %10d  %10s  %s", w, rule.rule_id(),
        rule.fired(), rule.critical(), rule.warning(), rule.info(),
        rule.accepted(), rule.overridden(), rate, absl::StrJoin(reasons, "; "));
    absl::StrAppend(&out, absl::StripTrailingAsciiWhitespace(line), "\n");
  }
  const std::string total_rate =
      accepted + overridden > 0
          ? absl::StrFormat("%.1f%%",
                            100.0 * static_cast<double>(overridden) /
                                static_cast<double>(accepted + overridden))
          : "-";
  absl::StrAppend(
      &out,
      absl::StrFormat("%-*s  %6d  %5s  %5s  %5s  %8d  %10d  %10s", w, "TOTAL",
                      fired, "", "", "", accepted, overridden, total_rate),
      "\n");
  return out;
}

std::string StatsUsageText() {
  return absl::StrCat(
      R"(needlecheck stats: what clinicians did with needlecheck's alerts.

Usage:
  needlecheck stats [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--rule ID]...
                    [--top N] [--server HOST:PORT] [--json] [--timeout 10s]
                    [--tls_ca FILE.pem [--tls_cert FILE.pem --tls_key FILE.pem]]
                    [--tls_server_name NAME]

Calls ScreeningService.GetAlertStats on needlecheckd and prints, per rule, the
alerts issued in the period (by the UTC day they were issued), how many were
accepted and overridden (each alert counts once, by its latest feedback), the
override rate and the most frequent override reasons.

  --from, --to   first and last day of the period, inclusive (default: no bound)
  --rule ID      only this rule; repeat for several (default: every rule)
  --top N        override reasons listed per rule, 1-50 (default 5)
  --server       the needlecheckd address (default )",
      kDefaultServer, R"()
  --json         print the response as proto JSON
  --timeout      the RPC deadline (default 10s)
  --tls_ca, --tls_cert, --tls_key, --tls_server_name
                 TLS to needlecheckd, as for every command (see 'needlecheck
                 --help'); none given: plaintext
)");
}

}  // namespace needlecheck::cli
