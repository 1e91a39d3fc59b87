#pragma once
// Timing primitives: per-operation latencies in nanoseconds, their median and p99, and the
// interleaving of two peers so that drift (page cache, frequency, the other peer's
// background work) is shared between them instead of landing on one.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace bench
{

using clock_type = std::chrono::steady_clock;

template <class F>
double time_ns(F&& f)
{
    const auto t0 = clock_type::now();
    f();
    return static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now() - t0).count());
}

struct Summary
{
    std::size_t n = 0;
    double median_ns = 0;
    double p99_ns = 0;
    double max_ns = 0;
    double mean_ns = 0;
};

inline Summary summarize(std::vector<double> ns)
{
    Summary s;
    s.n = ns.size();
    if (ns.empty())
        return s;
    std::sort(ns.begin(), ns.end());
    s.median_ns = ns.size() % 2 ? ns[ns.size() / 2] : (ns[ns.size() / 2 - 1] + ns[ns.size() / 2]) / 2;
    const auto p99_index = static_cast<std::size_t>(std::ceil(0.99 * static_cast<double>(ns.size()))) - 1;
    s.p99_ns = ns[std::min(p99_index, ns.size() - 1)];
    s.max_ns = ns.back();
    double total = 0;
    for (double v : ns)
        total += v;
    s.mean_ns = total / static_cast<double>(ns.size());
    return s;
}

/// Runs `ops` operations on each of two peers, `chunk` at a time, alternating which peer
/// goes first in each round. `fa(i)` / `fb(i)` perform operation i and return its latency
/// in ns (so an operation may include untimed set-up, e.g. re-inserting a deleted key).
template <class FA, class FB>
void interleave(std::size_t ops, std::size_t chunk, std::vector<double>& a, std::vector<double>& b, FA&& fa, FB&& fb)
{
    a.reserve(a.size() + ops);
    b.reserve(b.size() + ops);
    std::size_t round = 0;
    for (std::size_t start = 0; start < ops; start += chunk, ++round)
    {
        const auto end = std::min(ops, start + chunk);
        auto run_a = [&] { for (auto i = start; i < end; ++i) a.push_back(fa(i)); };
        auto run_b = [&] { for (auto i = start; i < end; ++i) b.push_back(fb(i)); };
        if (round % 2 == 0)
        {
            run_a();
            run_b();
        }
        else
        {
            run_b();
            run_a();
        }
    }
}

/// Zero-padded key, so that keys sort like their numbers and all have the same length.
inline std::string key_of(const char* prefix, std::uint64_t i)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s%010llu", prefix, static_cast<unsigned long long>(i));
    return buf;
}

/// `count` indices drawn uniformly from [0, n), reproducibly.
inline std::vector<std::uint64_t> random_indices(std::size_t count, std::uint64_t n, std::uint64_t seed)
{
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<std::uint64_t> dist(0, n - 1);
    std::vector<std::uint64_t> out(count);
    for (auto& v : out)
        v = dist(rng);
    return out;
}

/// `count` distinct indices from [0, n) in random order (count <= n).
inline std::vector<std::uint64_t> random_distinct(std::size_t count, std::uint64_t n, std::uint64_t seed)
{
    std::vector<std::uint64_t> all(n);
    for (std::uint64_t i = 0; i < n; ++i)
        all[i] = i;
    std::mt19937_64 rng(seed);
    std::shuffle(all.begin(), all.end(), rng);
    all.resize(std::min<std::size_t>(count, n));
    return all;
}

} // namespace bench
