// sciqlop_cache_bench: the engine (sciqlop_cache::Cache, default Options) against a raw-SQLite
// baseline, measured in one run and interleaved, with the targets of issue 2 as PASS/FAIL.
//
//   sciqlop_cache_bench [--quick] [--markdown FILE] [--dir DIR] [--ops N] [--keep]
//
// Every phase works on fresh directories under DIR (default: bench/tmp/ of the source tree,
// which is gitignored), fills the stores untimed with batched transactions, warms up
// untimed, then times single operations, alternating the two peers every few hundred
// operations so that drift is shared between them.
#include "measure.hpp"
#include "peers.hpp"
#include "report.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <thread>

#ifndef SCIQLOP_CACHE_BENCH_TMP
#define SCIQLOP_CACHE_BENCH_TMP "bench/tmp"
#endif

namespace fs = std::filesystem;
using namespace bench;

namespace
{

struct Config
{
    bool quick = false;
    bool keep = false;
    std::optional<fs::path> markdown;
    fs::path root;
    std::size_t ops = 10'000;
    std::vector<std::uint64_t> entry_counts { 1'000, 100'000, 1'000'000 };
};

constexpr std::size_t small_value = 256;
constexpr double set_get_target = 1.25;
constexpr double scale_target = 1.3;
constexpr double big_get_target = 5.0;
constexpr double size_limit_target = 1.2;
constexpr double eviction_target_ms = 50.0;
constexpr double wal_target_bytes = 64.0 * 1024 * 1024;

const auto start_time = clock_type::now();

void progress(const std::string& what)
{
    const double s = std::chrono::duration<double>(clock_type::now() - start_time).count();
    std::fprintf(stderr, "[%7.1fs] %s\n", s, what.c_str());
}

std::vector<std::byte> make_value(std::size_t n, std::uint64_t seed)
{
    std::vector<std::byte> v(n);
    std::mt19937_64 rng(seed);
    for (auto& b : v)
        b = static_cast<std::byte>(rng());
    return v;
}

/// Makes each written value differ from the previous one without reallocating it.
void stamp(std::vector<std::byte>& v, std::uint64_t i)
{
    std::memcpy(v.data(), &i, std::min(sizeof i, v.size()));
}

std::vector<std::string> keys_for(const char* prefix, const std::vector<std::uint64_t>& idx)
{
    std::vector<std::string> k;
    k.reserve(idx.size());
    for (auto i : idx)
        k.push_back(key_of(prefix, i));
    return k;
}

template <class P>
double fill(P& p, const char* prefix, std::uint64_t n, std::vector<std::byte> value, std::uint64_t batch)
{
    const auto t0 = clock_type::now();
    for (std::uint64_t i = 0; i < n; i += batch)
    {
        p.begin();
        for (std::uint64_t j = i; j < std::min(n, i + batch); ++j)
        {
            stamp(value, j);
            p.set(key_of(prefix, j), value);
        }
        p.commit();
    }
    return std::chrono::duration<double>(clock_type::now() - t0).count();
}

[[noreturn]] void wrong(const char* peer, const std::string& what)
{
    throw std::runtime_error(std::string(peer) + ": " + what);
}

template <class P>
void expect_hit(P&, const std::optional<std::size_t>& got, std::size_t size, const std::string& key)
{
    if (!got)
        wrong(P::name, "miss on present key " + key);
    if (*got != size)
        wrong(P::name, "wrong size for " + key);
}

struct Pair
{
    Summary engine;
    Summary raw;
    [[nodiscard]] double ratio() const { return engine.median_ns / raw.median_ns; }
};

/// The measured operations on 256-byte values at one entry count.
struct ScaleResult
{
    std::uint64_t n = 0;
    double fill_engine_s = 0, fill_raw_s = 0;
    std::map<std::string, Pair> ops; // "set", "get (hit)", "get (miss)", "delete"
};

enum class EvictionMode
{
    same_instance,   // evict() on another thread of the instance that serves the gets
    second_instance, // evict() on a second instance of the same directory (as another process would)
    background,      // only the store's own background thread
};

struct EvictionResult
{
    bool ran = false;
    EvictionMode mode {};
    std::uint64_t n = 0;
    std::uint64_t count_before = 0, count_after = 0, size_before = 0, size_after = 0, limit = 0;
    std::uint64_t evicted_reported = 0;
    double evict_call_s = 0, total_s = 0;
    bool finished = false;
    Summary gets;
    std::size_t gets_over_target = 0;
    std::size_t gets_over_10ms = 0;
    std::vector<double> longest; // the three longest gets, ns
    Summary control;             // gets in the second before the pass: machine noise
};

struct WalResult
{
    std::uint64_t sets = 0;
    std::uint64_t engine_final = 0, engine_max = 0, raw_final = 0, raw_max = 0;
    Pair set_latency;
};

struct BatchResult
{
    std::size_t batch = 0, transactions = 0;
    Summary engine_tx, raw_tx;
};

struct Results
{
    std::vector<ScaleResult> scale;
    std::vector<std::pair<std::size_t, std::map<std::string, Pair>>> sizes;
    std::vector<BatchResult> batches;
    std::optional<Pair> size_limit; // engine = with limit, raw slot = without limit
    std::vector<EvictionResult> evictions;
    WalResult wal;
};

// ---- eviction: the longest get() while an LRU pass removes ~28 % of the entries --------

const char* mode_name(EvictionMode m)
{
    switch (m)
    {
    case EvictionMode::same_instance: return "evict() on a 2nd thread, same instance";
    case EvictionMode::second_instance: return "evict() on a 2nd instance";
    case EvictionMode::background: return "background thread only";
    }
    return "";
}

/// Fills the store to n entries with max_size unset, then sets the limit to 80 % of size()
/// (so the pass removes down to 90 % of that: ~28 % of the entries) and times random gets
/// on `engine` until the store is under its limit.
EvictionResult measure_eviction(EnginePeer& engine, std::uint64_t n, EvictionMode mode)
{
    EvictionResult r;
    r.ran = true;
    r.mode = mode;
    r.n = n;
    auto& cache = engine.cache();
    r.count_before = cache.count();
    r.size_before = cache.size();
    r.limit = r.size_before * 8 / 10;
    const auto idx = random_indices(200'000, n, 0xe71c);
    const auto keys = keys_for("k", idx);
    for (std::size_t i = 0; i < 1000; ++i)
        (void)engine.get(keys[i]);
    // Control: the same gets for one second with no pass running, so that the longest get
    // can be read against what the machine does anyway (other processes, a VM's steal time).
    {
        std::vector<double> control;
        const auto c0 = clock_type::now();
        for (std::size_t i = 0; clock_type::now() - c0 < std::chrono::seconds(1); ++i)
        {
            const auto& k = keys[(keys.size() / 2 + i) % keys.size()];
            control.push_back(time_ns([&] { (void)engine.get(k); }));
        }
        r.control = summarize(std::move(control));
    }

    std::atomic<bool> evict_done { mode == EvictionMode::background };
    std::exception_ptr evict_error;
    std::vector<double> lat;
    lat.reserve(keys.size());
    const auto t0 = clock_type::now();
    if (mode != EvictionMode::second_instance)
        cache.set_max_size(r.limit);
    std::thread evictor;
    if (mode != EvictionMode::background)
        evictor = std::thread(
            [&]
            {
                try
                {
                    const auto e0 = clock_type::now();
                    if (mode == EvictionMode::same_instance)
                        r.evicted_reported = cache.evict();
                    else
                    {
                        // Opening with max_size persists the limit; no background thread, so
                        // the pass is this evict() call alone.
                        sciqlop_cache::Cache other(engine.dir(),
                                                   sciqlop_cache::Options { .max_size = r.limit, .background = false });
                        r.evicted_reported = other.evict();
                    }
                    r.evict_call_s = std::chrono::duration<double>(clock_type::now() - e0).count();
                }
                catch (...)
                {
                    evict_error = std::current_exception();
                }
                evict_done = true;
            });
    // Random gets until the evict() call has returned and the pass is complete (down to 90 %
    // of the limit; the store's own background thread may do part of it). Gives up when the
    // size has been under the limit but still for 5 s, or after 10 minutes.
    const auto target = r.limit - r.limit / 10;
    const auto deadline = t0 + std::chrono::minutes(10);
    std::uint64_t last_size = 0;
    auto last_change = clock_type::now();
    for (std::size_t i = 0;; ++i)
    {
        if (i % 256 == 0 && evict_done.load())
        {
            const auto size = cache.size();
            const auto now = clock_type::now();
            if (size != last_size)
            {
                last_size = size;
                last_change = now;
            }
            if (size <= target || (size <= r.limit && now - last_change > std::chrono::seconds(5)))
            {
                r.finished = true;
                break;
            }
            if (now > deadline)
                break;
        }
        const auto& k = keys[i % keys.size()];
        lat.push_back(time_ns([&] { (void)engine.get(k); }));
    }
    r.total_s = std::chrono::duration<double>(clock_type::now() - t0).count();
    if (evictor.joinable())
        evictor.join();
    if (evict_error)
        std::rethrow_exception(evict_error);
    r.count_after = cache.count();
    r.size_after = cache.size();
    for (double v : lat)
    {
        r.gets_over_target += v > eviction_target_ms * 1e6;
        r.gets_over_10ms += v > 10e6;
    }
    {
        auto sorted = lat;
        std::sort(sorted.rbegin(), sorted.rend());
        sorted.resize(std::min<std::size_t>(3, sorted.size()));
        r.longest = sorted;
    }
    r.gets = summarize(std::move(lat));
    return r;
}

/// The same measurement on a fresh store of n entries.
EvictionResult measure_eviction_fresh(std::uint64_t n, EvictionMode mode, const Config& cfg)
{
    const auto dir = cfg.root / ("evict-" + std::to_string(static_cast<int>(mode)));
    EvictionResult r;
    {
        EnginePeer engine(dir);
        progress(std::string("eviction (") + mode_name(mode) + "): filling " + count_h(double(n)));
        fill(engine, "k", n, make_value(small_value, n), 10'000);
        progress(std::string("eviction (") + mode_name(mode) + ")");
        r = measure_eviction(engine, n, mode);
    }
    if (!cfg.keep)
        fs::remove_all(dir);
    return r;
}

// ---- 256-byte values at 1,000 / 100,000 / 1,000,000 entries ---------------------------
ScaleResult measure_scale(std::uint64_t n, const Config& cfg, Results& results, bool largest)
{
    ScaleResult r;
    r.n = n;
    const auto dir = cfg.root / ("scale-" + std::to_string(n));
    auto engine = std::make_unique<EnginePeer>(dir / "engine");
    auto raw = std::make_unique<RawSqlitePeer>(dir / "raw");
    auto value = make_value(small_value, n);
    progress("scale " + count_h(n) + ": filling the engine");
    r.fill_engine_s = fill(*engine, "k", n, value, 10'000);
    progress("scale " + count_h(n) + ": filling raw SQLite");
    r.fill_raw_s = fill(*raw, "k", n, value, 10'000);

    const auto ops = cfg.ops;
    const std::size_t chunk = 500;
    const std::size_t warm = std::min<std::size_t>(1000, ops / 5);
    auto warm_get = keys_for("k", random_indices(warm, n, n + 1));
    for (auto& k : warm_get)
    {
        (void)engine->get(k);
        (void)raw->get(k);
    }

    // set: overwrite random existing keys (the entry count stays n)
    {
        progress("scale " + count_h(n) + ": set");
        const auto keys = keys_for("k", random_indices(ops, n, n + 2));
        std::vector<double> a, b;
        auto ve = value, vr = value;
        interleave(
            ops, chunk, a, b,
            [&](std::size_t i)
            {
                stamp(ve, i + 1);
                return time_ns([&] { engine->set(keys[i], ve); });
            },
            [&](std::size_t i)
            {
                stamp(vr, i + 1);
                return time_ns([&] { raw->set(keys[i], vr); });
            });
        r.ops["set"] = { summarize(std::move(a)), summarize(std::move(b)) };
    }
    // get (hit), random order
    {
        progress("scale " + count_h(n) + ": get (hit)");
        const auto keys = keys_for("k", random_indices(ops, n, n + 3));
        std::vector<double> a, b;
        interleave(
            ops, chunk, a, b,
            [&](std::size_t i)
            {
                std::optional<std::size_t> got;
                const double t = time_ns([&] { got = engine->get(keys[i]); });
                expect_hit(*engine, got, small_value, keys[i]);
                return t;
            },
            [&](std::size_t i)
            {
                std::optional<std::size_t> got;
                const double t = time_ns([&] { got = raw->get(keys[i]); });
                expect_hit(*raw, got, small_value, keys[i]);
                return t;
            });
        r.ops["get (hit)"] = { summarize(std::move(a)), summarize(std::move(b)) };
    }
    // get (miss): absent keys spread over the same key range
    {
        progress("scale " + count_h(n) + ": get (miss)");
        const auto keys = keys_for("k", random_indices(ops, n, n + 4));
        std::vector<std::string> absent;
        for (const auto& k : keys)
            absent.push_back(k + "~");
        std::vector<double> a, b;
        interleave(
            ops, chunk, a, b,
            [&](std::size_t i)
            {
                std::optional<std::size_t> got;
                const double t = time_ns([&] { got = engine->get(absent[i]); });
                if (got)
                    wrong(EnginePeer::name, "hit on absent key");
                return t;
            },
            [&](std::size_t i)
            {
                std::optional<std::size_t> got;
                const double t = time_ns([&] { got = raw->get(absent[i]); });
                if (got)
                    wrong(RawSqlitePeer::name, "hit on absent key");
                return t;
            });
        r.ops["get (miss)"] = { summarize(std::move(a)), summarize(std::move(b)) };
    }
    // delete: timed delete of a present key, then an untimed re-insert (the count stays n)
    {
        progress("scale " + count_h(n) + ": delete");
        const auto keys = keys_for("k", random_indices(ops, n, n + 5));
        std::vector<double> a, b;
        auto ve = value, vr = value;
        interleave(
            ops, chunk, a, b,
            [&](std::size_t i)
            {
                bool removed = false;
                const double t = time_ns([&] { removed = engine->del(keys[i]); });
                if (!removed)
                    wrong(EnginePeer::name, "delete of present key returned false: " + keys[i]);
                engine->set(keys[i], ve);
                return t;
            },
            [&](std::size_t i)
            {
                bool removed = false;
                const double t = time_ns([&] { removed = raw->del(keys[i]); });
                if (!removed)
                    wrong(RawSqlitePeer::name, "delete of present key returned false: " + keys[i]);
                raw->set(keys[i], vr);
                return t;
            });
        r.ops["delete"] = { summarize(std::move(a)), summarize(std::move(b)) };
    }
    raw.reset();
    if (largest)
    {
        progress(std::string("eviction (") + mode_name(EvictionMode::same_instance) + ")");
        results.evictions.push_back(measure_eviction(*engine, n, EvictionMode::same_instance));
    }
    engine.reset();
    if (!cfg.keep)
        fs::remove_all(dir);
    return r;
}

// ---- set/get at 64 B, 8 KiB, 64 KiB, 1 MiB --------------------------------------------
std::map<std::string, Pair> measure_value_size(std::size_t size, const Config& cfg)
{
    struct Plan
    {
        std::size_t entries, ops;
    };
    Plan plan;
    if (size <= 64)
        plan = { 10'000, cfg.ops };
    else if (size <= 8 * 1024)
        plan = { 10'000, cfg.ops / 2 };
    else if (size <= 64 * 1024)
        plan = { 2'000, cfg.ops / 5 };
    else
        plan = { 256, std::max<std::size_t>(100, cfg.ops / 20) };
    if (cfg.quick)
        plan.entries = std::min(plan.entries, size > 64 * 1024 ? std::size_t(64) : std::size_t(2'000));

    const auto dir = cfg.root / ("size-" + std::to_string(size));
    std::map<std::string, Pair> out;
    {
        EnginePeer engine(dir / "engine");
        RawSqlitePeer raw(dir / "raw");
        const auto value = make_value(size, size);
        const auto batch = std::max<std::size_t>(1, (4u << 20) / size);
        progress("value size " + bytes_h(double(size)) + ": filling " + count_h(double(plan.entries)));
        fill(engine, "v", plan.entries, value, batch);
        fill(raw, "v", plan.entries, value, batch);
        const std::size_t chunk = std::max<std::size_t>(10, plan.ops / 20);
        const auto warm = keys_for("v", random_indices(std::min<std::size_t>(200, plan.ops / 5 + 1), plan.entries, 7));
        for (auto& k : warm)
        {
            (void)engine.get(k);
            (void)raw.get(k);
        }
        {
            progress("value size " + bytes_h(double(size)) + ": set");
            const auto keys = keys_for("v", random_indices(plan.ops, plan.entries, size + 1));
            auto ve = value, vr = value;
            std::vector<double> a, b;
            interleave(
                plan.ops, chunk, a, b,
                [&](std::size_t i)
                {
                    stamp(ve, i + 1);
                    return time_ns([&] { engine.set(keys[i], ve); });
                },
                [&](std::size_t i)
                {
                    stamp(vr, i + 1);
                    return time_ns([&] { raw.set(keys[i], vr); });
                });
            out["set"] = { summarize(std::move(a)), summarize(std::move(b)) };
        }
        {
            progress("value size " + bytes_h(double(size)) + ": get");
            const auto keys = keys_for("v", random_indices(plan.ops, plan.entries, size + 2));
            std::vector<double> a, b;
            interleave(
                plan.ops, chunk, a, b,
                [&](std::size_t i)
                {
                    std::optional<std::size_t> got;
                    const double t = time_ns([&] { got = engine.get(keys[i]); });
                    expect_hit(engine, got, size, keys[i]);
                    return t;
                },
                [&](std::size_t i)
                {
                    std::optional<std::size_t> got;
                    const double t = time_ns([&] { got = raw.get(keys[i]); });
                    expect_hit(raw, got, size, keys[i]);
                    return t;
                });
            out["get"] = { summarize(std::move(a)), summarize(std::move(b)) };
        }
    }
    if (!cfg.keep)
        fs::remove_all(dir);
    return out;
}

// ---- batched sets: 1, 10, 100, 1000 per transaction ------------------------------------
std::vector<BatchResult> measure_batches(const Config& cfg)
{
    const auto dir = cfg.root / "batch";
    std::vector<BatchResult> out;
    {
        EnginePeer engine(dir / "engine");
        RawSqlitePeer raw(dir / "raw");
        const std::uint64_t n = 10'000;
        auto value = make_value(small_value, 11);
        progress("batched sets: filling");
        fill(engine, "k", n, value, 10'000);
        fill(raw, "k", n, value, 10'000);
        for (std::size_t b : { 1, 10, 100, 1000 })
        {
            progress("batched sets: " + std::to_string(b) + " per transaction");
            BatchResult r;
            r.batch = b;
            r.transactions = std::max<std::size_t>(cfg.quick ? 10 : 20, cfg.ops / b);
            const auto keys = keys_for("k", random_indices(r.transactions * b, n, 100 + b));
            auto ve = value, vr = value;
            auto tx = [&](auto& peer, auto& v, std::size_t t)
            {
                return time_ns(
                    [&]
                    {
                        peer.begin();
                        for (std::size_t j = t * b; j < (t + 1) * b; ++j)
                        {
                            stamp(v, j + 1);
                            peer.set(keys[j], v);
                        }
                        peer.commit();
                    });
            };
            // warm-up: one untimed transaction each
            (void)tx(engine, ve, 0);
            (void)tx(raw, vr, 0);
            std::vector<double> a, c;
            interleave(
                r.transactions, std::max<std::size_t>(1, 500 / b), a, c, [&](std::size_t t) { return tx(engine, ve, t); },
                [&](std::size_t t) { return tx(raw, vr, t); });
            r.engine_tx = summarize(std::move(a));
            r.raw_tx = summarize(std::move(c));
            out.push_back(r);
        }
    }
    if (!cfg.keep)
        fs::remove_all(dir);
    return out;
}

// ---- get with and without a size limit -------------------------------------------------
Pair measure_size_limit(const Config& cfg)
{
    const auto dir = cfg.root / "size-limit";
    Pair out;
    {
        const std::uint64_t n = 100'000;
        EnginePeer unlimited(dir / "unlimited");
        EnginePeer limited(dir / "limited", sciqlop_cache::Options { .max_size = std::uint64_t(1) << 40 });
        auto value = make_value(small_value, 12);
        progress("size limit: filling");
        fill(unlimited, "k", n, value, 10'000);
        fill(limited, "k", n, value, 10'000);
        const auto warm = keys_for("k", random_indices(1000, n, 13));
        for (auto& k : warm)
        {
            (void)unlimited.get(k);
            (void)limited.get(k);
        }
        progress("size limit: get");
        const auto ops = cfg.ops * 2;
        const auto keys = keys_for("k", random_indices(ops, n, 14));
        std::vector<double> a, b;
        interleave(
            ops, 500, a, b,
            [&](std::size_t i)
            {
                std::optional<std::size_t> got;
                const double t = time_ns([&] { got = limited.get(keys[i]); });
                expect_hit(limited, got, small_value, keys[i]);
                return t;
            },
            [&](std::size_t i)
            {
                std::optional<std::size_t> got;
                const double t = time_ns([&] { got = unlimited.get(keys[i]); });
                expect_hit(unlimited, got, small_value, keys[i]);
                return t;
            });
        out = { summarize(std::move(a)), summarize(std::move(b)) };
        if (limited.cache().count() != n)
            wrong("engine", "the size-limited store evicted entries");
    }
    if (!cfg.keep)
        fs::remove_all(dir);
    return out;
}

// ---- WAL size under 100,000 single-commit sets -----------------------------------------
WalResult measure_wal(const Config& cfg)
{
    const auto dir = cfg.root / "wal";
    WalResult r;
    r.sets = 100'000;
    {
        EnginePeer engine(dir / "engine");
        RawSqlitePeer raw(dir / "raw");
        auto ve = make_value(small_value, 15), vr = ve;
        const auto keys = keys_for("w", random_distinct(r.sets, r.sets, 16));
        progress("WAL: 100,000 single-commit sets");
        std::vector<double> a, b;
        interleave(
            r.sets, 1000, a, b,
            [&](std::size_t i)
            {
                stamp(ve, i + 1);
                const double t = time_ns([&] { engine.set(keys[i], ve); });
                if ((i + 1) % 1000 == 0)
                    r.engine_max = std::max(r.engine_max, engine.wal_size());
                return t;
            },
            [&](std::size_t i)
            {
                stamp(vr, i + 1);
                const double t = time_ns([&] { raw.set(keys[i], vr); });
                if ((i + 1) % 1000 == 0)
                    r.raw_max = std::max(r.raw_max, raw.wal_size());
                return t;
            });
        r.engine_final = engine.wal_size();
        r.raw_final = raw.wal_size();
        r.engine_max = std::max(r.engine_max, r.engine_final);
        r.raw_max = std::max(r.raw_max, r.raw_final);
        r.set_latency = { summarize(std::move(a)), summarize(std::move(b)) };
    }
    if (!cfg.keep)
        fs::remove_all(dir);
    return r;
}

// ---- report ----------------------------------------------------------------------------
std::string read_cpu_model()
{
    std::ifstream in("/proc/cpuinfo");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("model name", 0) == 0)
        {
            const auto colon = line.find(':');
            return colon == std::string::npos ? line : line.substr(colon + 2);
        }
    return "unknown";
}

std::string machine_line()
{
    utsname u {};
    uname(&u);
    const auto cores = sysconf(_SC_NPROCESSORS_ONLN);
    std::ostringstream s;
    s << cores << " cores (nproc), " << u.sysname << ' ' << u.release << ' ' << u.machine << ", " << read_cpu_model();
    return s.str();
}

/// The 1-minute load average: other work on the machine shows up in the latencies.
std::string load_average()
{
    std::ifstream in("/proc/loadavg");
    std::string one;
    in >> one;
    return one.empty() ? "unknown" : one;
}

std::string utc_now()
{
    const std::time_t t = std::time(nullptr);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&t));
    return buf;
}

const char* verdict(bool ok) { return ok ? "PASS" : "FAIL"; }

std::vector<Table> build_tables(const Results& res, const Config& cfg, Table& targets)
{
    std::vector<Table> tables;
    targets.title = "Targets (issue 2)";
    targets.header = { "target", "measured", "limit", "result" };

    Table scale;
    scale.title = "Latency by entry count, 256 B values (us)";
    scale.header = { "entries", "operation", "engine p50", "engine p99", "raw p50", "raw p99", "engine/raw p50" };
    for (const auto& s : res.scale)
    {
        for (const char* op : { "set", "get (hit)", "get (miss)", "delete" })
        {
            const auto& p = s.ops.at(op);
            scale.add({ count_h(double(s.n)), op, us(p.engine.median_ns), us(p.engine.p99_ns), us(p.raw.median_ns),
                        us(p.raw.p99_ns), ratio(p.ratio()) });
            if (std::string(op) == "set" || std::string(op) == "get (hit)")
                targets.add({ std::string(op) + " at " + count_h(double(s.n)) + " entries: engine/raw p50",
                              ratio(p.ratio()), "<= 1.25x", verdict(p.ratio() <= set_get_target) });
        }
    }
    {
        std::string fills = "Untimed fill (10,000 sets per transaction):";
        for (const auto& s : res.scale)
            fills += " " + count_h(double(s.n)) + " entries: engine " + fmt("%.2f s", s.fill_engine_s) + ", raw "
                + fmt("%.2f s", s.fill_raw_s) + ";";
        scale.note = fills;
    }
    tables.push_back(scale);

    Table sizes;
    sizes.title = "Latency by value size (us)";
    sizes.header = { "value size", "operation", "engine p50", "engine p99", "raw p50", "raw p99", "engine/raw p50" };
    for (const auto& [size, ops] : res.sizes)
        for (const char* op : { "set", "get" })
        {
            const auto& p = ops.at(op);
            sizes.add({ bytes_h(double(size)), op, us(p.engine.median_ns), us(p.engine.p99_ns), us(p.raw.median_ns),
                        us(p.raw.p99_ns), ratio(p.ratio()) });
            targets.add({ std::string(op) + " of " + bytes_h(double(size)) + ": engine/raw p50", ratio(p.ratio()),
                          "<= 1.25x", verdict(p.ratio() <= set_get_target) });
        }
    tables.push_back(sizes);

    // latency at the largest entry count against 1,000
    if (res.scale.size() >= 2)
    {
        const auto& lo = res.scale.front();
        const auto& hi = res.scale.back();
        const bool official = hi.n >= 1'000'000;
        for (const char* op : { "set", "get (hit)", "get (miss)", "delete" })
        {
            const double g = hi.ops.at(op).engine.median_ns / lo.ops.at(op).engine.median_ns;
            const double graw = hi.ops.at(op).raw.median_ns / lo.ops.at(op).raw.median_ns;
            targets.add({ std::string("engine ") + op + " p50 at " + count_h(double(hi.n)) + " / at "
                              + count_h(double(lo.n)) + " (raw: " + ratio(graw) + ")",
                          ratio(g), "<= 1.3x", official ? verdict(g <= scale_target) : "n/a (--quick)" });
        }
    }
    for (const auto& [size, ops] : res.sizes)
        if (size == 1u << 20)
        {
            const double speedup = ops.at("get").raw.median_ns / ops.at("get").engine.median_ns;
            targets.add({ "1 MiB get: raw p50 / engine p50", ratio(speedup), ">= 5x", verdict(speedup >= big_get_target) });
        }

    Table batch;
    batch.title = "Batched sets of 256 B, cost per set (us)";
    batch.header = { "sets per transaction", "transactions", "engine p50/set", "raw p50/set", "engine/raw",
                     "engine mean/set", "raw mean/set" };
    for (const auto& b : res.batches)
    {
        const double d = double(b.batch);
        batch.add({ std::to_string(b.batch), count_h(double(b.transactions)), us(b.engine_tx.median_ns / d),
                    us(b.raw_tx.median_ns / d), ratio(b.engine_tx.median_ns / b.raw_tx.median_ns),
                    us(b.engine_tx.mean_ns / d), us(b.raw_tx.mean_ns / d) });
    }
    tables.push_back(batch);

    if (res.size_limit)
    {
        const auto& p = *res.size_limit;
        Table lim;
        lim.title = "Engine get (hit, 256 B, 100,000 entries) with and without a size limit (us)";
        lim.header = { "store", "p50", "p99", "max" };
        lim.add({ "no size limit", us(p.raw.median_ns), us(p.raw.p99_ns), us(p.raw.max_ns) });
        lim.add({ "max_size = 1 TiB (nothing evicted)", us(p.engine.median_ns), us(p.engine.p99_ns), us(p.engine.max_ns) });
        lim.add({ "with / without", ratio(p.ratio()), ratio(p.engine.p99_ns / p.raw.p99_ns), "" });
        tables.push_back(lim);
        targets.add({ "get with a size limit / without, p50", ratio(p.ratio()), "<= 1.2x",
                      verdict(p.ratio() <= size_limit_target) });
    }

    if (!res.evictions.empty())
    {
        const auto n = res.evictions.front().n;
        Table ev;
        ev.title = "Engine get during an LRU eviction pass at " + count_h(double(n)) + " entries (256 B values)";
        ev.header = { "measure" };
        for (const auto& e : res.evictions)
            ev.header.push_back(mode_name(e.mode));
        auto row = [&](const std::string& what, auto&& cell)
        {
            std::vector<std::string> r { what };
            for (const auto& e : res.evictions)
                r.push_back(cell(e));
            ev.add(r);
        };
        row("entries before / after",
            [](const EvictionResult& e) { return count_h(double(e.count_before)) + " / " + count_h(double(e.count_after)); });
        row("value bytes before / limit / after",
            [](const EvictionResult& e)
            {
                return bytes_h(double(e.size_before)) + " / " + bytes_h(double(e.limit)) + " / "
                    + bytes_h(double(e.size_after));
            });
        row("evict() removed, took",
            [](const EvictionResult& e)
            {
                return e.mode == EvictionMode::background
                    ? std::string("-")
                    : count_h(double(e.evicted_reported)) + ", " + fmt("%.2f s", e.evict_call_s);
            });
        row("until the pass is done",
            [](const EvictionResult& e) { return e.finished ? fmt("%.2f s", e.total_s) : "not in 10 min"; });
        row("gets timed", [](const EvictionResult& e) { return count_h(double(e.gets.n)); });
        row("get p50 / p99 (us)", [](const EvictionResult& e) { return us(e.gets.median_ns) + " / " + us(e.gets.p99_ns); });
        row("three longest gets (ms)",
            [](const EvictionResult& e)
            {
                std::string longest;
                for (double v : e.longest)
                    longest += (longest.empty() ? "" : ", ") + fmt("%.1f", v / 1e6);
                return longest;
            });
        row("control, no pass: gets in 1 s, longest (ms)", [](const EvictionResult& e)
            { return count_h(double(e.control.n)) + ", " + fmt("%.1f", e.control.max_ns / 1e6); });
        row("gets over 10 ms / over 50 ms", [](const EvictionResult& e)
            { return count_h(double(e.gets_over_10ms)) + " / " + count_h(double(e.gets_over_target)); });
        ev.note = "Filled with no size limit, then max_size = 80 % of size() (set_max_size on the serving instance, or "
                  "opening the second instance with it), so the pass trims to 90 % of that. The main thread does "
                  "random gets on the first instance until the store is down to 90 % of the limit.";
        tables.push_back(ev);
        for (const auto& e : res.evictions)
        {
            const bool ok = e.finished && e.gets.max_ns <= eviction_target_ms * 1e6;
            targets.add({ std::string("longest get during eviction at ") + count_h(double(e.n)) + ", "
                              + mode_name(e.mode),
                          fmt("%.1f ms", e.gets.max_ns / 1e6), "<= 50 ms",
                          e.n >= 1'000'000 ? verdict(ok) : std::string(verdict(ok)) + " (at " + count_h(double(e.n)) + ")" });
        }
    }

    {
        const auto& w = res.wal;
        Table wal;
        wal.title = "WAL size under 100,000 single-commit sets of 256 B";
        wal.header = { "peer", "WAL at end", "max WAL (sampled every 1,000 sets)", "set p50 (us)", "set p99 (us)" };
        wal.add({ "engine", bytes_h(double(w.engine_final)), bytes_h(double(w.engine_max)), us(w.set_latency.engine.median_ns),
                  us(w.set_latency.engine.p99_ns) });
        wal.add({ "raw SQLite", bytes_h(double(w.raw_final)), bytes_h(double(w.raw_max)), us(w.set_latency.raw.median_ns),
                  us(w.set_latency.raw.p99_ns) });
        tables.push_back(wal);
        targets.add({ "engine max WAL under 100,000 single-commit sets", bytes_h(double(w.engine_max)), "<= 64 MiB",
                      verdict(double(w.engine_max) <= wal_target_bytes) });
    }
    (void)cfg;
    return tables;
}

void usage()
{
    std::cout << "usage: sciqlop_cache_bench [--quick] [--markdown FILE] [--dir DIR] [--ops N] [--keep]\n"
                 "  --quick          1,000 and 100,000 entries only, fewer operations (under a minute)\n"
                 "  --markdown FILE  also write the result tables as markdown to FILE\n"
                 "  --dir DIR        where the temporary stores go (default: " SCIQLOP_CACHE_BENCH_TMP ")\n"
                 "  --ops N          timed operations per measurement (default 10,000; 2,000 with --quick)\n"
                 "  --keep           keep the stores on disk\n";
}

} // namespace

int main(int argc, char** argv)
{
    Config cfg;
    std::optional<std::size_t> ops;
    fs::path base = SCIQLOP_CACHE_BENCH_TMP;
    for (int i = 1; i < argc; ++i)
    {
        const std::string a = argv[i];
        auto next = [&]() -> std::string
        {
            if (i + 1 >= argc)
            {
                std::cerr << a << " needs a value\n";
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--quick")
            cfg.quick = true;
        else if (a == "--markdown")
            cfg.markdown = next();
        else if (a == "--dir")
            base = next();
        else if (a == "--ops")
            ops = std::stoul(next());
        else if (a == "--keep")
            cfg.keep = true;
        else if (a == "--help" || a == "-h")
        {
            usage();
            return 0;
        }
        else
        {
            std::cerr << "unknown argument " << a << "\n";
            usage();
            return 2;
        }
    }
    if (cfg.quick)
    {
        cfg.entry_counts = { 1'000, 100'000 };
        cfg.ops = 2'000;
    }
    if (ops)
        cfg.ops = std::max<std::size_t>(100, *ops);
    cfg.root = base / ("run-" + std::to_string(getpid()));

    const std::string header = std::string("sciqlop-cache native benchmark") + (cfg.quick ? " (--quick)" : "") + "\n"
        + "date: " + utc_now() + "\nmachine: " + machine_line() + "\nSQLite " + sqlite3_libversion()
        + " (the engine's vendored copy, used by both peers), compiler " + __VERSION__
#ifdef NDEBUG
        + ", optimized build"
#else
        + ", DEBUG build (numbers not meaningful)"
#endif
        + "\nload average at start: " + load_average() + "\nstores under " + fs::absolute(cfg.root).string() + "\n" + std::to_string(cfg.ops)
        + " timed operations per measurement unless noted; p50 = median, p99 = 99th percentile; both peers "
          "interleaved every 500 operations\n";
    std::cout << header << std::endl;

    Results res;
    try
    {
        fs::create_directories(cfg.root);
        for (std::size_t i = 0; i < cfg.entry_counts.size(); ++i)
            res.scale.push_back(measure_scale(cfg.entry_counts[i], cfg, res, i + 1 == cfg.entry_counts.size()));
        for (auto mode : { EvictionMode::second_instance, EvictionMode::background })
            res.evictions.push_back(measure_eviction_fresh(cfg.entry_counts.back(), mode, cfg));
        for (std::size_t size : { std::size_t(64), std::size_t(8) << 10, std::size_t(64) << 10, std::size_t(1) << 20 })
            res.sizes.emplace_back(size, measure_value_size(size, cfg));
        res.batches = measure_batches(cfg);
        res.size_limit = measure_size_limit(cfg);
        res.wal = measure_wal(cfg);
    }
    catch (const sciqlop_cache::error& e)
    {
        std::cerr << "engine error " << e.code() << ": " << e.what() << "\n";
        if (!cfg.keep)
            fs::remove_all(cfg.root);
        return 1;
    }
    catch (const std::exception& e)
    {
        std::cerr << "error: " << e.what() << "\n";
        if (!cfg.keep)
            fs::remove_all(cfg.root);
        return 1;
    }
    if (!cfg.keep)
        fs::remove_all(cfg.root);
    progress("done");

    Table targets;
    auto tables = build_tables(res, cfg, targets);
    std::size_t passed = 0, failed = 0;
    for (const auto& r : targets.rows)
    {
        passed += r[3].rfind("PASS", 0) == 0;
        failed += r[3].rfind("FAIL", 0) == 0;
    }
    targets.note = std::to_string(passed) + " passed, " + std::to_string(failed) + " failed. Load average at the end: "
        + load_average() + ".";
    tables.push_back(targets);
    for (const auto& t : tables)
        std::cout << t.text() << '\n';
    if (cfg.markdown)
    {
        std::ofstream md(*cfg.markdown);
        std::string h = header;
        std::string quoted;
        std::istringstream lines(h);
        for (std::string line; std::getline(lines, line);)
            quoted += line + "  \n";
        md << quoted << '\n';
        for (const auto& t : tables)
            md << t.markdown();
        if (!md)
        {
            std::cerr << "could not write " << cfg.markdown->string() << "\n";
            return 1;
        }
        std::cerr << "markdown written to " << cfg.markdown->string() << "\n";
    }
    return 0;
}
