// FanoutCache / FanoutIndex: the documented routing hash (FNV-1a 64 of the key bytes modulo
// the shard count), shard folders "00".."07", fanout.json, shard count checks on reopen, and
// every operation summed or merged over the shards.
#include "test_support.hpp"

#include <algorithm>

using namespace test;
using namespace std::chrono_literals;
using namespace std::string_literals;
using sciqlop_cache::Cache;
using sciqlop_cache::FanoutCache;
using sciqlop_cache::FanoutIndex;
using sciqlop_cache::Index;
using sciqlop_cache::Options;
using sciqlop_cache::fnv1a64;

namespace
{
std::string without_whitespace(std::string s)
{
    s.erase(std::remove_if(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }),
            s.end());
    return s;
}
}

TEST_SUITE("fanout")
{
    TEST_CASE("fnv1a64 known vectors")
    {
        CHECK(fnv1a64("") == 0xcbf29ce484222325ULL);
        CHECK(fnv1a64("a") == 0xaf63dc4c8601ec8cULL);
        CHECK(fnv1a64("foobar") == 0x85944171f73967e8ULL);
        // Bytes, not characters: a NUL inside counts, and bytes >= 0x80 are unsigned.
        CHECK(fnv1a64("a\0"s) != fnv1a64("a"));
        CHECK(fnv1a64("\xff"s) == ((0xcbf29ce484222325ULL ^ 0xffULL) * 0x100000001b3ULL));
        CHECK(fnv1a64("\xc3\xa9") == fnv1a64(std::string_view("\xc3\xa9", 2)));
    }

    TEST_CASE("shard folder names are the index zero-padded to two digits")
    {
        CHECK(sciqlop_cache::detail::shard_folder_name(0) == "00");
        CHECK(sciqlop_cache::detail::shard_folder_name(5) == "05");
        CHECK(sciqlop_cache::detail::shard_folder_name(10) == "10");
        CHECK(sciqlop_cache::detail::shard_folder_name(99) == "99");
        CHECK(sciqlop_cache::detail::shard_folder_name(100) == "100");
    }

    TEST_CASE("layout: default 8 shards, fanout.json, and keys stored in shard fnv1a64(key) % N")
    {
        TempDir tmp("fanout");
        std::vector<std::string> keys;
        for (int i = 0; i < 64; ++i)
            keys.push_back("key-" + std::to_string(i));
        keys.push_back("");
        keys.push_back("nul\0inside"s);
        keys.push_back("\xc3\xa9t\xc3\xa9");
        {
            FanoutCache fc(tmp.path());
            CHECK(fc.shard_count() == 8);
            for (const auto& k : keys)
            {
                CHECK(fc.shard_index(k) == fnv1a64(k) % 8);
                fc.set(k, "v:" + k);
            }
        }
        for (int i = 0; i < 8; ++i)
            CHECK(fs::is_directory(tmp / ("0" + std::to_string(i))));
        CHECK_FALSE(fs::exists(tmp / "08"));
        const auto manifest = without_whitespace(read_file(tmp / "fanout.json"));
        CHECK(manifest == R"({"shardCount":8,"hash":"fnv1a64"})");

        // Each key is on disk in the shard the documented hash names, and only there.
        for (std::size_t s = 0; s < 8; ++s)
        {
            Cache shard(tmp / ("0" + std::to_string(s)), Options { .background = false });
            for (const auto& k : keys)
            {
                const bool here = fnv1a64(k) % 8 == s;
                CHECK_MESSAGE(shard.exists(k) == here, "key " << k << " in shard " << s);
                if (here)
                    CHECK(to_string(shard.get(k)) == "v:" + k);
            }
        }
    }

    TEST_CASE("reopening: another shard count is SHARD_COUNT_MISMATCH, std::nullopt uses the recorded one")
    {
        TempDir tmp("fanout");
        {
            FanoutCache fc(tmp.path(), 3);
            CHECK(fc.shard_count() == 3);
            fc.set("k", "v"s);
        }
        CHECK(without_whitespace(read_file(tmp / "fanout.json")) == R"({"shardCount":3,"hash":"fnv1a64"})");
        CHECK(fs::is_directory(tmp / "02"));
        CHECK_FALSE(fs::exists(tmp / "03"));
        CHECK_ERROR_CODE(FanoutCache(tmp.path(), 8), "SHARD_COUNT_MISMATCH");
        CHECK_ERROR_CODE(FanoutCache(tmp.path(), 4), "SHARD_COUNT_MISMATCH");
        CHECK_ERROR_CODE(FanoutIndex(tmp.path(), 2), "SHARD_COUNT_MISMATCH");
        FanoutCache again(tmp.path(), std::nullopt);
        CHECK(again.shard_count() == 3);
        CHECK(to_string(again.get("k")) == "v");
        FanoutCache same(tmp.path(), 3);
        CHECK(same.shard_count() == 3);
        // The manifest was not rewritten by the failed opens.
        CHECK(without_whitespace(read_file(tmp / "fanout.json")) == R"({"shardCount":3,"hash":"fnv1a64"})");
    }

    TEST_CASE("FanoutCache: every operation")
    {
        TempDir tmp("fanout");
        FanoutCache fc(tmp.path(), 4, Options { .max_size = 400'000, .background = false });
        CHECK(fc.max_size() == 400'000);
        CHECK(fc.shard(0).max_size() == 100'000);

        for (int i = 0; i < 40; ++i)
            fc.set("k" + std::to_string(i), make_value(i % 4 == 0 ? 9000 : 100, static_cast<std::uint64_t>(i)));
        CHECK(fc.count() == 40);
        CHECK(fc.size() == 10 * 9000 + 30 * 100);
        auto keys = fc.keys();
        CHECK(keys.size() == 40);
        CHECK(std::is_sorted(keys.begin(), keys.end()));
        CHECK(to_string(fc.get("k4")) == make_value(9000, 4));
        CHECK(fc.exists("k5"));
        CHECK(fc.del("k5"));
        CHECK_FALSE(fc.del("k5"));
        CHECK(to_string(fc.pop("k6")) == make_value(100, 6));
        CHECK_FALSE(fc.exists("k6"));
        CHECK(fc.add("new", "n"s));
        CHECK_FALSE(fc.add("new", "m"s));
        CHECK(fc.count() == 39);

        fc.set("t1", "x"s, "tag");
        fc.set("t2", "x"s, "tag");
        fc.set("t3", "x"s, 200ms, "tag");
        CHECK(fc.keys_with_tag("tag") == std::vector<std::string> { "t1", "t2", "t3" });
        CHECK(fc.touch("t1", 200ms));
        sleep_seconds(0.3);
        CHECK(fc.keys_with_tag("tag") == std::vector<std::string> { "t2" });
        CHECK(fc.expire() == 2);
        CHECK(fc.evict_tag("tag") == 1);

        CHECK(fc.incr("n", 5) == 5);
        CHECK(fc.decr("n", 2) == 3);
        CHECK(to_string(fc.get("n")) == le64(3));

        fc.reset_stats();
        (void)fc.get("k7");
        (void)fc.get("k8");
        (void)fc.get("missing");
        CHECK(fc.stats().hits == 2);
        CHECK(fc.stats().misses == 1);

        std::string buf;
        CHECK(fc.get_into("k9",
                          [&](std::size_t n)
                          {
                              buf.resize(n);
                              return reinterpret_cast<std::byte*>(buf.data());
                          }));
        CHECK(buf == make_value(100, 9));

        // A transaction scoped to a key's shard.
        CHECK_THROWS_AS(fc.transact("k10",
                                    [&]
                                    {
                                        fc.shard_for("k10").del("k10");
                                        throw std::runtime_error("rollback");
                                    }),
                        std::runtime_error);
        CHECK(fc.exists("k10"));

        fc.meta_set("serializer", "bytes");
        CHECK(fc.meta_get("serializer") == std::optional<std::string>("bytes"));
        for (std::size_t s = 0; s < fc.shard_count(); ++s)
            CHECK(fc.shard(s).meta_get("serializer") == std::optional<std::string>("bytes"));

        CHECK(fc.volume() >= 10 * 9000);
        CHECK(fc.check().ok);

        // Over the total limit: evict trims each shard.
        for (int i = 0; i < 100; ++i)
            fc.set("big" + std::to_string(i), make_value(10000, static_cast<std::uint64_t>(i)));
        CHECK(fc.evict() > 0);
        CHECK(fc.size() <= 360'000);
        fc.set_max_size(800'000);
        CHECK(fc.max_size() == 800'000);

        fc.clear();
        CHECK(fc.count() == 0);
        CHECK(fc.keys().empty());
        fc.close();
        CHECK(fc.closed());
        CHECK_ERROR_CODE(fc.get("k1"), "CLOSED");
    }

    TEST_CASE("FanoutIndex: every operation")
    {
        TempDir tmp("fanout");
        {
            FanoutIndex fi(tmp.path(), 8);
            for (int i = 0; i < 30; ++i)
                fi.set("k" + std::to_string(i), make_value(i % 3 == 0 ? 10000 : 10, static_cast<std::uint64_t>(i)));
            CHECK(fi.count() == 30);
            CHECK(fi.del("k1"));
            CHECK(fi.incr("n", 2) == 2);
            CHECK(fi.add("a", "1"s));
            CHECK_FALSE(fi.add("a", "2"s));
            CHECK(to_string(fi.pop("a")) == "1");
            CHECK(fi.check().ok);
        }
        FanoutIndex fi(tmp.path());
        CHECK(fi.shard_count() == 8);
        CHECK(fi.count() == 30);
        CHECK(to_string(fi.get("k3")) == make_value(10000, 3));
        const auto keys = fi.keys();
        CHECK(std::is_sorted(keys.begin(), keys.end()));
        for (std::size_t s = 0; s < 8; ++s)
        {
            Index shard(tmp / sciqlop_cache::detail::shard_folder_name(s));
            for (const auto& k : shard.keys())
                CHECK(fnv1a64(k) % 8 == s);
        }
    }

    TEST_CASE("a shard count of 0 is rejected")
    {
        TempDir tmp("fanout");
        CHECK_ERROR_CODE(FanoutIndex(tmp.path(), std::size_t { 0 }), "INVALID_ARGUMENT");
        CHECK_FALSE(fs::exists(tmp / "fanout.json"));
    }

    TEST_CASE("11 shards: folders 00..10")
    {
        TempDir tmp("fanout");
        FanoutIndex fi(tmp.path(), 11);
        CHECK(fs::is_directory(tmp / "10"));
        CHECK(fs::is_directory(tmp / "00"));
        fi.set("x", "y"s);
        Index shard(tmp / sciqlop_cache::detail::shard_folder_name(fnv1a64("x") % 11));
        CHECK(shard.exists("x"));
    }
}
