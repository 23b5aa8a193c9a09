#include "tools/cli/cli_args.h"

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "common/calendar/fhir_date.h"
#include "needlecheck/v1/record.pb.h"

namespace needlecheck::cli {
namespace {

using needlecheck::v1::AreaPlan;
using needlecheck::v1::TreatmentArea;

constexpr absl::string_view kAreaPrefix = "TREATMENT_AREA_";

absl::Status UsageError(absl::string_view message) {
  return absl::InvalidArgumentError(message);
}

// Walks the argument list, handing out flags and their values.
class ArgReader {
 public:
  explicit ArgReader(const std::vector<std::string>& args, size_t start)
      : args_(args), pos_(start) {}

  bool Done() const { return pos_ >= args_.size(); }
  const std::string& Peek() const { return args_[pos_]; }
  std::string Next() { return args_[pos_++]; }

  // The value of flag `arg` ("--name=value" or "--name value").
  absl::StatusOr<std::string> Value(absl::string_view name,
                                    absl::string_view inline_value,
                                    bool has_inline) {
    if (has_inline) return std::string(inline_value);
    if (Done()) {
      return UsageError(absl::StrCat("--", name, " needs a value"));
    }
    return Next();
  }

 private:
  const std::vector<std::string>& args_;
  size_t pos_;
};

bool IsHelpFlag(absl::string_view arg) {
  return arg == "--help" || arg == "-h" || arg == "-help";
}

// Splits "--name=value" into name and value.
struct FlagArg {
  std::string name;
  std::string inline_value;
  bool has_inline = false;
};

std::optional<FlagArg> SplitFlag(absl::string_view arg) {
  if (!absl::StartsWith(arg, "--") || arg.size() == 2) return std::nullopt;
  arg.remove_prefix(2);
  FlagArg flag;
  const size_t eq = arg.find('=');
  if (eq == absl::string_view::npos) {
    flag.name = std::string(arg);
  } else {
    flag.name = std::string(arg.substr(0, eq));
    flag.inline_value = std::string(arg.substr(eq + 1));
    flag.has_inline = true;
  }
  return flag;
}

// Which flags a command accepts.
struct FlagSet {
  bool screen = false;  // --record --date --area --anesthetic
  bool client = false;  // --server --json --timeout --tls_*
};

// The TLS flags (client_tls_options.h) and the fields they set.
struct TlsFlag {
  absl::string_view name;
  std::string needlecheck::grpc_client::ClientTlsOptions::*field;
};
constexpr TlsFlag kTlsFlags[] = {
    {"tls_ca", &needlecheck::grpc_client::ClientTlsOptions::ca_file},
    {"tls_cert", &needlecheck::grpc_client::ClientTlsOptions::cert_file},
    {"tls_key", &needlecheck::grpc_client::ClientTlsOptions::key_file},
    {"tls_server_name",
     &needlecheck::grpc_client::ClientTlsOptions::server_name},
};
constexpr int kTlsFlagCount = sizeof(kTlsFlags) / sizeof(kTlsFlags[0]);

// The index of TLS flag `name` in kTlsFlags, or -1.
int TlsFlagIndex(absl::string_view name) {
  for (int i = 0; i < kTlsFlagCount; ++i) {
    if (kTlsFlags[i].name == name) return i;
  }
  return -1;
}

absl::Status SetOnce(absl::string_view name, const std::string& value,
                     bool* seen, std::string* out) {
  if (*seen) return UsageError(absl::StrCat("--", name, " given twice"));
  if (value.empty()) {
    return UsageError(absl::StrCat("--", name, " needs a non-empty value"));
  }
  *seen = true;
  *out = value;
  return absl::OkStatus();
}

// Parses the flags of one command into `inv`; positional arguments go to
// `positional`.
absl::Status ParseFlags(ArgReader& reader, const FlagSet& allowed,
                        absl::string_view command, CliInvocation* inv,
                        std::vector<std::string>* positional) {
  bool seen_record = false, seen_fhir = false, seen_date = false,
       seen_anesthetic = false, seen_server = false, seen_json = false,
       seen_timeout = false;
  bool seen_tls[kTlsFlagCount] = {};
  bool only_positional = false;
  while (!reader.Done()) {
    const std::string arg = reader.Next();
    if (only_positional) {
      positional->push_back(arg);
      continue;
    }
    if (arg == "--") {
      only_positional = true;
      continue;
    }
    std::optional<FlagArg> flag = SplitFlag(arg);
    if (!flag.has_value()) {
      if (absl::StartsWith(arg, "-") && arg != "-") {
        return UsageError(
            absl::StrCat("unknown flag ", arg, " for '", command, "'"));
      }
      positional->push_back(arg);
      continue;
    }
    const std::string& name = flag->name;
    auto value = [&]() {
      return reader.Value(name, flag->inline_value, flag->has_inline);
    };
    if (allowed.screen && name == "record") {
      absl::StatusOr<std::string> v = value();
      if (!v.ok()) return v.status();
      if (absl::Status s = SetOnce(name, *v, &seen_record, &inv->record_path);
          !s.ok()) {
        return s;
      }
    } else if (allowed.screen && name == "fhir") {
      absl::StatusOr<std::string> v = value();
      if (!v.ok()) return v.status();
      if (absl::Status s = SetOnce(name, *v, &seen_fhir, &inv->fhir_path);
          !s.ok()) {
        return s;
      }
    } else if (allowed.screen && name == "date") {
      absl::StatusOr<std::string> v = value();
      if (!v.ok()) return v.status();
      if (absl::Status s = SetOnce(name, *v, &seen_date, &inv->date); !s.ok()) {
        return s;
      }
      if (absl::StatusOr<DayNumber> day = ParseFhirDay(*v); !day.ok()) {
        return UsageError(absl::StrCat("--date ", *v, ": ",
                                       day.status().message(),
                                       " (expected YYYY-MM-DD)"));
      }
    } else if (allowed.screen && name == "area") {
      absl::StatusOr<std::string> v = value();
      if (!v.ok()) return v.status();
      absl::StatusOr<AreaPlan> area = ParseArea(*v);
      if (!area.ok()) return area.status();
      inv->areas.push_back(*std::move(area));
    } else if (allowed.screen && name == "anesthetic") {
      absl::StatusOr<std::string> v = value();
      if (!v.ok()) return v.status();
      if (absl::Status s =
              SetOnce(name, *v, &seen_anesthetic, &inv->anesthetic);
          !s.ok()) {
        return s;
      }
    } else if (allowed.client && name == "server") {
      absl::StatusOr<std::string> v = value();
      if (!v.ok()) return v.status();
      if (absl::Status s = SetOnce(name, *v, &seen_server, &inv->server);
          !s.ok()) {
        return s;
      }
    } else if (allowed.client && name == "json") {
      if (flag->has_inline) {
        return UsageError("--json takes no value");
      }
      if (seen_json) return UsageError("--json given twice");
      seen_json = true;
      inv->json = true;
    } else if (allowed.client && name == "timeout") {
      absl::StatusOr<std::string> v = value();
      if (!v.ok()) return v.status();
      std::string text;
      if (absl::Status s = SetOnce(name, *v, &seen_timeout, &text); !s.ok()) {
        return s;
      }
      absl::Duration timeout;
      if (!absl::ParseDuration(text, &timeout) ||
          timeout <= absl::ZeroDuration() ||
          timeout == absl::InfiniteDuration()) {
        return UsageError(absl::StrCat(
            "--timeout ", text,
            ": expected a positive duration such as 10s, 500ms or 1m"));
      }
      inv->timeout = timeout;
    } else if (const int tls = TlsFlagIndex(name); allowed.client && tls >= 0) {
      absl::StatusOr<std::string> v = value();
      if (!v.ok()) return v.status();
      if (absl::Status s = SetOnce(name, *v, &seen_tls[tls],
                                   &(inv->tls.*kTlsFlags[tls].field));
          !s.ok()) {
        return s;
      }
    } else {
      return UsageError(
          absl::StrCat("unknown flag --", name, " for '", command, "'"));
    }
  }
  if (allowed.client) {
    return needlecheck::grpc_client::CheckClientTlsOptions(inv->tls, "");
  }
  return absl::OkStatus();
}

absl::StatusOr<CliInvocation> ParseScreen(ArgReader& reader) {
  CliInvocation inv;
  inv.command = Command::kScreen;
  std::vector<std::string> positional;
  if (absl::Status s =
          ParseFlags(reader, FlagSet{true, true}, "screen", &inv, &positional);
      !s.ok()) {
    return s;
  }
  if (!positional.empty()) {
    return UsageError(
        absl::StrCat("unexpected argument '", positional[0], "' for 'screen'"));
  }
  if (inv.record_path.empty() == inv.fhir_path.empty()) {
    return UsageError(
        "screen needs one of --record FILE.json (proto JSON record) or "
        "--fhir FILE.json (FHIR R4 Bundle or resource)");
  }
  if (inv.date.empty()) {
    return UsageError("screen needs --date YYYY-MM-DD (the session date)");
  }
  return inv;
}

absl::StatusOr<CliInvocation> ParseKb(ArgReader& reader) {
  if (reader.Done()) {
    return UsageError("kb needs a subcommand: 'kb lint FILE' or 'kb show'");
  }
  const std::string sub = reader.Next();
  CliInvocation inv;
  std::vector<std::string> positional;
  if (sub == "lint") {
    inv.command = Command::kKbLint;
    if (absl::Status s = ParseFlags(reader, FlagSet{false, false}, "kb lint",
                                    &inv, &positional);
        !s.ok()) {
      return s;
    }
    if (positional.size() != 1) {
      return UsageError("kb lint needs exactly one FILE");
    }
    inv.kb_file = positional[0];
    return inv;
  }
  if (sub == "show") {
    inv.command = Command::kKbShow;
    if (absl::Status s = ParseFlags(reader, FlagSet{false, true}, "kb show",
                                    &inv, &positional);
        !s.ok()) {
      return s;
    }
    if (!positional.empty()) {
      return UsageError(absl::StrCat("unexpected argument '", positional[0],
                                     "' for 'kb show'"));
    }
    return inv;
  }
  return UsageError(absl::StrCat("unknown kb subcommand '", sub,
                                 "' (expected lint or show)"));
}

absl::StatusOr<CliInvocation> ParseHealth(ArgReader& reader) {
  CliInvocation inv;
  inv.command = Command::kHealth;
  std::vector<std::string> positional;
  if (absl::Status s =
          ParseFlags(reader, FlagSet{false, true}, "health", &inv, &positional);
      !s.ok()) {
    return s;
  }
  if (!positional.empty()) {
    return UsageError(
        absl::StrCat("unexpected argument '", positional[0], "' for 'health'"));
  }
  return inv;
}

}  // namespace

std::string AreaName(TreatmentArea area) {
  std::string name = needlecheck::v1::TreatmentArea_Name(area);
  if (absl::StartsWith(name, kAreaPrefix)) name.erase(0, kAreaPrefix.size());
  absl::AsciiStrToLower(&name);
  absl::StrReplaceAll({{"_", "-"}}, &name);
  return name;
}

std::vector<std::string> AreaNames() {
  std::vector<std::string> names;
  const google::protobuf::EnumDescriptor* desc =
      needlecheck::v1::TreatmentArea_descriptor();
  for (int i = 0; i < desc->value_count(); ++i) {
    const int number = desc->value(i)->number();
    if (number == needlecheck::v1::TREATMENT_AREA_UNSPECIFIED) continue;
    names.push_back(AreaName(static_cast<TreatmentArea>(number)));
  }
  return names;
}

absl::StatusOr<AreaPlan> ParseArea(absl::string_view spec) {
  absl::string_view name = spec;
  absl::string_view depth_text;
  bool has_depth = false;
  if (const size_t colon = spec.find(':'); colon != absl::string_view::npos) {
    name = spec.substr(0, colon);
    depth_text = spec.substr(colon + 1);
    has_depth = true;
  }
  std::string enum_name = absl::AsciiStrToUpper(name);
  absl::StrReplaceAll({{"-", "_"}}, &enum_name);
  TreatmentArea area = needlecheck::v1::TREATMENT_AREA_UNSPECIFIED;
  if (name.empty() ||
      !needlecheck::v1::TreatmentArea_Parse(
          absl::StrCat(kAreaPrefix, enum_name), &area) ||
      area == needlecheck::v1::TREATMENT_AREA_UNSPECIFIED) {
    return UsageError(
        absl::StrCat("--area ", spec, ": unknown area '", name,
                     "'; valid areas: ", absl::StrJoin(AreaNames(), ", ")));
  }
  AreaPlan plan;
  plan.set_area(area);
  if (has_depth) {
    double depth = 0;
    if (!absl::SimpleAtod(depth_text, &depth) || !std::isfinite(depth) ||
        depth <= 0) {
      return UsageError(absl::StrCat(
          "--area ", spec, ": needle depth '", depth_text,
          "' is not a positive number of millimetres (e.g. periorbital:0.5)"));
    }
    plan.set_needle_depth_mm(depth);
  }
  return plan;
}

absl::StatusOr<CliInvocation> ParseCommandLine(
    const std::vector<std::string>& args) {
  if (args.empty()) {
    return UsageError(
        "no command given (expected screen, kb lint, kb show, stats or "
        "health)");
  }
  // --help anywhere before "--" wins over every other problem.
  for (const std::string& arg : args) {
    if (arg == "--") break;
    if (IsHelpFlag(arg)) return CliInvocation{};
  }
  ArgReader reader(args, 1);
  const std::string& command = args[0];
  if (command == "help") return CliInvocation{};
  if (command == "screen") return ParseScreen(reader);
  if (command == "kb") return ParseKb(reader);
  if (command == "health") return ParseHealth(reader);
  return UsageError(
      absl::StrCat("unknown command '", command,
                   "' (expected screen, kb lint, kb show, stats or health)"));
}

absl::StatusOr<FlagArgument> ParseFlagArgument(const std::string& arg,
                                               absl::string_view command) {
  if (!absl::StartsWith(arg, "--") || arg.size() == 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("unexpected argument '", arg, "' for '", command, "'"));
  }
  FlagArgument flag;
  flag.name = arg.substr(2);
  if (const size_t eq = flag.name.find('='); eq != std::string::npos) {
    flag.value = flag.name.substr(eq + 1);
    flag.name.resize(eq);
    flag.has_value = true;
  }
  return flag;
}

std::string UsageText() {
  return absl::StrCat(
      R"(needlecheck: screen a planned microneedling session against a patient record.

Usage:
  needlecheck screen (--record FILE.json | --fhir FILE.json) --date YYYY-MM-DD [--area NAME[:DEPTH_MM]]...
                     [--anesthetic TEXT] [--server HOST:PORT] [--json] [--timeout 10s] [TLS flags]
  needlecheck kb lint FILE
  needlecheck kb show [--server HOST:PORT] [--json] [--timeout 10s] [TLS flags]
  needlecheck stats [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--rule ID]... [--top N]
                    [--server HOST:PORT] [--json] [--timeout 10s] [TLS flags]
  needlecheck health [--server HOST:PORT] [--json] [--timeout 10s] [TLS flags]
  needlecheck access-log --from YYYY-MM-DD --to YYYY-MM-DD [--patient ID] [--json] [TLS flags]
  needlecheck text classify (--tsv FILE | --term TERM --text SENTENCE [--json])
                            [--knowledge_base FILE.textproto]
  needlecheck --help

Commands:
  screen    Calls ScreeningService.Screen on needlecheckd and prints the alerts.
            --record FILE.json   the patient record, proto JSON of
                                 needlecheck.v1.PatientRecord (unknown fields are errors)
            --fhir FILE.json     instead of --record: a FHIR R4 Bundle (any type), a single
                                 resource or a CDS Hooks prefetch object; errors name the
                                 resource and the JSON path
            --date YYYY-MM-DD    the planned session date; every rule is evaluated as of it
            --area NAME[:DEPTH]  a planned area with an optional needle depth in mm;
                                 repeat for several areas; none means "areas unknown"
            --anesthetic TEXT    the planned topical anesthetic, e.g. lidocaine, EMLA
  kb lint   Loads and validates a knowledge-base file locally (no server needed);
            prints "OK <version>: N rules, M value sets" or the errors as FILE:LINE:COL.
  kb show   Calls ScreeningService.GetKnowledgeBase and prints the rules, value sets,
            terms matched only as written (case-sensitive) and context lists the
            server has loaded.
  stats     Calls ScreeningService.GetAlertStats and prints, per rule, alerts fired,
            accepted, overridden, the override rate and the top override reasons
            (see 'needlecheck stats --help').
  access-log
            Calls ScreeningService.GetAccessLog and prints the access-audit trail:
            who accessed which patient's data, when, how, with what outcome
            (see 'needlecheck access-log --help').
  text classify
            Locally (no server): how the knowledge base's ConText lists read TERM in
            SENTENCE: negation, temporality, experiencer; --tsv prints one JSON object
            per TERM<TAB>SENTENCE line (see 'needlecheck text --help').
  health    Calls grpc.health.v1.Health/Check (service "") and prints SERVING or
            NOT_SERVING (or the error); exits 0 only when SERVING, for probes and
            scripts.

Common flags:
  --server HOST:PORT   the needlecheckd address (default )",
      kDefaultServer, R"(); several replicas:
                       dns:///HOST:PORT (every address of the name) or
                       ipv4:ADDR:PORT,ADDR:PORT,... (calls spread round-robin)
  --json               print the response as proto JSON instead of text
  --timeout DURATION   the RPC deadline, e.g. 10s, 500ms (default 10s)

TLS flags (every command that talks to needlecheckd; none given: plaintext):
  --tls_ca FILE.pem         the CA that signed needlecheckd's certificate: TLS,
                            verifying the server against it
  --tls_cert FILE.pem       with --tls_key: this client's certificate chain and
  --tls_key FILE.pem        unencrypted key, for a needlecheckd that requires
                            client certificates (mutual TLS); need --tls_ca
  --tls_server_name NAME    optional: the name needlecheckd's certificate carries
                            when it is not the --server host; required with an
                            ipv4: list of several replicas

Area names: )",
      absl::StrJoin(AreaNames(), ", "), R"(
  ('-' or '_' between words, any case)

Output: colour on a terminal only; set NO_COLOR to turn it off.

Exit codes:
  0  done (whether or not there are alerts; for kb lint: the file is valid;
     for health: SERVING)
  1  the server or the RPC failed (unreachable, TLS handshake refused,
     deadline exceeded, unavailable, message too large, internal error); for
     health: NOT_SERVING, or any failure to get an answer
  2  usage error or bad input (bad flag, unreadable or invalid record JSON or
     TLS file, invalid knowledge-base file, or a request the server rejected
     with INVALID_ARGUMENT; its field violations are printed)
)");
}

}  // namespace needlecheck::cli
