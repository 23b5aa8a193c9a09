// The patient-state store (adapters/hl7v2/state): one contract suite run
// against SQLite (a file in a fresh temporary folder) and PostgreSQL (a
// throwaway cluster, tests/testing/postgres_cluster.h), then what only the
// SQLite file does (unwritable folders, damaged files).
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "adapters/hl7v2/patient_identifier.h"
#include "adapters/hl7v2/state/patient_state_store.h"
#include "adapters/hl7v2/state/postgres_state_store.h"
#include "adapters/hl7v2/state/sqlite_state_store.h"
#include "common/sqlite/sqlite_db.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/postgres_cluster.h"
#include "tests/testing/scoped_temp_dir.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::hl7v2 {
namespace {

using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::PostgresCluster;
using ::needlecheck::testing::StatusIs;
using ::needlecheck::v1::PatientRecord;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Optional;

// A StatusOr that is OK and whose value matches `inner`.
MATCHER_P(IsOkAnd, inner, "is OK and holds a value that matches") {
  if (!arg.ok()) {
    *result_listener << "status " << arg.status();
    return false;
  }
  return ::testing::ExplainMatchResult(inner, *arg, result_listener);
}

enum class Backend { kSqlite, kPostgres };

std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "Sqlite" : "Postgres";
}

void PrintTo(Backend backend, std::ostream* os) {
  *os << (backend == Backend::kSqlite ? "Sqlite" : "Postgres");
}

PatientIdentifier Id(const std::string& id,
                     const std::string& authority = "DERMCLINIC") {
  return PatientIdentifier{id, authority, "MR"};
}

MessageKey Key(const std::string& control_id) {
  return MessageKey{"DERMPM|CLINIC", control_id};
}

// Appends an allergy named `name`.
PatientStateStore::RecordMutation AddAllergy(const std::string& name) {
  return [name](PatientRecord* record) {
    record->add_allergies()->set_id(name);
    return absl::OkStatus();
  };
}

std::vector<std::string> Allergies(const PatientRecord& record) {
  std::vector<std::string> names;
  for (const auto& a : record.allergies()) names.push_back(a.id());
  return names;
}

// The merge ApplyPatientUpdate's sibling would do: concatenate the lists.
void ConcatMerge(const PatientRecord& prior, PatientRecord* surviving) {
  for (const auto& a : prior.allergies()) *surviving->add_allergies() = a;
  for (const auto& c : prior.conditions()) *surviving->add_conditions() = c;
}

class StateStoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    if (GetParam() == Backend::kPostgres) {
      NEEDLECHECK_SKIP_WITHOUT_POSTGRES();
      absl::StatusOr<std::unique_ptr<PostgresCluster>> cluster =
          PostgresCluster::Create();
      ASSERT_THAT(cluster, IsOk());
      cluster_ = *std::move(cluster);
    }
  }

  absl::StatusOr<std::unique_ptr<PatientStateStore>> Open() {
    if (GetParam() == Backend::kSqlite) {
      return OpenSqliteStateStore(dir_.Path("hl7-state.sqlite"));
    }
    PostgresStateStoreOptions options;
    options.dsn = cluster_->Dsn();
    options.connect_timeout = absl::Seconds(20);
    return OpenPostgresStateStore(options);
  }

  std::unique_ptr<PatientStateStore> OpenOrDie() {
    absl::StatusOr<std::unique_ptr<PatientStateStore>> store = Open();
    EXPECT_THAT(store, IsOk());
    return store.ok() ? *std::move(store) : nullptr;
  }

  // Runs `sql` outside the store; table names are the same in both.
  absl::Status Exec(const std::string& sql) {
    if (GetParam() == Backend::kPostgres) return cluster_->Sql(sql).status();
    absl::StatusOr<std::unique_ptr<sqlite::Connection>> db =
        sqlite::Connection::Open(dir_.Path("hl7-state.sqlite"), false, false,
                                 absl::Seconds(10));
    if (!db.ok()) return db.status();
    return (*db)->Exec(sql);
  }

  absl::StatusOr<int64_t> Count(const std::string& table) {
    const std::string sql = absl::StrCat("SELECT COUNT(*) FROM ", table);
    if (GetParam() == Backend::kPostgres) {
      absl::StatusOr<std::string> out = cluster_->Sql(sql);
      if (!out.ok()) return out.status();
      int64_t n = 0;
      if (!absl::SimpleAtoi(*out, &n)) return absl::InternalError(*out);
      return n;
    }
    absl::StatusOr<std::unique_ptr<sqlite::Connection>> db =
        sqlite::Connection::Open(dir_.Path("hl7-state.sqlite"), true, false,
                                 absl::Seconds(10));
    if (!db.ok()) return db.status();
    absl::StatusOr<sqlite::Statement> stmt = (*db)->Prepare(sql, "count");
    if (!stmt.ok()) return stmt.status();
    absl::StatusOr<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    return stmt->ColumnInt(0);
  }

  absl::Status SetSchemaVersion(int version) {
    if (GetParam() == Backend::kPostgres) {
      return Exec(
          absl::StrCat("UPDATE hl7_schema_version SET version = ", version));
    }
    return Exec(absl::StrCat("PRAGMA user_version = ", version));
  }

  testing::ScopedTempDir dir_;
  std::unique_ptr<PostgresCluster> cluster_;
};

INSTANTIATE_TEST_SUITE_P(Backends, StateStoreTest,
                         ::testing::Values(Backend::kSqlite,
                                           Backend::kPostgres),
                         BackendName);

TEST_P(StateStoreTest, UpdateStoresTheRecordAndTheAck) {
  std::unique_ptr<PatientStateStore> store = OpenOrDie();
  ASSERT_NE(store, nullptr);
  EXPECT_THAT(store->FindAck(Key("1")), IsOkAnd(std::optional<std::string>()));
  absl::StatusOr<std::string> ack = store->UpdatePatient(
      Key("1"), {Id("P1")}, AddAllergy("lidocaine"), "ACK-1");
  ASSERT_THAT(ack, IsOk());
  EXPECT_EQ(*ack, "ACK-1");
  EXPECT_THAT(store->FindAck(Key("1")),
              IsOkAnd(Optional(std::string("ACK-1"))));
  absl::StatusOr<PatientRecord> record = store->LoadPatient({Id("P1")});
  ASSERT_THAT(record, IsOk());
  EXPECT_THAT(Allergies(*record), ElementsAre("lidocaine"));
}

TEST_P(StateStoreTest, DuplicateKeysReturnTheFirstAckAndChangeNothing) {
  std::unique_ptr<PatientStateStore> store = OpenOrDie();
  ASSERT_NE(store, nullptr);
  ASSERT_THAT(
      store->UpdatePatient(Key("1"), {Id("P1")}, AddAllergy("a"), "ACK-first"),
      IsOk());
  bool called = false;
  absl::StatusOr<std::string> again = store->UpdatePatient(
      Key("1"), {Id("P1")},
      [&](PatientRecord* r) {
        called = true;
        r->add_allergies()->set_id("b");
        return absl::OkStatus();
      },
      "ACK-second");
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(*again, "ACK-first");
  EXPECT_FALSE(called);
  // Another sender's message with the same control id is another message.
  MessageKey other{"OTHERPM|SITE", "1"};
  EXPECT_THAT(store->FindAck(other), IsOkAnd(std::optional<std::string>()));

  // The same key through the other two writing calls.
  EXPECT_THAT(store->RecordAck(Key("1"), "ACK-third", "ORU"),
              IsOkAnd(std::string("ACK-first")));
  bool merged = false;
  EXPECT_THAT(store->MergePatients(
                  Key("1"), {Id("P9")}, {Id("P1")},
                  [&](const PatientRecord&, PatientRecord*) { merged = true; },
                  "ACK-fourth"),
              IsOkAnd(std::string("ACK-first")));
  EXPECT_FALSE(merged);

  absl::StatusOr<PatientRecord> record = store->LoadPatient({Id("P1")});
  ASSERT_THAT(record, IsOk());
  EXPECT_THAT(Allergies(*record), ElementsAre("a"));
  EXPECT_THAT(store->LoadPatient({Id("P9")}),
              IsOkAnd(::testing::Property(&PatientRecord::allergies_size, 0)));
  EXPECT_THAT(store->PendingOutbound(10), IsOkAnd(::testing::IsEmpty()));
  EXPECT_THAT(Count("hl7_answers"), IsOkAnd(1));
}

TEST_P(StateStoreTest, KeysAndAcksAreStoredByteExact) {
  std::unique_ptr<PatientStateStore> store = OpenOrDie();
  ASSERT_NE(store, nullptr);
  // Latin-1 bytes, a NUL and a quote: not valid UTF-8, not text-safe.
  const std::string odd("M\xfcller'\0\xff", 9);
  const MessageKey key{odd, odd};
  const std::string ack = "MSH|^~\\&|\xe9\r" + odd;
  ASSERT_THAT(store->UpdatePatient(key, {Id(odd, odd)}, AddAllergy("a"), ack),
              IsOkAnd(ack));
  EXPECT_THAT(store->FindAck(key), IsOkAnd(Optional(ack)));
  EXPECT_THAT(store->FindAck(MessageKey{odd, "other"}),
              IsOkAnd(std::optional<std::string>()));
  absl::StatusOr<PatientRecord> record = store->LoadPatient({Id(odd, odd)});
  ASSERT_THAT(record, IsOk());
  EXPECT_THAT(Allergies(*record), ElementsAre("a"));
  ASSERT_THAT(store->RecordAck(Key("2"), "A", odd), IsOk());
  EXPECT_THAT(store->PendingOutbound(1),
              IsOkAnd(ElementsAre(::testing::Field(
                  &PatientStateStore::OutboundMessage::message, odd))));
}

// Record text that is not UTF-8 would save (protobuf only logs) but never
// parse again: refused before it is stored, nothing changes.
TEST_P(StateStoreTest, ARecordThatCouldNotBeReadBackIsRefused) {
  std::unique_ptr<PatientStateStore> store = OpenOrDie();
  ASSERT_NE(store, nullptr);
  ASSERT_THAT(store->UpdatePatient(Key("1"), {Id("P")}, AddAllergy("a"), "1"),
              IsOk());
  EXPECT_THAT(store->UpdatePatient(Key("2"), {Id("P")},
                                   AddAllergy("lidoca\xefne"), "2"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("UTF-8"), Not(HasSubstr("lidoca")))));
  EXPECT_THAT(store->FindAck(Key("2")), IsOkAnd(std::optional<std::string>()));
  EXPECT_THAT(store->LoadPatient({Id("P")}),
              IsOkAnd(::testing::ResultOf(Allergies, ElementsAre("a"))));
}

TEST_P(StateStoreTest, MutationErrorRollsEverythingBack) {
  std::unique_ptr<PatientStateStore> store = OpenOrDie();
  ASSERT_NE(store, nullptr);
  ASSERT_THAT(
      store->UpdatePatient(Key("1"), {Id("P1")}, AddAllergy("a"), "ACK-1"),
      IsOk());
  absl::StatusOr<std::string> failed = store->UpdatePatient(
      Key("2"), {Id("P1"), Id("P2")},
      [](PatientRecord* r) {
        r->add_allergies()->set_id("half-done");
        return absl::InvalidArgumentError("AL1-3: unknown code");
      },
      "ACK-2");
  EXPECT_THAT(failed, StatusIs(absl::StatusCode::kInvalidArgument,
                               HasSubstr("AL1-3: unknown code")));
  // Not even the ABORTED or ALREADY_EXISTS a retry loop would swallow.
  int calls = 0;
  EXPECT_THAT(store->UpdatePatient(
                  Key("3"), {Id("P1")},
                  [&](PatientRecord*) {
                    ++calls;
                    return absl::AbortedError("no");
                  },
                  "ACK-3"),
              StatusIs(absl::StatusCode::kAborted));
  EXPECT_EQ(calls, 1);
  EXPECT_THAT(store->FindAck(Key("2")), IsOkAnd(std::optional<std::string>()));
  EXPECT_THAT(store->FindAck(Key("3")), IsOkAnd(std::optional<std::string>()));
  absl::StatusOr<PatientRecord> record = store->LoadPatient({Id("P1")});
  ASSERT_THAT(record, IsOk());
  EXPECT_THAT(Allergies(*record), ElementsAre("a"));
  // P2 was not linked.
  EXPECT_THAT(store->LoadPatient({Id("P2")}),
              IsOkAnd(::testing::Property(&PatientRecord::allergies_size, 0)));
  // The same message sent again after the fix goes through.
  EXPECT_THAT(store->UpdatePatient(Key("2"), {Id("P1"), Id("P2")},
                                   AddAllergy("b"), "ACK-2"),
              IsOkAnd(std::string("ACK-2")));
  EXPECT_THAT(store->LoadPatient({Id("P2")}),
              IsOkAnd(::testing::ResultOf(Allergies, ElementsAre("a", "b"))));
}

TEST_P(StateStoreTest, IdentifiersLinkToOnePatient) {
  std::unique_ptr<PatientStateStore> store = OpenOrDie();
  ASSERT_NE(store, nullptr);
  ASSERT_THAT(
      store->UpdatePatient(Key("1"), {Id("MRN1")}, AddAllergy("a"), "A1"),
      IsOk());
  // A second identifier arrives beside the known one: linked to the same
  // patient.
  ASSERT_THAT(store->UpdatePatient(Key("2"), {Id("MRN1"), Id("NHS9", "NHS")},
                                   AddAllergy("b"), "A2"),
              IsOk());
  ASSERT_THAT(store->UpdatePatient(Key("3"), {Id("NHS9", "NHS")},
                                   AddAllergy("c"), "A3"),
              IsOk());
  for (const auto& ids : std::vector<std::vector<PatientIdentifier>>{
           {Id("MRN1")}, {Id("NHS9", "NHS")}, {Id("X"), Id("MRN1")}}) {
    absl::StatusOr<PatientRecord> record = store->LoadPatient(ids);
    ASSERT_THAT(record, IsOk());
    EXPECT_THAT(Allergies(*record), ElementsAre("a", "b", "c"));
  }
  // The same id under another authority is another patient; the type does
  // not matter.
  EXPECT_THAT(store->LoadPatient({Id("MRN1", "OTHER")}),
              IsOkAnd(::testing::Property(&PatientRecord::allergies_size, 0)));
  EXPECT_THAT(
      store->LoadPatient({PatientIdentifier{"MRN1", "DERMCLINIC", "PI"}}),
      IsOkAnd(::testing::Property(&PatientRecord::allergies_size, 3)));
  EXPECT_THAT(Count("hl7_patients"), IsOkAnd(1));
  EXPECT_THAT(Count("hl7_identifiers"), IsOkAnd(2));
}

TEST_P(StateStoreTest, IdentifiersOfTwoStoredPatientsAreRefused) {
  std::unique_ptr<PatientStateStore> store = OpenOrDie();
  ASSERT_NE(store, nullptr);
  ASSERT_THAT(store->UpdatePatient(Key("1"), {Id("A")}, AddAllergy("a"), "1"),
              IsOk());
  ASSERT_THAT(store->UpdatePatient(Key("2"), {Id("B")}, AddAllergy("b"), "2"),
              IsOk());
  absl::StatusOr<std::string> both =
      store->UpdatePatient(Key("3"), {Id("A"), Id("B")}, AddAllergy("x"), "3");
  EXPECT_THAT(both, StatusIs(absl::StatusCode::kFailedPrecondition,
                             AllOf(HasSubstr("two different stored patients"),
                                   Not(HasSubstr("DERMCLINIC")))));
  EXPECT_THAT(store->LoadPatient({Id("A"), Id("B")}),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(store->FindAck(Key("3")), IsOkAnd(std::optional<std::string>()));
  EXPECT_THAT(store->LoadPatient({Id("A")}),
              IsOkAnd(::testing::ResultOf(Allergies, ElementsAre("a"))));
  EXPECT_THAT(store->LoadPatient({Id("B")}),
              IsOkAnd(::testing::ResultOf(Allergies, ElementsAre("b"))));
}

TEST_P(StateStoreTest, InvalidIdentifiersAreRefused) {
  std::unique_ptr<PatientStateStore> store = OpenOrDie();
  ASSERT_NE(store, nullptr);
  EXPECT_THAT(store->UpdatePatient(Key("1"), {}, AddAllergy("a"), "1"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(store->UpdatePatient(Key("1"), {Id("")}, AddAllergy("a"), "1"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(store->MergePatients(Key("1"), {Id("A")}, {}, ConcatMerge, "1"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(store->PendingOutbound(-1),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(store->FindAck(Key("1")), IsOkAnd(std::optional<std::string>()));
}

TEST_P(StateStoreTest, LoadPatientOfUnknownIdsIsEmpty) {
  std::unique_ptr<PatientStateStore> store = OpenOrDie();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<PatientRecord> record = store->LoadPatient({Id("nobody")});
  ASSERT_THAT(record, IsOk());
  EXPECT_EQ(record->ByteSizeLong(), 0u);
  EXPECT_THAT(store->LoadPatient({}),
              IsOkAnd(::testing::Property(&PatientRecord::ByteSizeLong, 0u)));
}

TEST_P(StateStoreTest, MergeMovesIdentifiersAndRecords) {
  std::unique_ptr<PatientStateStore> store = OpenOrDie();
  ASSERT_NE(store, nullptr);
  // Prior patient: two identifiers, one allergy. Survivor: one condition.
  ASSERT_THAT(store->UpdatePatient(Key("1"), {Id("OLD"), Id("OLD-2", "NHS")},
                                   AddAllergy("lidocaine"), "1"),
              IsOk());
  ASSERT_THAT(store->UpdatePatient(
                  Key("2"), {Id("NEW")},
                  [](PatientRecord* r) {
                    r->add_conditions()->set_id("L70.0");
                    return absl::OkStatus();
                  },
                  "2"),
              IsOk());
  // The merge names only one of the prior patient's identifiers.
  EXPECT_THAT(store->MergePatients(Key("3"), {Id("NEW")}, {Id("OLD")},
                                   ConcatMerge, "ACK-3"),
              IsOkAnd(std::string("ACK-3")));
  for (const PatientIdentifier& id :
       {Id("NEW"), Id("OLD"), Id("OLD-2", "NHS")}) {
    absl::StatusOr<PatientRecord> record = store->LoadPatient({id});
    ASSERT_THAT(record, IsOk()) << id.id;
    EXPECT_THAT(Allergies(*record), ElementsAre("lidocaine")) << id.id;
    ASSERT_EQ(record->conditions_size(), 1) << id.id;
    EXPECT_EQ(record->conditions(0).id(), "L70.0");
  }
  EXPECT_THAT(Count("hl7_patients"), IsOkAnd(1));
  EXPECT_THAT(Count("hl7_identifiers"), IsOkAnd(3));
  // Later updates through the prior id reach the survivor.
  ASSERT_THAT(store->UpdatePatient(Key("4"), {Id("OLD")}, AddAllergy("b"), "4"),
              IsOk());
  EXPECT_THAT(
      store->LoadPatient({Id("NEW")}),
      IsOkAnd(::testing::ResultOf(Allergies, ElementsAre("lidocaine", "b"))));
  // Merging again (another control id): already one patient, nothing to do.
  int calls = 0;
  ASSERT_THAT(store->MergePatients(
                  Key("5"), {Id("NEW")}, {Id("OLD")},
                  [&](const PatientRecord&, PatientRecord*) { ++calls; }, "5"),
              IsOk());
  EXPECT_EQ(calls, 0);
  EXPECT_THAT(Count("hl7_patients"), IsOkAnd(1));
}

TEST_P(StateStoreTest, MergeIntoAnUnknownSurvivorCreatesIt) {
  std::unique_ptr<PatientStateStore> store = OpenOrDie();
  ASSERT_NE(store, nullptr);
  ASSERT_THAT(store->UpdatePatient(Key("1"), {Id("OLD")}, AddAllergy("a"), "1"),
              IsOk());
  ASSERT_THAT(store->MergePatients(Key("2"), {Id("NEW")}, {Id("OLD")},
                                   ConcatMerge, "2"),
              IsOk());
  EXPECT_THAT(store->LoadPatient({Id("NEW")}),
              IsOkAnd(::testing::ResultOf(Allergies, ElementsAre("a"))));
  EXPECT_THAT(Count("hl7_patients"), IsOkAnd(1));
  // An unknown prior patient: its ids now name the survivor.
  int calls = 0;
  ASSERT_THAT(store->MergePatients(
                  Key("3"), {Id("NEW")}, {Id("NEVER-SEEN")},
                  [&](const PatientRecord&, PatientRecord*) { ++calls; }, "3"),
              IsOk());
  EXPECT_EQ(calls, 0);
  EXPECT_THAT(store->LoadPatient({Id("NEVER-SEEN")}),
              IsOkAnd(::testing::ResultOf(Allergies, ElementsAre("a"))));
}

TEST_P(StateStoreTest, OutboxKeepsOrderCountsAttemptsAndForgetsDelivered) {
  std::unique_ptr<PatientStateStore> store = OpenOrDie();
  ASSERT_NE(store, nullptr);
  ASSERT_THAT(store->RecordAck(Key("0"), "no alerts", ""), IsOk());
  EXPECT_THAT(store->PendingOutbound(10), IsOkAnd(::testing::IsEmpty()));
  for (int i = 1; i <= 3; ++i) {
    ASSERT_THAT(
        store->RecordAck(Key(absl::StrCat(i)), "ack", absl::StrCat("ORU-", i)),
        IsOk());
  }
  absl::StatusOr<std::vector<PatientStateStore::OutboundMessage>> pending =
      store->PendingOutbound(10);
  ASSERT_THAT(pending, IsOk());
  ASSERT_EQ(pending->size(), 3u);
  EXPECT_EQ((*pending)[0].message, "ORU-1");
  EXPECT_EQ((*pending)[1].message, "ORU-2");
  EXPECT_EQ((*pending)[2].message, "ORU-3");
  EXPECT_LT((*pending)[0].id, (*pending)[1].id);
  EXPECT_EQ((*pending)[0].attempts, 0);
  EXPECT_THAT(store->PendingOutbound(2), IsOkAnd(::testing::SizeIs(2)));
  EXPECT_THAT(store->PendingOutbound(0), IsOkAnd(::testing::IsEmpty()));

  ASSERT_THAT(store->MarkAttempted((*pending)[0].id), IsOk());
  ASSERT_THAT(store->MarkAttempted((*pending)[0].id), IsOk());
  ASSERT_THAT(store->MarkDelivered((*pending)[1].id), IsOk());
  absl::StatusOr<std::vector<PatientStateStore::OutboundMessage>> after =
      store->PendingOutbound(10);
  ASSERT_THAT(after, IsOk());
  ASSERT_EQ(after->size(), 2u);
  EXPECT_EQ((*after)[0].message, "ORU-1");
  EXPECT_EQ((*after)[0].attempts, 2);
  EXPECT_EQ((*after)[1].message, "ORU-3");
  EXPECT_THAT(store->MarkDelivered((*pending)[1].id),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store->MarkAttempted(123456789),
              StatusIs(absl::StatusCode::kNotFound));
  // A resent booking queues nothing again.
  ASSERT_THAT(store->RecordAck(Key("3"), "ack", "ORU-3 again"), IsOk());
  EXPECT_THAT(store->PendingOutbound(10), IsOkAnd(::testing::SizeIs(2)));
}

TEST_P(StateStoreTest, PruneForgetsOnlyOlderAnswers) {
  std::unique_ptr<PatientStateStore> store = OpenOrDie();
  ASSERT_NE(store, nullptr);
  ASSERT_THAT(store->RecordAck(Key("1"), "A1", ""), IsOk());
  const absl::Time between = absl::Now();
  absl::SleepFor(absl::Milliseconds(5));
  ASSERT_THAT(store->UpdatePatient(Key("2"), {Id("P")}, AddAllergy("a"), "A2"),
              IsOk());
  ASSERT_THAT(store->PruneAnswers(between - absl::Hours(1)), IsOk());
  EXPECT_THAT(store->FindAck(Key("1")), IsOkAnd(Optional(std::string("A1"))));
  ASSERT_THAT(store->PruneAnswers(between), IsOk());
  EXPECT_THAT(store->FindAck(Key("1")), IsOkAnd(std::optional<std::string>()));
  EXPECT_THAT(store->FindAck(Key("2")), IsOkAnd(Optional(std::string("A2"))));
  // Patients stay; only the duplicate window moved.
  EXPECT_THAT(store->LoadPatient({Id("P")}),
              IsOkAnd(::testing::ResultOf(Allergies, ElementsAre("a"))));
}

TEST_P(StateStoreTest, ConcurrentUpdatesOfOnePatientLoseNone) {
  std::unique_ptr<PatientStateStore> store = OpenOrDie();
  ASSERT_NE(store, nullptr);
  // The patient has two identifiers; half the writers name one, half the
  // other, so that nothing but the patient row itself is shared.
  ASSERT_THAT(store->UpdatePatient(
                  Key("setup"), {Id("SHARED"), Id("SHARED-ALT", "NHS")},
                  [](PatientRecord*) { return absl::OkStatus(); }, "ack"),
              IsOk());
  constexpr int kThreads = 8;
  constexpr int kEach = 25;
  std::atomic<int> failures{0};
  const absl::Time start = absl::Now();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const std::vector<PatientIdentifier> ids = {
            t % 2 == 0 ? Id("SHARED") : Id("SHARED-ALT", "NHS")};
        absl::StatusOr<std::string> ack =
            store->UpdatePatient(Key(absl::StrCat(t, "-", i)), ids,
                                 AddAllergy(absl::StrCat(t, "-", i)), "ack");
        if (!ack.ok()) {
          ++failures;
          ADD_FAILURE() << ack.status();
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(failures.load(), 0);
  absl::StatusOr<PatientRecord> record = store->LoadPatient({Id("SHARED")});
  ASSERT_THAT(record, IsOk());
  EXPECT_EQ(record->allergies_size(), kThreads * kEach);
  EXPECT_THAT(Count("hl7_patients"), IsOkAnd(1));
  std::printf(
      "%d durable updates of one patient from %d threads in %s "
      "(%.0f/s)\n",
      kThreads * kEach, kThreads, absl::FormatDuration(took).c_str(),
      kThreads * kEach / absl::ToDoubleSeconds(took));
}

// Concurrent writers are committed together (group commit on SQLite): a
// writer whose mutation fails must undo only its own changes, never a
// neighbour's, and every writer told OK must find its change after a
// reopen.
TEST_P(StateStoreTest, ConcurrentWritersWithFailuresKeepExactlyTheSucceeded) {
  constexpr int kThreads = 16;
  constexpr int kEach = 12;
  std::vector<std::vector<bool>> ok(kThreads, std::vector<bool>(kEach));
  {
    std::unique_ptr<PatientStateStore> store = OpenOrDie();
    ASSERT_NE(store, nullptr);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kEach; ++i) {
          const std::string name = absl::StrCat("W", t, "-", i);
          const bool fail = (t + i) % 3 == 0;
          absl::StatusOr<std::string> ack = store->UpdatePatient(
              Key(name), {Id(name)},
              [&, fail](PatientRecord* record) -> absl::Status {
                if (absl::Status s = AddAllergy(name)(record); !s.ok()) {
                  return s;
                }
                if (fail) return absl::InvalidArgumentError("refused");
                return absl::OkStatus();
              },
              absl::StrCat("ack-", name));
          ok[t][i] = ack.ok();
          EXPECT_EQ(ack.ok(), !fail) << name << ": " << ack.status();
          if (ack.ok()) EXPECT_EQ(*ack, absl::StrCat("ack-", name));
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
  }
  std::unique_ptr<PatientStateStore> store = OpenOrDie();
  ASSERT_NE(store, nullptr);
  int kept = 0;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kEach; ++i) {
      const std::string name = absl::StrCat("W", t, "-", i);
      absl::StatusOr<std::optional<std::string>> ack =
          store->FindAck(Key(name));
      ASSERT_THAT(ack, IsOk());
      absl::StatusOr<PatientRecord> record = store->LoadPatient({Id(name)});
      ASSERT_THAT(record, IsOk());
      if (ok[t][i]) {
        ++kept;
        EXPECT_EQ(ack->value_or(""), absl::StrCat("ack-", name));
        EXPECT_EQ(record->allergies_size(), 1) << name;
      } else {
        EXPECT_FALSE(ack->has_value()) << name;
        EXPECT_EQ(record->allergies_size(), 0) << name;
      }
    }
  }
  EXPECT_THAT(Count("hl7_patients"), IsOkAnd(kept));
}

TEST_P(StateStoreTest, RacingDuplicatesAllGetTheFirstAck) {
  std::unique_ptr<PatientStateStore> store = OpenOrDie();
  ASSERT_NE(store, nullptr);
  constexpr int kThreads = 8;
  std::vector<std::string> acks(kThreads);
  std::vector<std::thread> threads;
  std::atomic<bool> go{false};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      absl::StatusOr<std::string> ack =
          store->UpdatePatient(Key("same"), {Id(absl::StrCat("P", t))},
                               AddAllergy("once"), absl::StrCat("ACK-", t));
      acks[t] = ack.ok() ? *ack : ack.status().ToString();
    });
  }
  go = true;
  for (std::thread& thread : threads) thread.join();
  absl::StatusOr<std::optional<std::string>> stored =
      store->FindAck(Key("same"));
  ASSERT_THAT(stored, IsOk());
  ASSERT_TRUE(stored->has_value());
  for (const std::string& ack : acks) EXPECT_EQ(ack, **stored);
  EXPECT_THAT(Count("hl7_patients"), IsOkAnd(1));
  EXPECT_THAT(Count("hl7_answers"), IsOkAnd(1));
}

TEST_P(StateStoreTest, ReopeningKeepsEverything) {
  int64_t queued = 0;
  {
    std::unique_ptr<PatientStateStore> store = OpenOrDie();
    ASSERT_NE(store, nullptr);
    ASSERT_THAT(
        store->UpdatePatient(Key("1"), {Id("P")}, AddAllergy("a"), "ACK-1"),
        IsOk());
    ASSERT_THAT(store->RecordAck(Key("2"), "ACK-2", "ORU"), IsOk());
    absl::StatusOr<std::vector<PatientStateStore::OutboundMessage>> pending =
        store->PendingOutbound(1);
    ASSERT_THAT(pending, IsOk());
    ASSERT_EQ(pending->size(), 1u);
    queued = (*pending)[0].id;
    ASSERT_THAT(store->MarkAttempted(queued), IsOk());
  }
  if (GetParam() == Backend::kPostgres) {
    ASSERT_THAT(cluster_->Stop("immediate"), IsOk());
    ASSERT_THAT(cluster_->Start(), IsOk());
  }
  std::unique_ptr<PatientStateStore> store = OpenOrDie();
  ASSERT_NE(store, nullptr);
  EXPECT_THAT(store->FindAck(Key("1")),
              IsOkAnd(Optional(std::string("ACK-1"))));
  EXPECT_THAT(store->UpdatePatient(Key("2"), {Id("P")}, AddAllergy("x"), "new"),
              IsOkAnd(std::string("ACK-2")));
  EXPECT_THAT(store->LoadPatient({Id("P")}),
              IsOkAnd(::testing::ResultOf(Allergies, ElementsAre("a"))));
  absl::StatusOr<std::vector<PatientStateStore::OutboundMessage>> pending =
      store->PendingOutbound(10);
  ASSERT_THAT(pending, IsOk());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].id, queued);
  EXPECT_EQ((*pending)[0].message, "ORU");
  EXPECT_EQ((*pending)[0].attempts, 1);
  // New outbox ids keep growing past the old ones.
  ASSERT_THAT(store->RecordAck(Key("3"), "ACK-3", "ORU-2"), IsOk());
  pending = store->PendingOutbound(10);
  ASSERT_THAT(pending, IsOk());
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_GT((*pending)[1].id, queued);
}

TEST_P(StateStoreTest, ANewerSchemaIsRefused) {
  {
    std::unique_ptr<PatientStateStore> store = OpenOrDie();
    ASSERT_NE(store, nullptr);
    ASSERT_THAT(store->RecordAck(Key("1"), "A", ""), IsOk());
  }
  ASSERT_THAT(SetSchemaVersion(99), IsOk());
  EXPECT_THAT(Open(), StatusIs(absl::StatusCode::kFailedPrecondition,
                               AllOf(HasSubstr("schema version 99"),
                                     HasSubstr("newer"))));
}

// The guarantee behind every ACK: a process that got OK from UpdatePatient
// and is then killed (SIGKILL: no destructor, no flush) loses nothing. A
// child process updates in a loop and reports each OK through a pipe; the
// parent kills it mid-run and reopens.
TEST_P(StateStoreTest, UpdatesReturnedBeforeSigkillSurviveIt) {
  // Create the schema first so that the child only writes.
  ASSERT_NE(OpenOrDie(), nullptr);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    absl::StatusOr<std::unique_ptr<PatientStateStore>> store = Open();
    if (!store.ok()) _exit(2);
    for (int i = 0;; ++i) {
      absl::StatusOr<std::string> ack = (*store)->UpdatePatient(
          Key(absl::StrCat("crash-", i)), {Id("CRASH")},
          AddAllergy(absl::StrCat(i)), absl::StrCat("ACK-", i));
      if (!ack.ok()) _exit(3);
      const char byte = 1;
      if (write(fds[1], &byte, 1) != 1) _exit(4);
    }
  }
  close(fds[1]);
  // Kill it after a few acknowledged updates, while it is making more.
  int acknowledged = 0;
  char byte = 0;
  while (acknowledged < 20 && read(fds[0], &byte, 1) == 1) ++acknowledged;
  kill(child, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  // Count the OKs the child managed to report before it died.
  while (read(fds[0], &byte, 1) == 1) ++acknowledged;
  close(fds[0]);
  ASSERT_TRUE(WIFSIGNALED(status))
      << "child exited with " << WEXITSTATUS(status);
  ASSERT_GE(acknowledged, 20);

  std::unique_ptr<PatientStateStore> store = OpenOrDie();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<PatientRecord> record = store->LoadPatient({Id("CRASH")});
  ASSERT_THAT(record, IsOk());
  // Every acknowledged update is there (one more may have committed just
  // before the kill, unreported).
  EXPECT_GE(record->allergies_size(), acknowledged);
  EXPECT_LE(record->allergies_size(), acknowledged + 1);
  for (int i = 0; i < acknowledged; ++i) {
    EXPECT_THAT(store->FindAck(Key(absl::StrCat("crash-", i))),
                IsOkAnd(Optional(absl::StrCat("ACK-", i))));
  }
}

// --- What only the SQLite file does.

TEST(SqliteStateStoreTest, AFolderThatCannotBeWrittenIsAClearError) {
  testing::ScopedTempDir dir;
  ASSERT_FALSE(dir.path().empty());
  // A "folder" that is a regular file, and one that does not exist.
  const std::string file = dir.WriteFile("not-a-folder", "x");
  for (const std::string& path :
       {file + "/hl7-state.sqlite", dir.Path("missing/hl7-state.sqlite")}) {
    EXPECT_THAT(
        OpenSqliteStateStore(path),
        StatusIs(absl::StatusCode::kUnavailable,
                 AllOf(HasSubstr(path), HasSubstr("cannot open"),
                       HasSubstr("folder must exist and be writable"))));
  }
  // A folder without write permission (root ignores permissions).
  if (geteuid() != 0) {
    const std::string locked = dir.Path("locked");
    ASSERT_EQ(mkdir(locked.c_str(), 0500), 0);
    EXPECT_THAT(OpenSqliteStateStore(locked + "/hl7-state.sqlite"),
                StatusIs(absl::StatusCode::kUnavailable, HasSubstr(locked)));
    chmod(locked.c_str(), 0700);
  }
}

TEST(SqliteStateStoreTest, AFileThatIsNotSqliteIsDataLoss) {
  testing::ScopedTempDir dir;
  const std::string path = dir.WriteFile(
      "hl7-state.sqlite", std::string(8192, '\x5a') + "MSH|^~\\&|secret");
  absl::StatusOr<std::unique_ptr<PatientStateStore>> store =
      OpenSqliteStateStore(path);
  EXPECT_THAT(
      store, StatusIs(absl::StatusCode::kDataLoss,
                      AllOf(HasSubstr(path), HasSubstr("not a SQLite database"),
                            Not(HasSubstr("secret")))));
}

TEST(SqliteStateStoreTest, ADamagedFileIsRefusedWithoutACrash) {
  testing::ScopedTempDir dir;
  const std::string path = dir.Path("hl7-state.sqlite");
  {
    absl::StatusOr<std::unique_ptr<PatientStateStore>> store =
        OpenSqliteStateStore(path);
    ASSERT_THAT(store, IsOk());
    for (int i = 0; i < 200; ++i) {
      ASSERT_THAT((*store)->UpdatePatient(
                      Key(absl::StrCat(i)), {Id(absl::StrCat("P", i))},
                      AddAllergy(std::string(300, 'a' + i % 26)), "ACK"),
                  IsOk());
    }
  }
  // Fold the WAL into the file, then overwrite pages past the first
  // (keeping the header valid) with garbage.
  {
    absl::StatusOr<std::unique_ptr<sqlite::Connection>> db =
        sqlite::Connection::Open(path, false, false, absl::Seconds(10));
    ASSERT_THAT(db, IsOk());
    ASSERT_THAT((*db)->Exec("PRAGMA wal_checkpoint(TRUNCATE); "
                            "PRAGMA journal_mode = DELETE"),
                IsOk());
  }
  {
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(file.is_open());
    file.seekp(4096);
    const std::string garbage(4096 * 6, '\xa5');
    file.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
  absl::StatusOr<std::unique_ptr<PatientStateStore>> store =
      OpenSqliteStateStore(path);
  EXPECT_THAT(store, StatusIs(absl::StatusCode::kDataLoss,
                              AllOf(HasSubstr(path), HasSubstr("damaged"))));
}

TEST(SqliteStateStoreTest, AnotherProgramsDatabaseIsRefused) {
  testing::ScopedTempDir dir;
  const std::string path = dir.Path("other.sqlite");
  {
    absl::StatusOr<std::unique_ptr<sqlite::Connection>> db =
        sqlite::Connection::Open(path, false, true, absl::Seconds(10));
    ASSERT_THAT(db, IsOk());
    ASSERT_THAT((*db)->Exec("CREATE TABLE screenings (id INTEGER)"), IsOk());
  }
  EXPECT_THAT(OpenSqliteStateStore(path),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("not a needlecheck-hl7 state store")));
}

// --- What only PostgreSQL does.

struct StoreOnCluster {
  std::unique_ptr<PostgresCluster> cluster;
  std::unique_ptr<PatientStateStore> store;
};

// A throwaway cluster and a store on it, each statement bounded by
// `statement_timeout`.
absl::StatusOr<StoreOnCluster> OpenOnFreshCluster(
    absl::Duration statement_timeout) {
  StoreOnCluster pg;
  absl::StatusOr<std::unique_ptr<PostgresCluster>> cluster =
      PostgresCluster::Create();
  if (!cluster.ok()) return cluster.status();
  pg.cluster = *std::move(cluster);
  PostgresStateStoreOptions options;
  options.dsn = pg.cluster->Dsn();
  options.statement_timeout = statement_timeout;
  absl::StatusOr<std::unique_ptr<PatientStateStore>> store =
      OpenPostgresStateStore(options);
  if (!store.ok()) return store.status();
  pg.store = *std::move(store);
  return pg;
}

TEST(PostgresStateStoreTest, PasswordsComeFromAFileAndAreNeverInMessages) {
  NEEDLECHECK_SKIP_WITHOUT_POSTGRES();
  PostgresCluster::Options cluster_options;
  cluster_options.password = "s3cret-pw";
  absl::StatusOr<std::unique_ptr<PostgresCluster>> cluster =
      PostgresCluster::Create(cluster_options);
  ASSERT_THAT(cluster, IsOk());
  testing::ScopedTempDir dir;
  PostgresStateStoreOptions options;
  options.dsn = (*cluster)->Dsn();
  options.connect_timeout = absl::Seconds(5);
  // No password: refused at once, with a hint, not retried for 5 s.
  unsetenv("PGPASSWORD");
  setenv("PGPASSFILE", dir.Path("none").c_str(), 1);
  EXPECT_THAT(OpenPostgresStateStore(options),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("password file")));
  options.password_file = dir.WriteFile("wrong", "not-it\n");
  EXPECT_THAT(
      OpenPostgresStateStore(options),
      StatusIs(absl::StatusCode::kPermissionDenied, Not(HasSubstr("not-it"))));
  options.password_file = dir.WriteFile("pw", "s3cret-pw\n");
  absl::StatusOr<std::unique_ptr<PatientStateStore>> store =
      OpenPostgresStateStore(options);
  ASSERT_THAT(store, IsOk());
  EXPECT_THAT((*store)->RecordAck(Key("1"), "A", ""), IsOk());
  options.password_file = dir.WriteFile("empty", "");
  EXPECT_THAT(OpenPostgresStateStore(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty")));
  options.password_file = dir.Path("absent");
  EXPECT_THAT(OpenPostgresStateStore(options),
              StatusIs(absl::StatusCode::kNotFound));
  // A password inside the DSN is refused, and not echoed.
  options.password_file.clear();
  options.dsn = (*cluster)->Dsn() + " password=s3cret-pw";
  EXPECT_THAT(OpenPostgresStateStore(options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       Not(HasSubstr("s3cret-pw"))));
}

TEST(PostgresStateStoreTest, LivesBesideTheLedgerTablesUnderItsOwnVersion) {
  NEEDLECHECK_SKIP_WITHOUT_POSTGRES();
  absl::StatusOr<std::unique_ptr<PostgresCluster>> cluster =
      PostgresCluster::Create();
  ASSERT_THAT(cluster, IsOk());
  // Someone's tables named like the store's, without its version table.
  ASSERT_THAT(
      (*cluster)->Sql("CREATE TABLE screenings (id int); "
                      "CREATE TABLE needlecheck_schema_version (v int)"),
      IsOk());
  PostgresStateStoreOptions options;
  options.dsn = (*cluster)->Dsn();
  ASSERT_THAT(OpenPostgresStateStore(options), IsOk());
  EXPECT_THAT((*cluster)->Sql("SELECT version FROM hl7_schema_version"),
              IsOkAnd(absl::StrCat(LatestPostgresStateSchemaVersion())));
  // Several processes opening at once migrate once.
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  ASSERT_THAT((*cluster)->Sql("DROP TABLE hl7_outbox, hl7_answers, "
                              "hl7_identifiers, hl7_patients, "
                              "hl7_schema_version"),
              IsOk());
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      if (OpenPostgresStateStore(options).ok()) ++ok;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok.load(), 4);
  ASSERT_THAT((*cluster)->Sql("DROP TABLE hl7_schema_version"), IsOk());
  EXPECT_THAT(OpenPostgresStateStore(options),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("no hl7_schema_version table")));
}

TEST(PostgresStateStoreTest, AHungServerFailsCallsWithinTheirDeadline) {
  NEEDLECHECK_SKIP_WITHOUT_POSTGRES();
  absl::StatusOr<StoreOnCluster> pg = OpenOnFreshCluster(absl::Seconds(1));
  ASSERT_THAT(pg, IsOk());
  PostgresCluster* cluster = pg->cluster.get();
  PatientStateStore* store = pg->store.get();
  ASSERT_THAT(store->RecordAck(Key("1"), "A", ""), IsOk());
  ASSERT_THAT(cluster->Pause(), IsOk());
  const absl::Time start = absl::Now();
  EXPECT_THAT(store->UpdatePatient(Key("2"), {Id("P")}, AddAllergy("a"), "B"),
              StatusIs(absl::StatusCode::kUnavailable));
  // The deadline is 2 s (1 s + a second of slack); generous margin.
  EXPECT_LT(absl::Now() - start, absl::Seconds(30));
  ASSERT_THAT(cluster->Resume(), IsOk());
  // A fresh connection answers again once the server does.
  absl::StatusOr<std::string> ack;
  for (int i = 0; i < 50; ++i) {
    ack = store->UpdatePatient(Key("2"), {Id("P")}, AddAllergy("a"), "B");
    if (ack.ok()) break;
    absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_THAT(ack, IsOkAnd(std::string("B")));
}

// The pooled connections die with the server; the next call after it is
// back connects again instead of failing on a dead connection.
TEST(PostgresStateStoreTest, AServerRestartBetweenCallsIsTransparent) {
  NEEDLECHECK_SKIP_WITHOUT_POSTGRES();
  absl::StatusOr<StoreOnCluster> pg = OpenOnFreshCluster(absl::Seconds(5));
  ASSERT_THAT(pg, IsOk());
  PostgresCluster* cluster = pg->cluster.get();
  PatientStateStore* store = pg->store.get();
  ASSERT_THAT(store->UpdatePatient(Key("1"), {Id("P")}, AddAllergy("a"), "A1"),
              IsOk());
  ASSERT_THAT(cluster->Stop("immediate"), IsOk());
  ASSERT_THAT(cluster->Start(), IsOk());
  EXPECT_THAT(store->UpdatePatient(Key("2"), {Id("P")}, AddAllergy("b"), "A2"),
              IsOkAnd(std::string("A2")));
  EXPECT_THAT(store->LoadPatient({Id("P")}),
              IsOkAnd(::testing::ResultOf(Allergies, ElementsAre("a", "b"))));
}

// A writer that holds a patient longer than the statement deadline makes
// the others wait at most that long, then fail with UNAVAILABLE (worth an
// AE and a resend), not INTERNAL.
TEST(PostgresStateStoreTest, APatientLockedPastTheDeadlineIsUnavailable) {
  NEEDLECHECK_SKIP_WITHOUT_POSTGRES();
  absl::StatusOr<StoreOnCluster> pg = OpenOnFreshCluster(absl::Seconds(1));
  ASSERT_THAT(pg, IsOk());
  PostgresCluster* cluster = pg->cluster.get();
  PatientStateStore* store = pg->store.get();
  std::atomic<bool> holding{false};
  std::thread slow([&] {
    EXPECT_THAT(store->UpdatePatient(
                    Key("slow"), {Id("P")},
                    [&](PatientRecord*) {
                      holding = true;
                      absl::SleepFor(absl::Seconds(4));
                      return absl::OkStatus();
                    },
                    "slow"),
                IsOk());
  });
  while (!holding.load()) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_THAT(
      store->UpdatePatient(Key("fast"), {Id("P")}, AddAllergy("a"), "fast"),
      StatusIs(absl::StatusCode::kUnavailable));
  slow.join();
  EXPECT_THAT(store->FindAck(Key("fast")),
              IsOkAnd(std::optional<std::string>()));
}

}  // namespace
}  // namespace needlecheck::hl7v2
