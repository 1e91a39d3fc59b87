// incr/decr: 8-byte little-endian int64 values, defaults, NOT_A_NUMBER, and a live entry
// keeping its tag and expiry.
#include "test_support.hpp"

#include <limits>

using namespace test;
using namespace std::chrono_literals;
using namespace std::string_literals;
using sciqlop_cache::Cache;
using sciqlop_cache::Index;
using sciqlop_cache::Options;

namespace
{
template <class S>
void check_counter(S& store)
{
    CHECK(store.incr("n") == 1);
    CHECK(store.incr("n") == 2);
    CHECK(store.incr("n", 40) == 42);
    CHECK(to_string(store.get("n")) == le64(42));
    CHECK(store.decr("n") == 41);
    CHECK(store.decr("n", 50) == -9);
    const auto raw = store.get("n");
    REQUIRE(raw);
    CHECK(raw->size() == 8);
    CHECK(raw->view() == "\xf7\xff\xff\xff\xff\xff\xff\xff"s);
    CHECK(from_le64(raw->view()) == -9);

    // The default applies to a missing key only.
    CHECK(store.incr("d", 5, 100) == 105);
    CHECK(store.incr("d", 5, 100) == 110);
    CHECK(store.decr("e", 1, 0) == -1);
    CHECK(store.incr("zero", 0, 7) == 7);
    CHECK(to_string(store.get("zero")) == le64(7));

    // A value written by set() as 8 LE bytes is a counter too.
    store.set("preset", le64(1000));
    CHECK(store.incr("preset", 1) == 1001);

    // Large values round-trip through all 8 bytes.
    const std::int64_t big = std::numeric_limits<std::int64_t>::max() - 1;
    store.set("big", le64(big));
    CHECK(store.incr("big") == std::numeric_limits<std::int64_t>::max());
    CHECK(to_string(store.get("big")) == "\xff\xff\xff\xff\xff\xff\xff\x7f"s);

    // Any value that is not 8 bytes is not a number; it is left as it was.
    store.set("text", "hello"s);
    CHECK_ERROR_CODE(store.incr("text"), "NOT_A_NUMBER");
    CHECK_ERROR_CODE(store.decr("text"), "NOT_A_NUMBER");
    CHECK(to_string(store.get("text")) == "hello");
    store.set("empty", ""s);
    CHECK_ERROR_CODE(store.incr("empty"), "NOT_A_NUMBER");
    store.set("large", make_value(10000, 1));
    CHECK_ERROR_CODE(store.incr("large"), "NOT_A_NUMBER");
    CHECK(to_string(store.get("large")) == make_value(10000, 1));

    // Binary keys.
    CHECK(store.incr("c\0a"s) == 1);
    CHECK(store.incr("c\0b"s, 2) == 2);
    CHECK(store.incr("c\0a"s) == 2);

    // incr inside a transaction that rolls back leaves no trace.
    try
    {
        store.transact(
            [&]
            {
                store.incr("n", 1000);
                throw std::runtime_error("rollback");
            });
    }
    catch (const std::runtime_error&)
    {
    }
    CHECK(store.incr("n", 0) == -9);
    CHECK(store.check().ok);
}
}

TEST_SUITE("incr")
{
    TEST_CASE("Cache: counters are 8-byte little-endian int64")
    {
        TempDir tmp("incr");
        Cache cache(tmp.path(), Options { .background = false });
        check_counter(cache);
    }

    TEST_CASE("Index: counters are 8-byte little-endian int64")
    {
        TempDir tmp("incr");
        Index index(tmp.path());
        check_counter(index);
    }

    TEST_CASE("incr on a live entry keeps its tag and its expiry")
    {
        TempDir tmp("incr");
        Cache cache(tmp.path(), Options { .background = false });
        cache.set("n", le64(10), 600ms, "counters");
        CHECK(cache.incr("n", 5) == 15);
        CHECK(cache.keys_with_tag("counters") == std::vector<std::string> { "n" });
        sleep_seconds(0.2);
        CHECK(cache.decr("n", 1) == 14);
        CHECK(cache.keys_with_tag("counters") == std::vector<std::string> { "n" });
        sleep_seconds(0.6);
        // The original expiry (0.6 s after set) still applies: incr did not extend or drop it.
        CHECK_FALSE(cache.exists("n"));
        CHECK(cache.incr("n", 1, 0) == 1);
        // The new counter has neither tag nor expiry.
        CHECK(cache.keys_with_tag("counters").empty());
        sleep_seconds(0.1);
        CHECK(cache.exists("n"));
    }
}
