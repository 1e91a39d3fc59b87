#include "sqlite.hpp"
#include "wal_vfs.hpp"
#include "sciqlop_cache/sciqlop_cache.hpp"

#include <cstring>
#include <utility>

namespace sciqlop_cache::detail
{

void throw_sqlite(sqlite3* db, int rc, std::string_view context)
{
    const int extended = db ? sqlite3_extended_errcode(db) : rc;
    const int code = (extended & 0xff) == (rc & 0xff) ? extended : rc;
    std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    if (message.empty() || message == "not an error")
        message = sqlite3_errstr(rc);
    throw error(sqlite_code_name(rc), std::string(context) + ": " + message, code);
}

void throw_errno(int err, std::string_view context)
{
    throw error(errno_name(err), std::string(context) + ": " + std::strerror(err), 0, err);
}

Statement::Statement(sqlite3* db, std::string_view sql) : db_(db)
{
    const int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt_,
                                      nullptr);
    if (rc != SQLITE_OK)
        throw_sqlite(db, rc, "prepare");
}

Statement::~Statement()
{
    sqlite3_finalize(stmt_);
}

Statement::Statement(Statement&& o) noexcept
        : stmt_(std::exchange(o.stmt_, nullptr)), db_(std::exchange(o.db_, nullptr))
{
}

Statement& Statement::operator=(Statement&& o) noexcept
{
    if (this != &o)
    {
        sqlite3_finalize(stmt_);
        stmt_ = std::exchange(o.stmt_, nullptr);
        db_ = std::exchange(o.db_, nullptr);
    }
    return *this;
}

bool Statement::step()
{
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW)
        return true;
    if (rc == SQLITE_DONE)
        return false;
    // Fetch the message before reset() clears it.
    const int extended = sqlite3_extended_errcode(db_);
    std::string message = sqlite3_errmsg(db_);
    sqlite3_reset(stmt_);
    throw error(sqlite_code_name(rc), message, extended);
}

Connection::~Connection()
{
    close();
}

Connection::Connection(Connection&& o) noexcept
        : db_(std::exchange(o.db_, nullptr)), statements_(std::move(o.statements_))
{
}

Connection& Connection::operator=(Connection&& o) noexcept
{
    if (this != &o)
    {
        close();
        db_ = std::exchange(o.db_, nullptr);
        statements_ = std::move(o.statements_);
    }
    return *this;
}

void Connection::open(const std::string& file)
{
    close();
    const int rc = sqlite3_open_v2(file.c_str(), &db_,
                                   SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
                                       | SQLITE_OPEN_EXRESCODE,
                                   wal_frame_vfs());
    if (rc != SQLITE_OK)
    {
        std::string message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
        const int extended = db_ ? sqlite3_extended_errcode(db_) : rc;
        sqlite3_close_v2(db_);
        db_ = nullptr;
        throw error(sqlite_code_name(rc), "cannot open " + file + ": " + message, extended);
    }
    sqlite3_extended_result_codes(db_, 1);
}

void Connection::close() noexcept
{
    statements_.clear();
    if (db_)
    {
        sqlite3_close_v2(db_);
        db_ = nullptr;
    }
}

void Connection::exec(const char* sql)
{
    char* err = nullptr;
    const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
    if (rc != SQLITE_OK)
    {
        std::string message = err ? err : sqlite3_errstr(rc);
        sqlite3_free(err);
        throw error(sqlite_code_name(rc), message, sqlite3_extended_errcode(db_));
    }
}

Statement& Connection::cached(const char* sql)
{
    for (auto& [key, stmt] : statements_)
        if (key == sql)
            return stmt;
    statements_.emplace_back(sql, Statement(db_, sql));
    return statements_.back().second;
}

std::int64_t Connection::scalar_int(const char* sql)
{
    auto& s = cached(sql);
    ResetOnExit r { s };
    return s.step() ? s.int64(0) : 0;
}

} // namespace sciqlop_cache::detail

const char* sciqlop_cache::sqlite_version() noexcept
{
    return sqlite3_libversion();
}
