#include "common/postgres/pg_migrate.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace needlecheck::postgres {
namespace {

// "a, b, c or d".
std::string OrList(const std::vector<std::string>& names) {
  if (names.size() < 2) return absl::StrJoin(names, "");
  return absl::StrCat(absl::StrJoin(names.begin(), names.end() - 1, ", "),
                      " or ", names.back());
}

absl::StatusOr<int> ReadVersion(PgConnection& db, const PgSchema& schema) {
  std::string owned = "false";
  for (const std::string& table : schema.owned_tables) {
    absl::StrAppend(&owned, " OR to_regclass('", table, "') IS NOT NULL");
  }
  absl::StatusOr<PgResult> table =
      db.Query(absl::StrCat("SELECT to_regclass('", schema.version_table,
                            "') IS NOT NULL, ", owned),
               {}, "read schema version");
  if (!table.ok()) return table.status();
  if (table->Text(0, 0) != "t") {
    if (table->Text(0, 1) == "t") {
      return absl::FailedPreconditionError(
          absl::StrCat("the database has ", schema.kind, " tables (",
                       OrList(schema.owned_tables), ") but no ",
                       schema.version_table, " table: not a needlecheck ",
                       schema.kind, "; use another database or schema"));
    }
    if (absl::Status s = db.Exec(
            absl::StrCat("CREATE TABLE ", schema.version_table,
                         " (one_row boolean PRIMARY KEY DEFAULT true CHECK "
                         "(one_row), version integer NOT NULL, migrated_at "
                         "timestamptz NOT NULL DEFAULT now()); INSERT INTO ",
                         schema.version_table,
                         " (one_row, version) VALUES (true, 0)"),
            absl::StrCat("create ", schema.version_table));
        !s.ok()) {
      return s;
    }
  }
  absl::StatusOr<PgResult> version =
      db.Query(absl::StrCat("SELECT version FROM ", schema.version_table,
                            " WHERE one_row"),
               {}, "read schema version");
  if (!version.ok()) return version.status();
  if (version->Rows() != 1) {
    return absl::FailedPreconditionError(absl::StrCat(
        schema.version_table, " has no row: not a needlecheck ", schema.kind));
  }
  return static_cast<int>(version->Int(0, 0));
}

}  // namespace

absl::StatusOr<PgMigrationResult> PgMigrate(PgConnection& db,
                                            const PgSchema& schema,
                                            int target) {
  PgMigrationResult result;
  const int latest = schema.steps.empty() ? 0 : schema.steps.back().version;
  absl::Status status = PgTransaction(db, [&]() -> absl::Status {
    if (absl::Status s = db.Exec(
            absl::StrCat("SELECT pg_advisory_xact_lock(", schema.lock_key, ")"),
            "take the migration lock");
        !s.ok()) {
      return s;
    }
    absl::StatusOr<int> version = ReadVersion(db, schema);
    if (!version.ok()) return version.status();
    result.before = *version;
    result.after = *version;
    if (*version > latest) {
      return absl::FailedPreconditionError(absl::StrCat(
          "schema version ", *version, " is newer than this ", schema.program,
          " supports (", latest, "); it was written by a newer ",
          schema.program, ". Run that version, or use another database"));
    }
    for (const PgSchemaStep& step : schema.steps) {
      if (step.version <= *version || step.version > target) continue;
      if (absl::Status s =
              db.Exec(step.sql,
                      absl::StrCat("migration to schema version ", step.version,
                                   " (", step.description, ")"));
          !s.ok()) {
        return s;
      }
      result.after = step.version;
    }
    if (result.after == result.before) return absl::OkStatus();
    return db.Exec(
        absl::StrCat("UPDATE ", schema.version_table,
                     " SET version = ", result.after, ", migrated_at = now()"),
        "record schema version");
  });
  if (!status.ok()) return status;
  return result;
}

}  // namespace needlecheck::postgres
