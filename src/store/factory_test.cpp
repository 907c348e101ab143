// The factory: which DATABASE_URLs open which engine, and the errors for the others.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "store/store.hpp"
#include "support/temp_dir.hpp"

namespace taskman::store {
namespace {

using taskman::testing::TempDir;

TEST(StoreFactory, RejectsUnknownUrls) {
  EXPECT_EQ(open_store("mysql://x").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(open_store("sqlite:").error().code, ErrorCode::kInvalidArgument);
}

TEST(StoreFactory, PostgresUrlsNameThePostgresEngineAndTheDatabaseButNeverThePassword) {
  for (const char* url : {"postgres://u:s3cret@db.example:6543/tasks?sslmode=require",
                          "postgresql://u:s3cret@db.example/tasks"}) {
    auto target = describe_database(url);
    ASSERT_TRUE(target.ok()) << url << ": " << target.error().message;
    EXPECT_EQ(target->engine, "postgresql");
    EXPECT_EQ(target->name, "tasks");
  }
  const auto prefixes = supported_url_prefixes();
  for (std::string_view p : {"sqlite:", "postgres://", "postgresql://"}) {
    EXPECT_NE(std::find(prefixes.begin(), prefixes.end(), p), prefixes.end()) << p;
  }
  auto bad = describe_database("postgres://u:s3cret@h/db?nosuchoption=1");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.error().message.find("s3cret"), std::string::npos) << bad.error().message;
}

// Nothing listens on port 1: the error names the server (host and port), never the password.
TEST(StoreFactory, UnreachablePostgresIsUnavailableNamingHostAndPort) {
  for (const char* url : {"postgres://u:s3cret@127.0.0.1:1/db", "postgresql://u:s3cret@127.0.0.1:1/db"}) {
    auto opened = open_store(url);
    ASSERT_FALSE(opened.ok()) << url;
    EXPECT_EQ(opened.error().code, ErrorCode::kUnavailable);
    EXPECT_NE(opened.error().message.find("127.0.0.1:1"), std::string::npos) << opened.error().message;
    EXPECT_EQ(opened.error().message.find("s3cret"), std::string::npos) << opened.error().message;
    auto migrated = migrate_database(url);
    ASSERT_FALSE(migrated.ok()) << url;
    EXPECT_EQ(migrated.error().code, ErrorCode::kUnavailable);
  }
}

TEST(StoreFactory, DescribesWhatASqliteUrlNamesWithoutOpeningIt) {
  auto relative = describe_database("sqlite:data/taskman.db");
  ASSERT_TRUE(relative.ok());
  EXPECT_EQ(relative->engine, "sqlite");
  EXPECT_EQ(relative->name, "data/taskman.db");
  auto absolute = describe_database("sqlite:///var/lib/taskman/t.db");
  ASSERT_TRUE(absolute.ok());
  EXPECT_EQ(absolute->name, "/var/lib/taskman/t.db");
  auto memory = describe_database("sqlite::memory:");
  ASSERT_FALSE(memory.ok());
  EXPECT_NE(memory.error().message.find("in-memory"), std::string::npos);
  EXPECT_EQ(describe_database("mysql://x").error().code, ErrorCode::kInvalidArgument);
}

TEST(StoreFactory, MigrateGoesThroughTheSameUrlsAsOpen) {
  TempDir dir;
  const std::string url = "sqlite:" + dir.file("m.db");
  auto v = migrate_database(url);
  ASSERT_TRUE(v.ok()) << v.error().message;
  StoreOptions no_migration;
  no_migration.migrate = false;  // opens only when the file is already at the build's version
  auto s = open_store(url, no_migration);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ((*s)->schema_version(), *v);
  EXPECT_EQ(migrate_database("sqlite:").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(migrate_database("mysql://x").error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace taskman::store
