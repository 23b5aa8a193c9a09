// The ledger's PostgreSQL schema and its migrations. Internal to
// service/ledger (tests use it to build databases of older versions).
//
// Contract
// - The version lives in the one-row table needlecheck_schema_version.
// - PgMigrations() lists every step, version 1 first. PgMigrateTo() runs
//   (common/postgres/pg_migrate.h), in ONE transaction that first takes
//   pg_advisory_xact_lock(kPostgresMigrationLockKey): read the version
//   (creating the version table in a database without ledger tables),
//   refuse a newer one, apply the missing steps, record the new version,
//   commit. Replicas opening at once thus migrate exactly once; a crash
//   or error mid-way changes nothing (DDL is transactional).
// - Errors: FAILED_PRECONDITION for a newer schema, or ledger tables
//   without the version table; otherwise as pg_conn.h.
#ifndef SERVICE_LEDGER_INTERNAL_PG_SCHEMA_H_
#define SERVICE_LEDGER_INTERNAL_PG_SCHEMA_H_

#include <vector>

#include "absl/status/statusor.h"
#include "common/postgres/pg_conn.h"
#include "common/postgres/pg_migrate.h"

namespace needlecheck::ledger::internal {

using PgMigration = postgres::PgSchemaStep;
using PgMigrationResult = postgres::PgMigrationResult;

const std::vector<PgMigration>& PgMigrations();

absl::StatusOr<PgMigrationResult> PgMigrateTo(postgres::PgConnection& db,
                                              int target);

}  // namespace needlecheck::ledger::internal

#endif  // SERVICE_LEDGER_INTERNAL_PG_SCHEMA_H_
