// Tags: set with a tag, keys_with_tag, evict_tag, and set without a tag clearing the old one.
#include "test_support.hpp"

using namespace test;
using namespace std::chrono_literals;
using namespace std::string_literals;
using sciqlop_cache::Cache;
using sciqlop_cache::Options;
using sciqlop_cache::SetOptions;

TEST_SUITE("tags")
{
    TEST_CASE("keys_with_tag and evict_tag")
    {
        TempDir tmp("tags");
        Cache cache(tmp.path(), Options { .background = false });
        cache.set("b1", "x"s, "blue");
        cache.set("b2", make_value(20000, 1), "blue");
        cache.set("b0", "x"s, 60s, "blue");
        cache.set("r1", "y"s, "red");
        cache.set("none", "z"s);
        const std::string v = "w";
        CHECK(cache.add("b3", v, SetOptions { .tag = "blue" }));
        cache.set_bytes("r2", sciqlop_cache::as_byte_span(v), SetOptions { .tag = std::string_view("red") });

        CHECK(cache.keys_with_tag("blue") == std::vector<std::string> { "b0", "b1", "b2", "b3" });
        CHECK(cache.keys_with_tag("red") == std::vector<std::string> { "r1", "r2" });
        CHECK(cache.keys_with_tag("green").empty());
        CHECK(cache.keys_with_tag("").empty());

        CHECK(cache.evict_tag("blue") == 4);
        CHECK(cache.evict_tag("blue") == 0);
        CHECK(cache.evict_tag("green") == 0);
        CHECK(cache.keys() == std::vector<std::string> { "none", "r1", "r2" });
        CHECK(cache.count() == 3);
        CHECK(cache.size() == 3);
        CHECK(cache.check().ok);
    }

    TEST_CASE("set without a tag clears the previous tag; set with another tag moves it")
    {
        TempDir tmp("tags");
        Cache cache(tmp.path(), Options { .background = false });
        cache.set("k", "1"s, "t1");
        cache.set("m", "1"s, "t1");
        cache.set("k", "2"s);
        CHECK(cache.keys_with_tag("t1") == std::vector<std::string> { "m" });
        cache.set("m", "2"s, "t2");
        CHECK(cache.keys_with_tag("t1").empty());
        CHECK(cache.keys_with_tag("t2") == std::vector<std::string> { "m" });
        CHECK(cache.evict_tag("t1") == 0);
        CHECK(cache.exists("k"));
        CHECK(cache.evict_tag("t2") == 1);
        CHECK_FALSE(cache.exists("m"));
    }

    TEST_CASE("tags with NUL bytes and binary keys")
    {
        TempDir tmp("tags");
        Cache cache(tmp.path(), Options { .background = false });
        const std::string t1 = "t\0a"s, t2 = "t\0b"s;
        cache.set("k\0" "1"s, "x"s, std::string_view(t1));
        cache.set("k\0" "2"s, "x"s, std::string_view(t2));
        CHECK(cache.keys_with_tag(t1) == std::vector<std::string> { "k\0" "1"s });
        CHECK(cache.keys_with_tag(t2) == std::vector<std::string> { "k\0" "2"s });
        CHECK(cache.keys_with_tag("t").empty());
        CHECK(cache.evict_tag(t1) == 1);
        CHECK(cache.keys() == std::vector<std::string> { "k\0" "2"s });
    }

    TEST_CASE("expired entries are not listed by keys_with_tag and not counted by evict_tag")
    {
        TempDir tmp("tags");
        Cache cache(tmp.path(), Options { .background = false });
        cache.set("a", "x"s, 100ms, "t");
        cache.set("b", "x"s, "t");
        sleep_seconds(0.2);
        CHECK(cache.keys_with_tag("t") == std::vector<std::string> { "b" });
        const auto n = cache.evict_tag("t");
        CHECK((n == 1 || n == 2)); // whether the expired row counts is not specified; it must go
        RawDb raw(db_file(tmp.path()));
        CHECK(raw.integer("SELECT count(*) FROM cache") == 0);
    }

    TEST_CASE("evict_tag removes file-backed values through the trash")
    {
        TempDir tmp("tags");
        Cache cache(tmp.path(), Options { .background = false, .trash_grace = std::chrono::duration<double>(0) });
        for (int i = 0; i < 5; ++i)
            cache.set("f" + std::to_string(i), make_value(10000 + static_cast<std::size_t>(i), 7), "files");
        CHECK(value_files(tmp.path()).size() == 5);
        CHECK(cache.evict_tag("files") == 5);
        cache.run_maintenance();
        CHECK(value_files(tmp.path()).empty());
        const auto r = cache.check();
        CHECK(r.ok);
        CHECK(r.orphaned_files == 0);
    }
}
