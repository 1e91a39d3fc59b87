#pragma once
// The on-disk schema (SPEC §4), per store type. Columns and indexes may be added with
// defaults, never renamed: pysciqlop-cache 0.1.x reads and writes the same tables.
#include <cstddef>
#include <string>

namespace sciqlop_cache::detail
{

inline constexpr const char* format_version = "1";

template <bool IsCache>
struct Schema;

template <>
struct Schema<true>
{
    static constexpr const char* create = R"sql(
CREATE TABLE IF NOT EXISTS cache (
    key TEXT PRIMARY KEY NOT NULL,
    path TEXT DEFAULT NULL,
    value BLOB DEFAULT NULL,
    size INT NOT NULL DEFAULT 0,
    expire REAL DEFAULT NULL,
    last_update REAL NOT NULL DEFAULT 0,
    last_use REAL NOT NULL DEFAULT 0,
    access_count_since_last_update INT NOT NULL DEFAULT 0,
    tag TEXT DEFAULT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idx_cache_tag ON cache(tag) WHERE tag IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_cache_expire ON cache(expire) WHERE expire IS NOT NULL;
)sql";

    // last_use is indexed only once a size limit exists, so unbounded caches don't pay for it.
    static constexpr const char* create_lru_index = "CREATE INDEX IF NOT EXISTS idx_cache_last_use ON cache(last_use)";

#define SCIQLOP_CACHE_UPSERT_HEAD                                                                              \
    "INSERT INTO cache(key, path, value, size, expire, last_update, last_use, access_count_since_last_update, tag) " \
    "VALUES "
#define SCIQLOP_CACHE_UPSERT_TAIL                                                                              \
    " ON CONFLICT(key) DO UPDATE SET path = excluded.path, value = excluded.value, size = excluded.size, "      \
    "expire = excluded.expire, last_update = excluded.last_update, last_use = excluded.last_use, "            \
    "access_count_since_last_update = 0, tag = excluded.tag WHERE sciqlop_replaced(1, cache.size, cache.path)"
    static constexpr const char* upsert
        = SCIQLOP_CACHE_UPSERT_HEAD "(?1, ?2, ?3, ?4, ?5, ?6, ?6, 0, ?7)" SCIQLOP_CACHE_UPSERT_TAIL;

    // An inline value replacing an inline value of the same size changes no counter and
    // displaces no file: on its own, this statement is the whole set (binds like upsert).
    static constexpr const char* overwrite_same_size
        = "UPDATE cache SET value = ?3, expire = ?5, last_update = ?6, last_use = ?6, "
          "access_count_since_last_update = 0, tag = ?7 WHERE key = ?1 AND size = ?4 AND path IS NULL";
    // The same for the commonest case, an entry with no expiry and no tag replacing one with
    // neither: no indexed column is written, so SQLite maintains no index. ?5 and ?7 are still
    // there (tested to be NULL), so that the entry binds as for upsert.
    static constexpr const char* overwrite_same_size_plain
        = "UPDATE cache SET value = ?3, last_update = ?6, last_use = ?6, access_count_since_last_update = 0 "
          "WHERE key = ?1 AND size = ?4 AND path IS NULL AND expire IS NULL AND tag IS NULL "
          "AND ?5 IS NULL AND ?7 IS NULL";

    /// upsert for `rows` entries in one statement (set_many); row r binds ?(7r+1) ... ?(7r+7)
    /// like upsert binds ?1 ... ?7.
    static constexpr int params_per_row = 7;
    static std::string upsert_rows(std::size_t rows)
    {
        std::string sql = SCIQLOP_CACHE_UPSERT_HEAD;
        for (std::size_t r = 0; r < rows; ++r)
        {
            const auto p = [&](int i) { return "?" + std::to_string(r * params_per_row + i); };
            sql += (r ? ", (" : "(") + p(1) + ", " + p(2) + ", " + p(3) + ", " + p(4) + ", " + p(5) + ", " + p(6)
                + ", " + p(6) + ", 0, " + p(7) + ")";
        }
        return sql + SCIQLOP_CACHE_UPSERT_TAIL;
    }
#undef SCIQLOP_CACHE_UPSERT_HEAD
#undef SCIQLOP_CACHE_UPSERT_TAIL

    // Stores only when absent or expired (?6 is the current time).
    static constexpr const char* add = R"sql(
INSERT INTO cache(key, path, value, size, expire, last_update, last_use, access_count_since_last_update, tag)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, 0, ?7)
ON CONFLICT(key) DO UPDATE SET path = excluded.path, value = excluded.value, size = excluded.size,
    expire = excluded.expire, last_update = excluded.last_update, last_use = excluded.last_use,
    access_count_since_last_update = 0, tag = excluded.tag
WHERE sciqlop_replaced(cache.expire IS NOT NULL AND cache.expire <= excluded.last_update, cache.size, cache.path))sql";

    // Replaces the value of a live entry, keeping its expiry and tag (?5 is the current time).
    static constexpr const char* update
        = "UPDATE cache SET path = ?2, value = ?3, size = ?4, last_update = ?5 "
          "WHERE key = ?1 AND sciqlop_replaced(expire IS NULL OR expire > ?5, size, path)";
    static constexpr const char* get = "SELECT value, path, size, expire FROM cache WHERE key = ?1";
    // A live entry is deleted by the first statement; an expired one is removed by the second,
    // run only when the first deleted nothing, and reported as absent. The second must test
    // the expiry again: the two statements are separate transactions, and another process
    // may set the key between them (an unconditional delete lost that write).
    static constexpr const char* del
        = "DELETE FROM cache WHERE key = ?1 AND sciqlop_replaced(expire IS NULL OR expire > ?2, size, path)";
    static constexpr const char* del_expired
        = "DELETE FROM cache WHERE key = ?1 AND sciqlop_replaced(expire <= ?2, size, path)";
    static constexpr const char* keys
        = "SELECT key FROM cache WHERE expire IS NULL OR expire > ?1 ORDER BY key";
};

template <>
struct Schema<false>
{
    static constexpr const char* create = R"sql(
CREATE TABLE IF NOT EXISTS cache (
    key TEXT PRIMARY KEY NOT NULL,
    path TEXT DEFAULT NULL,
    value BLOB DEFAULT NULL,
    size INT NOT NULL DEFAULT 0
) WITHOUT ROWID;
)sql";

#define SCIQLOP_CACHE_UPSERT_HEAD "INSERT INTO cache(key, path, value, size) VALUES "
#define SCIQLOP_CACHE_UPSERT_TAIL                                                                              \
    " ON CONFLICT(key) DO UPDATE SET path = excluded.path, value = excluded.value, size = excluded.size "          \
    "WHERE sciqlop_replaced(1, cache.size, cache.path)"
    static constexpr const char* upsert = SCIQLOP_CACHE_UPSERT_HEAD "(?1, ?2, ?3, ?4)" SCIQLOP_CACHE_UPSERT_TAIL;
    static constexpr const char* overwrite_same_size
        = "UPDATE cache SET value = ?3 WHERE key = ?1 AND size = ?4 AND path IS NULL";
    static constexpr const char* overwrite_same_size_plain = overwrite_same_size;

    static constexpr int params_per_row = 4;
    static std::string upsert_rows(std::size_t rows)
    {
        std::string sql = SCIQLOP_CACHE_UPSERT_HEAD;
        for (std::size_t r = 0; r < rows; ++r)
        {
            const auto p = [&](int i) { return "?" + std::to_string(r * params_per_row + i); };
            sql += (r ? ", (" : "(") + p(1) + ", " + p(2) + ", " + p(3) + ", " + p(4) + ")";
        }
        return sql + SCIQLOP_CACHE_UPSERT_TAIL;
    }
#undef SCIQLOP_CACHE_UPSERT_HEAD
#undef SCIQLOP_CACHE_UPSERT_TAIL

    static constexpr const char* add
        = "INSERT INTO cache(key, path, value, size) VALUES (?1, ?2, ?3, ?4) ON CONFLICT(key) DO NOTHING";

    static constexpr const char* update
        = "UPDATE cache SET path = ?2, value = ?3, size = ?4 WHERE key = ?1 AND sciqlop_replaced(1, size, path)";
    static constexpr const char* get = "SELECT value, path, size FROM cache WHERE key = ?1";
    static constexpr const char* del = "DELETE FROM cache WHERE key = ?1 AND sciqlop_replaced(1, size, path)";
    static constexpr const char* keys = "SELECT key FROM cache ORDER BY key";
};

// Shared by both store types: metadata, the trash of displaced value files and the
// entry/byte counters. The triggers keep the counters and the trash exact for any other
// writer of the file (pysciqlop-cache, the sqlite3 shell). This engine's own connections
// run with triggers off and keep both in C++ (Ledger in store.cpp), in the same
// transaction as the row change: a trigger costs every write a sub-program and, inside a
// transaction, a statement journal (a third of a batched set's work).
//
// The writes of this engine that replace or delete rows report each such row through
// sciqlop_replaced(condition, old size, old path), a function registered on its
// connections only: it returns `condition` and, when true, records the old row. It is the
// statement's only filter besides the key or index lookup (DELETE ... RETURNING would do,
// but costs an ephemeral table per statement).
inline constexpr const char* common_schema = R"sql(
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value);
CREATE TABLE IF NOT EXISTS trash (path TEXT NOT NULL, ts REAL NOT NULL);
CREATE TABLE IF NOT EXISTS counters (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    count INTEGER NOT NULL DEFAULT 0,
    bytes INTEGER NOT NULL DEFAULT 0,
    file_bytes INTEGER NOT NULL DEFAULT 0
);
INSERT OR IGNORE INTO counters(id, count, bytes, file_bytes)
    SELECT 0, count(*), coalesce(sum(size), 0), coalesce(sum(CASE WHEN path IS NOT NULL THEN size END), 0) FROM cache;
CREATE TRIGGER IF NOT EXISTS cache_count_insert AFTER INSERT ON cache BEGIN
    UPDATE counters SET count = count + 1, bytes = bytes + NEW.size,
        file_bytes = file_bytes + iif(NEW.path IS NULL, 0, NEW.size) WHERE id = 0;
END;
CREATE TRIGGER IF NOT EXISTS cache_count_delete AFTER DELETE ON cache BEGIN
    UPDATE counters SET count = count - 1, bytes = bytes - OLD.size,
        file_bytes = file_bytes - iif(OLD.path IS NULL, 0, OLD.size) WHERE id = 0;
END;
CREATE TRIGGER IF NOT EXISTS cache_trash_delete AFTER DELETE ON cache WHEN OLD.path IS NOT NULL BEGIN
    INSERT INTO trash(path, ts) VALUES (OLD.path, unixepoch('subsec'));
END;
-- An overwrite with a value of the same size and storage writes no counters page.
CREATE TRIGGER IF NOT EXISTS cache_count_update AFTER UPDATE OF size, path ON cache
WHEN OLD.size IS NOT NEW.size OR (OLD.path IS NULL) IS NOT (NEW.path IS NULL) BEGIN
    UPDATE counters SET bytes = bytes - OLD.size + NEW.size,
        file_bytes = file_bytes - iif(OLD.path IS NULL, 0, OLD.size) + iif(NEW.path IS NULL, 0, NEW.size) WHERE id = 0;
END;
CREATE TRIGGER IF NOT EXISTS cache_trash_update AFTER UPDATE OF path ON cache
WHEN OLD.path IS NOT NULL AND OLD.path IS NOT NEW.path BEGIN
    INSERT INTO trash(path, ts) VALUES (OLD.path, unixepoch('subsec'));
END;
)sql";

} // namespace sciqlop_cache::detail
