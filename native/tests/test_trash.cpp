// Displaced value files (overwrite, delete, eviction, clear) go through the trash table and
// stay readable for the grace period, then are unlinked; close() drains what is past it.
#include "test_support.hpp"

#include <cmath>

using namespace test;
using namespace std::chrono_literals;
using namespace std::string_literals;
using sciqlop_cache::Cache;
using sciqlop_cache::Index;
using sciqlop_cache::Options;

TEST_SUITE("trash")
{
    TEST_CASE("an overwritten value file stays for the grace period, then is unlinked")
    {
        TempDir tmp("trash");
        Cache cache(tmp.path(), Options { .background = false, .trash_grace = std::chrono::duration<double>(0.4) });
        cache.set("k", make_value(10000, 1));
        const auto first = value_files(tmp.path());
        REQUIRE(first.size() == 1);
        cache.set("k", make_value(10000, 2));
        CHECK(to_string(cache.get("k")) == make_value(10000, 2));
        RawDb raw(db_file(tmp.path()));
        CHECK(raw.integer("SELECT count(*) FROM trash") == 1);
        CHECK(raw.text("SELECT typeof(ts) FROM trash") == std::optional<std::string>("real"));
        // ts is Unix seconds of the displacement.
        const auto ts = raw.text("SELECT ts - unixepoch('subsec') FROM trash");
        REQUIRE(ts);
        CHECK(std::abs(std::stod(*ts)) < 5.0);
        cache.run_maintenance();
        CHECK(fs::exists(first.front())); // within the grace period
        CHECK(read_file(first.front()) == make_value(10000, 1));
        sleep_seconds(0.6);
        cache.run_maintenance();
        CHECK_FALSE(fs::exists(first.front()));
        CHECK(raw.integer("SELECT count(*) FROM trash") == 0);
        CHECK(value_files(tmp.path()).size() == 1);
    }

    TEST_CASE("delete, pop, clear and a large-to-small overwrite all go through the trash")
    {
        TempDir tmp("trash");
        Index index(tmp.path(), Options { .background = false, .trash_grace = std::chrono::duration<double>(0) });
        index.set("del", make_value(10000, 1));
        index.set("pop", make_value(10000, 2));
        index.set("shrink", make_value(10000, 3));
        index.set("c1", make_value(10000, 4));
        index.set("c2", make_value(10000, 5));
        CHECK(value_files(tmp.path()).size() == 5);
        CHECK(index.del("del"));
        CHECK(index.pop("pop").has_value());
        index.set("shrink", "small"s);
        RawDb raw(db_file(tmp.path()));
        CHECK(raw.integer("SELECT count(*) FROM trash") == 3);
        index.clear();
        CHECK(raw.integer("SELECT count(*) FROM trash") == 5);
        index.run_maintenance();
        CHECK(value_files(tmp.path()).empty());
        CHECK(raw.integer("SELECT count(*) FROM trash") == 0);
        CHECK_FALSE(index.get("shrink").has_value());
    }

    TEST_CASE("close() unlinks trash past its grace period and leaves the rest to the next opener")
    {
        TempDir tmp("trash");
        {
            Cache cache(tmp.path(), Options { .background = false, .trash_grace = std::chrono::duration<double>(0) });
            cache.set("a", make_value(10000, 1));
            cache.del("a");
            cache.close();
        }
        CHECK(value_files(tmp.path()).empty());
        {
            RawDb raw(db_file(tmp.path()));
            CHECK(raw.integer("SELECT count(*) FROM trash") == 0);
        }
        {
            Cache cache(tmp.path(), Options { .background = false, .trash_grace = std::chrono::duration<double>(3600) });
            cache.set("b", make_value(10000, 2));
            cache.del("b");
        }
        CHECK(value_files(tmp.path()).size() == 1);
        {
            RawDb raw(db_file(tmp.path()));
            CHECK(raw.integer("SELECT count(*) FROM trash") == 1);
        }
        Cache cache(tmp.path(), Options { .background = false, .trash_grace = std::chrono::duration<double>(0) });
        cache.run_maintenance();
        CHECK(value_files(tmp.path()).empty());
    }
}
