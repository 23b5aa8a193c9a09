#include "tools/cli/command_flags.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/calendar/day.h"

namespace needlecheck::cli {

const CommandFlagSpec kSharedFlags[9] = {
    {"from"},     {"to"},      {"json", CommandFlagSpec::kSwitch},
    {"server"},   {"timeout"}, {"tls_ca"},
    {"tls_cert"}, {"tls_key"}, {"tls_server_name"},
};

bool HelpRequested(const std::vector<std::string>& args) {
  for (const std::string& arg : args) {
    if (arg == "--help" || arg == "-h" || arg == "-help") return true;
  }
  return false;
}

absl::Status ReadCommandFlags(
    const std::vector<std::string>& args, absl::string_view command,
    absl::Span<const CommandFlagSpec> accepted,
    absl::FunctionRef<absl::Status(const CommandFlag&)> apply) {
  std::vector<std::string> seen;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (!absl::StartsWith(arg, "--") || arg.size() == 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected argument '", arg, "' for '", command, "'"));
    }
    CommandFlag flag{arg.substr(2), ""};
    bool has_value = false;
    if (const size_t eq = flag.name.find('='); eq != std::string::npos) {
      flag.value = flag.name.substr(eq + 1);
      flag.name.resize(eq);
      has_value = true;
    }
    const CommandFlagSpec* spec = nullptr;
    for (const CommandFlagSpec& s : accepted) {
      if (s.name == flag.name) spec = &s;
    }
    if (spec != nullptr && spec->kind == CommandFlagSpec::kSwitch &&
        has_value) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag.name, " takes no value"));
    }
    if (spec == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag --", flag.name, " for '", command, "'"));
    }
    if (spec->kind != CommandFlagSpec::kSwitch) {
      if (!has_value) {
        if (i + 1 >= args.size()) {
          return absl::InvalidArgumentError(
              absl::StrCat("--", flag.name, " needs a value"));
        }
        flag.value = args[++i];
      }
      if (flag.value.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("--", flag.name, " needs a non-empty value"));
      }
    }
    if (spec->kind != CommandFlagSpec::kRepeatedValue) {
      for (const std::string& earlier : seen) {
        if (earlier == flag.name) {
          return absl::InvalidArgumentError(
              absl::StrCat("--", flag.name, " given twice"));
        }
      }
      seen.push_back(flag.name);
    }
    if (absl::Status s = apply(flag); !s.ok()) return s;
  }
  return absl::OkStatus();
}

bool ApplySharedFlag(const CommandFlag& flag, const SharedFlags& out,
                     absl::Status* status) {
  *status = absl::OkStatus();
  const std::string& v = flag.value;
  if (flag.name == "from" || flag.name == "to") {
    if (!IsCivilDayText(v)) {
      *status = absl::InvalidArgumentError(
          absl::StrCat("--", flag.name, " ", v,
                       ": not a calendar day (expected YYYY-MM-DD)"));
    }
    *(flag.name == "from" ? out.from : out.to) = v;
  } else if (flag.name == "json") {
    *out.json = true;
  } else if (flag.name == "server") {
    *out.server = v;
  } else if (flag.name == "tls_ca") {
    out.tls->ca_file = v;
  } else if (flag.name == "tls_cert") {
    out.tls->cert_file = v;
  } else if (flag.name == "tls_key") {
    out.tls->key_file = v;
  } else if (flag.name == "tls_server_name") {
    out.tls->server_name = v;
  } else if (flag.name == "timeout") {
    if (!absl::ParseDuration(v, out.timeout) ||
        *out.timeout <= absl::ZeroDuration() ||
        *out.timeout == absl::InfiniteDuration()) {
      *status = absl::InvalidArgumentError(absl::StrCat(
          "--timeout ", v,
          ": expected a positive duration such as 10s, 500ms or 1m"));
    }
  } else {
    return false;
  }
  return true;
}

absl::Status CheckPeriodAndTls(
    const std::string& from, const std::string& to,
    const needlecheck::grpc_client::ClientTlsOptions& tls) {
  if (!from.empty() && !to.empty() && from > to) {
    return absl::InvalidArgumentError(
        absl::StrCat("--from ", from, " is after --to ", to));
  }
  return needlecheck::grpc_client::CheckClientTlsOptions(tls, "");
}

}  // namespace needlecheck::cli
