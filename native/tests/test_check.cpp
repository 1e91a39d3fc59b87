// check(fix): orphaned value files (older than 60 s only), dangling rows, size mismatches,
// counter consistency and SQLite integrity; check(true) reports what it found, then fixes it.
#include "test_support.hpp"

using namespace test;
using namespace std::string_literals;
using sciqlop_cache::Cache;
using sciqlop_cache::CheckResult;
using sciqlop_cache::FanoutCache;
using sciqlop_cache::Index;
using sciqlop_cache::Options;

namespace
{
void check_clean(const CheckResult& r)
{
    CHECK(r.ok);
    CHECK(r.orphaned_files == 0);
    CHECK(r.dangling_rows == 0);
    CHECK(r.size_mismatches == 0);
    CHECK(r.counters_consistent);
    CHECK(r.sqlite_integrity_ok);
}

const char* orphan_name = "abcd0123-4567-4890-abcd-ef0123456789-12345";

/// Bumps every counter column of the counters table, so that they disagree with a recount.
void skew_counters(const fs::path& dir)
{
    RawDb raw(db_file(dir));
    const auto columns = raw.column("SELECT name FROM pragma_table_info('counters') WHERE pk = 0");
    REQUIRE_FALSE(columns.empty());
    for (const auto& c : columns)
        raw.exec("UPDATE counters SET \"" + c + "\" = \"" + c + "\" + 7");
}

template <class S>
void check_every_finding(const fs::path& dir)
{
    S store(dir, Options { .background = false });
    store.set("small", make_value(100, 1));
    store.set("dangling", make_value(10000, 2));
    store.set("mismatch", make_value(20000, 3));
    store.set("kept", make_value(30000, 4));
    check_clean(store.check());

    // Locate the files through the rows.
    std::string dangling_path, mismatch_path;
    {
        RawDb raw(db_file(dir));
        dangling_path = *raw.text("SELECT path FROM cache WHERE size = 10000");
        mismatch_path = *raw.text("SELECT path FROM cache WHERE size = 20000");
    }
    REQUIRE(fs::exists(dir / dangling_path));
    fs::remove(dir / dangling_path);
    fs::resize_file(dir / mismatch_path, 100);

    // An old orphan is reported, a young one is not (it may be another process's write in flight).
    write_file(dir / "ab" / "cd" / orphan_name, make_value(5000, 5));
    age_file(dir / "ab" / "cd" / orphan_name, 120);
    write_file(dir / "ab" / "cd" / "young-orphan", make_value(5000, 6));

    const auto found = store.check();
    CHECK_FALSE(found.ok);
    CHECK(found.orphaned_files == 1);
    CHECK(found.dangling_rows == 1);
    CHECK(found.size_mismatches == 1);
    CHECK(found.counters_consistent);
    CHECK(found.sqlite_integrity_ok);
    // check() without fix changed nothing.
    CHECK(fs::exists(dir / "ab" / "cd" / orphan_name));
    CHECK(store.check().orphaned_files == 1);

    const auto fixed = store.check(true);
    CHECK_FALSE(fixed.ok);
    CHECK(fixed.orphaned_files == 1);
    CHECK(fixed.dangling_rows == 1);
    CHECK(fixed.size_mismatches == 1);
    check_clean(store.check());

    CHECK_FALSE(fs::exists(dir / "ab" / "cd" / orphan_name));
    CHECK(fs::exists(dir / "ab" / "cd" / "young-orphan"));
    CHECK_FALSE(store.exists("dangling"));
    CHECK_FALSE(store.exists("mismatch"));
    CHECK(to_string(store.get("small")) == make_value(100, 1));
    CHECK(to_string(store.get("kept")) == make_value(30000, 4));
    CHECK(store.count() == 2);
    CHECK(store.size() == 30100);
}
}

TEST_SUITE("check")
{
    TEST_CASE("a fresh store and a busy one check clean")
    {
        TempDir tmp("check");
        Cache cache(tmp.path());
        check_clean(cache.check());
        for (int i = 0; i < 50; ++i)
            cache.set("k" + std::to_string(i), make_value(i % 3 == 0 ? 12000 : 50, static_cast<std::uint64_t>(i)));
        for (int i = 0; i < 50; i += 2)
            cache.del("k" + std::to_string(i));
        for (int i = 1; i < 50; i += 4)
            cache.set("k" + std::to_string(i), make_value(i % 2 == 0 ? 9000 : 10, 7));
        check_clean(cache.check());
        check_clean(cache.check(true));
        CHECK(cache.count() == 25);
    }

    TEST_CASE("Cache: orphans, dangling rows and size mismatches are reported, then fixed")
    {
        TempDir tmp("check");
        check_every_finding<Cache>(tmp.path());
    }

    TEST_CASE("Index: orphans, dangling rows and size mismatches are reported, then fixed")
    {
        TempDir tmp("check");
        check_every_finding<Index>(tmp.path());
    }

    TEST_CASE("files still referenced by the trash are not orphans")
    {
        TempDir tmp("check");
        Cache cache(tmp.path(), Options { .background = false, .trash_grace = std::chrono::duration<double>(3600) });
        cache.set("k", make_value(10000, 1));
        const auto files = value_files(tmp.path());
        REQUIRE(files.size() == 1);
        age_file(files.front(), 120);
        cache.del("k");
        check_clean(cache.check(true));
        CHECK(fs::exists(files.front())); // still within its grace period
    }

    TEST_CASE("skewed counters are reported and recomputed by check(true)")
    {
        TempDir tmp("check");
        {
            Cache cache(tmp.path());
            cache.set("a", make_value(100, 1));
            cache.set("b", make_value(10000, 2));
        }
        skew_counters(tmp.path());
        Cache cache(tmp.path(), Options { .background = false });
        const auto r = cache.check();
        CHECK_FALSE(r.ok);
        CHECK_FALSE(r.counters_consistent);
        CHECK_FALSE(cache.check(true).counters_consistent);
        check_clean(cache.check());
        CHECK(cache.count() == 2);
        CHECK(cache.size() == 10100);
    }

    TEST_CASE("FanoutCache: check sums over the shards")
    {
        TempDir tmp("check");
        FanoutCache fc(tmp.path(), 4);
        for (int i = 0; i < 40; ++i)
            fc.set("k" + std::to_string(i), make_value(10000, static_cast<std::uint64_t>(i)));
        check_clean(fc.check());
        for (int shard = 0; shard < 2; ++shard)
        {
            const auto dir = tmp / sciqlop_cache::detail::shard_folder_name(static_cast<std::size_t>(shard));
            write_file(dir / "ab" / "cd" / orphan_name, "x");
            age_file(dir / "ab" / "cd" / orphan_name, 600);
        }
        const auto r = fc.check(true);
        CHECK(r.orphaned_files == 2);
        CHECK_FALSE(r.ok);
        check_clean(fc.check());
    }
}
