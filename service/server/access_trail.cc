#include "service/server/access_trail.h"

#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/net/caller_metadata.h"
#include "common/net/percent_encoding.h"
#include "grpcpp/security/auth_context.h"
#include "service/server/authorizer.h"
#include "service/server/log.h"

namespace needlecheck::server {
namespace {

constexpr absl::Duration kFailureLogInterval = absl::Seconds(10);

std::string ToString(const grpc::string_ref& s) {
  return std::string(s.data(), s.size());
}

// The first value of metadata `key`, or "".
std::string Metadata(const grpc::ServerContextBase& context,
                     absl::string_view key) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(grpc::string_ref(key.data(), key.size()));
  if (it == metadata.end()) return "";
  return ToString(it->second);
}

std::string OnBehalf(const grpc::ServerContextBase& context,
                     absl::string_view key) {
  std::string value = net::PercentDecodeLenient(Metadata(context, key));
  if (value.size() > kMaxOnBehalfBytes) value.resize(kMaxOnBehalfBytes);
  return value;
}

std::string PeerIdentity(const grpc::ServerContextBase& context) {
  const std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth != nullptr) {
    // The authorizer's reading of the certificate, so that the trail names
    // the caller exactly as the authorization policy does.
    const CallerIdentity caller = CallerFromAuthContext(*auth);
    if (caller.verified) {
      return absl::StrCat("tls ", absl::StrJoin(caller.names, ","));
    }
  }
  return absl::StrCat("unauthenticated ", context.peer());
}

}  // namespace

CallIdentity IdentityOf(const grpc::ServerContextBase& context) {
  CallIdentity identity;
  identity.caller = PeerIdentity(context);
  identity.iss = OnBehalf(context, net::kCallerIssKey);
  identity.sub = OnBehalf(context, net::kCallerSubKey);
  identity.tenant = OnBehalf(context, net::kCallerTenantKey);
  identity.user = OnBehalf(context, net::kCallerUserKey);
  identity.trace_id = TraceIdOf(context);
  return identity;
}

std::string TraceIdOf(const grpc::ServerContextBase& context) {
  return TraceIdFromTraceparent(Metadata(context, trace::kTraceparentHeader));
}

std::string StripQueryValues(absl::string_view url) {
  url = url.substr(0, url.find('#'));
  const size_t q = url.find('?');
  if (q == absl::string_view::npos) return std::string(url);
  std::string out(url.substr(0, q + 1));
  absl::string_view query = url.substr(q + 1);
  bool first = true;
  while (true) {
    const size_t amp = query.find('&');
    absl::string_view pair = query.substr(0, amp);
    const size_t eq = pair.find('=');
    if (!first) out.push_back('&');
    first = false;
    absl::StrAppend(&out, pair.substr(0, eq),
                    eq == absl::string_view::npos ? "" : "=");
    if (amp == absl::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

absl::Status AccessNotRecorded(const absl::Status& why) {
  return absl::UnavailableError(
      absl::StrCat("the access could not be recorded in the access log, so "
                   "no patient data is returned (",
                   why.message(), "); try again"));
}

AccessTrail::AccessTrail(ledger::AccessLog* log,
                         std::function<absl::Time()> clock)
    : log_(log), clock_(std::move(clock)), failure_log_(kFailureLogInterval) {}

absl::Status AccessTrail::Record(const CallIdentity& identity,
                                 absl::string_view action,
                                 absl::string_view patient_id,
                                 const absl::Status& outcome,
                                 absl::string_view detail, int64_t stream_index,
                                 absl::string_view patient_of_alert) {
  if (log_ == nullptr) return absl::OkStatus();
  ledger::AccessEntry entry;
  entry.at = clock_ ? clock_() : absl::Now();
  entry.caller = identity.caller;
  entry.on_behalf_iss = identity.iss;
  entry.on_behalf_sub = identity.sub;
  entry.on_behalf_tenant = identity.tenant;
  entry.on_behalf_user = identity.user;
  entry.trace_id = identity.trace_id;
  entry.action = std::string(action);
  entry.patient_id = std::string(patient_id);
  entry.outcome = absl::StatusCodeToString(outcome.code());
  entry.detail = std::string(detail);
  entry.stream_index = stream_index;
  entry.patient_of_alert = std::string(patient_of_alert);
  absl::Status status = log_->RecordAccess(std::move(entry));
  int64_t held_back = 0;
  if (!status.ok() && failure_log_.ShouldLog(&held_back)) {
    LogError("access_record_failed",
             {{"action", action},
              {"code", absl::StatusCodeToString(status.code())},
              {"error", status.message()},
              {"not_logged_since_last", held_back},
              {"consequence", "the call is answered UNAVAILABLE"}});
  }
  return status;
}

absl::Status AccessTrail::RecordFetches(
    const CallIdentity& identity,
    const needlecheck::v1::RecordAccessRequest& request) {
  std::vector<std::string> problems;
  if (request.patient_id().empty()) problems.push_back("patient_id: required");
  if (request.fetches_size() == 0) problems.push_back("fetches: required");
  if (request.fetches_size() > kMaxFetches) {
    problems.push_back(absl::StrCat("fetches: at most ", kMaxFetches));
  }
  for (int i = 0; i < request.fetches_size(); ++i) {
    if (request.fetches(i).url().size() > kMaxFetchUrlBytes) {
      problems.push_back(absl::StrCat("fetches[", i, "].url: longer than ",
                                      kMaxFetchUrlBytes, " bytes"));
      break;
    }
  }
  if (!problems.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid access record: ", absl::StrJoin(problems, "; ")));
  }
  for (int i = 0; i < request.fetches_size(); ++i) {
    const needlecheck::v1::FhirFetch& fetch = request.fetches(i);
    absl::StatusCode code = absl::StatusCode::kOk;
    if (!fetch.outcome().empty() && fetch.outcome() != "OK") {
      code = absl::StatusCode::kUnknown;  // unless it names a code
      for (int c = 1; c <= 16; ++c) {
        if (absl::StatusCodeToString(static_cast<absl::StatusCode>(c)) ==
            fetch.outcome()) {
          code = static_cast<absl::StatusCode>(c);
        }
      }
    }
    absl::Status outcome = code == absl::StatusCode::kOk
                               ? absl::OkStatus()
                               : absl::Status(code, "fetch failed");
    if (absl::Status s = Record(identity, "FhirFetch", request.patient_id(),
                                outcome, StripQueryValues(fetch.url()), i);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

needlecheck::v1::AccessRecord ToProto(const ledger::AccessEntry& e) {
  needlecheck::v1::AccessRecord r;
  r.set_time(
      absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", e.at, absl::UTCTimeZone()));
  r.set_caller(e.caller);
  r.set_on_behalf_iss(e.on_behalf_iss);
  r.set_on_behalf_sub(e.on_behalf_sub);
  r.set_on_behalf_tenant(e.on_behalf_tenant);
  r.set_on_behalf_user(e.on_behalf_user);
  r.set_action(e.action);
  r.set_patient_id(e.patient_id);
  r.set_outcome(e.outcome);
  r.set_trace_id(e.trace_id);
  r.set_detail(e.detail);
  r.set_stream_index(e.stream_index);
  return r;
}

}  // namespace needlecheck::server
