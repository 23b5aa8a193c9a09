// The ledger's SQLite schema and its migrations. Internal to service/ledger
// (tests use it to build files of older versions).
//
// Contract
// - The schema version is `PRAGMA user_version`; the file is marked as a
//   ledger by `PRAGMA application_id` = kApplicationId.
// - Migrations() lists every step, version 1 first; step N turns a
//   version N-1 file into a version N one. MigrateTo() applies the missing
//   steps in order, each in its own BEGIN IMMEDIATE transaction that also
//   sets user_version, so a crash mid-way leaves a file at a whole version
//   and several processes opening the same file migrate it once.
// - Errors: FAILED_PRECONDITION for a file newer than this binary knows, or
//   one that is not a ledger; SQLite errors as in common/sqlite/sqlite_db.h.
#ifndef SERVICE_LEDGER_INTERNAL_SQLITE_SCHEMA_H_
#define SERVICE_LEDGER_INTERNAL_SQLITE_SCHEMA_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/sqlite/sqlite_db.h"

namespace needlecheck::ledger::internal {

// "NCKL".
inline constexpr int64_t kApplicationId = 0x4E434B4C;

struct Migration {
  int version;
  const char* description;
  const char* sql;
};

const std::vector<Migration>& Migrations();

// The version a freshly migrated file has.
int LatestSchemaVersion();

// Migrates `db` (whose file is named `path` in errors) up to `target`
// (<= LatestSchemaVersion()).
absl::Status MigrateTo(sqlite::Connection& db, const std::string& path,
                       int target);

}  // namespace needlecheck::ledger::internal

#endif  // SERVICE_LEDGER_INTERNAL_SQLITE_SCHEMA_H_
