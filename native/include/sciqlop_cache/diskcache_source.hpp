#pragma once
// DiskcacheSource: the rows and value files of one Python `diskcache` directory (a Cache, an
// Index, or one shard folder of a FanoutCache), read directly from its SQLite database for
// migrating them into a sciqlop-cache store. Decoding (pickles, Python key types) is the
// caller's business: this class hands over what the database holds, unchanged.
//
// diskcache's schema (diskcache/core.py, 5.x): table Cache(rowid INTEGER PRIMARY KEY,
// key BLOB, raw INTEGER, store_time REAL, expire_time REAL, access_time REAL,
// access_count INTEGER, tag BLOB, size INTEGER, mode INTEGER, filename TEXT, value BLOB),
// value files at `filename` relative to the directory, and triggers that keep counters in
// table Settings. Those triggers are written with double-quoted string literals
// (`WHERE key = "count"`), which this library's SQLite (compiled with SQLITE_DQS=0)
// rejects: the source's own connection re-enables them for itself
// (SQLITE_DBCONFIG_DQS_DML/_DDL). The source schema is never rewritten.
#include "buffer.hpp"
#include "store.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sciqlop_cache
{

/// A column value as SQLite holds it: diskcache keys, tags and inline values may be of any
/// SQLite type (a Python int is INTEGER, a float REAL, a str TEXT, bytes or a pickle BLOB).
struct SqlValue
{
    enum class Type
    {
        null,
        integer,
        real,
        text,
        blob,
    };
    Type type = Type::null;
    std::int64_t integer = 0;
    double real = 0.0;
    /// UTF-8 for text, the bytes for a blob.
    std::string bytes;
};

/// diskcache's storage modes (MODE_* in diskcache/core.py).
enum class DiskcacheMode : int
{
    none = 0,
    /// The value is in the row: an int, float, short str or short bytes.
    raw = 1,
    /// Bytes in a value file.
    binary = 2,
    /// A str in a value file (UTF-8).
    text = 3,
    /// A pickle, in the row or in a value file.
    pickle = 4,
};

/// One row of diskcache's Cache table.
struct DiskcacheRow
{
    std::int64_t rowid = 0;
    SqlValue key;
    /// false: `key` is a pickle of the Python key (anything but str, bytes, int and float).
    bool raw = true;
    std::optional<double> store_time;
    /// Absolute Unix time in seconds; std::nullopt: never expires.
    std::optional<double> expire_time;
    SqlValue tag;
    int mode = 0;
    /// The value file, relative to the directory, when the value is not in the row.
    std::optional<std::string> filename;
    SqlValue value;
    /// Bytes of the value file (0 for values in the row).
    std::int64_t size = 0;
};

/// Reads one diskcache directory. Not thread-safe: use it from one thread at a time.
/// Errors are sciqlop_cache::error with code ENOENT (no cache.db, or a missing value file),
/// NOT_A_DISKCACHE (a database without diskcache's Cache table), CORRUPT (a damaged
/// database, or a value file whose path is unsafe or whose size does not match its row),
/// READ_ONLY (remove() on a source not opened writable), CLOSED, or SQLite's and the OS's
/// own codes.
class DiskcacheSource
{
public:
    static constexpr const char* database_name = "cache.db";

    /// Opens `directory`/cache.db with a connection of its own. Nothing is written unless
    /// `writable` (which remove() needs); the connection itself is read-write all the same,
    /// so that closing it removes the -wal and -shm files a read-only one would leave behind.
    /// Waits up to `busy_timeout_ms` for a diskcache process holding the database.
    explicit DiskcacheSource(const std::filesystem::path& directory, bool writable = false,
                             int busy_timeout_ms = 60'000);
    ~DiskcacheSource();
    DiskcacheSource(const DiskcacheSource&) = delete;
    DiskcacheSource& operator=(const DiskcacheSource&) = delete;
    DiskcacheSource(DiskcacheSource&&) noexcept;
    DiskcacheSource& operator=(DiskcacheSource&&) noexcept;

    /// Rows in the Cache table (expired ones included).
    [[nodiscard]] std::uint64_t count();

    /// The next rows, at most `max_rows`; empty at the end. Every row comes once: first those
    /// whose key is not a str, then the str keys, each in rowid order (so a migration can
    /// check the str() of the former against the str keys, all still present even when it
    /// removes rows as it goes). No read transaction is held between calls.
    [[nodiscard]] std::vector<DiskcacheRow> next_batch(std::size_t max_rows);

    /// Reads the value file `filename` (relative to the directory, as in the row) of `size`
    /// bytes into `sink`. A path that is absolute, has a ".." component or goes through a
    /// symbolic link is never followed (CORRUPT); a missing file is ENOENT.
    void read_file(std::string_view filename, std::uint64_t size, const ByteSink& sink) const;
    [[nodiscard]] Buffer read_file(std::string_view filename, std::uint64_t size) const;

    /// Deletes the row `rowid` if its store_time is still `store_time` (diskcache has not
    /// replaced the entry since it was read), then its value file. true if it was deleted.
    bool remove(std::int64_t rowid, std::optional<double> store_time);

    /// true when the table holds `key` as a str key (TEXT, raw = 1).
    [[nodiscard]] bool has_text_key(std::string_view key);

    /// Closes the database. Idempotent; later calls throw error("CLOSED").
    void close() noexcept;
    [[nodiscard]] bool closed() const noexcept;
    [[nodiscard]] const std::filesystem::path& directory() const noexcept;

    struct Impl;

private:
    std::vector<DiskcacheRow> read_batch(std::size_t max_rows);
    std::unique_ptr<Impl> impl_;
};

} // namespace sciqlop_cache
