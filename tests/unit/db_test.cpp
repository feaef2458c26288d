#include "common/clock.hpp"
#include "common/error.hpp"
#include "db/database.hpp"
#include "db/migrate.hpp"
#include "db/sqlite.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>

namespace {

class SqliteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("orderd-db-test-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    database_ = db::open("sqlite://" + (dir_ / "sub" / "test.db").string());
  }
  void TearDown() override {
    database_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::filesystem::path dir_;
  std::unique_ptr<db::Database> database_;
};

const std::vector<db::Migration> kMigrations = {
    {1, "001_items", "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
                     " qty BIGINT NOT NULL CHECK (qty >= 0));"},
    {2, "002_index", "CREATE INDEX items_qty ON items (qty);"},
};

}  // namespace

TEST_F(SqliteTest, MigrationsApplyOnceAndInOrder) {
  EXPECT_EQ(db::migrate(*database_, kMigrations), 2);
  EXPECT_EQ(db::migrate(*database_, kMigrations), 0);
  auto versions = database_->read([](db::Connection& c) {
    return c.query("SELECT version, name FROM schema_migrations ORDER BY version");
  });
  ASSERT_EQ(versions.size(), 2u);
  EXPECT_EQ(versions[0].integer(0), 1);
  EXPECT_EQ(versions[1].text(1), "002_index");
}

TEST_F(SqliteTest, AFailingMigrationLeavesNothingBehind) {
  std::vector<db::Migration> broken = {{1, "001_broken", "CREATE TABLE a (id INTEGER); CREATE TABLE oops ("}};
  EXPECT_ANY_THROW(db::migrate(*database_, broken));
  auto tables = database_->read(
      [](db::Connection& c) { return c.query("SELECT name FROM sqlite_master WHERE name = 'a'"); });
  EXPECT_TRUE(tables.empty());
}

TEST_F(SqliteTest, TransactionsCommitOrRollBackAsAWhole) {
  db::migrate(*database_, kMigrations);
  database_->transaction([](db::Connection& c) { c.query("INSERT INTO items (name, qty) VALUES ($1, $2)", "a", 5); });
  EXPECT_THROW(database_->transaction([](db::Connection& c) {
    c.query("UPDATE items SET qty = qty - $1 WHERE name = $2", 2, "a");
    throw std::runtime_error("changed my mind");
  }),
               std::runtime_error);
  auto qty = database_->read(
      [](db::Connection& c) { return c.query("SELECT qty FROM items WHERE name = $1", "a")[0].integer(0); });
  EXPECT_EQ(qty, 5);
}

TEST_F(SqliteTest, ParametersBindByNumberAndTypesRoundTrip) {
  db::migrate(*database_, kMigrations);
  auto r = database_->transaction([](db::Connection& c) {
    c.query("INSERT INTO items (name, qty) VALUES ($2, $1)", 7, "named by $2");
    return c.query("SELECT id, name, qty, NULL FROM items WHERE qty = $1 AND name = $2", 7, std::string("named by $2"));
  });
  ASSERT_EQ(r.size(), 1u);
  EXPECT_GT(r[0].integer(0), 0);
  EXPECT_EQ(r[0].text(1), "named by $2");
  EXPECT_EQ(r[0].integer(2), 7);
  EXPECT_TRUE(r[0].is_null(3));
  EXPECT_EQ(r[0].optional_text(3), std::nullopt);
}

TEST_F(SqliteTest, ConstraintViolationsAreTyped) {
  db::migrate(*database_, kMigrations);
  database_->transaction([](db::Connection& c) { c.query("INSERT INTO items (name, qty) VALUES ('x', 1)"); });
  try {
    database_->transaction([](db::Connection& c) { c.query("INSERT INTO items (name, qty) VALUES ('x', 2)"); });
    FAIL();
  } catch (const db::Error& e) {
    EXPECT_EQ(e.kind(), db::Error::Kind::unique_violation);
    EXPECT_EQ(e.constraint(), "items.name");
  }
  try {
    database_->transaction([](db::Connection& c) { c.query("UPDATE items SET qty = -1 WHERE name = 'x'"); });
    FAIL();
  } catch (const db::Error& e) {
    EXPECT_EQ(e.kind(), db::Error::Kind::check_violation);
  }
}

TEST_F(SqliteTest, ConcurrentConditionalDecrementsNeverGoNegative) {
  db::migrate(*database_, kMigrations);
  database_->transaction([](db::Connection& c) { c.query("INSERT INTO items (name, qty) VALUES ('hot', 50)"); });
  std::atomic<int> taken{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        auto changed = database_->transaction([](db::Connection& c) {
          return c.query("UPDATE items SET qty = qty - 1 WHERE name = 'hot' AND qty >= 1").affected_rows;
        });
        taken += static_cast<int>(changed);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(taken.load(), 50);
  auto qty = database_->read([](db::Connection& c) { return c.query("SELECT qty FROM items")[0].integer(0); });
  EXPECT_EQ(qty, 0);
}

TEST_F(SqliteTest, SubmittedTransactionsCommitOrFailAloneAndReportOnce) {
  db::migrate(*database_, kMigrations);
  auto& sqlite = dynamic_cast<db::SqliteDatabase&>(*database_);
  constexpr int kJobs = 200;
  std::mutex mutex;
  std::condition_variable all_done;
  int reported = 0;
  std::vector<std::exception_ptr> outcome(kJobs);
  // Submitted jobs (every third one fails) share groups with callers waiting in transaction().
  std::thread waiting_caller([&] {
    for (int i = 0; i < 50; ++i) {
      database_->transaction(
          [i](db::Connection& c) { c.query("INSERT INTO items (name, qty) VALUES ($1, 1)", "waited " + std::to_string(i)); });
    }
  });
  for (int i = 0; i < kJobs; ++i) {
    sqlite.submit(
        [i](db::Connection& c) {
          c.query("INSERT INTO items (name, qty) VALUES ($1, 1)", "submitted " + std::to_string(i));
          if (i % 3 == 0) throw common::Error("validation_error", "job " + std::to_string(i) + " refuses");
        },
        [&, i](std::exception_ptr error) {
          std::lock_guard lock(mutex);
          outcome[static_cast<std::size_t>(i)] = error;
          ++reported;
          all_done.notify_all();
        });
  }
  waiting_caller.join();
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(all_done.wait_for(lock, std::chrono::seconds(30), [&] { return reported == kJobs; }));
  }
  for (int i = 0; i < kJobs; ++i) EXPECT_EQ(outcome[static_cast<std::size_t>(i)] != nullptr, i % 3 == 0) << i;
  auto counts = database_->read([](db::Connection& c) {
    return std::pair(c.query("SELECT count(*) FROM items WHERE name LIKE 'submitted %'")[0].integer(0),
                     c.query("SELECT count(*) FROM items WHERE name LIKE 'waited %'")[0].integer(0));
  });
  EXPECT_EQ(counts.first, kJobs - (kJobs + 2) / 3);
  EXPECT_EQ(counts.second, 50);
}

TEST_F(SqliteTest, ABusyDatabaseIsReportedToSubmittersAsUnavailable) {
  db::migrate(*database_, kMigrations);
  auto& sqlite = dynamic_cast<db::SqliteDatabase&>(*database_);
  std::promise<std::exception_ptr> reported;
  sqlite.submit([](db::Connection&) { throw db::Error(db::Error::Kind::retryable, "database is locked"); },
                [&](std::exception_ptr error) { reported.set_value(error); });
  auto error = reported.get_future().get();
  ASSERT_TRUE(error);
  try {
    std::rethrow_exception(error);
  } catch (const common::Error& e) {
    EXPECT_EQ(e.code(), "unavailable");
  }
}

TEST_F(SqliteTest, CheckpointsKeepTheWalShortWithoutTheWriterWaitingForThem) {
  db::migrate(*database_, kMigrations);
  // 4,000 commits of a 4 KiB row (and its index entry) each, back to back: 126 MiB through the
  // WAL. Checkpoints let the WAL start over once copied back (after 1,000 pages in the background,
  // after 4,000 by the writer itself: 16 MiB); without them it would hold it all. The writer's own
  // checkpoint gives way when the background one is running (SQLITE_BUSY, it never waits), so the WAL
  // also holds what the writer commits meanwhile: on a loaded machine (ctest runs two tests at once
  // under the sanitizers) 28 MiB was seen. The bound is under half the 126 MiB no checkpoint leaves.
  const std::string filler(4096, 'x');
  for (int i = 0; i < 4000; ++i) {
    database_->transaction([&](db::Connection& c) {
      c.query("INSERT INTO items (name, qty) VALUES ($1, 1)", std::to_string(i) + filler);
    });
  }
  auto wal = dir_ / "sub" / "test.db-wal";
  ASSERT_TRUE(std::filesystem::exists(wal));
  EXPECT_LT(std::filesystem::file_size(wal), 48u * 1024 * 1024);
}

TEST_F(SqliteTest, PlaceholdersOtherThanNumberedAreRefused) {
  EXPECT_THROW(database_->read([](db::Connection& c) { c.query("SELECT ?", 1); }), std::invalid_argument);
}

TEST(Clock, FormatsRfc3339WithMicroseconds) {
  EXPECT_EQ(common::format_rfc3339(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(common::format_rfc3339(1714824000123456), "2024-05-04T12:00:00.123456Z");
  EXPECT_EQ(common::format_rfc3339(253402300799999999), "9999-12-31T23:59:59.999999Z");
  EXPECT_EQ(common::format_rfc3339(-1), "1969-12-31T23:59:59.999999Z");
}

TEST(Database, UnknownUrlsAreRefusedClearly) {
  EXPECT_THROW(db::open("mysql://x"), std::runtime_error);
  EXPECT_THROW(db::open("sqlite://"), std::runtime_error);
}

TEST(Database, PostgresUrlsThatCannotConnectFailWithTheReason) {
  try {
    db::open("postgresql://orderd:secret-pw@127.0.0.1:1/none?connect_timeout=2");
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("cannot connect to PostgreSQL"), std::string::npos) << what;
    EXPECT_EQ(what.find("secret-pw"), std::string::npos) << what;
  }
}

namespace {

// A database whose transactions only count the attempts: the retry loop is the base class's.
class CountingDatabase final : public db::Database {
 public:
  db::Dialect dialect() const noexcept override { return db::Dialect::postgres; }
  bool ping() noexcept override { return true; }
  PoolStats pool_stats() noexcept override { return {}; }
  int attempts = 0;

 protected:
  void run_transaction(const Body& body) override {
    ++attempts;
    body(connection_);
  }
  void run_read(const Body& body) override { run_transaction(body); }

 private:
  struct NoConnection final : db::Connection {
    db::Dialect dialect() const noexcept override { return db::Dialect::postgres; }
    db::Result query(std::string_view, std::span<const db::Value>) override { return {}; }
    void execute_script(std::string_view) override {}
  } connection_;
};

db::Error deadlock() { return db::Error(db::Error::Kind::retryable, "deadlock detected [40P01]"); }

}  // namespace

TEST(Database, RetryableFailuresRunTheWholeBodyAgain) {
  CountingDatabase database;
  int runs = 0;
  auto result = database.transaction([&](db::Connection&) {
    if (++runs < 3) throw deadlock();
    return runs;
  });
  EXPECT_EQ(result, 3);
  EXPECT_EQ(database.attempts, 3);
}

TEST(Database, ARetryableFailureThatPersistsIsUnavailableNot500) {
  CountingDatabase database;
  try {
    database.transaction([](db::Connection&) { throw deadlock(); });
    FAIL() << "expected an exception";
  } catch (const common::Error& e) {
    EXPECT_EQ(e.code(), "unavailable");
    EXPECT_EQ(common::status_for(e.code()), 503);
  }
  EXPECT_EQ(database.attempts, 4);
}

TEST(Database, OtherFailuresAreNotRetried) {
  CountingDatabase database;
  EXPECT_THROW(database.read([](db::Connection&) { throw db::Error(db::Error::Kind::unique_violation, "dup"); }),
               db::Error);
  EXPECT_THROW(database.transaction([](db::Connection&) { throw common::Error("not_found", "Not found."); }),
               common::Error);
  EXPECT_EQ(database.attempts, 2);
}
