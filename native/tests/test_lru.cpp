// LRU size limit: evict() trims to <= 90 % of max_size, least recently used first, reads
// count as uses, and a read with a size limit does not write to the database.
#include "test_support.hpp"

#include <algorithm>
#include <atomic>
#include <random>
#include <set>

using namespace test;
using namespace std::chrono_literals;
using namespace std::string_literals;
using sciqlop_cache::Cache;
using sciqlop_cache::Options;

namespace
{
std::string key(int i)
{
    char buf[16];
    std::snprintf(buf, sizeof buf, "k%03d", i);
    return buf;
}
}

TEST_SUITE("lru")
{
    TEST_CASE("evict() trims to 90 % of max_size, least recently used first")
    {
        TempDir tmp("lru");
        Cache cache(tmp.path(), Options { .max_size = 100'000, .background = false });
        CHECK(cache.max_size() == 100'000);
        // 100 entries of 1000 bytes: exactly at the limit, nothing to evict.
        for (int i = 0; i < 100; ++i)
            cache.set(key(i), make_value(1000, static_cast<std::uint64_t>(i)));
        CHECK(cache.evict() == 0);
        CHECK(cache.count() == 100);
        // Read k000..k009: they become the most recently used of the first hundred.
        for (int i = 0; i < 10; ++i)
            CHECK(cache.get(key(i)).has_value());
        // 50 more entries: 150,000 bytes, over the limit.
        for (int i = 100; i < 150; ++i)
            cache.set(key(i), make_value(1000, static_cast<std::uint64_t>(i)));
        CHECK(cache.size() == 150'000);

        const auto evicted = cache.evict();
        CHECK(cache.size() <= 90'000);
        CHECK(evicted == 150 - cache.count());
        CHECK(evicted >= 60);

        // Least recently used first: k010..k099 (written, never read), then k000..k009 (read),
        // then k100..k149 (written after the reads). The survivors are a suffix of that order.
        std::vector<std::string> lru_order;
        for (int i = 10; i < 100; ++i)
            lru_order.push_back(key(i));
        for (int i = 0; i < 10; ++i)
            lru_order.push_back(key(i));
        for (int i = 100; i < 150; ++i)
            lru_order.push_back(key(i));
        const auto live = cache.keys();
        const std::set<std::string> survivors(live.begin(), live.end());
        bool seen_survivor = false;
        for (const auto& k : lru_order)
        {
            const bool alive = survivors.count(k) != 0;
            CHECK_MESSAGE(!(seen_survivor && !alive), k << " was evicted although a less recently used entry survived");
            seen_survivor = seen_survivor || alive;
        }
        // The entries read recently all survive, and so do the newest.
        for (int i = 0; i < 10; ++i)
            CHECK_MESSAGE(survivors.count(key(i)), key(i) << " was read recently but evicted");
        for (int i = 100; i < 150; ++i)
            CHECK_MESSAGE(survivors.count(key(i)), key(i) << " was written last but evicted");
        // Survivors are intact.
        for (const auto& k : live)
            CHECK(to_string(cache.get(k)) == make_value(1000, static_cast<std::uint64_t>(std::stoi(k.substr(1)))));
        CHECK(cache.check().ok);
        // Under the limit now: a second pass does nothing.
        CHECK(cache.evict() == 0);
    }

    TEST_CASE("get_into counts as a use; file-backed values are evicted with their files")
    {
        TempDir tmp("lru");
        Cache cache(tmp.path(),
                    Options { .max_size = 200'000, .background = false, .trash_grace = std::chrono::duration<double>(0) });
        // 10 file-backed values of 20,000 bytes = 200,000 (at the limit).
        for (int i = 0; i < 10; ++i)
            cache.set(key(i), make_value(20'000, static_cast<std::uint64_t>(i)));
        std::string sink_buf;
        auto sink = [&](std::size_t n)
        {
            sink_buf.resize(n);
            return reinterpret_cast<std::byte*>(sink_buf.data());
        };
        CHECK(cache.get_into(key(0), sink));
        CHECK(cache.get_into(key(1), sink));
        cache.set(key(10), make_value(20'000, 10)); // 220,000: over
        const auto evicted = cache.evict();
        CHECK(cache.size() <= 180'000);
        CHECK(evicted >= 2);
        CHECK(cache.exists(key(0)));
        CHECK(cache.exists(key(1)));
        CHECK(cache.exists(key(10)));
        CHECK_FALSE(cache.exists(key(2)));
        CHECK_FALSE(cache.exists(key(3)));
        cache.run_maintenance(); // unlink the displaced files (grace 0)
        CHECK(value_files(tmp.path()).size() == cache.count());
        CHECK(cache.check().ok);
    }

    TEST_CASE("max_size is persisted and kept on reopen; set_max_size changes it")
    {
        TempDir tmp("lru");
        {
            Cache cache(tmp.path(), Options { .max_size = 12'345, .background = false });
            CHECK(cache.max_size() == 12'345);
        }
        {
            Cache cache(tmp.path(), Options { .background = false });
            CHECK(cache.max_size() == 12'345);
            cache.set_max_size(5'000);
            CHECK(cache.max_size() == 5'000);
        }
        {
            Cache cache(tmp.path(), Options { .background = false });
            CHECK(cache.max_size() == 5'000);
            CHECK(cache.meta_get("max_size").has_value());
        }
        {
            Cache cache(tmp.path(), Options { .max_size = 0, .background = false });
            CHECK(cache.max_size() == 0);
            for (int i = 0; i < 20; ++i)
                cache.set(key(i), make_value(1000, 1));
            CHECK(cache.evict() == 0); // unlimited
            CHECK(cache.count() == 20);
        }
        {
            Cache seed_style(tmp.path(), std::uint64_t { 10'000 });
            CHECK(seed_style.max_size() == 10'000);
        }
    }

    TEST_CASE("with a size limit, get() performs no write to the database")
    {
        TempDir tmp("lru");
        Cache cache(tmp.path(), Options { .max_size = 1'000'000, .background = false });
        for (int i = 0; i < 50; ++i)
            cache.set(key(i), make_value(100, static_cast<std::uint64_t>(i)));
        RawDb raw(db_file(tmp.path()));
        const auto before = raw.integer("PRAGMA data_version");
        for (int round = 0; round < 20; ++round)
            for (int i = 0; i < 50; ++i)
                CHECK(cache.get(key(i)).has_value());
        CHECK(raw.integer("PRAGMA data_version") == before);
        // Control: a write by the store is seen by this probe.
        cache.set(key(0), make_value(100, 0));
        CHECK(raw.integer("PRAGMA data_version") != before);
    }

    TEST_CASE("an eviction pass of 20 % of 100,000 entries never blocks a get for 50 ms")
    {
        TempDir tmp("lru");
        constexpr int entries = 100'000;
        constexpr std::size_t value_size = 100;
        // The background thread is on, as in normal use (it takes the WAL checkpoints off the
        // writers), but its period is too long for it to evict by itself during the test.
        Cache cache(tmp.path(), Options { .max_size = entries * value_size * 88 / 100,
                                          .background = true,
                                          .background_period = std::chrono::hours(1) });
        const std::string value = make_value(value_size, 1);
        cache.transact(
            [&]
            {
                for (int i = 0; i < entries; ++i)
                    cache.set("e" + std::to_string(i), value);
            });
        // Worst get latency while `other` runs in a second thread.
        std::mt19937 rng(7);
        auto worst_get_while = [&](auto&& other, std::uint64_t& gets)
        {
            std::atomic<bool> done { false };
            std::thread t(
                [&]
                {
                    other();
                    done = true;
                });
            std::chrono::steady_clock::duration worst {};
            while (!done)
            {
                const auto t0 = std::chrono::steady_clock::now();
                (void)cache.get("e" + std::to_string(rng() % entries));
                worst = std::max(worst, std::chrono::steady_clock::now() - t0);
                ++gets;
            }
            t.join();
            return worst;
        };
        // Calibration: the same reads next to a thread that keeps a core busy for a while
        // without touching the store, so that scheduler noise on a loaded machine is not
        // blamed on the engine.
        std::uint64_t baseline_gets = 0, gets = 0, evicted = 0;
        const auto evict_started = std::chrono::steady_clock::now();
        const auto worst = worst_get_while([&] { evicted = cache.evict(); }, gets);
        const auto evict_time = std::chrono::steady_clock::now() - evict_started;
        const auto baseline = worst_get_while(
            [&]
            {
                volatile std::uint64_t x = 0;
                for (const auto end = std::chrono::steady_clock::now() + evict_time; std::chrono::steady_clock::now() < end;)
                    x = x + 1;
            },
            baseline_gets);
        auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
        MESSAGE("evicted " << evicted << " entries in " << ms(evict_time) << " ms; " << gets
                           << " gets meanwhile, the slowest took " << ms(worst) << " ms (" << ms(baseline)
                           << " ms without eviction)");
        CHECK(evicted >= entries / 5);
        CHECK(cache.size() <= entries * value_size * 88 / 100 * 9 / 10);
        CHECK(gets > 1);
        CHECK(worst < 50ms + baseline);
    }

    TEST_CASE("the background thread evicts down to 90 % of max_size")
    {
        TempDir tmp("lru");
        Cache cache(tmp.path(), Options { .max_size = 50'000, .background = true, .background_period = 50ms });
        for (int i = 0; i < 100; ++i)
            cache.set(key(i), make_value(1000, static_cast<std::uint64_t>(i)));
        const auto deadline = std::chrono::steady_clock::now() + 3s;
        while (cache.size() > 45'000 && std::chrono::steady_clock::now() < deadline)
            sleep_seconds(0.05);
        CHECK(cache.size() <= 45'000);
        CHECK(cache.exists(key(99)));
    }
}
