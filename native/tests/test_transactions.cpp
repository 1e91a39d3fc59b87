// Reentrant transactions: nested levels are savepoints, an outer rollback discards inner
// work, an inner failure caught by the outer level keeps the outer work, file-backed values
// of a rolled-back transaction leave no file behind, and a transaction owns the store
// against other threads until it ends.
#include "test_support.hpp"

#include <atomic>

using namespace test;
using namespace std::chrono_literals;
using namespace std::string_literals;
using sciqlop_cache::Cache;
using sciqlop_cache::Index;
using sciqlop_cache::Options;
using sciqlop_cache::Transaction;

namespace
{
struct Boom : std::runtime_error
{
    Boom() : std::runtime_error("boom") { }
};

template <class S>
void check_reentrancy(S& store)
{
    // Commit on return, with a result.
    const int r = store.transact(
        [&]
        {
            store.set("a", "1"s);
            store.set("big-a", make_value(20000, 1));
            return 42;
        });
    CHECK(r == 42);
    CHECK(to_string(store.get("a")) == "1");
    CHECK_FALSE(store.in_transaction());
    CHECK(store.transaction_depth() == 0);

    // Outer rollback discards the committed inner level.
    CHECK_THROWS_AS(store.transact(
                        [&]
                        {
                            store.set("b", "outer"s);
                            store.transact(
                                [&]
                                {
                                    CHECK(store.transaction_depth() == 2);
                                    store.set("c", "inner"s);
                                    store.set("big-c", make_value(30000, 2));
                                    store.del("a");
                                });
                            CHECK(store.transaction_depth() == 1);
                            CHECK(to_string(store.get("c")) == "inner"); // visible inside
                            throw Boom();
                        }),
                    Boom);
    CHECK_FALSE(store.exists("b"));
    CHECK_FALSE(store.exists("c"));
    CHECK_FALSE(store.exists("big-c"));
    CHECK(to_string(store.get("a")) == "1");
    CHECK_FALSE(store.in_transaction());

    // An inner failure caught by the outer level rolls back the inner level only.
    store.transact(
        [&]
        {
            store.set("d", "outer-before"s);
            try
            {
                store.transact(
                    [&]
                    {
                        store.set("e", "inner"s);
                        store.set("d", "inner-overwrite"s);
                        store.set("big-a", make_value(40000, 3)); // overwrite a file-backed value
                        throw Boom();
                    });
            }
            catch (const Boom&)
            {
            }
            CHECK(store.transaction_depth() == 1);
            store.set("f", "outer-after"s);
        });
    CHECK(to_string(store.get("d")) == "outer-before");
    CHECK_FALSE(store.exists("e"));
    CHECK(to_string(store.get("f")) == "outer-after");
    CHECK(to_string(store.get("big-a")) == make_value(20000, 1));

    // Manual begin/commit/rollback, three levels deep.
    store.begin();
    store.set("g1", "1"s);
    store.begin();
    store.set("g2", "2"s);
    store.begin();
    store.set("g3", "3"s);
    CHECK(store.transaction_depth() == 3);
    store.rollback(); // drops g3
    store.commit();   // keeps g2 inside the outer level
    CHECK(store.transaction_depth() == 1);
    store.commit();
    CHECK(store.transaction_depth() == 0);
    CHECK(store.exists("g1"));
    CHECK(store.exists("g2"));
    CHECK_FALSE(store.exists("g3"));

    // RAII Transaction rolls back unless committed.
    {
        Transaction t(store);
        store.set("h", "rolled back"s);
    }
    CHECK_FALSE(store.exists("h"));
    {
        Transaction t(store);
        store.set("h", "committed"s);
        t.commit();
    }
    CHECK(to_string(store.get("h")) == "committed");

    // Counters stay exact through rollbacks.
    const auto r2 = store.check();
    CHECK(r2.ok);
    CHECK(r2.counters_consistent);
    CHECK(store.count() == store.keys().size());
}

template <class S>
void check_no_file_left_by_rollback(S& store, const fs::path& dir)
{
    store.set("kept", make_value(50000, 1));
    const auto files_before = value_files(dir);
    REQUIRE(files_before.size() == 1);

    // New file-backed values, and an overwrite of an existing one, all rolled back.
    CHECK_THROWS_AS(store.transact(
                        [&]
                        {
                            for (int i = 0; i < 5; ++i)
                                store.set("new" + std::to_string(i), make_value(30000, static_cast<std::uint64_t>(i)));
                            store.set("kept", make_value(60000, 2));
                            store.transact([&] { store.set("nested", make_value(70000, 3)); });
                            throw Boom();
                        }),
                    Boom);
    // A savepoint rolled back inside a committed transaction.
    store.transact(
        [&]
        {
            try
            {
                store.transact(
                    [&]
                    {
                        store.set("sp", make_value(80000, 4));
                        throw Boom();
                    });
            }
            catch (const Boom&)
            {
            }
            store.set("committed", make_value(90000, 5));
        });

    CHECK(to_string(store.get("kept")) == make_value(50000, 1));
    CHECK_FALSE(store.exists("sp"));
    CHECK(to_string(store.get("committed")) == make_value(90000, 5));
    const auto report = store.check(true);
    CHECK(report.dangling_rows == 0);
    CHECK(report.size_mismatches == 0);
    const auto files_after = value_files(dir);
    CHECK_MESSAGE(files_after.size() == 2, files_after.size() << " value files left, expected the 2 committed ones");
    CHECK(store.check().ok);
}
}

TEST_SUITE("transactions")
{
    TEST_CASE("Cache: reentrant transactions")
    {
        TempDir tmp("tx");
        Cache cache(tmp.path(), Options { .background = false });
        check_reentrancy(cache);
    }

    TEST_CASE("Index: reentrant transactions")
    {
        TempDir tmp("tx");
        Index index(tmp.path());
        check_reentrancy(index);
    }

    TEST_CASE("file-backed values written in a rolled-back transaction leave no file behind")
    {
        TempDir tmp("tx");
        SUBCASE("Cache")
        {
            Cache cache(tmp.path(), Options { .background = false });
            check_no_file_left_by_rollback(cache, tmp.path());
        }
        SUBCASE("Index")
        {
            Index index(tmp.path());
            check_no_file_left_by_rollback(index, tmp.path());
        }
    }

    TEST_CASE("a transaction is persisted as a whole across reopening")
    {
        TempDir tmp("tx");
        {
            Cache cache(tmp.path());
            cache.transact(
                [&]
                {
                    for (int i = 0; i < 100; ++i)
                        cache.set("k" + std::to_string(i), make_value(i % 10 == 0 ? 10000 : 100, 1));
                });
        }
        Cache cache(tmp.path());
        CHECK(cache.count() == 100);
    }

    TEST_CASE("a transaction owns the store: another thread's write waits and is not rolled back with it")
    {
        TempDir tmp("tx");
        Cache cache(tmp.path(), Options { .background = false });
        std::atomic<bool> other_done { false };
        cache.begin();
        cache.set("mine", "rolled back"s);
        std::thread other(
            [&]
            {
                cache.set("theirs", "kept"s);
                other_done = true;
            });
        sleep_seconds(0.2);
        CHECK_FALSE(other_done.load()); // still waiting for the owner
        cache.rollback();
        other.join();
        CHECK(other_done.load());
        CHECK_FALSE(cache.exists("mine"));
        CHECK(to_string(cache.get("theirs")) == "kept");
    }

    TEST_CASE("commit or rollback without begin is an error, not a crash")
    {
        TempDir tmp("tx");
        Index index(tmp.path());
        CHECK_THROWS_AS(index.commit(), sciqlop_cache::error);
        CHECK_THROWS_AS(index.rollback(), sciqlop_cache::error);
        index.set("k", "v"s);
        CHECK(to_string(index.get("k")) == "v");
    }
}
