#pragma once
// Fanout<Store>: N independent shards in subfolders "00", "01", ...; a key goes to shard
// fnv1a64(key) % N. The shard count and hash are recorded in fanout.json at the root.
#include "hash.hpp"
#include "store.hpp"

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sciqlop_cache
{

namespace detail
{
    /// Reads fanout.json (creating it with `requested` or 8 shards when absent) and returns
    /// the shard count. Throws SHARD_COUNT_MISMATCH when `requested` differs from the record.
    std::size_t open_fanout_manifest(const std::filesystem::path& directory, std::optional<std::size_t> requested);
    /// Shard folder name: the index zero-padded to two digits ("05", "100").
    std::string shard_folder_name(std::size_t index);
}

template <class S>
class Fanout
{
public:
    using store_type = S;
    using policy = typename S::policy;
    static constexpr std::size_t default_shard_count = 8;

    /// `shard_count` std::nullopt: the recorded count, or 8 for a new directory.
    /// `options.max_size` is the total over all shards.
    explicit Fanout(const std::filesystem::path& directory, std::optional<std::size_t> shard_count = std::nullopt,
                    Options options = {})
            : directory_(directory)
    {
        const auto n = detail::open_fanout_manifest(directory, shard_count);
        if (options.max_size && *options.max_size)
            options.max_size = std::max<std::uint64_t>(1, *options.max_size / n);
        shards_.reserve(n);
        for (std::size_t i = 0; i < n; ++i)
            shards_.push_back(std::make_unique<S>(directory / detail::shard_folder_name(i), options));
    }
    /// Seed-compatible forms: FanoutCache(".fc/", 8, 0) and FanoutIndex(".fi/", 8).
    Fanout(const std::filesystem::path& directory, std::size_t shard_count, std::uint64_t max_size)
        requires policy::eviction
            : Fanout(directory, shard_count, Options { .max_size = max_size })
    {
    }

    [[nodiscard]] std::size_t shard_count() const noexcept { return shards_.size(); }
    [[nodiscard]] std::size_t shard_index(std::string_view key) const noexcept
    {
        return static_cast<std::size_t>(fnv1a64(key) % shards_.size());
    }
    [[nodiscard]] S& shard_for(std::string_view key) { return *shards_[shard_index(key)]; }
    [[nodiscard]] S& shard(std::size_t index) { return *shards_.at(index); }
    [[nodiscard]] const std::filesystem::path& directory() const noexcept { return directory_; }

    void set_bytes(std::string_view key, std::span<const std::byte> value, const SetOptions& o = {})
    {
        shard_for(key).set_bytes(key, value, o);
    }
    bool add_bytes(std::string_view key, std::span<const std::byte> value, const SetOptions& o = {})
    {
        return shard_for(key).add_bytes(key, value, o);
    }
    bool update_bytes(std::string_view key, std::span<const std::byte> value)
    {
        return shard_for(key).update_bytes(key, value);
    }
    /// Store::set_many on each shard concerned: all or none per shard, shard after shard.
    void set_many(std::span<const Entry> entries)
    {
        if (shards_.size() == 1)
            return shards_.front()->set_many(entries);
        std::vector<std::vector<Entry>> per_shard(shards_.size());
        for (const auto& e : entries)
            per_shard[shard_index(e.key)].push_back(e);
        for (std::size_t i = 0; i < shards_.size(); ++i)
        {
            if (!per_shard[i].empty())
                shards_[i]->set_many(per_shard[i]);
        }
    }
    template <class... A>
    void set(std::string_view key, A&&... a)
    {
        shard_for(key).set(key, std::forward<A>(a)...);
    }
    template <ByteRange V>
    bool add(std::string_view key, const V& value, const SetOptions& o = {})
    {
        return shard_for(key).add(key, value, o);
    }
    [[nodiscard]] std::optional<Buffer> get(std::string_view key) { return shard_for(key).get(key); }
    bool get_into(std::string_view key, const ByteSink& sink) { return shard_for(key).get_into(key, sink); }
    bool peek_into(std::string_view key, const ByteSink& sink) { return shard_for(key).peek_into(key, sink); }
    [[nodiscard]] std::optional<Buffer> pop(std::string_view key) { return shard_for(key).pop(key); }
    bool pop_into(std::string_view key, const ByteSink& sink) { return shard_for(key).pop_into(key, sink); }
    [[nodiscard]] bool exists(std::string_view key) { return shard_for(key).exists(key); }
    bool del(std::string_view key) { return shard_for(key).del(key); }
    template <class T>
    bool touch(std::string_view key, T expire)
        requires policy::expiration
    {
        return shard_for(key).touch(key, expire);
    }
    std::int64_t incr(std::string_view key, std::int64_t delta = 1, std::int64_t default_value = 0)
    {
        return shard_for(key).incr(key, delta, default_value);
    }
    std::int64_t decr(std::string_view key, std::int64_t delta = 1, std::int64_t default_value = 0)
    {
        return shard_for(key).decr(key, delta, default_value);
    }
    template <class F>
    decltype(auto) transact(std::string_view key, F&& f)
    {
        return shard_for(key).transact(std::forward<F>(f));
    }

    void clear() { for_each([](S& s) { s.clear(); }); }
    [[nodiscard]] std::vector<std::string> keys()
    {
        return merged([](S& s) { return s.keys(); });
    }
    [[nodiscard]] std::vector<std::string> keys_with_tag(std::string_view tag)
        requires policy::tags
    {
        return merged([&](S& s) { return s.keys_with_tag(tag); });
    }
    [[nodiscard]] std::uint64_t count() { return sum([](S& s) { return s.count(); }); }
    [[nodiscard]] std::uint64_t size() { return sum([](S& s) { return s.size(); }); }
    [[nodiscard]] std::uint64_t volume()
    {
        std::error_code ec;
        const auto manifest = std::filesystem::file_size(directory_ / "fanout.json", ec);
        return sum([](S& s) { return s.volume(); }) + (ec ? 0 : manifest);
    }
    [[nodiscard]] std::uint64_t wal_size() { return sum([](S& s) { return s.wal_size(); }); }
    std::uint64_t expire()
        requires policy::expiration
    {
        return sum([](S& s) { return s.expire(); });
    }
    std::uint64_t evict()
        requires policy::eviction
    {
        return sum([](S& s) { return s.evict(); });
    }
    std::uint64_t evict_tag(std::string_view tag)
        requires policy::tags
    {
        return sum([&](S& s) { return s.evict_tag(tag); });
    }
    [[nodiscard]] std::uint64_t max_size()
        requires policy::eviction
    {
        return sum([](S& s) { return s.max_size(); });
    }
    void set_max_size(std::uint64_t total)
        requires policy::eviction
    {
        const auto per_shard = total ? std::max<std::uint64_t>(1, total / shards_.size()) : 0;
        for_each([&](S& s) { s.set_max_size(per_shard); });
    }
    [[nodiscard]] Stats stats()
        requires policy::stats
    {
        Stats total;
        for_each(
            [&](S& s)
            {
                const auto st = s.stats();
                total.hits += st.hits;
                total.misses += st.misses;
            });
        return total;
    }
    void reset_stats()
        requires policy::stats
    {
        for_each([](S& s) { s.reset_stats(); });
    }
    CheckResult check(bool fix = false)
    {
        CheckResult total;
        for_each(
            [&](S& s)
            {
                const auto r = s.check(fix);
                total.ok = total.ok && r.ok;
                total.orphaned_files += r.orphaned_files;
                total.dangling_rows += r.dangling_rows;
                total.size_mismatches += r.size_mismatches;
                total.counters_consistent = total.counters_consistent && r.counters_consistent;
                total.sqlite_integrity_ok = total.sqlite_integrity_ok && r.sqlite_integrity_ok;
            });
        return total;
    }
    [[nodiscard]] std::optional<std::string> meta_get(std::string_view key) { return shards_.front()->meta_get(key); }
    void meta_set(std::string_view key, std::string_view value)
    {
        for_each([&](S& s) { s.meta_set(key, value); });
    }
    void run_maintenance()
    {
        for_each([](S& s) { s.run_maintenance(); });
    }
    void close()
    {
        for_each([](S& s) { s.close(); });
    }
    [[nodiscard]] bool closed() const noexcept { return shards_.empty() || shards_.front()->closed(); }

private:
    template <class F>
    void for_each(F&& f)
    {
        for (auto& s : shards_)
            f(*s);
    }
    template <class F>
    std::uint64_t sum(F&& f)
    {
        std::uint64_t total = 0;
        for (auto& s : shards_)
            total += f(*s);
        return total;
    }
    template <class F>
    std::vector<std::string> merged(F&& f)
    {
        std::vector<std::string> all;
        for (auto& s : shards_)
        {
            auto part = f(*s);
            const auto mid = all.size();
            all.insert(all.end(), std::make_move_iterator(part.begin()), std::make_move_iterator(part.end()));
            std::inplace_merge(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(mid), all.end());
        }
        return all;
    }

    std::filesystem::path directory_;
    std::vector<std::unique_ptr<S>> shards_;
};

using FanoutCache = Fanout<Cache>;
using FanoutIndex = Fanout<Index>;

} // namespace sciqlop_cache
