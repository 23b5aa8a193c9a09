// Versioned schemas in PostgreSQL, migrated exactly once however many
// processes open the database together. Base library needlecheck_postgres:
// the alert ledger's schema and the HL7 v2 state store's use it, each with
// its own version table, so both may live in one database.
//
// Contract
// - PgSchema names the one-row version table (columns one_row, version,
//   migrated_at), the advisory lock key, the tables whose presence without
//   the version table means "someone else's tables" and the steps, version
//   1 first; step N turns a version N-1 schema into a version N one.
// - PgMigrate() runs, in ONE transaction that first takes
//   pg_advisory_xact_lock(lock_key): read the version (creating the version
//   table at version 0 when neither it nor any owned table exists), refuse a
//   newer one, apply the missing steps up to `target`, record the new
//   version, commit. Concurrent openers thus migrate once (the others wait
//   for the lock and find the schema current); a crash or error mid-way
//   changes nothing (DDL is transactional).
// - Errors: FAILED_PRECONDITION for a version newer than the steps know,
//   owned tables without the version table, or a version table without its
//   row; otherwise as pg_conn.h.
#ifndef COMMON_POSTGRES_PG_MIGRATE_H_
#define COMMON_POSTGRES_PG_MIGRATE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/postgres/pg_conn.h"

namespace needlecheck::postgres {

struct PgSchemaStep {
  int version;
  const char* description;
  const char* sql;
};

struct PgSchema {
  // What the tables are, in messages: "ledger" -> "not a needlecheck ledger".
  std::string kind;
  // The program that writes them, in messages: "needlecheckd".
  std::string program;
  std::string version_table;
  int64_t lock_key = 0;
  std::vector<std::string> owned_tables;
  std::vector<PgSchemaStep> steps;
};

struct PgMigrationResult {
  int before = 0;
  int after = 0;
};

absl::StatusOr<PgMigrationResult> PgMigrate(PgConnection& db,
                                            const PgSchema& schema, int target);

}  // namespace needlecheck::postgres

#endif  // COMMON_POSTGRES_PG_MIGRATE_H_
