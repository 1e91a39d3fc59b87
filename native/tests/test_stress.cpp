// Stress: several threads on two Cache instances of one directory (so two connections and
// two background threads contend) and two Index instances holding counters, doing every
// kind of operation at once with a small size limit, a short trash grace period and a fast
// background thread, so that eviction, expiry, trash draining and checkpoints run all the
// time underneath the readers. Every value read back must be intact and belong to its key;
// counters must be exact; check() must be clean at the end. It runs for
// SCIQLOP_CACHE_STRESS_SECONDS (default 2): `npm run test:asan` runs it longer under
// AddressSanitizer and UndefinedBehaviorSanitizer.
#include "test_support.hpp"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <random>

using namespace test;
using sciqlop_cache::Cache;
using sciqlop_cache::Index;
using sciqlop_cache::Options;
using sciqlop_cache::SetOptions;

namespace
{
double stress_seconds()
{
    const char* env = std::getenv("SCIQLOP_CACHE_STRESS_SECONDS");
    const double s = env ? std::atof(env) : 0.0;
    return s > 0 ? s : 2.0;
}

/// A value that names its key and version: 16 header bytes, then the versioned payload.
std::string stress_value(std::uint32_t key, std::uint64_t version, std::size_t size)
{
    std::string out(16, '\0');
    std::memcpy(out.data(), &key, sizeof key);
    std::memcpy(out.data() + 8, &version, sizeof version);
    out += versioned_value(key, version, size);
    return out;
}

/// Empty when `bytes` is an intact value of `key`, else what is wrong with it.
std::string verify_value(std::uint32_t key, std::string_view bytes)
{
    if (bytes.size() < 16)
        return "a value of " + std::to_string(bytes.size()) + " bytes, shorter than its header";
    std::uint32_t k = 0;
    std::uint64_t version = 0;
    std::memcpy(&k, bytes.data(), sizeof k);
    std::memcpy(&version, bytes.data() + 8, sizeof version);
    if (k != key)
        return "the value of key " + std::to_string(k) + " under key " + std::to_string(key);
    if (bytes.substr(16) != versioned_value(key, version, bytes.size() - 16))
        return "a damaged value of key " + std::to_string(key) + " version " + std::to_string(version);
    return {};
}
}

TEST_SUITE("stress")
{
    TEST_CASE("threads on two instances of a size-limited cache: every read intact, counters exact, check() clean")
    {
        TempDir tmp("stress");
        const auto values_dir = tmp / "values";
        const auto counters_dir = tmp / "counters";
        Options o;
        o.max_size = 4u << 20;
        o.trash_grace = std::chrono::duration<double>(0.2);
        o.background_period = std::chrono::milliseconds(20);
        Cache a(values_dir, o), b(values_dir, o);
        Index ca(counters_dir), cb(counters_dir);

        constexpr std::uint32_t keys = 300;
        constexpr std::uint32_t counters = 8;
        constexpr int threads = 6;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(stress_seconds());
        std::atomic<std::uint64_t> version { 0 }, reads { 0 }, ops { 0 };
        std::atomic<std::int64_t> increments[counters] {};
        std::mutex failures_mutex;
        std::vector<std::string> failures;
        auto fail = [&](std::string what)
        {
            std::lock_guard l(failures_mutex);
            if (failures.size() < 20)
                failures.push_back(std::move(what));
        };

        std::vector<std::thread> pool;
        for (int t = 0; t < threads; ++t)
        {
            pool.emplace_back(
                [&, t]
                {
                    std::mt19937_64 rng(0x5eed + static_cast<unsigned>(t));
                    Cache& c = t % 2 ? a : b;
                    Index& counter_store = t % 2 ? ca : cb;
                    const char* tags[] = { "red", "green", "blue" };
                    auto size = [&]
                    {
                        const auto d = rng() % 10;
                        return d < 2 ? 8200 + rng() % 60000 : d < 3 ? 8170 + rng() % 40 : rng() % 2000;
                    };
                    auto check_read = [&](std::uint32_t k, const std::optional<sciqlop_cache::Buffer>& v)
                    {
                        ++reads;
                        if (v)
                        {
                            if (auto what = verify_value(k, v->view()); !what.empty())
                                fail(what);
                        }
                    };
                    while (std::chrono::steady_clock::now() < deadline)
                    {
                        const auto k = static_cast<std::uint32_t>(rng() % keys);
                        const auto key = "k" + std::to_string(k);
                        try
                        {
                            switch (rng() % 16)
                            {
                            case 0:
                            case 1:
                            case 2:
                                c.set(key, stress_value(k, ++version, size()));
                                break;
                            case 3:
                                c.set_bytes(key, sciqlop_cache::as_byte_span(stress_value(k, ++version, size())),
                                            SetOptions { .expire = 0.05 + static_cast<double>(rng() % 100) / 100.0,
                                                         .tag = tags[rng() % 3] });
                                break;
                            case 4:
                            case 5:
                            case 6:
                                check_read(k, c.get(key));
                                break;
                            case 7:
                                check_read(k, c.pop(key));
                                break;
                            case 8:
                                c.del(key);
                                break;
                            case 9:
                                c.add(key, stress_value(k, ++version, size()));
                                break;
                            case 10:
                            {
                                const auto i = rng() % counters;
                                counter_store.incr("c" + std::to_string(i));
                                ++increments[i];
                                break;
                            }
                            case 11:
                            {
                                const auto k2 = static_cast<std::uint32_t>(rng() % keys);
                                c.transact(
                                    [&]
                                    {
                                        c.set(key, stress_value(k, ++version, size()));
                                        c.set("k" + std::to_string(k2), stress_value(k2, ++version, size()));
                                        check_read(k, c.get(key));
                                    });
                                break;
                            }
                            case 12:
                            {
                                std::vector<std::string> vs;
                                std::vector<std::string> ks;
                                std::vector<sciqlop_cache::Entry> es;
                                for (int i = 0; i < 4; ++i)
                                {
                                    const auto kk = static_cast<std::uint32_t>(rng() % keys);
                                    ks.push_back("k" + std::to_string(kk));
                                    vs.push_back(stress_value(kk, ++version, size()));
                                }
                                for (std::size_t i = 0; i < ks.size(); ++i)
                                    es.push_back({ ks[i], sciqlop_cache::as_byte_span(vs[i]), {} });
                                c.set_many(es);
                                break;
                            }
                            case 13:
                                switch (rng() % 6)
                                {
                                case 0: c.evict_tag(tags[rng() % 3]); break;
                                case 1: c.expire(); break;
                                case 2: c.evict(); break;
                                case 3: (void)c.keys(); (void)c.count(); (void)c.volume(); break;
                                case 4: c.touch(key, std::optional<double>(0.5)); break;
                                default:
                                {
                                    const auto r = c.check();
                                    if (r.dangling_rows || r.size_mismatches || !r.counters_consistent
                                        || !r.sqlite_integrity_ok)
                                        fail("check() during the run: " + std::to_string(r.dangling_rows)
                                             + " dangling, " + std::to_string(r.size_mismatches) + " mismatched");
                                }
                                }
                                break;
                            default:
                                check_read(k, c.get(key));
                            }
                            ++ops;
                        }
                        catch (const std::exception& e)
                        {
                            fail(std::string("thread ") + std::to_string(t) + ": " + e.what());
                        }
                    }
                });
        }
        for (auto& th : pool)
            th.join();

        for (const auto& f : failures)
            FAIL_CHECK(f);
        MESSAGE("operations: " << ops.load() << ", reads checked: " << reads.load());
        CHECK(ops.load() > 1000);
        for (std::uint32_t i = 0; i < counters; ++i)
        {
            const auto got = ca.incr("c" + std::to_string(i), 0);
            CHECK_MESSAGE(got == increments[i].load(), "counter " << i);
        }
        for (std::uint32_t k = 0; k < keys; ++k)
        {
            const auto v = a.get("k" + std::to_string(k));
            if (v)
                CHECK_MESSAGE(verify_value(k, v->view()).empty(), verify_value(k, v->view()));
        }
        const auto r = a.check();
        CHECK(r.dangling_rows == 0);
        CHECK(r.size_mismatches == 0);
        CHECK(r.counters_consistent);
        CHECK(r.sqlite_integrity_ok);
        CHECK(r.orphaned_files == 0);
        a.evict();
        CHECK(a.size() <= 4u << 20);
    }
}
