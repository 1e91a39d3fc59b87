#pragma once
// Store<Policy>: one engine for every store type. A policy switches features on at compile
// time, so an Index (no expiration, eviction, tags or stats) pays for none of them:
// its schema, its statements and its hot path simply do not contain them.
#include "buffer.hpp"
#include "error.hpp"
#include "options.hpp"

#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <ranges>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace sciqlop_cache
{

struct CachePolicy
{
    static constexpr bool expiration = true;
    static constexpr bool eviction = true;
    static constexpr bool tags = true;
    static constexpr bool stats = true;
};

struct IndexPolicy
{
    static constexpr bool expiration = false;
    static constexpr bool eviction = false;
    static constexpr bool tags = false;
    static constexpr bool stats = false;
};

/// Any contiguous range of char, unsigned char or std::byte: std::string, std::string_view,
/// std::vector<char>, std::span<const std::byte>, Buffer...
template <class R>
concept ByteRange = std::ranges::contiguous_range<R> && std::ranges::sized_range<R>
    && !std::is_array_v<std::remove_cvref_t<R>>
    && (std::same_as<std::remove_cv_t<std::ranges::range_value_t<R>>, char>
        || std::same_as<std::remove_cv_t<std::ranges::range_value_t<R>>, unsigned char>
        || std::same_as<std::remove_cv_t<std::ranges::range_value_t<R>>, std::byte>);

template <ByteRange R>
[[nodiscard]] inline std::span<const std::byte> as_byte_span(const R& r) noexcept
{
    return { reinterpret_cast<const std::byte*>(std::ranges::data(r)), std::ranges::size(r) };
}

/// Receives a value without an intermediate copy: the engine asks for `size` writable bytes
/// and fills them (from SQLite's row memory or straight from the value file).
using ByteSink = std::function<std::byte*(std::size_t size)>;

/// One entry of set_many(): the arguments of a set_bytes() call.
struct Entry
{
    std::string_view key;
    std::span<const std::byte> value;
    SetOptions options {};
};

template <class Policy>
class Store
{
public:
    using policy = Policy;
    static constexpr bool is_cache = Policy::expiration;

    explicit Store(const std::filesystem::path& directory, Options options = {});
    /// Seed-compatible form: Cache(".cache/", 1'000'000'000).
    Store(const std::filesystem::path& directory, std::uint64_t max_size)
        requires Policy::eviction
            : Store(directory, Options { .max_size = max_size })
    {
    }
    ~Store();
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;
    Store(Store&&) noexcept;
    Store& operator=(Store&&) noexcept;

    // ---- writes -----------------------------------------------------------------------
    void set_bytes(std::string_view key, std::span<const std::byte> value, const SetOptions& options = {});
    /// Stores only if the key is absent (or expired); atomic across threads and processes.
    bool add_bytes(std::string_view key, std::span<const std::byte> value, const SetOptions& options = {});

    /// Replaces the value of a live entry, keeping its expiry and tag; false when absent.
    bool update_bytes(std::string_view key, std::span<const std::byte> value);

    /// set_bytes() of every entry, in one transaction: all of them or none. The result is that
    /// of the calls in order (a key given twice keeps its last value), but faster than the
    /// calls: rows are written in key order, many per statement, which is how a batch of
    /// writes (the binding's asynchronous writer) reaches the disk. Inside an open transaction
    /// it joins that transaction without a savepoint (an open savepoint slows down every later
    /// statement of the transaction): after a failure there, roll the transaction back.
    void set_many(std::span<const Entry> entries);

    template <ByteRange V>
    void set(std::string_view key, const V& value)
    {
        set_bytes(key, as_byte_span(value));
    }
    void set(std::string_view key, const char* value) { set_bytes(key, as_byte_span(std::string_view(value))); }

    template <ByteRange V, class Rep, class Period>
    void set(std::string_view key, const V& value, std::chrono::duration<Rep, Period> ttl)
        requires Policy::expiration
    {
        set_bytes(key, as_byte_span(value), { .expire = seconds(ttl) });
    }
    template <ByteRange V>
    void set(std::string_view key, const V& value, std::string_view tag)
        requires Policy::tags
    {
        set_bytes(key, as_byte_span(value), { .tag = tag });
    }
    template <ByteRange V, class Rep, class Period>
    void set(std::string_view key, const V& value, std::chrono::duration<Rep, Period> ttl, std::string_view tag)
        requires(Policy::expiration && Policy::tags)
    {
        set_bytes(key, as_byte_span(value), { .expire = seconds(ttl), .tag = tag });
    }
    template <ByteRange V>
    bool add(std::string_view key, const V& value, const SetOptions& options = {})
    {
        return add_bytes(key, as_byte_span(value), options);
    }

    /// true if a live entry was removed (an expired one is removed too, but reports false).
    bool del(std::string_view key);
    /// Changes the expiry of a live entry (std::nullopt: never expires); true if it existed.
    bool touch(std::string_view key, std::optional<double> expire_seconds)
        requires Policy::expiration;
    template <class Rep, class Period>
    bool touch(std::string_view key, std::chrono::duration<Rep, Period> ttl)
        requires Policy::expiration
    {
        return touch(key, std::optional<double>(seconds(ttl)));
    }
    /// Atomic counter stored as an 8-byte little-endian integer (pysciqlop-cache's format).
    /// A live entry keeps its tag and expiry. Throws NOT_A_NUMBER on a value of another size.
    std::int64_t incr(std::string_view key, std::int64_t delta = 1, std::int64_t default_value = 0);
    std::int64_t decr(std::string_view key, std::int64_t delta = 1, std::int64_t default_value = 0)
    {
        return incr(key, -delta, default_value);
    }
    /// Removes every entry; value files go through the trash (unlinked after the grace period).
    void clear();

    // ---- reads ------------------------------------------------------------------------
    [[nodiscard]] std::optional<Buffer> get(std::string_view key);
    /// get() without an intermediate Buffer: `sink` is asked for the value's size and filled.
    /// Returns false on a miss (sink not called). Counts in stats like get().
    bool get_into(std::string_view key, const ByteSink& sink);
    /// Like get_into() but not counted in stats (for read-modify-write helpers).
    bool peek_into(std::string_view key, const ByteSink& sink);
    /// Get and delete atomically.
    [[nodiscard]] std::optional<Buffer> pop(std::string_view key);
    bool pop_into(std::string_view key, const ByteSink& sink);
    [[nodiscard]] bool exists(std::string_view key);

    /// Live keys in byte order.
    [[nodiscard]] std::vector<std::string> keys();
    [[nodiscard]] std::vector<std::string> keys_with_tag(std::string_view tag)
        requires Policy::tags;
    /// Number of live entries.
    [[nodiscard]] std::uint64_t count();
    /// Total bytes of stored values.
    [[nodiscard]] std::uint64_t size();
    /// Bytes on disk: database, WAL and value files.
    [[nodiscard]] std::uint64_t volume();
    [[nodiscard]] std::uint64_t wal_size() const;

    // ---- cache maintenance ------------------------------------------------------------
    /// Removes expired entries now; returns how many.
    std::uint64_t expire()
        requires Policy::expiration;
    /// One LRU pass: when over max_size, removes least recently used entries down to 90 %.
    std::uint64_t evict()
        requires Policy::eviction;
    std::uint64_t evict_tag(std::string_view tag)
        requires Policy::tags;
    [[nodiscard]] std::uint64_t max_size() const
        requires Policy::eviction;
    void set_max_size(std::uint64_t max_size)
        requires Policy::eviction;
    [[nodiscard]] Stats stats() const
        requires Policy::stats;
    void reset_stats()
        requires Policy::stats;

    // ---- integrity --------------------------------------------------------------------
    /// Reports what is wrong; with fix = true, repairs it after reporting.
    CheckResult check(bool fix = false);

    // ---- transactions -----------------------------------------------------------------
    /// Reentrant: a nested begin() opens a savepoint. The calling thread owns the store until
    /// the matching commit()/rollback(). Prefer transact() or Transaction.
    void begin();
    void commit();
    void rollback();
    [[nodiscard]] bool in_transaction() const;
    [[nodiscard]] int transaction_depth() const;

    template <class F>
    decltype(auto) transact(F&& f)
    {
        begin();
        try
        {
            if constexpr (std::is_void_v<std::invoke_result_t<F&>>)
            {
                std::invoke(f);
                commit();
            }
            else
            {
                decltype(auto) result = std::invoke(f);
                commit();
                return result;
            }
        }
        catch (...)
        {
            rollback();
            throw;
        }
    }

    // ---- metadata ---------------------------------------------------------------------
    [[nodiscard]] std::optional<std::string> meta_get(std::string_view key);
    void meta_set(std::string_view key, std::string_view value);

    // ---- lifetime ---------------------------------------------------------------------
    /// Stops the background thread, unlinks trash past its grace period and closes the
    /// database. Idempotent; any later call throws error("CLOSED").
    void close();
    [[nodiscard]] bool closed() const noexcept;
    [[nodiscard]] const std::filesystem::path& directory() const noexcept;

    /// Runs one round of the background work (access flush, expiry, eviction, trash,
    /// checkpoint) synchronously, on the background connection. For tests and tools.
    void run_maintenance();

    struct Impl;

private:
    template <class Rep, class Period>
    static double seconds(std::chrono::duration<Rep, Period> d)
    {
        return std::chrono::duration<double>(d).count();
    }
    std::unique_ptr<Impl> impl_;
};

using Cache = Store<CachePolicy>;
using Index = Store<IndexPolicy>;

extern template class Store<CachePolicy>;
extern template class Store<IndexPolicy>;

/// RAII transaction: rolls back unless commit() was called.
template <class S>
class Transaction
{
public:
    explicit Transaction(S& store) : store_(&store) { store_->begin(); }
    ~Transaction()
    {
        if (store_)
        {
            try
            {
                store_->rollback();
            }
            catch (...)
            {
            }
        }
    }
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    void commit()
    {
        auto* s = std::exchange(store_, nullptr);
        s->commit();
    }
    void rollback()
    {
        auto* s = std::exchange(store_, nullptr);
        s->rollback();
    }

private:
    S* store_;
};

} // namespace sciqlop_cache
