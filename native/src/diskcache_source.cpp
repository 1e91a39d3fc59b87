#include "sciqlop_cache/diskcache_source.hpp"

#include "sqlite.hpp"
#include "value_files.hpp"

#include <algorithm>
#include <climits>
#include <cerrno>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

namespace sciqlop_cache
{

namespace
{
    // Two passes in rowid order: rows whose key is not a str first, then the str keys.
    constexpr const char* select_batch_sql[2] = {
        "SELECT rowid, key, raw, store_time, expire_time, tag, mode, filename, value, size FROM Cache"
        " WHERE rowid > ?1 AND NOT (coalesce(raw, 0) = 1 AND typeof(key) = 'text') ORDER BY rowid LIMIT ?2",
        "SELECT rowid, key, raw, store_time, expire_time, tag, mode, filename, value, size FROM Cache"
        " WHERE rowid > ?1 AND coalesce(raw, 0) = 1 AND typeof(key) = 'text' ORDER BY rowid LIMIT ?2",
    };
    constexpr const char* count_sql = "SELECT COUNT(*) FROM Cache";
    // RETURNING gives the file of exactly the row deleted; the store_time guard leaves an
    // entry alone that diskcache replaced after we read it.
    constexpr const char* remove_sql = "DELETE FROM Cache WHERE rowid = ?1 AND store_time IS ?2 RETURNING filename";
    constexpr const char* has_text_key_sql
        = "SELECT 1 FROM Cache WHERE key = ?1 AND raw = 1 AND typeof(key) = 'text' LIMIT 1";

    SqlValue column_value(const detail::Statement& s, int c)
    {
        SqlValue v;
        switch (sqlite3_column_type(s.handle(), c))
        {
            case SQLITE_INTEGER:
                v.type = SqlValue::Type::integer;
                v.integer = s.int64(c);
                break;
            case SQLITE_FLOAT:
                v.type = SqlValue::Type::real;
                v.real = s.real(c);
                break;
            case SQLITE_TEXT:
                v.type = SqlValue::Type::text;
                v.bytes = std::string(s.text(c));
                break;
            case SQLITE_BLOB:
            {
                v.type = SqlValue::Type::blob;
                const auto blob = s.blob(c);
                v.bytes.assign(reinterpret_cast<const char*>(blob.data()), blob.size());
                break;
            }
            default:
                break;
        }
        return v;
    }

    std::optional<double> optional_real(const detail::Statement& s, int c)
    {
        if (s.is_null(c))
            return std::nullopt;
        return s.real(c);
    }

    /// diskcache builds file names with os.path.join: a cache written on Windows has backslashes.
    std::string portable_filename(std::string_view filename)
    {
        std::string out(filename);
        std::replace(out.begin(), out.end(), '\\', '/');
        return out;
    }
}

struct DiskcacheSource::Impl
{
    std::filesystem::path directory;
    detail::ValueFiles files;
    detail::Connection db;
    bool writable = false;
    int pass = 0;
    std::int64_t cursor = 0;

    detail::Connection& open_db()
    {
        if (!db.is_open())
            throw error("CLOSED", "The diskcache source is closed");
        return db;
    }

    /// Removes the empty folders diskcache made for a value file (ab/cd/), as diskcache's own
    /// Disk.remove does; never follows a symbolic link.
    void remove_empty_folders(const std::string& relative) const
    {
        auto slash = relative.rfind('/');
        while (slash != std::string::npos && slash > 0)
        {
            const auto folder = relative.substr(0, slash);
            const auto first = folder.find('/');
            struct stat st { };
            // rmdir does not follow its last component; check the ones before it.
            if (first != std::string::npos
                && (::lstat((directory / folder.substr(0, first)).c_str(), &st) != 0 || !S_ISDIR(st.st_mode)))
                return;
            if (::rmdir((directory / folder).c_str()) != 0)
                return;
            slash = folder.rfind('/');
        }
    }
};

DiskcacheSource::DiskcacheSource(const std::filesystem::path& directory, bool writable, int busy_timeout_ms)
        : impl_(std::make_unique<Impl>())
{
    impl_->directory = directory;
    impl_->files = detail::ValueFiles(directory);
    const auto file = directory / database_name;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec))
        throw error("ENOENT", "no diskcache database (" + std::string(database_name) + ") in " + directory.string(), 0,
                    ENOENT);

    impl_->writable = writable;
    // Read-write even when only reading: a read-only connection to a WAL database leaves its
    // -wal and -shm files behind, the last read-write one removes them when it closes.
    // (SQLite opens a file the OS write-protects read-only all the same.)
    sqlite3* db = nullptr;
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
    const int rc = sqlite3_open_v2(file.c_str(), &db, flags, nullptr);
    if (rc != SQLITE_OK)
    {
        const std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
        const int extended = db ? sqlite3_extended_errcode(db) : rc;
        sqlite3_close_v2(db);
        throw error(sqlite_code_name(rc), "cannot open " + file.string() + ": " + message, extended);
    }
    // The Connection owns the handle from here on, so a throw below closes it.
    impl_->db.adopt(db);
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, busy_timeout_ms);
    // diskcache's triggers compare with "count" and "size": double-quoted string literals,
    // which SQLITE_DQS=0 turns off by default. Allowed again on this connection only.
    sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DML, 1, nullptr);
    sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DDL, 1, nullptr);

    // Preparing the batch query checks the schema: a database without diskcache's table or
    // columns is not a diskcache.
    try
    {
        for (const char* sql : select_batch_sql)
            (void)impl_->db.cached(sql);
    }
    catch (const error& e)
    {
        if (e.code() == "SQLITE_ERROR")
            throw error("NOT_A_DISKCACHE", file.string() + " is not a diskcache database (" + e.what() + ")",
                        e.sqlite_code());
        if (e.code() == "SQLITE_NOTADB" || e.code() == "SQLITE_CORRUPT")
            throw error("CORRUPT", file.string() + " is not a database or is damaged (" + e.what() + ")",
                        e.sqlite_code());
        throw;
    }
}

DiskcacheSource::~DiskcacheSource() = default;
DiskcacheSource::DiskcacheSource(DiskcacheSource&&) noexcept = default;
DiskcacheSource& DiskcacheSource::operator=(DiskcacheSource&&) noexcept = default;

std::uint64_t DiskcacheSource::count()
{
    return static_cast<std::uint64_t>(impl_->open_db().scalar_int(count_sql));
}

std::vector<DiskcacheRow> DiskcacheSource::next_batch(std::size_t max_rows)
{
    std::vector<DiskcacheRow> rows;
    if (max_rows == 0)
        return rows;
    while (impl_->pass < 2)
    {
        rows = read_batch(max_rows);
        if (!rows.empty())
            return rows;
        ++impl_->pass;
        impl_->cursor = 0;
    }
    return rows;
}

std::vector<DiskcacheRow> DiskcacheSource::read_batch(std::size_t max_rows)
{
    auto& s = impl_->open_db().cached(select_batch_sql[impl_->pass]);
    detail::ResetOnExit reset { s };
    s.bind(1, impl_->cursor);
    s.bind(2, static_cast<std::int64_t>(std::min<std::size_t>(max_rows, INT64_MAX)));
    std::vector<DiskcacheRow> rows;
    while (s.step())
    {
        DiskcacheRow row;
        row.rowid = s.int64(0);
        row.key = column_value(s, 1);
        row.raw = !s.is_null(2) && s.int64(2) != 0;
        row.store_time = optional_real(s, 3);
        row.expire_time = optional_real(s, 4);
        row.tag = column_value(s, 5);
        row.mode = static_cast<int>(s.int64(6));
        if (!s.is_null(7))
            row.filename = portable_filename(s.text(7));
        row.value = column_value(s, 8);
        row.size = s.int64(9);
        impl_->cursor = row.rowid;
        rows.push_back(std::move(row));
    }
    return rows;
}

void DiskcacheSource::read_file(std::string_view filename, std::uint64_t size, const ByteSink& sink) const
{
    const auto relative = portable_filename(filename);
    switch (impl_->files.read(relative, size, sink))
    {
        case detail::ReadStatus::ok:
            return;
        case detail::ReadStatus::missing:
            throw error("ENOENT", "the value file " + relative + " is missing", 0, ENOENT);
        case detail::ReadStatus::size_mismatch:
            throw error("CORRUPT", "the value file " + relative + " does not have the size its row records ("
                                       + std::to_string(size) + " bytes)");
        case detail::ReadStatus::unsafe_path:
            throw error("CORRUPT", "the value file path " + relative
                                       + " is not a plain file inside the diskcache directory; not followed");
    }
}

Buffer DiskcacheSource::read_file(std::string_view filename, std::uint64_t size) const
{
    Buffer out;
    read_file(filename, size,
              [&](std::size_t n)
              {
                  out = Buffer(n);
                  return out.data();
              });
    return out;
}

bool DiskcacheSource::remove(std::int64_t rowid, std::optional<double> store_time)
{
    auto& db = impl_->open_db();
    if (!impl_->writable)
        throw error("READ_ONLY", "This diskcache source was opened read-only: it cannot remove entries");
    auto& s = db.cached(remove_sql);
    std::optional<std::string> filename;
    bool removed = false;
    {
        detail::ResetOnExit reset { s };
        s.bind(1, rowid);
        s.bind(2, store_time);
        if (s.step())
        {
            removed = true;
            if (!s.is_null(0))
                filename = portable_filename(s.text(0));
            while (s.step())
            {
            }
        }
    }
    // The row is gone (committed): only now can its file go, as diskcache does.
    if (filename)
    {
        impl_->files.remove(*filename);
        if (detail::ValueFiles::is_safe(*filename))
            impl_->remove_empty_folders(*filename);
    }
    return removed;
}

bool DiskcacheSource::has_text_key(std::string_view key)
{
    auto& s = impl_->open_db().cached(has_text_key_sql);
    detail::ResetOnExit reset { s };
    s.bind(1, key);
    return s.step();
}

void DiskcacheSource::close() noexcept
{
    if (impl_)
        impl_->db.close();
}

bool DiskcacheSource::closed() const noexcept
{
    return !impl_ || !impl_->db.is_open();
}

const std::filesystem::path& DiskcacheSource::directory() const noexcept
{
    return impl_->directory;
}

} // namespace sciqlop_cache
