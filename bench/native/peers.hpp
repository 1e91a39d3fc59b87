#pragma once
// The two peers the benchmark compares, behind the same small interface (no virtual calls:
// every phase is a template over the peer type):
//  - EnginePeer: sciqlop_cache::Cache with default Options (or a size limit);
//  - RawSqlitePeer: the baseline of the issue, a WITHOUT ROWID table in WAL mode with
//    synchronous=NORMAL, prepared INSERT OR REPLACE / SELECT / DELETE, one autocommit
//    statement per operation, the value copied out into a std::vector on get.
// Both use the very same SQLite build: the engine's static archive carries the vendored
// amalgamation, and the baseline calls into it through sqlite3.h (see CMakeLists.txt).
#include <sciqlop_cache/sciqlop_cache.hpp>
#include <sqlite3.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace bench
{

class EnginePeer
{
public:
    static constexpr const char* name = "engine";

    explicit EnginePeer(const std::filesystem::path& dir, sciqlop_cache::Options options = {})
            : dir_(dir), cache_((std::filesystem::create_directories(dir), dir), options)
    {
    }

    void set(std::string_view key, std::span<const std::byte> value) { cache_.set_bytes(key, value); }
    /// Size of the value read, or std::nullopt on a miss.
    std::optional<std::size_t> get(std::string_view key)
    {
        auto value = cache_.get(key);
        if (!value)
            return std::nullopt;
        return value->size();
    }
    bool del(std::string_view key) { return cache_.del(key); }
    void begin() { cache_.begin(); }
    void commit() { cache_.commit(); }
    std::uint64_t wal_size() { return cache_.wal_size(); }
    sciqlop_cache::Cache& cache() { return cache_; }
    const std::filesystem::path& dir() const { return dir_; }

private:
    std::filesystem::path dir_;
    sciqlop_cache::Cache cache_;
};

class RawSqlitePeer
{
public:
    static constexpr const char* name = "raw SQLite";

    explicit RawSqlitePeer(const std::filesystem::path& dir) : dir_(dir)
    {
        std::filesystem::create_directories(dir);
        const auto file = (dir / "kv.db").string();
        check(sqlite3_open_v2(file.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr), "open");
        exec("PRAGMA journal_mode=WAL");
        exec("PRAGMA synchronous=NORMAL");
        exec("CREATE TABLE IF NOT EXISTS kv(key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID");
        set_ = prepare("INSERT OR REPLACE INTO kv(key, value) VALUES(?1, ?2)");
        get_ = prepare("SELECT value FROM kv WHERE key = ?1");
        del_ = prepare("DELETE FROM kv WHERE key = ?1");
        begin_ = prepare("BEGIN IMMEDIATE");
        commit_ = prepare("COMMIT");
    }
    ~RawSqlitePeer()
    {
        for (auto* s : { set_, get_, del_, begin_, commit_ })
            sqlite3_finalize(s);
        sqlite3_close_v2(db_);
    }
    RawSqlitePeer(const RawSqlitePeer&) = delete;
    RawSqlitePeer& operator=(const RawSqlitePeer&) = delete;

    void set(std::string_view key, std::span<const std::byte> value)
    {
        bind_key(set_, key);
        check(sqlite3_bind_blob64(set_, 2, value.data(), value.size(), SQLITE_STATIC), "bind");
        step_done(set_);
    }
    std::optional<std::size_t> get(std::string_view key)
    {
        bind_key(get_, key);
        const int rc = sqlite3_step(get_);
        if (rc == SQLITE_DONE)
        {
            sqlite3_reset(get_);
            return std::nullopt;
        }
        if (rc != SQLITE_ROW)
            fail(rc, "get");
        const auto* p = static_cast<const std::byte*>(sqlite3_column_blob(get_, 0));
        const auto n = static_cast<std::size_t>(sqlite3_column_bytes(get_, 0));
        std::vector<std::byte> out;
        out.assign(p, p + n);
        sqlite3_reset(get_);
        return out.size();
    }
    bool del(std::string_view key)
    {
        bind_key(del_, key);
        step_done(del_);
        return sqlite3_changes(db_) > 0;
    }
    void begin() { step_done(begin_); }
    void commit() { step_done(commit_); }
    std::uint64_t wal_size() const
    {
        std::error_code ec;
        const auto n = std::filesystem::file_size(dir_ / "kv.db-wal", ec);
        return ec ? 0 : n;
    }
    const std::filesystem::path& dir() const { return dir_; }

private:
    void bind_key(sqlite3_stmt* s, std::string_view key)
    {
        check(sqlite3_bind_text64(s, 1, key.data(), key.size(), SQLITE_STATIC, SQLITE_UTF8), "bind");
    }
    void step_done(sqlite3_stmt* s)
    {
        const int rc = sqlite3_step(s);
        sqlite3_reset(s);
        if (rc != SQLITE_DONE)
            fail(rc, "step");
    }
    void exec(const char* sql) { check(sqlite3_exec(db_, sql, nullptr, nullptr, nullptr), sql); }
    sqlite3_stmt* prepare(const char* sql)
    {
        sqlite3_stmt* s = nullptr;
        check(sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr), sql);
        return s;
    }
    void check(int rc, const char* what)
    {
        if (rc != SQLITE_OK)
            fail(rc, what);
    }
    [[noreturn]] void fail(int rc, const char* what)
    {
        throw std::runtime_error(std::string("raw SQLite ") + what + ": " + sqlite3_errstr(rc) + ": "
                                 + (db_ ? sqlite3_errmsg(db_) : ""));
    }

    std::filesystem::path dir_;
    sqlite3* db_ = nullptr;
    sqlite3_stmt* set_ = nullptr;
    sqlite3_stmt* get_ = nullptr;
    sqlite3_stmt* del_ = nullptr;
    sqlite3_stmt* begin_ = nullptr;
    sqlite3_stmt* commit_ = nullptr;
};

} // namespace bench
