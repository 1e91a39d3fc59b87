// set_many: the batched write of the binding's asynchronous writer. It must end exactly like
// the same set_bytes() calls in order (duplicates: last one wins; inline and file-backed
// values; expiry and tags), whatever the batch size around the rows-per-statement boundary,
// and be all or none (validation before anything is written, a rolled-back transaction
// leaves no row and no value file).
#include "test_support.hpp"

#include <map>

using namespace test;
using sciqlop_cache::Cache;
using sciqlop_cache::Entry;
using sciqlop_cache::FanoutCache;
using sciqlop_cache::FanoutIndex;
using sciqlop_cache::Index;
using sciqlop_cache::Options;
using sciqlop_cache::SetOptions;

namespace
{
std::span<const std::byte> bytes_of(const std::string& s)
{
    return { reinterpret_cast<const std::byte*>(s.data()), s.size() };
}

/// `n` entries over n/2 distinct keys in a scrambled order, a few of them file-backed.
struct Batch
{
    std::vector<std::string> keys, values;
    std::vector<Entry> entries;
    std::map<std::string, std::string> expected; // the last value of each key

    explicit Batch(std::size_t n, std::uint64_t seed)
    {
        keys.reserve(n);
        values.reserve(n);
        for (std::size_t i = 0; i < n; ++i)
        {
            const auto k = (i * 7919 + seed) % (n / 2 + 1);
            keys.push_back("k" + std::to_string(k));
            values.push_back(make_value(i % 37 == 0 ? 9000 + i : 10 + i % 300, seed * 1000003 + i));
        }
        for (std::size_t i = 0; i < n; ++i)
        {
            entries.push_back({ keys[i], bytes_of(values[i]) });
            expected[keys[i]] = values[i];
        }
    }
};

template <class S>
void check_contents(S& store, const std::map<std::string, std::string>& expected)
{
    CHECK(store.count() == expected.size());
    std::uint64_t bytes = 0;
    for (const auto& [k, v] : expected)
    {
        CAPTURE(k);
        CHECK(to_string(store.get(k)) == v);
        bytes += v.size();
    }
    CHECK(store.size() == bytes);
    CHECK(store.check().ok);
}

template <class S>
void check_like_set_calls(const fs::path& dir)
{
    // Around the statement boundary (64 rows) and well past it.
    for (std::size_t n : { 1, 2, 63, 64, 65, 129, 1000 })
    {
        CAPTURE(n);
        const TempDir t;
        S store(t.path(), Options { .background = false });
        Batch batch(n, n);
        store.set_many(batch.entries);
        check_contents(store, batch.expected);

        // A second batch overwrites, inline over file-backed and back.
        Batch again(n, n + 1);
        store.set_many(again.entries);
        auto expected = batch.expected;
        for (const auto& [k, v] : again.expected)
            expected[k] = v;
        check_contents(store, expected);
    }
    (void)dir;
}
}

TEST_SUITE("set_many")
{
    TEST_CASE("set_many ends like the set_bytes calls in order")
    {
        const TempDir t;
        check_like_set_calls<Cache>(t.path());
        check_like_set_calls<Index>(t.path());
    }

    TEST_CASE("set_many applies each entry's expiry and tag")
    {
        const TempDir t;
        Cache cache(t.path(), Options { .background = false });
        const std::string v = "value";
        std::vector<Entry> entries;
        std::vector<std::string> keys;
        for (int i = 0; i < 100; ++i)
            keys.push_back("e" + std::to_string(i));
        for (int i = 0; i < 100; ++i)
            entries.push_back({ keys[i], bytes_of(v),
                                SetOptions { .expire = i % 2 ? std::optional<double>(0.2) : std::nullopt,
                                             .tag = i % 3 ? std::optional<std::string_view>("t") : std::nullopt } });
        cache.set_many(entries);
        CHECK(cache.keys_with_tag("t").size() == 66);
        sleep_seconds(0.4);
        CHECK(cache.count() == 50);
        CHECK(cache.exists("e0"));
        CHECK_FALSE(cache.exists("e1"));
        CHECK(cache.keys_with_tag("t").size() == 33);
    }

    TEST_CASE("set_many is all or none")
    {
        const TempDir t;
        Cache cache(t.path(), Options { .background = false });
        cache.set("kept", std::string("before"));
        Batch batch(300, 5);

        // An invalid entry anywhere: nothing is written.
        auto bad = batch.entries;
        const std::string v = "x";
        bad.push_back({ "bad", bytes_of(v), SetOptions { .expire = -1.0 } });
        CHECK_ERROR_CODE(cache.set_many(bad), "INVALID_ARGUMENT");
        CHECK(cache.count() == 1);

        // Inside a transaction that rolls back: no row, no value file left behind.
        cache.begin();
        cache.set_many(batch.entries);
        CHECK(cache.count() == 1 + batch.expected.size());
        cache.rollback();
        CHECK(cache.count() == 1);
        CHECK(value_files(t.path()).empty());
        CHECK(to_string(cache.get("kept")) == "before");

        // Inside a transaction, a failing set_many leaves the transaction to roll back.
        cache.begin();
        cache.set("in-tx", std::string("x"));
        CHECK_ERROR_CODE(cache.set_many(bad), "INVALID_ARGUMENT");
        CHECK(cache.in_transaction());
        cache.rollback();
        CHECK_FALSE(cache.exists("in-tx"));

        // Inside a transaction that commits: all of it.
        cache.begin();
        cache.set_many(batch.entries);
        cache.commit();
        auto expected = batch.expected;
        expected["kept"] = "before";
        check_contents(cache, expected);

        cache.set_many({}); // nothing to do
        cache.close();
        CHECK_ERROR_CODE(cache.set_many(batch.entries), "CLOSED");
    }

    TEST_CASE("set_many of a fanout writes each entry to its shard")
    {
        const TempDir t;
        Batch batch(500, 9);
        {
            FanoutCache fc(t / "fc", 4, Options { .background = false });
            fc.set_many(batch.entries);
            check_contents(fc, batch.expected);
            for (const auto& [k, v] : batch.expected)
                CHECK(to_string(fc.shard(fc.shard_index(k)).get(k)) == v);
        }
        FanoutIndex fi(t / "fi", 3, Options { .background = false });
        fi.set_many(batch.entries);
        check_contents(fi, batch.expected);
    }
}
