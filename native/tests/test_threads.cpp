// Eight threads sharing one Cache instance: mixed operations with exact incr totals, one
// add winner, consistent transactions, and readers that only ever see whole values.
#include "test_support.hpp"

#include <atomic>
#include <random>

using namespace test;
using namespace std::chrono_literals;
using namespace std::string_literals;
using sciqlop_cache::Cache;
using sciqlop_cache::FanoutCache;
using sciqlop_cache::Options;

namespace
{
constexpr int thread_count = 8;
constexpr int incr_per_thread = 500;

/// Shared keys hold versioned values; a reader checks that what it got is one of them, whole.
bool is_whole_shared_value(std::uint64_t k, const sciqlop_cache::Buffer& b)
{
    // Value layout: 8-byte LE version, then versioned_value(k, version, size - 8).
    if (b.size() < 8)
        return false;
    const auto version = static_cast<std::uint64_t>(from_le64(b.view().substr(0, 8)));
    return b.view().substr(8) == versioned_value(k, version, b.size() - 8);
}

std::string shared_value(std::uint64_t k, std::uint64_t version, std::size_t size)
{
    return le64(static_cast<std::int64_t>(version)) + versioned_value(k, version, size);
}

template <class S>
void hammer(S& cache, int t, std::atomic<int>& add_wins, std::atomic<int>& failures)
{
    std::mt19937_64 rng(static_cast<std::uint64_t>(t) * 7919 + 1);
    for (int i = 0; i < incr_per_thread; ++i)
    {
        cache.incr("counter");
        const std::string own = "own-" + std::to_string(t) + "-" + std::to_string(i % 20);
        const std::size_t size = (rng() % 4 == 0) ? 8193 + rng() % 40000 : rng() % 8193;
        const auto seed = static_cast<std::uint64_t>(t * 100000 + i);
        switch (rng() % 8)
        {
        case 0:
        case 1:
        {
            cache.set(own, make_value(size, seed));
            const auto got = cache.get(own);
            if (!got || got->view() != make_value(size, seed))
                ++failures;
            break;
        }
        case 2:
            cache.del(own);
            if (cache.exists(own))
                ++failures;
            break;
        case 3:
        {
            const auto k = rng() % 5;
            cache.set("shared-" + std::to_string(k), shared_value(k, seed, size));
            break;
        }
        case 4:
        {
            const auto k = rng() % 5;
            const auto got = cache.get("shared-" + std::to_string(k));
            if (got && !is_whole_shared_value(k, *got))
                ++failures;
            break;
        }
        case 5:
            cache.transact(
                [&]
                {
                    cache.incr("pair-a");
                    cache.incr("pair-b");
                });
            break;
        case 6:
        {
            const auto a = cache.transact(
                [&]
                {
                    const auto va = cache.get("pair-a");
                    const auto vb = cache.get("pair-b");
                    return (va ? from_le64(va->view()) : 0) - (vb ? from_le64(vb->view()) : 0);
                });
            if (a != 0)
                ++failures;
            break;
        }
        default:
        {
            const auto popped = cache.pop(own);
            if (popped && popped->size() > 1 << 20)
                ++failures;
            (void)cache.keys();
            (void)cache.count();
        }
        }
    }
    if (cache.add("winner", "thread-"s + std::to_string(t)))
        ++add_wins;
}
}

TEST_SUITE("threads")
{
    TEST_CASE("8 threads sharing one Cache: exact incr totals, one add winner, whole values")
    {
        TempDir tmp("threads");
        Cache cache(tmp.path(), Options { .background = true, .trash_grace = std::chrono::duration<double>(0.2),
                                          .background_period = 20ms });
        std::atomic<int> add_wins { 0 }, failures { 0 }, errors { 0 };
        std::vector<std::thread> threads;
        for (int t = 0; t < thread_count; ++t)
            threads.emplace_back(
                [&, t]
                {
                    try
                    {
                        hammer(cache, t, add_wins, failures);
                    }
                    catch (const std::exception& e)
                    {
                        ++errors;
                        std::fprintf(stderr, "thread %d: %s\n", t, e.what());
                    }
                });
        for (auto& th : threads)
            th.join();
        CHECK(errors == 0);
        CHECK(failures == 0);
        CHECK(add_wins == 1);
        CHECK(from_le64(to_string(cache.get("counter"))) == thread_count * incr_per_thread);
        const auto a = cache.get("pair-a");
        const auto b = cache.get("pair-b");
        CHECK(to_string(a) == to_string(b));
        const auto r = cache.check();
        CHECK(r.ok);
        CHECK(r.counters_consistent);
        CHECK(r.dangling_rows == 0);
    }

    TEST_CASE("8 threads sharing one FanoutCache: exact incr totals")
    {
        TempDir tmp("threads");
        FanoutCache fc(tmp.path(), 4);
        std::atomic<int> errors { 0 };
        std::vector<std::thread> threads;
        for (int t = 0; t < thread_count; ++t)
            threads.emplace_back(
                [&, t]
                {
                    try
                    {
                        for (int i = 0; i < incr_per_thread; ++i)
                        {
                            fc.incr("c" + std::to_string(i % 8));
                            fc.set("t" + std::to_string(t) + "-" + std::to_string(i % 10), make_value(100, 1));
                        }
                    }
                    catch (const std::exception& e)
                    {
                        ++errors;
                        std::fprintf(stderr, "thread %d: %s\n", t, e.what());
                    }
                });
        for (auto& th : threads)
            th.join();
        CHECK(errors == 0);
        std::int64_t total = 0;
        for (int i = 0; i < 8; ++i)
            total += from_le64(to_string(fc.get("c" + std::to_string(i))));
        CHECK(total == thread_count * incr_per_thread);
        CHECK(fc.count() == 8 + thread_count * 10);
    }

    TEST_CASE("close() while other threads are idle, then every call throws CLOSED")
    {
        TempDir tmp("threads");
        Cache cache(tmp.path());
        std::thread t([&] { cache.set("k", "v"s); });
        t.join();
        cache.close();
        std::thread t2([&] { CHECK_ERROR_CODE(cache.get("k"), "CLOSED"); });
        t2.join();
    }
}
