#pragma once
// Plain data exchanged with a store: open options, check() results, hit/miss statistics.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace sciqlop_cache
{

/// Values of at most this many bytes are stored in the database row; larger ones are files
/// next to it (SPEC §4).
inline constexpr std::size_t inline_value_max = 8192;

enum class Durability
{
    /// Committed entries survive the process being killed (WAL, synchronous=NORMAL).
    process,
    /// Committed entries also survive power loss: synchronous=FULL, and value files and their
    /// folders are fsynced before the row that points to them commits.
    power,
};

struct Options
{
    /// Limit on the stored value bytes (0 = unlimited). std::nullopt keeps what the store
    /// recorded (unlimited for a new store); a value is persisted when it differs. Cache only.
    std::optional<std::uint64_t> max_size {};
    Durability durability = Durability::process;
    /// How long a call waits for another process's write lock before failing with SQLITE_BUSY.
    std::chrono::milliseconds busy_timeout { 60'000 };
    /// Run the background thread (checkpoints, expiry, eviction, trash). Tests may disable it.
    bool background = true;
    /// How long a displaced value file stays on disk before it is unlinked, so that readers
    /// that already looked up its row can still read it.
    std::chrono::duration<double> trash_grace { 5.0 };
    /// Period of the background thread.
    std::chrono::milliseconds background_period { 1000 };
};

struct CheckResult
{
    bool ok = true;
    std::uint64_t orphaned_files = 0;
    std::uint64_t dangling_rows = 0;
    std::uint64_t size_mismatches = 0;
    bool counters_consistent = true;
    bool sqlite_integrity_ok = true;
};

struct Stats
{
    std::uint64_t hits = 0;
    std::uint64_t misses = 0;
};

/// Per-call options of set()/add(). `expire` is a time-to-live in seconds (> 0, finite);
/// `tag` groups entries for evict_tag(). Both are ignored by an Index.
struct SetOptions
{
    std::optional<double> expire {};
    std::optional<std::string_view> tag {};
};

} // namespace sciqlop_cache
