// Expiration: sub-second precision (no whole-second rounding), an expired entry behaves as
// absent everywhere, touch(), expire(), and the background sweep.
#include "test_support.hpp"

using namespace test;
using namespace std::chrono_literals;
using namespace std::string_literals;
using sciqlop_cache::Cache;
using sciqlop_cache::Options;

TEST_SUITE("expiry")
{
    TEST_CASE("a 0.3 s TTL is alive right after set and gone after 0.5 s")
    {
        TempDir tmp("expiry");
        Cache cache(tmp.path(), Options { .background = false });
        cache.set("small", "v"s, 300ms);
        cache.set("large", make_value(20000, 1), 300ms);
        cache.set("forever", "f"s);
        CHECK(to_string(cache.get("small")) == "v");
        CHECK(to_string(cache.get("large")) == make_value(20000, 1));
        CHECK(cache.exists("small"));
        sleep_seconds(0.5);
        CHECK_FALSE(cache.get("small").has_value());
        CHECK_FALSE(cache.get("large").has_value());
        CHECK_FALSE(cache.exists("small"));
        CHECK(to_string(cache.get("forever")) == "f");
    }

    TEST_CASE("a 1.5 s TTL is still alive after 1.1 s (no rounding down to whole seconds)")
    {
        TempDir tmp("expiry");
        Cache cache(tmp.path(), Options { .background = false });
        cache.set("k", "v"s, 1500ms);
        sleep_seconds(1.1);
        CHECK(to_string(cache.get("k")) == "v");
        sleep_seconds(0.6);
        CHECK_FALSE(cache.get("k").has_value());
    }

    TEST_CASE("an expired entry behaves as absent everywhere")
    {
        TempDir tmp("expiry");
        Cache cache(tmp.path(), Options { .background = false });
        for (const char* k : { "del", "add", "exists", "pop", "touch", "incr", "keys" })
            cache.set(k, "old"s, 200ms);
        cache.set("big", make_value(10000, 3), 200ms, "tag");
        cache.set("live", "x"s);
        CHECK(cache.count() == 9);
        sleep_seconds(0.35);

        CHECK_FALSE(cache.exists("exists"));
        CHECK_FALSE(cache.del("del"));
        {
            RawDb raw(db_file(tmp.path()));
            CHECK(raw.integer("SELECT count(*) FROM cache WHERE CAST(key AS BLOB) = CAST('del' AS BLOB)") == 0);
        }
        CHECK_FALSE(cache.del("del"));
        CHECK(cache.add("add", "new"s));
        CHECK(to_string(cache.get("add")) == "new");
        CHECK_FALSE(cache.pop("pop").has_value());
        CHECK_FALSE(cache.touch("touch", 10.0));
        CHECK_FALSE(cache.exists("touch"));
        // incr of an expired entry starts again from the default.
        CHECK(cache.incr("incr", 5, 100) == 105);
        CHECK(cache.keys_with_tag("tag").empty());
        // keys() and count() list live entries only.
        CHECK(cache.keys() == std::vector<std::string> { "add", "incr", "live" });
        CHECK(cache.count() == 3);

        // expire() removes the rest and reports how many.
        // (exists/pop/touch may already have removed their expired rows lazily, so the count
        // is at most the 5 expired rows left: exists, pop, touch, keys, big.)
        const auto removed = cache.expire();
        CHECK(removed <= 5);
        RawDb raw(db_file(tmp.path()));
        CHECK(raw.integer("SELECT count(*) FROM cache") == 3);
        CHECK(cache.count() == 3);
        CHECK(cache.size() == 3 + 8 + 1);
        CHECK(cache.check().ok);
    }

    TEST_CASE("expire() returns the number of expired entries it removed")
    {
        TempDir tmp("expiry");
        Cache cache(tmp.path(), Options { .background = false });
        for (int i = 0; i < 10; ++i)
            cache.set("e" + std::to_string(i), make_value(i % 2 ? 100 : 9000, static_cast<std::uint64_t>(i)), 150ms);
        for (int i = 0; i < 5; ++i)
            cache.set("l" + std::to_string(i), "x"s, 60s);
        CHECK(cache.expire() == 0);
        sleep_seconds(0.3);
        CHECK(cache.expire() == 10);
        CHECK(cache.expire() == 0);
        CHECK(cache.count() == 5);
        CHECK(cache.size() == 5);
        RawDb raw(db_file(tmp.path()));
        CHECK(raw.integer("SELECT count(*) FROM cache") == 5);
    }

    TEST_CASE("touch changes or removes the expiry of a live entry")
    {
        TempDir tmp("expiry");
        Cache cache(tmp.path(), Options { .background = false });
        cache.set("a", "1"s, 200ms);
        cache.set("b", "2"s, 200ms);
        cache.set("c", "3"s);
        CHECK(cache.touch("a", 10s));
        CHECK(cache.touch("b", std::nullopt));
        CHECK(cache.touch("c", 0.2));
        CHECK_FALSE(cache.touch("missing", 1.0));
        CHECK_FALSE(cache.exists("missing"));
        sleep_seconds(0.35);
        CHECK(to_string(cache.get("a")) == "1");
        CHECK(to_string(cache.get("b")) == "2");
        CHECK_FALSE(cache.get("c").has_value());
    }

    TEST_CASE("set replaces the whole entry: a new set without expiry never expires")
    {
        TempDir tmp("expiry");
        Cache cache(tmp.path(), Options { .background = false });
        cache.set("k", "v1"s, 200ms);
        cache.set("k", "v2"s);
        sleep_seconds(0.3);
        CHECK(to_string(cache.get("k")) == "v2");
        cache.set("k", "v3"s, 200ms);
        sleep_seconds(0.3);
        CHECK_FALSE(cache.exists("k"));
    }

    TEST_CASE("add with expiry, and the seed-style set overloads")
    {
        TempDir tmp("expiry");
        Cache cache(tmp.path(), Options { .background = false });
        const std::string v = "v";
        CHECK(cache.add("a", v, sciqlop_cache::SetOptions { .expire = 0.2 }));
        cache.set("b", v, 200ms, "t");
        cache.set("c", v, std::chrono::duration<double>(0.2));
        CHECK(cache.exists("a"));
        CHECK(cache.exists("b"));
        CHECK(cache.exists("c"));
        sleep_seconds(0.3);
        CHECK_FALSE(cache.exists("a"));
        CHECK_FALSE(cache.exists("b"));
        CHECK_FALSE(cache.exists("c"));
    }

    TEST_CASE("the background thread removes expired rows")
    {
        TempDir tmp("expiry");
        Cache cache(tmp.path(), Options { .background = true, .background_period = 50ms });
        for (int i = 0; i < 20; ++i)
            cache.set("e" + std::to_string(i), make_value(i % 2 ? 10 : 10000, static_cast<std::uint64_t>(i)), 100ms);
        cache.set("live", "x"s);
        RawDb raw(db_file(tmp.path()));
        const auto deadline = std::chrono::steady_clock::now() + 3s;
        std::int64_t rows = 0;
        do
        {
            sleep_seconds(0.05);
            rows = raw.integer("SELECT count(*) FROM cache");
        } while (rows != 1 && std::chrono::steady_clock::now() < deadline);
        CHECK(rows == 1);
        CHECK(cache.count() == 1);
    }

    TEST_CASE("run_maintenance() sweeps expired entries")
    {
        TempDir tmp("expiry");
        Cache cache(tmp.path(), Options { .background = false });
        cache.set("e", "x"s, 100ms);
        cache.set("live", "y"s);
        sleep_seconds(0.2);
        cache.run_maintenance();
        RawDb raw(db_file(tmp.path()));
        CHECK(raw.integer("SELECT count(*) FROM cache") == 1);
    }
}
