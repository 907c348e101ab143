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

// Found by the database_url fuzz target: a NUL cut the URL short where libpq read it, so
// "postgres://us\0...http://t:5432/db" was taken for the host "us" with no database at all.
TEST(StoreFactory, ControlCharactersAreRefusedAndAPostgresUrlWithoutADatabaseDefaultsLikeLibpq) {
  const std::string with_nul("postgres://us\0\0shttp://t:5432/db", 32);
  for (const std::string& url :
       {with_nul, std::string("sqlite:a\nb.db"), std::string("postgres://h/d\x7f")}) {
    auto target = describe_database(url);
    ASSERT_FALSE(target.ok()) << url;
    EXPECT_EQ(target.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(target.error().message.find("control character"), std::string::npos) << target.error().message;
    EXPECT_FALSE(open_store(url).ok());
  }
  // No dbname and no user: libpq's default, the name of the user the process runs as.
  auto bare = describe_database("postgres://h");
  ASSERT_TRUE(bare.ok()) << bare.error().message;
  EXPECT_FALSE(bare->name.empty());
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
