#include "service/server/server_options.h"

#include "gmock/gmock.h"
#include "grpcpp/generic/async_generic_service.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::server {
namespace {

using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::StatusIs;
using ::testing::HasSubstr;

TEST(ServerOptionsTest, DefaultsAreValid) {
  ServerOptions options;
  EXPECT_THAT(ValidateServerOptions(options), IsOk());
  EXPECT_EQ(options.listen_address, "127.0.0.1:50051");
  EXPECT_EQ(options.max_receive_message_bytes, 4 * 1024 * 1024);
  EXPECT_EQ(options.data_dir, "./data");
  EXPECT_TRUE(options.knowledge_base_path.empty());
}

TEST(ServerOptionsTest, RejectsBadValuesNamingTheField) {
  ServerOptions options;
  options.max_receive_message_bytes = 0;
  EXPECT_THAT(ValidateServerOptions(options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("max_receive_message_bytes")));
  options = ServerOptions();
  options.listen_address = "localhost";
  EXPECT_THAT(ValidateServerOptions(options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("listen_address")));
  options = ServerOptions();
  options.drain_grace_period = absl::Seconds(-1);
  EXPECT_THAT(ValidateServerOptions(options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("drain_grace_period")));
  for (absl::Duration bad :
       {absl::Seconds(-1), absl::Seconds(61), absl::InfiniteDuration()}) {
    options = ServerOptions();
    options.drain_lame_duck = bad;
    EXPECT_THAT(ValidateServerOptions(options),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("drain_lame_duck")));
  }
  options = ServerOptions();
  EXPECT_EQ(options.drain_lame_duck, absl::ZeroDuration());
  options.drain_lame_duck = absl::Seconds(60);
  EXPECT_THAT(ValidateServerOptions(options), IsOk());
  options = ServerOptions();
  options.data_dir = "";
  EXPECT_THAT(
      ValidateServerOptions(options),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("data_dir")));
}

TEST(ServerOptionsTest, LedgerOptions) {
  ServerOptions options;
  EXPECT_EQ(options.ledger, "sqlite");
  EXPECT_EQ(options.ledger_flush_window, absl::Milliseconds(200));
  options.ledger = "none";
  EXPECT_THAT(ValidateServerOptions(options), IsOk());
  options.ledger = "postgres";
  EXPECT_THAT(
      ValidateServerOptions(options),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ledger")));
  options = ServerOptions();
  options.ledger_flush_window = absl::Milliseconds(-1);
  EXPECT_THAT(ValidateServerOptions(options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("ledger_flush_window")));
  options.ledger_flush_window = absl::ZeroDuration();
  EXPECT_THAT(ValidateServerOptions(options), IsOk());
}

TEST(ServerOptionsTest, PostgresLedgerOptions) {
  ServerOptions options;
  EXPECT_EQ(options.ledger_dsn, "");
  EXPECT_EQ(options.ledger_password_file, "");
  EXPECT_EQ(options.ledger_connect_timeout, absl::Seconds(30));
  options.ledger = "postgres";
  EXPECT_THAT(
      ValidateServerOptions(options),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ledger_dsn")));
  options.ledger_dsn = "host=db dbname=needlecheck user=needlecheck";
  options.ledger_password_file = "/run/secrets/pg";
  EXPECT_THAT(ValidateServerOptions(options), IsOk());
  options.ledger_connect_timeout = absl::Hours(2);
  EXPECT_THAT(ValidateServerOptions(options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("ledger_connect_timeout")));
  options.ledger_connect_timeout = absl::Seconds(30);
  options.ledger_recover = true;  // SQLite only
  EXPECT_THAT(ValidateServerOptions(options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("ledger_recover")));
  options.ledger_recover = false;
  options.ledger_test_fault_file = "/tmp/fault";
  EXPECT_THAT(ValidateServerOptions(options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("testonly_ledger_fault_file")));
  // A DSN without --ledger=postgres makes no sense.
  options = ServerOptions();
  options.ledger_dsn = "host=db";
  EXPECT_THAT(ValidateServerOptions(options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("only with --ledger=postgres")));
}

TEST(ServerOptionsTest, LedgerFaultOptions) {
  ServerOptions options;
  EXPECT_EQ(options.ledger_check_time_limit, absl::Seconds(30));
  EXPECT_FALSE(options.ledger_recover);
  EXPECT_EQ(options.ledger_test_fault_file, "");
  options.ledger_check_time_limit = absl::ZeroDuration();  // no check
  EXPECT_THAT(ValidateServerOptions(options), IsOk());
  options.ledger_check_time_limit = absl::Seconds(-1);
  EXPECT_THAT(ValidateServerOptions(options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("ledger_check_time_limit")));
  options.ledger_check_time_limit = absl::InfiniteDuration();
  EXPECT_THAT(ValidateServerOptions(options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("ledger_check_time_limit")));
}

TEST(ServerOptionsTest, LoopbackAddresses) {
  for (const char* address : {"127.0.0.1:0", "127.1.2.3:50051", "localhost:1",
                              "[::1]:0", "unix:/run/needlecheckd.sock"}) {
    EXPECT_TRUE(IsLoopbackAddress(address)) << address;
  }
  for (const char* address :
       {"0.0.0.0:0", "[::]:0", "10.0.0.7:50051", "128.0.0.1:1", "127.0.0.256:1",
        "127.0.0:1", "127.0.0.1.example:1", "needlecheck.example:1", ":50051",
        "[::1:0", "127.+1.0.1:1"}) {
    EXPECT_FALSE(IsLoopbackAddress(address)) << address;
  }
}

TEST(ServerOptionsTest, PlaintextOffLoopbackNeedsInsecurePlaintext) {
  ServerOptions options;
  options.listen_address = "0.0.0.0:50051";
  EXPECT_THAT(ValidateServerOptions(options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--insecure_plaintext")));
  options.insecure_plaintext = true;
  EXPECT_THAT(ValidateServerOptions(options), IsOk());
  options.insecure_plaintext = false;
  options.tls_cert_path = "server.crt";
  options.tls_key_path = "server.key";
  EXPECT_THAT(ValidateServerOptions(options), IsOk());
}

TEST(ServerOptionsTest, SecurityOptionsComeTogether) {
  ServerOptions options;
  options.tls_cert_path = "server.crt";
  EXPECT_THAT(ValidateServerOptions(options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("tls_cert and tls_key")));
  options = ServerOptions();
  options.tls_client_ca_path = "ca.crt";
  EXPECT_THAT(
      ValidateServerOptions(options),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("tls_client_ca")));
  options = ServerOptions();
  options.tls_cert_path = "server.crt";
  options.tls_key_path = "server.key";
  options.authz_policy_path = "policy";
  EXPECT_THAT(ValidateServerOptions(options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("authz_policy: needs tls_client_ca")));
  options.tls_client_ca_path = "ca.crt";
  EXPECT_THAT(ValidateServerOptions(options), IsOk());
  options.health_listen_address = "8081";
  EXPECT_THAT(ValidateServerOptions(options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("health_listen_address")));
}

TEST(ServerOptionsTest, AppliesToABuilder) {
  ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.max_threads = 4;
  options.max_concurrent_streams = 100;
  options.max_connection_age = absl::Minutes(5);
  grpc::ServerBuilder builder;
  ApplyServerOptions(options, &builder);
  int port = 0;
  AddListeningPort(options, &builder, &port);
  grpc::CallbackGenericService generic;  // a server needs one service
  builder.RegisterCallbackGenericService(&generic);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  EXPECT_GT(port, 0);
  server->Shutdown();
}

}  // namespace
}  // namespace needlecheck::server
