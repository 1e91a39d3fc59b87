#pragma once
// Thin RAII over the SQLite C API. Every failing call throws sciqlop_cache::error with the
// SQLite message and code: nothing is ever counted as done that failed.
#include "sciqlop_cache/error.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <sqlite3.h>
#include <deque>
#include <vector>

namespace sciqlop_cache::detail
{

[[noreturn]] void throw_sqlite(sqlite3* db, int rc, std::string_view context);
[[noreturn]] void throw_errno(int err, std::string_view context);

class Statement
{
public:
    Statement() = default;
    Statement(sqlite3* db, std::string_view sql);
    ~Statement();
    Statement(Statement&& o) noexcept;
    Statement& operator=(Statement&& o) noexcept;
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    void bind(int i, std::string_view text)
    {
        check(sqlite3_bind_text64(stmt_, i, text.data() ? text.data() : "", text.size(), SQLITE_STATIC, SQLITE_UTF8));
    }
    void bind_blob(int i, std::span<const std::byte> blob)
    {
        if (blob.empty())
            check(sqlite3_bind_zeroblob(stmt_, i, 0));
        else
            check(sqlite3_bind_blob64(stmt_, i, blob.data(), blob.size(), SQLITE_STATIC));
    }
    void bind(int i, double v) { check(sqlite3_bind_double(stmt_, i, v)); }
    void bind(int i, std::int64_t v) { check(sqlite3_bind_int64(stmt_, i, v)); }
    void bind_null(int i) { check(sqlite3_bind_null(stmt_, i)); }
    void bind(int i, std::optional<double> v) { v ? bind(i, *v) : bind_null(i); }
    void bind(int i, std::optional<std::string_view> v) { v ? bind(i, *v) : bind_null(i); }

    /// true when a row is available; false when done. Throws on error.
    bool step();
    /// Resets and clears bindings; never throws (the error was reported by step()).
    void reset() noexcept
    {
        sqlite3_reset(stmt_);
        sqlite3_clear_bindings(stmt_);
    }

    [[nodiscard]] bool is_null(int c) const { return sqlite3_column_type(stmt_, c) == SQLITE_NULL; }
    [[nodiscard]] std::int64_t int64(int c) const { return sqlite3_column_int64(stmt_, c); }
    [[nodiscard]] double real(int c) const { return sqlite3_column_double(stmt_, c); }
    [[nodiscard]] std::string_view text(int c) const
    {
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, c));
        return { p ? p : "", static_cast<std::size_t>(sqlite3_column_bytes(stmt_, c)) };
    }
    [[nodiscard]] std::span<const std::byte> blob(int c) const
    {
        const auto* p = static_cast<const std::byte*>(sqlite3_column_blob(stmt_, c));
        return { p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, c)) };
    }
    [[nodiscard]] sqlite3_stmt* handle() const noexcept { return stmt_; }

private:
    void check(int rc)
    {
        if (rc != SQLITE_OK)
            throw_sqlite(db_, rc, "bind");
    }
    sqlite3_stmt* stmt_ = nullptr;
    sqlite3* db_ = nullptr;
};

/// Resets a statement when leaving scope, releasing its read snapshot.
struct ResetOnExit
{
    Statement& s;
    ~ResetOnExit() { s.reset(); }
};

class Connection
{
public:
    Connection() = default;
    ~Connection();
    Connection(Connection&& o) noexcept;
    Connection& operator=(Connection&& o) noexcept;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    void open(const std::string& file);
    /// Takes ownership of a handle opened elsewhere (with other flags than open() uses).
    void adopt(sqlite3* db) noexcept
    {
        close();
        db_ = db;
    }
    void close() noexcept;
    [[nodiscard]] bool is_open() const noexcept { return db_ != nullptr; }
    [[nodiscard]] sqlite3* handle() const noexcept { return db_; }

    void exec(const char* sql);
    /// Returns the statement for `sql`, prepared once per connection. `sql` must be a string
    /// literal (the pointer is the cache key).
    Statement& cached(const char* sql);
    [[nodiscard]] std::int64_t changes() const { return sqlite3_changes64(db_); }
    /// Runs a query returning a single integer (0 when no row).
    std::int64_t scalar_int(const char* sql);

private:
    sqlite3* db_ = nullptr;
    std::deque<std::pair<const char*, Statement>> statements_; // deque: references stay valid
};

} // namespace sciqlop_cache::detail
