#include "adapters/fhir/planned_session.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "adapters/fhir/internal/collector.h"
#include "adapters/fhir/internal/json_reader.h"
#include "common/calendar/fhir_date.h"
#include "common/status/status_macros.h"
#include "simdjson.h"

namespace needlecheck::fhir {
namespace {

namespace v1 = ::needlecheck::v1;
using internal::Collected;
using internal::JsonElement;
using internal::JsonObject;

// Order statuses that count inside a hook's draftOrders: order-sign also
// fires on revised (active) orders.
bool LiveOrderStatus(absl::string_view s) {
  return s.empty() || s == "draft" || s == "active" || s == "on-hold";
}

bool LiveAppointmentStatus(absl::string_view s) {
  return s != "cancelled" && s != "entered-in-error" && s != "noshow";
}

// The first day `date` names; INVALID_ARGUMENT unless a full day.
absl::StatusOr<int32_t> FullDay(absl::string_view what,
                                absl::string_view date) {
  absl::StatusOr<FhirDate> d = ParseFhirDate(date, kFhirJsonDates);
  if (!d.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": ", d.status().message()));
  }
  if (d->precision != DatePrecision::kDay) {
    return absl::InvalidArgumentError(
        absl::StrCat(what,
                     ": the date does not name a full day; a session date "
                     "needs one"));
  }
  return d->first_day;
}

absl::StatusOr<PlannedSessionExtract> FromContext(
    const JsonObject& context, const SessionOptions& options,
    const internal::Limits& limits) {
  Collected c;
  for (const char* key : {"draftOrders", "appointments"}) {
    if (std::optional<JsonElement> e = internal::Member(context, key)) {
      RETURN_IF_ERROR(internal::CollectResources(
          *e, absl::StrCat("$.", key), /*allow_array=*/true, limits, &c));
    }
  }

  PlannedSessionExtract out;
  out.stats = c.stats;
  v1::PlannedSession& session = out.session;

  std::vector<const Collected::OrderItem*> orders;
  for (const Collected::OrderItem& o : c.orders) {
    const bool live = o.type == "ServiceRequest" ? LiveOrderStatus(o.status)
                                                 : o.status == "preparation";
    if (live) orders.push_back(&o);
  }
  std::vector<const PlannedAppointment*> appointments;
  const PlannedAppointment* microneedling_appointment = nullptr;
  for (const PlannedAppointment& a : c.appointments) {
    if (!LiveAppointmentStatus(a.status)) continue;
    appointments.push_back(&a);
    if (a.microneedling && microneedling_appointment == nullptr) {
      microneedling_appointment = &a;
    }
  }
  if (orders.empty() && microneedling_appointment == nullptr) {
    return absl::NotFoundError(
        "no microneedling session in this context (no microneedling "
        "ServiceRequest or Procedure in draftOrders, no microneedling "
        "Appointment)");
  }

  // The date: the orders' (all on one day), else an appointment's start,
  // else the default.
  std::optional<int32_t> day;
  for (const Collected::OrderItem* o : orders) {
    if (o->date.empty()) continue;
    const std::string where = absl::StrCat(o->source, ".", o->date_field);
    absl::StatusOr<int32_t> d = FullDay(where, o->date);
    if (!d.ok()) return d.status();
    if (!day) {
      day = *d;
      session.set_date(o->date);
      out.date_source = where;
    } else if (*d != *day) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the microneedling orders name different days: ", out.date_source,
          " and ", where));
    }
  }
  if (!day) {
    const PlannedAppointment* from = microneedling_appointment;
    if (from == nullptr || from->start.empty()) {
      from = nullptr;
      for (const PlannedAppointment* a : appointments) {
        if (!a->start.empty()) {
          from = a;
          break;
        }
      }
    }
    if (from != nullptr) {
      const std::string where = absl::StrCat(from->source, ".start");
      absl::StatusOr<int32_t> d = FullDay(where, from->start);
      if (!d.ok()) return d.status();
      session.set_date(from->start);
      out.date_source = where;
      out.sources.push_back(from->source);
    } else if (!options.default_date.empty()) {
      absl::StatusOr<int32_t> d =
          FullDay("SessionOptions::default_date", options.default_date);
      if (!d.ok()) return d.status();
      session.set_date(options.default_date);
      out.date_source = "default_date";
    } else {
      return absl::InvalidArgumentError(
          "the microneedling session has no date: no occurrenceDateTime or "
          "occurrencePeriod.start on the order, no appointment start, and no "
          "default date");
    }
  }

  // Areas: every order's, in context order; one entry per area (the
  // deeper needle depth wins when two orders name the same area).
  for (const Collected::OrderItem* o : orders) {
    out.sources.push_back(o->source);
    for (const v1::AreaPlan& p : o->areas) {
      v1::AreaPlan* same = nullptr;
      for (v1::AreaPlan& q : *session.mutable_areas()) {
        if (q.area() == p.area()) same = &q;
      }
      if (same == nullptr) {
        *session.add_areas() = p;
      } else if (p.needle_depth_mm() > same->needle_depth_mm()) {
        same->set_needle_depth_mm(p.needle_depth_mm());
      }
    }
  }
  // Unknown areas (an appointment alone) stay empty: overlaps everything.
  if (orders.empty() && microneedling_appointment != nullptr &&
      (out.sources.empty() ||
       out.sources.back() != microneedling_appointment->source)) {
    out.sources.push_back(microneedling_appointment->source);
  }

  // The anesthetic: every live anesthetic order, merged.
  std::string text;
  for (const Collected::AnestheticItem& a : c.anesthetics) {
    if (!LiveOrderStatus(a.status)) continue;
    out.sources.push_back(a.source);
    v1::Concept* an = session.mutable_anesthetic();
    for (const v1::Coding& coding : a.concept.codings()) {
      *an->add_codings() = coding;
    }
    std::string name = a.concept.text();
    if (name.empty()) {
      for (const v1::Coding& coding : a.concept.codings()) {
        if (!coding.display().empty()) {
          name = coding.display();
          break;
        }
      }
    }
    if (!name.empty()) {
      if (!text.empty()) text += " + ";
      text += name;
    }
  }
  if (!text.empty()) session.mutable_anesthetic()->set_text(text);
  return out;
}

internal::Limits LimitsOf(const SessionOptions& options) {
  internal::Limits limits;
  limits.max_input_bytes = options.max_input_bytes;
  limits.max_depth = options.max_depth;
  limits.max_resources = 100000;
  return limits;
}

}  // namespace

absl::StatusOr<PlannedSessionExtract> PlannedSessionFromHookContext(
    absl::string_view context_json, const SessionOptions& options) {
  const internal::Limits limits = LimitsOf(options);
  simdjson::dom::parser parser;
  JsonElement root;
  RETURN_IF_ERROR(internal::ParseJson(context_json, limits, &parser, &root));
  JsonObject context;
  if (root.get_object().get(context) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError(absl::StrCat(
        "context: expected an object, got ", internal::JsonTypeName(root)));
  }
  return FromContext(context, options, limits);
}

absl::StatusOr<PlannedSessionExtract> PlannedSessionFromHookRequest(
    absl::string_view request_json, const SessionOptions& options) {
  JsonDocument document;
  RETURN_IF_ERROR(
      document.Parse(request_json, options.max_input_bytes, options.max_depth));
  return PlannedSessionFromHookRequest(document, options);
}

absl::StatusOr<PlannedSessionExtract> PlannedSessionFromHookRequest(
    const JsonDocument& document, const SessionOptions& options) {
  RETURN_IF_ERROR(document.status());
  const internal::Limits limits = LimitsOf(options);
  const JsonElement& root = document.root();
  JsonObject request;
  if (root.get_object().get(request) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError(
        absl::StrCat("$: expected a CDS Hooks request object, got ",
                     internal::JsonTypeName(root)));
  }
  std::optional<JsonElement> context = internal::Member(request, "context");
  if (!context) return absl::InvalidArgumentError("$.context: missing");
  JsonObject context_obj;
  if (context->get_object().get(context_obj) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError(
        absl::StrCat("$.context: expected an object, got ",
                     internal::JsonTypeName(*context)));
  }
  return FromContext(context_obj, options, limits);
}

}  // namespace needlecheck::fhir
