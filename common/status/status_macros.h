// RETURN_IF_ERROR / ASSIGN_OR_RETURN for absl::Status and absl::StatusOr.
//
// Debian 12's Abseil (20220623) has no status macros, so the project keeps
// these two for the service and the adapters alike, as Abseil's own code did
// at that version. They evaluate their argument once and return its error
// unchanged.
#ifndef COMMON_STATUS_STATUS_MACROS_H_
#define COMMON_STATUS_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define NEEDLECHECK_STATUS_CONCAT_INNER_(a, b) a##b
#define NEEDLECHECK_STATUS_CONCAT_(a, b) NEEDLECHECK_STATUS_CONCAT_INNER_(a, b)

// Returns the status of `expr` from the current function if it is not OK.
#define RETURN_IF_ERROR(expr)                                  \
  do {                                                         \
    const ::absl::Status needlecheck_status_ = (expr);         \
    if (!needlecheck_status_.ok()) return needlecheck_status_; \
  } while (false)

// ASSIGN_OR_RETURN(lhs, expr): evaluates `expr` (an absl::StatusOr<T>); on
// error returns its status, otherwise moves the value into `lhs`, which may
// be a declaration ("auto x") or an existing variable.
#define ASSIGN_OR_RETURN(lhs, expr)   \
  NEEDLECHECK_ASSIGN_OR_RETURN_IMPL_( \
      NEEDLECHECK_STATUS_CONCAT_(needlecheck_statusor_, __LINE__), lhs, expr)

#define NEEDLECHECK_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                       \
  if (!statusor.ok()) return std::move(statusor).status();      \
  lhs = std::move(statusor).value()

#endif  // COMMON_STATUS_STATUS_MACROS_H_
