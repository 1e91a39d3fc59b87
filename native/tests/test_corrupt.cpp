// Damaged or foreign files: a regular file instead of the directory, a garbage, truncated or
// foreign database, and value files whose length differs from the recorded size. Each gives an
// error or a miss, never a crash and never wrong bytes.
#include "test_support.hpp"

#include <random>

using namespace test;
using namespace std::string_literals;
using sciqlop_cache::Cache;
using sciqlop_cache::FanoutCache;
using sciqlop_cache::Index;
using sciqlop_cache::Options;

namespace
{
std::string random_bytes(std::size_t n, unsigned seed)
{
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (auto& c : s)
        c = static_cast<char>(rng() & 0xff);
    return s;
}

/// Runs `body`; passes when it throws sciqlop_cache::error with one of `codes`.
template <class F>
void check_throws_one_of(F&& body, std::initializer_list<const char*> codes)
{
    try
    {
        body();
        FAIL_CHECK("no sciqlop_cache::error was thrown");
    }
    catch (const sciqlop_cache::error& e)
    {
        bool known = false;
        for (const char* c : codes)
            known = known || e.code() == c;
        CHECK_MESSAGE(known, "unexpected code " << e.code() << ": " << e.what());
        CHECK(std::string(e.what()).size() > 0);
    }
}

fs::path only_value_file(const fs::path& dir)
{
    const auto files = value_files(dir);
    REQUIRE(files.size() == 1);
    return files.front();
}
}

TEST_SUITE("corrupt")
{
    TEST_CASE("a regular file where the directory should be gives NOT_A_DIRECTORY")
    {
        TempDir tmp("corrupt");
        fs::create_directories(tmp.path());
        write_file(tmp / "file", "not a directory");
        CHECK_ERROR_CODE(Cache(tmp / "file"), "NOT_A_DIRECTORY");
        CHECK_ERROR_CODE(Index(tmp / "file"), "NOT_A_DIRECTORY");
        CHECK_ERROR_CODE(FanoutCache(tmp / "file"), "NOT_A_DIRECTORY");
        CHECK(read_file(tmp / "file") == "not a directory");
    }

    TEST_CASE("a garbage database file gives SQLITE_NOTADB or SQLITE_CORRUPT")
    {
        TempDir tmp("corrupt");
        for (std::size_t n : { std::size_t { 100 }, std::size_t { 4096 }, std::size_t { 65536 } })
        {
            CAPTURE(n);
            fs::remove_all(tmp.path());
            write_file(db_file(tmp.path()), random_bytes(n, static_cast<unsigned>(n)));
            check_throws_one_of(
                [&]
                {
                    Cache cache(tmp.path());
                    (void)cache.get("k");
                },
                { "SQLITE_NOTADB", "SQLITE_CORRUPT" });
            check_throws_one_of(
                [&]
                {
                    Index index(tmp.path());
                    (void)index.get("k");
                },
                { "SQLITE_NOTADB", "SQLITE_CORRUPT" });
            // The file was not rewritten.
            CHECK(read_file(db_file(tmp.path())) == random_bytes(n, static_cast<unsigned>(n)));
        }
    }

    TEST_CASE("a truncated database gives an error or an integrity failure, never a crash")
    {
        TempDir tmp("corrupt");
        {
            Index index(tmp.path());
            index.transact(
                [&]
                {
                    for (int i = 0; i < 2000; ++i)
                        index.set("key-" + std::to_string(i), make_value(500, static_cast<std::uint64_t>(i)));
                });
        }
        // The last close checkpointed the WAL: only the main file matters.
        fs::remove(tmp / "sciqlop-cache.db-wal");
        fs::remove(tmp / "sciqlop-cache.db-shm");
        const auto full = fs::file_size(db_file(tmp.path()));
        REQUIRE(full > 100'000);
        fs::resize_file(db_file(tmp.path()), full / 3);
        bool reported = false;
        try
        {
            Index index(tmp.path());
            for (int i = 0; i < 2000; ++i)
            {
                const auto v = index.get("key-" + std::to_string(i));
                if (v)
                    CHECK(v->view() == make_value(500, static_cast<std::uint64_t>(i)));
            }
            (void)index.keys();
            reported = !index.check().sqlite_integrity_ok;
        }
        catch (const sciqlop_cache::error& e)
        {
            const std::string code = e.code();
            CHECK_MESSAGE((code == "SQLITE_CORRUPT" || code == "SQLITE_NOTADB" || code == "CORRUPT"), code);
            reported = true;
        }
        CHECK(reported);
    }

    TEST_CASE("a foreign SQLite database gives an error, not a crash")
    {
        TempDir tmp("corrupt");
        fs::create_directories(tmp.path());
        {
            RawDb raw(db_file(tmp.path()), true);
            raw.exec("CREATE TABLE cache(x INTEGER, y TEXT); INSERT INTO cache VALUES (1, 'a');");
        }
        check_throws_one_of(
            [&]
            {
                Cache cache(tmp.path());
                (void)cache.get("k");
                cache.set("k", "v"s);
            },
            { "SQLITE_ERROR", "CORRUPT", "SQLITE_CORRUPT" });
        RawDb raw(db_file(tmp.path()));
        CHECK(raw.integer("SELECT count(*) FROM cache") == 1);
    }

    TEST_CASE("a truncated value file is a miss, and its row is removed")
    {
        TempDir tmp("corrupt");
        Cache cache(tmp.path(), Options { .background = false });
        cache.set("victim", make_value(50000, 1));
        cache.set("other", make_value(30, 2));
        const auto file = only_value_file(tmp.path());
        fs::resize_file(file, 20000);

        SUBCASE("get") { CHECK_FALSE(cache.get("victim").has_value()); }
        SUBCASE("get_into")
        {
            bool called = false;
            std::string buf;
            const bool hit = cache.get_into("victim",
                                            [&](std::size_t n)
                                            {
                                                called = true;
                                                buf.resize(n);
                                                return reinterpret_cast<std::byte*>(buf.data());
                                            });
            CHECK_FALSE(hit);
            // If the sink was asked for room, what it got must not be taken for the value.
            if (called)
                CHECK(buf != make_value(50000, 1).substr(0, 20000));
        }
        SUBCASE("pop") { CHECK_FALSE(cache.pop("victim").has_value()); }

        CHECK_FALSE(cache.exists("victim"));
        CHECK(cache.count() == 1);
        CHECK(cache.size() == 30);
        RawDb raw(db_file(tmp.path()));
        CHECK(raw.integer("SELECT count(*) FROM cache") == 1);
        CHECK(to_string(cache.get("other")) == make_value(30, 2));
        const auto r = cache.check();
        CHECK(r.ok);
        CHECK(r.counters_consistent);
    }

    TEST_CASE("a value file longer than its recorded size is a miss too")
    {
        TempDir tmp("corrupt");
        Index index(tmp.path());
        index.set("victim", make_value(9000, 1));
        const auto file = only_value_file(tmp.path());
        write_file(file, make_value(9000, 1) + "extra");
        CHECK_FALSE(index.get("victim").has_value());
        CHECK_FALSE(index.exists("victim"));
        CHECK(index.count() == 0);
    }

    TEST_CASE("a value file replaced by an empty one or removed is a miss")
    {
        TempDir tmp("corrupt");
        SUBCASE("emptied")
        {
            Cache cache(tmp.path(), Options { .background = false });
            cache.set("emptied", make_value(10000, 1));
            write_file(only_value_file(tmp.path()), "");
            CHECK_FALSE(cache.get("emptied").has_value());
            CHECK(cache.count() == 0);
            CHECK(cache.check().ok);
        }
        SUBCASE("removed")
        {
            Cache cache(tmp.path(), Options { .background = false });
            cache.set("removed", make_value(10000, 2));
            fs::remove(only_value_file(tmp.path()));
            CHECK_FALSE(cache.get("removed").has_value());
            CHECK(cache.count() == 0);
            CHECK(cache.check().ok);
        }
    }
    TEST_CASE("writes refuse a database file deleted or replaced while the store is open")
    {
        for (const bool replace : { false, true })
        {
            TempDir tmp("moved");
            Cache cache(tmp.path(), Options { .background = false });
            cache.set("a", "1");
            if (replace)
            {
                // Renamed over by another store's file, as an atomic replace would do.
                TempDir other("moved-other");
                {
                    Cache o(other.path(), Options { .background = false });
                    o.set("b", "2");
                }
                fs::rename(db_file(other.path()), db_file(tmp.path()));
            }
            else
                fs::remove(db_file(tmp.path()));
            CHECK_ERROR_CODE(cache.set("c", "3"), "SQLITE_READONLY");
            CHECK_ERROR_CODE(cache.del("a"), "SQLITE_READONLY");
            CHECK_ERROR_CODE(cache.begin(), "SQLITE_READONLY");
        }
    }
}
