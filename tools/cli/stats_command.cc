#include "tools/cli/stats_command.h"

#include <algorithm>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "tools/cli/command_flags.h"

namespace needlecheck::cli {
namespace {

absl::Status UsageError(absl::string_view message) {
  return absl::InvalidArgumentError(message);
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
  // --help anywhere wins over every other problem.
  if (HelpRequested(args)) {
    options.help = true;
    return options;
  }
  std::vector<CommandFlagSpec> accepted = {
      {"rule", CommandFlagSpec::kRepeatedValue}, {"top"}};
  accepted.insert(accepted.end(), std::begin(kSharedFlags),
                  std::end(kSharedFlags));
  const SharedFlags shared{&options.from,   &options.to,      &options.json,
                           &options.server, &options.timeout, &options.tls};
  absl::Status read = ReadCommandFlags(
      args, "stats", accepted, [&](const CommandFlag& flag) -> absl::Status {
        const std::string& name = flag.name;
        const std::string& value = flag.value;
        absl::Status status;
        if (ApplySharedFlag(flag, shared, &status)) {
          return status;
        } else if (name == "rule") {
          options.rules.push_back(value);
        } else {  // top
          if (!absl::SimpleAtoi(value, &options.top) || options.top < 1 ||
              options.top > 50) {
            return UsageError(absl::StrCat("--top ", value,
                                           ": expected a number from 1 to 50"));
          }
        }
        return absl::OkStatus();
      });
  if (!read.ok()) return read;
  if (absl::Status s = CheckPeriodAndTls(options.from, options.to, options.tls);
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
