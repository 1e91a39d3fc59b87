// Another connection holding the write lock: writes fail with SQLITE_BUSY once the busy
// timeout has passed, nothing is counted as done (no row, no counter change, no stray value
// file), and reads keep working (WAL readers never wait for the writer).
#include "test_support.hpp"

using namespace test;
using namespace std::chrono_literals;
using namespace std::string_literals;
using sciqlop_cache::Cache;
using sciqlop_cache::Index;
using sciqlop_cache::Options;

TEST_SUITE("busy")
{
    TEST_CASE("writes fail with SQLITE_BUSY after the busy timeout and leave no trace")
    {
        TempDir tmp("busy");
        Cache cache(tmp.path(), Options { .busy_timeout = 200ms, .background = false });
        cache.set("existing", "old"s);
        cache.set("n", le64(5));
        cache.set("big-existing", make_value(20000, 1));
        const auto files_before = value_files(tmp.path()).size();

        RawDb raw(db_file(tmp.path()));
        raw.exec("BEGIN IMMEDIATE");

        // Reads are not blocked by another writer.
        CHECK(to_string(cache.get("existing")) == "old");
        CHECK(to_string(cache.get("big-existing")) == make_value(20000, 1));

        const auto t0 = std::chrono::steady_clock::now();
        CHECK_ERROR_CODE(cache.set("new", "v"s), "SQLITE_BUSY");
        const auto waited = std::chrono::steady_clock::now() - t0;
        CHECK(waited >= 150ms);
        CHECK(waited < 5s);
        CHECK_ERROR_CODE(cache.set("big-new", make_value(30000, 2)), "SQLITE_BUSY");
        CHECK_ERROR_CODE(cache.set("existing", "new"s), "SQLITE_BUSY");
        CHECK_ERROR_CODE(cache.incr("n", 10), "SQLITE_BUSY");
        CHECK_ERROR_CODE(cache.add("added", "v"s), "SQLITE_BUSY");
        CHECK_ERROR_CODE(cache.del("existing"), "SQLITE_BUSY");
        CHECK_ERROR_CODE(cache.transact([&] { cache.set("in-tx", "v"s); }), "SQLITE_BUSY");
        CHECK_FALSE(cache.in_transaction());
        raw.exec("ROLLBACK");

        CHECK_FALSE(cache.exists("new"));
        CHECK_FALSE(cache.exists("big-new"));
        CHECK_FALSE(cache.exists("added"));
        CHECK_FALSE(cache.exists("in-tx"));
        CHECK(to_string(cache.get("existing")) == "old");
        CHECK(from_le64(to_string(cache.get("n"))) == 5);
        CHECK(value_files(tmp.path()).size() == files_before);
        const auto r = cache.check();
        CHECK(r.ok);
        CHECK(r.counters_consistent);

        // And the store works again once the lock is gone.
        cache.set("new", "v"s);
        CHECK(cache.incr("n", 10) == 15);
        cache.set("big-new", make_value(30000, 2));
        CHECK(to_string(cache.get("big-new")) == make_value(30000, 2));
    }

    TEST_CASE("Index: a failed write is an error, not a silent success")
    {
        TempDir tmp("busy");
        Index index(tmp.path(), Options { .busy_timeout = 100ms });
        index.set("k", "old"s);
        RawDb raw(db_file(tmp.path()));
        raw.exec("BEGIN IMMEDIATE");
        CHECK_ERROR_CODE(index.set("k", "new"s), "SQLITE_BUSY");
        CHECK_ERROR_CODE(index.pop("k"), "SQLITE_BUSY");
        raw.exec("ROLLBACK");
        CHECK(to_string(index.get("k")) == "old");
    }
}
