#include "service/server/server_options.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "grpcpp/resource_quota.h"
#include "grpcpp/security/server_credentials.h"

namespace needlecheck::server {
namespace {

// A duration as a channel-argument value in milliseconds; infinite (or
// too large for an int) becomes INT_MAX, gRPC's "never".
int ToMillisArg(absl::Duration d) {
  if (d == absl::InfiniteDuration()) return std::numeric_limits<int>::max();
  const int64_t ms = absl::ToInt64Milliseconds(d);
  if (ms > std::numeric_limits<int>::max()) {
    return std::numeric_limits<int>::max();
  }
  return static_cast<int>(ms);
}

absl::Status ValidateSecurityOptions(const ServerOptions& options) {
  const bool tls = !options.tls_cert_path.empty();
  if (tls != !options.tls_key_path.empty()) {
    return absl::InvalidArgumentError(
        "tls_cert and tls_key: give both or neither");
  }
  if (!options.tls_client_ca_path.empty() && !tls) {
    return absl::InvalidArgumentError(
        "tls_client_ca: needs tls_cert and tls_key");
  }
  if (!options.authz_policy_path.empty() &&
      options.tls_client_ca_path.empty()) {
    return absl::InvalidArgumentError(
        "authz_policy: needs tls_client_ca (without client certificates no "
        "caller has an identity)");
  }
  if (!tls && !options.insecure_plaintext &&
      !IsLoopbackAddress(options.listen_address)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "listen_address \"", options.listen_address,
        "\" is not loopback: refusing plaintext there; give --tls_cert and "
        "--tls_key, or --insecure_plaintext to accept plaintext"));
  }
  if (!options.health_listen_address.empty() &&
      !absl::StrContains(options.health_listen_address, ':')) {
    return absl::InvalidArgumentError(
        absl::StrCat("health_listen_address: \"", options.health_listen_address,
                     "\" is not HOST:PORT"));
  }
  return absl::OkStatus();
}

// The ledger backend and the flags that only make sense with one of them.
absl::Status ValidateLedgerBackend(const ServerOptions& options) {
  if (options.ledger != "sqlite" && options.ledger != "postgres" &&
      options.ledger != "none") {
    return absl::InvalidArgumentError(
        absl::StrCat("ledger: \"", options.ledger,
                     "\" is not one of sqlite, postgres, none"));
  }
  if (options.ledger != "postgres") {
    if (!options.ledger_dsn.empty() || !options.ledger_password_file.empty()) {
      return absl::InvalidArgumentError(
          "ledger_dsn and ledger_password_file: only with --ledger=postgres");
    }
    return absl::OkStatus();
  }
  if (options.ledger_dsn.empty()) {
    return absl::InvalidArgumentError(
        "ledger_dsn: required with --ledger=postgres, e.g. "
        "--ledger_dsn=\"host=db port=5432 dbname=needlecheck "
        "user=needlecheck\"");
  }
  if (options.ledger_recover) {
    return absl::InvalidArgumentError(
        "ledger_recover: only with --ledger=sqlite (it moves a damaged "
        "ledger file aside; a PostgreSQL database is repaired with its own "
        "tools)");
  }
  if (!options.ledger_test_fault_file.empty()) {
    return absl::InvalidArgumentError(
        "testonly_ledger_fault_file: only with --ledger=sqlite");
  }
  if (options.ledger_connect_timeout < absl::ZeroDuration() ||
      options.ledger_connect_timeout > absl::Hours(1)) {
    return absl::InvalidArgumentError(
        "ledger_connect_timeout: must be between 0 and 1 hour");
  }
  return absl::OkStatus();
}

}  // namespace

bool IsLoopbackAddress(const std::string& listen_address) {
  if (absl::StartsWith(listen_address, "unix:")) return true;
  const size_t colon = listen_address.rfind(':');
  if (colon == std::string::npos) return false;
  absl::string_view host = absl::string_view(listen_address).substr(0, colon);
  if (absl::ConsumePrefix(&host, "[")) {
    if (!absl::ConsumeSuffix(&host, "]")) return false;
  }
  if (host == "localhost" || host == "::1") return true;
  // 127.0.0.0/8, written as four decimal parts.
  const std::vector<absl::string_view> parts = absl::StrSplit(host, '.');
  if (parts.size() != 4 || parts[0] != "127") return false;
  for (absl::string_view part : parts) {
    int value = 0;
    if (part.empty() || part.size() > 3 ||
        !std::all_of(part.begin(), part.end(), absl::ascii_isdigit) ||
        !absl::SimpleAtoi(part, &value) || value > 255) {
      return false;
    }
  }
  return true;
}

absl::Status ValidateServerOptions(const ServerOptions& options) {
  if (options.listen_address.empty()) {
    return absl::InvalidArgumentError("listen_address: required (HOST:PORT)");
  }
  if (!absl::StrContains(options.listen_address, ':')) {
    return absl::InvalidArgumentError(absl::StrCat(
        "listen_address: \"", options.listen_address, "\" is not HOST:PORT"));
  }
  if (options.max_receive_message_bytes <= 0) {
    return absl::InvalidArgumentError(
        "max_receive_message_bytes: must be greater than 0");
  }
  if (options.max_send_message_bytes <= 0) {
    return absl::InvalidArgumentError(
        "max_send_message_bytes: must be greater than 0");
  }
  if (options.max_concurrent_streams < 0) {
    return absl::InvalidArgumentError(
        "max_concurrent_streams: must not be negative");
  }
  if (options.max_threads < 0) {
    return absl::InvalidArgumentError("max_threads: must not be negative");
  }
  for (const auto& [name, d] :
       {std::pair<const char*, absl::Duration>{"keepalive_time",
                                               options.keepalive_time},
        {"keepalive_timeout", options.keepalive_timeout},
        {"min_client_ping_interval", options.min_client_ping_interval},
        {"max_connection_idle", options.max_connection_idle},
        {"max_connection_age", options.max_connection_age},
        {"max_connection_age_grace", options.max_connection_age_grace},
        {"drain_grace_period", options.drain_grace_period},
        {"drain_lame_duck", options.drain_lame_duck}}) {
    if (d < absl::ZeroDuration()) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": must not be negative"));
    }
  }
  if (options.drain_grace_period == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError("drain_grace_period: must be finite");
  }
  if (options.drain_lame_duck > absl::Seconds(60)) {
    return absl::InvalidArgumentError(
        "drain_lame_duck: must be at most 60 seconds");
  }
  if (options.data_dir.empty()) {
    return absl::InvalidArgumentError("data_dir: required");
  }
  if (absl::Status s = ValidateLedgerBackend(options); !s.ok()) return s;
  if (options.ledger_flush_window < absl::ZeroDuration() ||
      options.ledger_flush_window > absl::Seconds(10)) {
    return absl::InvalidArgumentError(
        "ledger_flush_window: must be between 0 and 10 seconds");
  }
  if (options.access_log_retention < absl::Hours(24) ||
      options.access_log_retention > absl::Hours(24 * 36525)) {
    return absl::InvalidArgumentError(
        "access_log_retention_days: must be between 1 and 36525 days");
  }
  if (options.ledger_check_time_limit < absl::ZeroDuration() ||
      options.ledger_check_time_limit > absl::Hours(1)) {
    return absl::InvalidArgumentError(
        "ledger_check_time_limit: must be between 0 and 1 hour");
  }
  return ValidateSecurityOptions(options);
}

void ApplyServerOptions(const ServerOptions& options,
                        grpc::ServerBuilder* builder) {
  builder->SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  builder->SetMaxSendMessageSize(options.max_send_message_bytes);
  if (options.max_concurrent_streams > 0) {
    builder->AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                                options.max_concurrent_streams);
  }
  if (options.max_threads > 0) {
    grpc::ResourceQuota quota("needlecheck_server");
    quota.SetMaxThreads(options.max_threads);
    builder->SetResourceQuota(quota);
  }
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS,
                              ToMillisArg(options.keepalive_time));
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                              ToMillisArg(options.keepalive_timeout));
  builder->AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
      ToMillisArg(options.min_client_ping_interval));
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS,
                              options.permit_keepalive_without_calls ? 1 : 0);
  builder->AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS,
                              ToMillisArg(options.max_connection_idle));
  builder->AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS,
                              ToMillisArg(options.max_connection_age));
  builder->AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                              ToMillisArg(options.max_connection_age_grace));
}

void AddListeningPort(const ServerOptions& options,
                      grpc::ServerBuilder* builder, int* selected_port) {
  builder->AddListeningPort(options.listen_address,
                            grpc::InsecureServerCredentials(), selected_port);
}

}  // namespace needlecheck::server
