// The engine behind every store type. Policy features are compiled in or out with
// `if constexpr`; the hot paths (set/get of a small value) are one prepared statement each.
#include "sciqlop_cache/store.hpp"

#include "schema.hpp"
#include "sqlite.hpp"
#include "value_files.hpp"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <cstddef>
#include <cstring>
#include <limits>
#include <mutex>
#include <sys/stat.h>
#include <thread>
#include <unordered_map>

namespace sciqlop_cache
{
using namespace detail;
namespace fs = std::filesystem;

namespace
{
    double unix_now()
    {
        return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    }

    std::uint64_t file_size_or_zero(const fs::path& p)
    {
        struct stat st {};
        return ::stat(p.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
    }

    void check_expire(const std::optional<double>& expire)
    {
        if (expire && !(std::isfinite(*expire) && *expire > 0))
            throw error("INVALID_ARGUMENT", "expire must be a finite number of seconds > 0");
    }

    /// Changes to the counters row and value files displaced from rows, gathered in C++ for
    /// this engine's connections (which run with triggers off, see schema.hpp) and written
    /// by Impl::settle() in the transaction that made them.
    struct Delta
    {
        std::int64_t count = 0, bytes = 0, file_bytes = 0;
        std::vector<std::string> displaced;

        void add_row(std::int64_t size, bool file)
        {
            ++count;
            bytes += size;
            file_bytes += file ? size : 0;
        }
        void remove_row(std::int64_t size, std::optional<std::string_view> path)
        {
            --count;
            bytes -= size;
            if (path)
            {
                file_bytes -= size;
                displaced.emplace_back(*path);
            }
        }
        [[nodiscard]] bool counters_changed() const { return count != 0 || bytes != 0 || file_bytes != 0; }
        void merge(Delta& o)
        {
            count += o.count;
            bytes += o.bytes;
            file_bytes += o.file_bytes;
            displaced.insert(displaced.end(), std::make_move_iterator(o.displaced.begin()),
                             std::make_move_iterator(o.displaced.end()));
            o.clear();
        }
        void clear()
        {
            count = bytes = file_bytes = 0;
            displaced.clear();
        }
    };

    /// One connection's bookkeeping: `statement` is filled by sciqlop_replaced() while a
    /// statement runs and joins `pending` only if the statement succeeds; `pending` is written
    /// before the transaction commits, or dropped when it rolls back.
    struct Ledger
    {
        Delta pending;
        Delta statement;
    };

    /// sciqlop_replaced(condition, old size, old path): returns `condition`; when it is true,
    /// the row being replaced is recorded in the connection's ledger.
    void sql_replaced(sqlite3_context* ctx, int, sqlite3_value** argv)
    {
        const bool replaced = sqlite3_value_int(argv[0]) != 0;
        if (replaced)
        {
            auto* ledger = static_cast<Ledger*>(sqlite3_user_data(ctx));
            std::optional<std::string_view> path;
            if (sqlite3_value_type(argv[2]) != SQLITE_NULL)
            {
                const auto* text = reinterpret_cast<const char*>(sqlite3_value_text(argv[2]));
                path = std::string_view(text ? text : "", static_cast<std::size_t>(sqlite3_value_bytes(argv[2])));
            }
            try
            {
                ledger->statement.remove_row(sqlite3_value_int64(argv[1]), path);
            }
            catch (...)
            {
                sqlite3_result_error_nomem(ctx);
                return;
            }
        }
        sqlite3_result_int(ctx, replaced ? 1 : 0);
    }

    constexpr std::size_t batch_rows = 500;
    constexpr std::uint64_t wal_truncate_threshold = 16ull << 20;
    // SQLite's automatic checkpoint: PASSIVE, run by the commit that finds this many pages in
    // the WAL (its default). The engine keeps that for small commits, but a commit that wrote
    // at least large_commit_pages itself leaves it to the background thread, unless the WAL
    // has reached inline_checkpoint_pages (the background thread is not keeping up).
    constexpr int checkpoint_pages = 1000;
    constexpr int large_commit_pages = 64;
    constexpr int inline_checkpoint_pages = 8192;
    constexpr std::size_t max_pending_accesses = 1'000'000;
}

template <class Policy>
struct Store<Policy>::Impl
{
    using schema = Schema<Policy::expiration>;
    static constexpr const char* store_type = Policy::expiration ? "cache" : "index";

    fs::path directory;
    Options options;
    ValueFiles files;

    // The main connection, its transaction state and the values written in open transactions
    // (unlinked again if their transaction rolls back) are guarded by `mutex`.
    mutable std::recursive_mutex mutex;
    Connection db;
    Ledger db_ledger, bg_ledger;
    int same_size_hits = 0, same_size_skips = 0; // see overwrite_same_size()
    int db_fd = -1; // SQLite's descriptor of the main connection's database file, -1 if unknown
    int depth = 0;
    std::thread::id owner {};
    std::vector<std::vector<std::string>> created_files;
    bool is_closed = false;

    std::atomic<std::uint64_t> hits { 0 }, misses { 0 };
    std::atomic<std::uint64_t> max_size { 0 };

    // LRU accesses are recorded in memory and flushed by the background thread, so that a
    // get never writes.
    std::mutex access_mutex;
    std::unordered_map<std::string, double> accesses;

    // Background thread with its own connection.
    Connection bg_db;
    std::thread bg_thread;
    std::mutex bg_mutex;
    std::condition_variable bg_cv;
    std::atomic<bool> stopping { false };
    std::atomic<bool> checkpoint_wanted { false };
    int wal_pages_seen = 0; // the WAL's page count after the previous commit (on_wal_commit)
    std::chrono::steady_clock::time_point bg_busy_deadline {};
    // Guards bg_db: the background thread and explicit expire()/evict() calls share it, so
    // that bulk deletions never hold the store mutex that get() needs.
    std::mutex bg_db_mutex;

    Impl(const fs::path& dir, Options opts) : directory(dir), options(opts), files(dir)
    {
        std::error_code ec;
        const auto status = fs::status(directory, ec);
        if (!ec && fs::exists(status) && !fs::is_directory(status))
            throw error("NOT_A_DIRECTORY", directory.string() + " exists and is not a directory");
        fs::create_directories(directory, ec);
        if (ec)
            throw error(errno_name(ec.value()), "cannot create " + directory.string() + ": " + ec.message(), 0,
                        ec.value());
        if (!fs::is_directory(directory, ec))
            throw error("NOT_A_DIRECTORY", directory.string() + " is not a directory");

        open_connection(db, false);
        db_fd = database_descriptor();
        ensure_schema();
        if constexpr (Policy::eviction)
            apply_max_size(options.max_size);
        if (options.background)
        {
            open_connection(bg_db, true);
            sqlite3_wal_hook(db.handle(), &Impl::on_wal_commit, this);
            bg_thread = std::thread([this] { background_loop(); });
        }
    }

    ~Impl() { shutdown(); }

    // ---- connections and schema ---------------------------------------------------------
    static int background_busy_handler(void* self, int)
    {
        auto* impl = static_cast<Impl*>(self);
        if (impl->stopping.load() || std::chrono::steady_clock::now() > impl->bg_busy_deadline)
            return 0;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        return 1;
    }

    Ledger& ledger(Connection& c) { return &c == &db ? db_ledger : bg_ledger; }

    void open_connection(Connection& c, bool background)
    {
        c.open((directory / "sciqlop-cache.db").string());
        // The schema's triggers are for other writers: this engine keeps the counters and the
        // trash itself (Ledger), told of replaced rows by sciqlop_replaced().
        int triggers = 1;
        if (sqlite3_db_config(c.handle(), SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, &triggers) != SQLITE_OK || triggers != 0)
            throw error("SQLITE_ERROR", "cannot turn triggers off on " + directory.string());
        if (const int rc = sqlite3_create_function_v2(c.handle(), "sciqlop_replaced", 3,
                                                      SQLITE_UTF8 | SQLITE_DIRECTONLY, &ledger(c), &sql_replaced,
                                                      nullptr, nullptr, nullptr);
            rc != SQLITE_OK)
            throw_sqlite(c.handle(), rc, "sciqlop_replaced");
        if (background)
            sqlite3_busy_handler(c.handle(), &Impl::background_busy_handler, this);
        else
            sqlite3_busy_timeout(c.handle(), static_cast<int>(options.busy_timeout.count()));
        if (background)
            bg_busy_deadline = std::chrono::steady_clock::now() + options.busy_timeout;
        // Switching a new database to WAL needs the write lock; the busy handler is not always
        // consulted for it, so retry until the timeout.
        const auto deadline = std::chrono::steady_clock::now() + options.busy_timeout;
        while (true)
        {
            try
            {
                auto& s = c.cached("PRAGMA journal_mode=WAL");
                ResetOnExit r { s };
                if (s.step() && s.text(0) != "wal")
                    throw error("SQLITE_ERROR", "cannot switch " + directory.string() + " to WAL mode");
                break;
            }
            catch (const error& e)
            {
                if (e.code() != "SQLITE_BUSY" || std::chrono::steady_clock::now() > deadline)
                    throw;
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
            }
        }
        c.exec(options.durability == Durability::power ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
        // temp_store stays at its default: statement journals (opened inside a transaction by
        // set_many's multi-row statements) then buffer 64 KiB in memory in one chunk instead
        // of 1 KiB chunks.
        c.exec("PRAGMA journal_size_limit=8388608; PRAGMA foreign_keys=OFF;"
               "PRAGMA cache_size=-8192; PRAGMA mmap_size=0");
    }

    void ensure_schema()
    {
        // Opening an existing store must not write: look before creating anything.
        if (stored_format_version())
            return;
        db.exec("BEGIN IMMEDIATE");
        try
        {
            if (!stored_format_version())
            {
                db.exec(schema::create);
                db.exec(common_schema);
                auto& s = db.cached("INSERT OR IGNORE INTO meta(key, value) VALUES (?1, ?2)");
                for (const auto& [k, v] : { std::pair { "format_version", format_version },
                                            std::pair { "store_type", store_type } })
                {
                    ResetOnExit r { s };
                    s.bind(1, std::string_view(k));
                    s.bind(2, std::string_view(v));
                    s.step();
                }
            }
            db.exec("COMMIT");
        }
        catch (...)
        {
            sqlite3_exec(db.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
            throw;
        }
    }

    bool stored_format_version()
    {
        const bool has_meta
            = db.scalar_int("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'meta'") > 0;
        if (!has_meta)
            return false;
        auto v = meta_get_locked("format_version");
        if (!v)
            return false;
        if (*v != format_version)
            throw error("FORMAT_VERSION", directory.string() + " has format version " + *v + ", this build reads "
                            + format_version);
        // Stores made by pysciqlop-cache have no store_type; ours record it at creation.
        if (auto t = meta_get_locked("store_type"); t && *t != store_type)
            throw error("STORE_TYPE_MISMATCH",
                        directory.string() + " holds " + (*t == "cache" ? "a Cache" : "an Index") + ", not "
                            + (Policy::expiration ? "a Cache" : "an Index"));
        return true;
    }

    void apply_max_size(std::optional<std::uint64_t> requested)
    {
        auto stored = meta_get_locked("max_size");
        std::uint64_t current = stored ? std::strtoull(stored->c_str(), nullptr, 10) : 0;
        if (requested && (*requested != current || !stored))
        {
            atomically(
                [&]
                {
                    meta_set_locked("max_size", std::to_string(*requested));
                    if constexpr (Policy::eviction)
                    {
                        if (*requested > 0)
                            db.exec(schema::create_lru_index);
                    }
                    return 0;
                });
            current = *requested;
        }
        max_size.store(current);
    }

    std::optional<std::string> meta_get_locked(std::string_view key)
    {
        auto& s = db.cached("SELECT value FROM meta WHERE key = ?1");
        ResetOnExit r { s };
        s.bind(1, key);
        if (!s.step() || s.is_null(0))
            return std::nullopt;
        return std::string(s.text(0));
    }

    void meta_set_locked(std::string_view key, std::string_view value)
    {
        auto& s = db.cached("INSERT INTO meta(key, value) VALUES (?1, ?2) "
                            "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
        ResetOnExit r { s };
        s.bind(1, key);
        s.bind(2, value);
        s.step();
    }

    // ---- locking and transactions -------------------------------------------------------
    std::unique_lock<std::recursive_mutex> lock()
    {
        std::unique_lock l(mutex);
        if (is_closed)
            throw error("CLOSED", "the store at " + directory.string() + " is closed");
        return l;
    }

    /// The descriptor SQLite's unix VFS holds on the main database file, for a cheap "was it
    /// deleted?" check (fstat instead of stat by path: a third of the cost). The unix VFS's
    /// file object starts with { methods, vfs, inode info, fd } (unchanged since 2008); the
    /// value read there is used only if it is an open descriptor of the very file (same
    /// device and inode as the path), else -1 and the check falls back to a stat by path.
    int database_descriptor()
    {
        struct UnixFileHead
        {
            const sqlite3_io_methods* methods;
            sqlite3_vfs* vfs;
            void* inode;
            int fd;
        };
        sqlite3_file* file = nullptr;
        if (sqlite3_file_control(db.handle(), "main", SQLITE_FCNTL_FILE_POINTER, &file) != SQLITE_OK || !file)
            return -1;
        const sqlite3_vfs* vfs = sqlite3_vfs_find(nullptr);
        if (!vfs || std::string_view(vfs->zName).substr(0, 4) != "unix" || vfs->szOsFile < int(sizeof(UnixFileHead)))
            return -1;
        int fd = -1;
        std::memcpy(&fd, reinterpret_cast<const char*>(file) + offsetof(UnixFileHead, fd), sizeof fd);
        struct stat by_fd {}, by_path {};
        if (fd < 0 || ::fstat(fd, &by_fd) != 0
            || ::stat((directory / "sciqlop-cache.db").c_str(), &by_path) != 0 || by_fd.st_dev != by_path.st_dev
            || by_fd.st_ino != by_path.st_ino)
            return -1;
        return fd;
    }

    /// Whether the database file was deleted or replaced (renamed over) since it was opened.
    bool database_moved()
    {
        if (db_fd >= 0)
        {
            struct stat st {};
            return ::fstat(db_fd, &st) == 0 && st.st_nlink == 0;
        }
        int moved = 0;
        return sqlite3_file_control(db.handle(), "main", SQLITE_FCNTL_HAS_MOVED, &moved) == SQLITE_OK && moved;
    }

    /// The lock for a write. A store whose database file was deleted or replaced since it was
    /// opened (its directory removed, the file renamed over) would commit into a file that no
    /// one will open again, and lose every later write silently at close: SQLite checks this
    /// only in rollback-journal mode (SQLITE_READONLY_DBMOVED), so check it here, one fstat()
    /// per write transaction (begin() checks for the writes of a user transaction).
    std::unique_lock<std::recursive_mutex> write_lock()
    {
        auto l = lock();
        if (depth == 0 && database_moved())
            throw error("SQLITE_READONLY",
                        "the database file " + (directory / "sciqlop-cache.db").string()
                            + " was deleted or replaced while the store was open: writes would be lost; reopen the store",
                        SQLITE_READONLY_DBMOVED);
        return l;
    }

    static void run(Connection& c, const char* sql)
    {
        auto& s = c.cached(sql);
        ResetOnExit r { s };
        s.step();
    }

    /// Writes the connection's pending counter changes and displaced files (into the trash),
    /// inside its open transaction.
    void settle(Connection& c)
    {
        auto& pending = ledger(c).pending;
        if (!pending.displaced.empty())
        {
            auto& s = c.cached("INSERT INTO trash(path, ts) VALUES (?1, ?2)");
            const double now = unix_now();
            for (const auto& p : pending.displaced)
            {
                ResetOnExit r { s };
                s.bind(1, std::string_view(p));
                s.bind(2, now);
                s.step();
            }
        }
        if (pending.counters_changed())
        {
            auto& s = c.cached("UPDATE counters SET count = count + ?1, bytes = bytes + ?2, "
                               "file_bytes = file_bytes + ?3 WHERE id = 0");
            ResetOnExit r { s };
            s.bind(1, pending.count);
            s.bind(2, pending.bytes);
            s.bind(3, pending.file_bytes);
            s.step();
        }
        pending.clear();
    }

    /// Steps a write statement that reports the rows it replaces through sciqlop_replaced();
    /// its changes join the pending ones only if it succeeds.
    void step_tracked(Connection& c, Statement& s)
    {
        auto& l = ledger(c);
        l.statement.clear();
        s.step();
        l.pending.merge(l.statement);
    }

    /// Steps a DELETE whose rows sciqlop_replaced() reports; returns how many it deleted.
    std::uint64_t delete_tracked(Connection& c, Statement& s)
    {
        step_tracked(c, s);
        return static_cast<std::uint64_t>(c.changes());
    }

    /// Runs the writes of `f` in a transaction of connection `c`: the open transaction of this
    /// thread when there is one on the main connection (its changes are settled when it
    /// commits), else an IMMEDIATE transaction of their own, settled before it commits.
    template <class F>
    auto in_transaction(Connection& c, F&& f)
    {
        if (&c == &db && depth > 0)
            return f();
        run(c, "BEGIN IMMEDIATE");
        try
        {
            auto result = f();
            settle(c);
            run(c, "COMMIT");
            return result;
        }
        catch (...)
        {
            ledger(c).pending.clear();
            sqlite3_exec(c.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
            throw;
        }
    }

    /// Runs `f` atomically: in its own IMMEDIATE transaction, or in a savepoint when a user
    /// transaction is open.
    template <class F>
    auto atomically(F&& f)
    {
        if (depth == 0)
            return in_transaction(db, std::forward<F>(f));
        settle(db); // what is pending before the savepoint survives a rollback to it
        run(db, "SAVEPOINT sciqlop_op");
        try
        {
            auto result = f();
            run(db, "RELEASE sciqlop_op");
            return result;
        }
        catch (...)
        {
            db_ledger.pending.clear();
            sqlite3_exec(db.handle(), "ROLLBACK TO sciqlop_op; RELEASE sciqlop_op", nullptr, nullptr, nullptr);
            throw;
        }
    }

    /// A value file now referenced by a row: if an open transaction rolls back, it goes.
    void adopt_file(const std::string& path)
    {
        if (depth > 0 && !path.empty())
            created_files.back().push_back(path);
    }

    void begin()
    {
        mutex.lock();
        try
        {
            if (is_closed)
                throw error("CLOSED", "the store at " + directory.string() + " is closed");
            if (depth == 0)
            {
                write_lock(); // refuses a database deleted or replaced while open
                run(db, "BEGIN IMMEDIATE");
            }
            else
            {
                settle(db); // what is pending before the savepoint survives a rollback to it
                db.exec(("SAVEPOINT sciqlop_tx_" + std::to_string(depth)).c_str());
            }
            ++depth;
            owner = std::this_thread::get_id();
            created_files.emplace_back();
        }
        catch (...)
        {
            mutex.unlock();
            throw;
        }
    }

    void require_transaction()
    {
        std::lock_guard l(mutex);
        if (depth == 0 || owner != std::this_thread::get_id())
            throw error("INVALID_ARGUMENT", "no transaction is open on this thread");
    }

    void commit()
    {
        require_transaction();
        auto files_of_level = std::move(created_files.back());
        created_files.pop_back();
        try
        {
            if (depth == 1)
            {
                settle(db);
                run(db, "COMMIT");
            }
            else
            {
                db.exec(("RELEASE sciqlop_tx_" + std::to_string(depth - 1)).c_str());
                auto& parent = created_files.back();
                parent.insert(parent.end(), files_of_level.begin(), files_of_level.end());
            }
        }
        catch (...)
        {
            // A failed COMMIT leaves nothing half-done: roll the whole level back.
            created_files.push_back(std::move(files_of_level));
            rollback_level();
            throw;
        }
        --depth;
        mutex.unlock();
    }

    void rollback()
    {
        require_transaction();
        rollback_level();
    }

    void rollback_level()
    {
        db_ledger.pending.clear(); // settled when this level began: the rest is undone
        if (depth == 1)
            sqlite3_exec(db.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
        else
        {
            const auto sp = "sciqlop_tx_" + std::to_string(depth - 1);
            sqlite3_exec(db.handle(), ("ROLLBACK TO " + sp + "; RELEASE " + sp).c_str(), nullptr, nullptr, nullptr);
        }
        for (const auto& p : created_files.back())
            files.remove(p);
        created_files.pop_back();
        --depth;
        mutex.unlock();
    }

    // ---- writes --------------------------------------------------------------------------
    /// Writes a large value's file outside the lock; returns "" for inline values.
    std::string prepare_value(std::span<const std::byte> value)
    {
        if (value.size() <= inline_value_max)
            return {};
        return files.write(value, options.durability == Durability::power);
    }

    /// Binds an entry to the parameters of schema::upsert/add, shifted by `base` (for the
    /// rows after the first of schema::upsert_rows).
    /// Binds (path, value, size) from parameter `first` on: the value inline, or its file's path.
    static void bind_value(Statement& s, int first, std::span<const std::byte> value, const std::string& path)
    {
        if (path.empty())
        {
            s.bind_null(first);
            s.bind_blob(first + 1, value);
        }
        else
        {
            s.bind(first, std::string_view(path));
            s.bind_null(first + 1);
        }
        s.bind(first + 2, static_cast<std::int64_t>(value.size()));
    }

    void bind_entry(Statement& s, std::string_view key, std::span<const std::byte> value, const std::string& path,
                    const SetOptions& o, double now, int base = 0)
    {
        s.bind(base + 1, key);
        bind_value(s, base + 2, value, path);
        if constexpr (Policy::expiration)
        {
            s.bind(base + 5, o.expire ? std::optional<double>(now + *o.expire) : std::nullopt);
            s.bind(base + 6, now);
            s.bind(base + 7, o.tag);
        }
    }

    /// Rows per statement of set_many: enough to amortize the statement's setup and its
    /// statement journal (a multi-row statement opens one inside a transaction), few enough
    /// to stay far below SQLite's limit on parameters.
    static constexpr std::size_t set_many_rows = 64;

    void set_many(std::span<const Entry> entries)
    {
        if constexpr (Policy::expiration)
        {
            for (const auto& e : entries)
                check_expire(e.options.expire);
        }
        // Key order (what the B-tree is in, so consecutive rows mostly land on the same pages),
        // stable so that the last of equal keys comes last, and only that one kept.
        std::vector<std::size_t> order(entries.size());
        for (std::size_t i = 0; i < order.size(); ++i)
            order[i] = i;
        const auto by_key = [&](std::size_t a, std::size_t b) { return entries[a].key < entries[b].key; };
        if (!std::is_sorted(order.begin(), order.end(), by_key))
            std::stable_sort(order.begin(), order.end(), by_key);
        std::size_t kept = 0;
        for (std::size_t i = 0; i < order.size(); ++i)
        {
            if (i + 1 < order.size() && entries[order[i]].key == entries[order[i + 1]].key)
                continue;
            order[kept++] = order[i];
        }
        order.resize(kept);

        std::vector<std::string> paths(kept);
        std::unique_lock<std::recursive_mutex> l;
        try
        {
            for (std::size_t i = 0; i < kept; ++i)
                paths[i] = prepare_value(entries[order[i]].value);
            l = write_lock();
            const double now = unix_now();
            const auto write_rows = [&]
                {
                    std::size_t i = 0;
                    if (kept >= set_many_rows)
                    {
                        static const std::string sql = schema::upsert_rows(set_many_rows);
                        auto& s = db.cached(sql.c_str());
                        for (; i + set_many_rows <= kept; i += set_many_rows)
                        {
                            ResetOnExit r { s };
                            for (std::size_t row = 0; row < set_many_rows; ++row)
                            {
                                const auto& e = entries[order[i + row]];
                                bind_entry(s, e.key, e.value, paths[i + row], e.options, now,
                                           static_cast<int>(row) * schema::params_per_row);
                            }
                            step_tracked(db, s);
                            for (std::size_t row = 0; row < set_many_rows; ++row)
                                db_ledger.pending.add_row(
                                    static_cast<std::int64_t>(entries[order[i + row]].value.size()),
                                    !paths[i + row].empty());
                        }
                    }
                    auto& s = db.cached(schema::upsert);
                    for (; i < kept; ++i)
                    {
                        ResetOnExit r { s };
                        const auto& e = entries[order[i]];
                        bind_entry(s, e.key, e.value, paths[i], e.options, now);
                        step_tracked(db, s);
                        db_ledger.pending.add_row(static_cast<std::int64_t>(e.value.size()), !paths[i].empty());
                    }
                    return 0;
                };
            // Inside an open transaction, no savepoint: while one is open, every statement
            // after it pays for the pages journaled since (an open savepoint made 100,000
            // single-row upserts take 36 s instead of 0.3 s), so the caller's rollback is
            // what undoes a failed set_many there.
            in_transaction(db, write_rows);
        }
        catch (...)
        {
            for (const auto& p : paths)
            {
                if (!p.empty())
                    files.remove(p);
            }
            throw;
        }
        for (const auto& p : paths) // still under the lock: into this thread's open transaction
            adopt_file(p);
    }

    /// Writes a large value's file outside the lock, then runs `write_row(path)` under it; the
    /// file is kept only when a row took it (and forgotten again if the transaction rolls back).
    template <class F>
    bool write_with_value(std::span<const std::byte> value, F&& write_row)
    {
        const auto path = prepare_value(value);
        try
        {
            auto l = write_lock();
            const bool changed = write_row(path);
            if (changed)
                adopt_file(path);
            else if (!path.empty())
                files.remove(path);
            return changed;
        }
        catch (...)
        {
            if (!path.empty())
                files.remove(path);
            throw;
        }
    }

    /// Steps an upsert, add or update of one row (of a value of `size` bytes, in file `path`
    /// when not empty) on the main connection; returns whether the row was written.
    bool write_tracked(Statement& s, std::size_t size, const std::string& path)
    {
        step_tracked(db, s);
        if (db.changes() == 0)
            return false;
        db_ledger.pending.add_row(static_cast<std::int64_t>(size), !path.empty());
        return true;
    }

    /// Runs `statement` (upsert or add) for an entry whose value file, if any, is `path`, in a
    /// transaction with its counter changes; returns whether a row changed.
    bool write_row(const char* statement, std::string_view key, std::span<const std::byte> value,
                   const std::string& path, const SetOptions& o)
    {
        return in_transaction(db,
                              [&]
                              {
                                  auto& s = db.cached(statement);
                                  ResetOnExit r { s };
                                  bind_entry(s, key, value, path, o, unix_now());
                                  return write_tracked(s, value.size(), path);
                              });
    }

    /// An inline value replacing a same-sized inline one changes no counter and displaces no
    /// file: one plain UPDATE, no transaction of its own (schema::overwrite_same_size). Tried
    /// while it keeps finding such a row (a wasted statement otherwise), and again now and then
    /// after it stopped. Returns whether it wrote the entry.
    bool overwrite_same_size(std::string_view key, std::span<const std::byte> value, const SetOptions& o)
    {
        if (same_size_hits < 0)
        {
            if (++same_size_skips % 16 != 0)
                return false;
            same_size_hits = 0;
        }
        bool plain = true;
        if constexpr (Policy::expiration)
            plain = !o.expire && !o.tag;
        auto& s = db.cached(plain ? schema::overwrite_same_size_plain : schema::overwrite_same_size);
        ResetOnExit r { s };
        bind_entry(s, key, value, {}, o, unix_now());
        s.step();
        if (db.changes() == 0)
        {
            --same_size_hits;
            return false;
        }
        same_size_hits = std::min(same_size_hits + 1, 8);
        return true;
    }

    /// set_bytes(): overwrite_same_size() when it applies, else the upsert.
    void set_entry(std::string_view key, std::span<const std::byte> value, const SetOptions& o)
    {
        if constexpr (Policy::expiration)
            check_expire(o.expire);
        write_with_value(value,
                         [&](const std::string& path)
                         {
                             return (path.empty() && overwrite_same_size(key, value, o))
                                 || write_row(schema::upsert, key, value, path, o);
                         });
    }

    /// add_bytes(): stores the entry only when the key is absent or expired.
    bool add_entry(std::string_view key, std::span<const std::byte> value, const SetOptions& o)
    {
        if constexpr (Policy::expiration)
            check_expire(o.expire);
        return write_with_value(value,
                                [&](const std::string& path) { return write_row(schema::add, key, value, path, o); });
    }

    /// Replaces the value of a live entry, keeping its expiry and tag.
    bool update_entry(std::string_view key, std::span<const std::byte> value)
    {
        return write_with_value(value,
                                [&](const std::string& path)
                                {
                                    return in_transaction(db,
                                                          [&]
                                                          {
                                                              auto& s = db.cached(schema::update);
                                                              ResetOnExit r { s };
                                                              s.bind(1, key);
                                                              bind_value(s, 2, value, path);
                                                              if constexpr (Policy::expiration)
                                                                  s.bind(5, unix_now());
                                                              return write_tracked(s, value.size(), path);
                                                          });
                                });
    }

    // ---- reads ---------------------------------------------------------------------------
    enum class Lookup
    {
        miss,
        inline_hit,
        file
    };

    void record_access(std::string_view key, double now)
    {
        if constexpr (Policy::eviction)
        {
            if (max_size.load(std::memory_order_relaxed) == 0)
                return;
            std::lock_guard l(access_mutex);
            if (accesses.size() < max_pending_accesses)
                accesses.insert_or_assign(std::string(key), now);
        }
    }

    /// Looks the key up under the lock: inline values are copied into the sink right away,
    /// file-backed ones return their path and size for reading outside the lock.
    Lookup lookup(std::string_view key, const ByteSink& sink, std::string& path, std::uint64_t& size, double now)
    {
        auto& s = db.cached(schema::get);
        ResetOnExit r { s };
        s.bind(1, key);
        if (!s.step())
            return Lookup::miss;
        if constexpr (Policy::expiration)
        {
            if (!s.is_null(3) && s.real(3) <= now)
                return Lookup::miss;
        }
        if (s.is_null(1))
        {
            const auto blob = s.blob(0);
            auto* out = sink(blob.size());
            if (!blob.empty())
                std::memcpy(out, blob.data(), blob.size());
            return Lookup::inline_hit;
        }
        path.assign(s.text(1));
        size = static_cast<std::uint64_t>(s.int64(2));
        return Lookup::file;
    }

    /// A row whose value file is missing, truncated or unsafe is corrupt: drop it (only if it
    /// still points to the same file) and report a miss.
    void drop_corrupt(std::string_view key, const std::string& path)
    {
        auto l = lock();
        in_transaction(db,
                       [&]
                       {
                           auto& s = db.cached("DELETE FROM cache WHERE key = ?1 AND sciqlop_replaced(path = ?2, size, path)");
                           ResetOnExit r { s };
                           s.bind(1, key);
                           s.bind(2, std::string_view(path));
                           return delete_tracked(db, s);
                       });
    }

    bool get_into(std::string_view key, const ByteSink& sink, bool count)
    {
        std::string path;
        std::uint64_t size = 0;
        const double now = unix_now();
        Lookup found;
        {
            auto l = lock();
            found = lookup(key, sink, path, size, now);
        }
        bool hit = found == Lookup::inline_hit;
        if (found == Lookup::file)
        {
            hit = files.read(path, size, sink) == ReadStatus::ok;
            if (!hit)
                drop_corrupt(key, path);
        }
        if (hit)
            record_access(key, now);
        if constexpr (Policy::stats)
        {
            if (count)
                (hit ? hits : misses).fetch_add(1, std::memory_order_relaxed);
        }
        return hit;
    }

    bool pop_into(std::string_view key, const ByteSink& sink)
    {
        const double now = unix_now();
        bool hit = false;
        {
            auto l = write_lock();
            hit = atomically(
                [&]
                {
                    std::string path;
                    std::uint64_t size = 0;
                    auto found = lookup(key, sink, path, size, now);
                    if (found == Lookup::file && files.read(path, size, sink) != ReadStatus::ok)
                        found = Lookup::miss;
                    // Delete whatever is there: a live entry (popped), an expired or corrupt one.
                    auto& d = db.cached("DELETE FROM cache WHERE key = ?1 AND sciqlop_replaced(1, size, path)");
                    ResetOnExit r { d };
                    d.bind(1, key);
                    delete_tracked(db, d);
                    return found != Lookup::miss;
                });
        }
        if constexpr (Policy::stats)
            (hit ? hits : misses).fetch_add(1, std::memory_order_relaxed);
        return hit;
    }

    // ---- maintenance (shared by the background thread and explicit calls) ----------------
    std::uint64_t flush_accesses(Connection& c)
    {
        std::unordered_map<std::string, double> pending;
        {
            std::lock_guard l(access_mutex);
            pending.swap(accesses);
        }
        if (pending.empty())
            return 0;
        auto it = pending.begin();
        while (it != pending.end() && !stopping.load())
        {
            in_transaction(c,
                           [&]
                           {
                               auto& s = c.cached("UPDATE cache SET last_use = max(last_use, ?2), "
                                                  "access_count_since_last_update = "
                                                  "access_count_since_last_update + 1 WHERE key = ?1");
                               for (std::size_t n = 0; n < batch_rows && it != pending.end(); ++n, ++it)
                               {
                                   ResetOnExit r { s };
                                   s.bind(1, std::string_view(it->first));
                                   s.bind(2, it->second);
                                   s.step();
                               }
                               return 0;
                           });
        }
        return pending.size();
    }

    /// Deletes expired rows in bounded batches, each its own transaction.
    std::uint64_t expire_batches(Connection& c, bool use_store_lock)
    {
        std::uint64_t total = 0;
        while (!stopping.load())
        {
            std::unique_lock<std::recursive_mutex> l;
            if (use_store_lock)
                l = lock();
            const auto n = in_transaction(
                c,
                [&]
                {
                    auto& s = c.cached("DELETE FROM cache WHERE key IN (SELECT key FROM cache WHERE expire <= ?1 "
                                       "ORDER BY expire LIMIT ?2) AND sciqlop_replaced(1, size, path)");
                    ResetOnExit r { s };
                    s.bind(1, unix_now());
                    s.bind(2, static_cast<std::int64_t>(batch_rows));
                    return delete_tracked(c, s);
                });
            total += n;
            if (n < batch_rows)
                break;
        }
        return total;
    }

    /// Deletes least recently used rows in bounded batches until the value bytes are at most
    /// 90 % of max_size.
    std::uint64_t evict_batches(Connection& c, bool use_store_lock)
    {
        const auto limit = max_size.load();
        if (limit == 0)
            return 0;
        const auto target = limit - limit / 10;
        std::uint64_t total = 0;
        while (!stopping.load())
        {
            std::unique_lock<std::recursive_mutex> l;
            if (use_store_lock)
                l = lock();
            const auto bytes = static_cast<std::uint64_t>(counter(c, "SELECT bytes FROM counters WHERE id = 0"));
            if (total == 0 && bytes <= limit)
                return 0;
            if (bytes <= target)
                break;
            auto excess = bytes - target;
            // Victims are chosen outside the deleting transaction: each is deleted only if it
            // was neither rewritten nor read since (same last_use), else a value written by
            // another process in between would be evicted as if it were the old one.
            std::vector<std::pair<std::string, double>> victims;
            {
                auto& s = c.cached("SELECT key, size, last_use FROM cache ORDER BY last_use LIMIT ?1");
                ResetOnExit r { s };
                s.bind(1, static_cast<std::int64_t>(batch_rows));
                while (excess > 0 && s.step())
                {
                    victims.emplace_back(s.text(0), s.real(2));
                    const auto sz = static_cast<std::uint64_t>(s.int64(1));
                    excess = sz >= excess ? 0 : excess - sz;
                }
            }
            if (victims.empty())
                break;
            total += in_transaction(c,
                                    [&]
                                    {
                                        auto& d = c.cached(
                                            "DELETE FROM cache WHERE key = ?1 AND sciqlop_replaced(last_use = ?2, size, path)");
                                        std::uint64_t n = 0;
                                        for (const auto& [k, last_use] : victims)
                                        {
                                            ResetOnExit r { d };
                                            d.bind(1, std::string_view(k));
                                            d.bind(2, last_use);
                                            n += delete_tracked(c, d);
                                        }
                                        return n;
                                    });
        }
        return total;
    }

    /// Unlinks trashed value files older than the grace period, then forgets them.
    std::uint64_t drain_trash(Connection& c)
    {
        std::uint64_t total = 0;
        const double cutoff = unix_now() - options.trash_grace.count();
        while (!stopping.load() || &c == &db)
        {
            std::vector<std::pair<std::int64_t, std::string>> batch;
            {
                auto& s = c.cached("SELECT rowid, path FROM trash WHERE ts < ?1 LIMIT ?2");
                ResetOnExit r { s };
                s.bind(1, cutoff);
                s.bind(2, static_cast<std::int64_t>(batch_rows));
                while (s.step())
                    batch.emplace_back(s.int64(0), std::string(s.text(1)));
            }
            if (batch.empty())
                break;
            for (const auto& [rowid, path] : batch)
                files.remove(path);
            c.exec("BEGIN IMMEDIATE");
            try
            {
                auto& d = c.cached("DELETE FROM trash WHERE rowid = ?1");
                for (const auto& [rowid, path] : batch)
                {
                    ResetOnExit r { d };
                    d.bind(1, rowid);
                    d.step();
                }
                c.exec("COMMIT");
            }
            catch (...)
            {
                sqlite3_exec(c.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
                throw;
            }
            total += batch.size();
            if (batch.size() < batch_rows)
                break;
        }
        return total;
    }

    /// Reads a counter (`sql` selects it from the counters row) as this thread sees it: inside
    /// its open transaction, the changes not yet settled are written first.
    std::int64_t counter(Connection& c, const char* sql)
    {
        settle_before_reading(c);
        return c.scalar_int(sql);
    }

    /// Inside this thread's open transaction, writes the pending counter changes, so that what
    /// the counters row says next includes them.
    void settle_before_reading(Connection& c)
    {
        if (&c == &db && depth > 0)
            settle(db);
    }

    std::uint64_t wal_size() const { return file_size_or_zero(directory / "sciqlop-cache.db-wal"); }

    void throw_if_closed() const
    {
        std::lock_guard l(mutex);
        if (is_closed)
            throw error("CLOSED", "the store at " + directory.string() + " is closed");
    }

    /// The checkpoints run by commits (on_wal_commit) keep the WAL small under steady writes;
    /// this truncates a WAL that grew anyway (a long transaction, a reader holding an old
    /// snapshot).
    /// When `wanted` (a large commit asked for one), a PASSIVE checkpoint if TRUNCATE is not due.
    void checkpoint(Connection& c, bool wanted = false)
    {
        if (wal_size() > wal_truncate_threshold)
            sqlite3_wal_checkpoint_v2(c.handle(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
        else if (wanted)
            passive_checkpoint(c.handle());
    }

    /// SQLite's automatic checkpoint: copies what it can without waiting for readers or writers.
    static void passive_checkpoint(sqlite3* handle)
    {
        sqlite3_wal_checkpoint_v2(handle, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    }

    /// Runs bulk work `f(connection, use_store_lock)` on the background connection when there is
    /// one, else on the main one taking the store lock batch by batch. Inside a transaction of
    /// this thread it must join that transaction, so it runs on the main connection.
    template <class F>
    decltype(auto) on_maintenance_connection(F&& f)
    {
        {
            auto l = lock();
            if (depth > 0 && owner == std::this_thread::get_id())
                return f(db, true);
        }
        if (!bg_db.is_open())
            return f(db, true);
        std::lock_guard g(bg_db_mutex);
        bg_busy_deadline = std::chrono::steady_clock::now() + options.busy_timeout;
        return f(bg_db, false);
    }

    void maintenance(Connection& c, bool checkpoint_wanted_too)
    {
        std::lock_guard g(bg_db_mutex);
        bg_busy_deadline = std::chrono::steady_clock::now() + options.busy_timeout;
        if constexpr (Policy::eviction)
            flush_accesses(c);
        if constexpr (Policy::expiration)
            expire_batches(c, false);
        if constexpr (Policy::eviction)
            evict_batches(c, false);
        drain_trash(c);
        checkpoint(c, checkpoint_wanted_too);
    }

    /// The main connection's WAL hook when there is a background thread, in place of SQLite's
    /// automatic checkpoint (which is the same hook): called after each commit with the number
    /// of pages in the WAL. A large commit (a transaction of many sets) hands the checkpoint,
    /// with its two fsyncs, to the background thread instead of paying for it on top of its
    /// own writes (in streams of transactions of 100 and 1,000 sets, the mean time per set
    /// measured about 20 % lower; the median of 100-set ones higher). Small commits
    /// checkpoint inline as SQLite would: handing those off too measured 10-25 % slower for a
    /// stream of single sets (the writer then appends to a WAL that another thread is copying
    /// and syncing).
    static int on_wal_commit(void* self, sqlite3* handle, const char*, int pages)
    {
        auto* impl = static_cast<Impl*>(self);
        const int written = pages >= impl->wal_pages_seen ? pages - impl->wal_pages_seen : pages;
        impl->wal_pages_seen = pages;
        if (pages < checkpoint_pages)
            return SQLITE_OK;
        if (written < large_commit_pages || pages >= inline_checkpoint_pages)
        {
            passive_checkpoint(handle);
            return SQLITE_OK;
        }
        if (!impl->checkpoint_wanted.load(std::memory_order_relaxed))
        {
            {
                std::lock_guard l(impl->bg_mutex);
                impl->checkpoint_wanted.store(true);
            }
            impl->bg_cv.notify_all();
        }
        return SQLITE_OK;
    }

    void background_loop()
    {
        std::unique_lock l(bg_mutex);
        auto next_round = std::chrono::steady_clock::now() + options.background_period;
        while (!stopping.load())
        {
            bg_cv.wait_until(l, next_round, [this] { return stopping.load() || checkpoint_wanted.load(); });
            if (stopping.load())
                break;
            const bool round_due = std::chrono::steady_clock::now() >= next_round;
            const bool checkpoint_due = checkpoint_wanted.exchange(false);
            l.unlock();
            try
            {
                if (round_due)
                    maintenance(bg_db, checkpoint_due);
                else if (checkpoint_due)
                {
                    std::lock_guard g(bg_db_mutex);
                    checkpoint(bg_db, true);
                }
            }
            catch (const std::exception&)
            {
                // Background work is best effort (another process may hold the lock, the disk
                // may be full); the next round retries. Foreground calls report errors.
            }
            if (round_due)
                next_round = std::chrono::steady_clock::now() + options.background_period;
            l.lock();
        }
    }

    void stop_background() noexcept
    {
        {
            std::lock_guard l(bg_mutex);
            stopping.store(true);
        }
        {
            std::lock_guard l(mutex);
            if (db.is_open()) // back to SQLite's automatic checkpoint for the commits left
                sqlite3_wal_autocheckpoint(db.handle(), checkpoint_pages);
        }
        bg_cv.notify_all();
        if (bg_thread.joinable())
            bg_thread.join();
        std::lock_guard g(bg_db_mutex);
        bg_db.close();
    }

    void shutdown() noexcept
    {
        stop_background();
        std::lock_guard l(mutex);
        if (is_closed)
            return;
        is_closed = true;
        try
        {
            while (depth > 0)
                rollback_level(); // releases the lock begin() took for that level
            if constexpr (Policy::eviction)
                flush_accesses_on_close();
            drain_trash(db);
        }
        catch (...)
        {
        }
        db.close();
    }

    void flush_accesses_on_close() noexcept
    {
        try
        {
            stopping.store(false);
            flush_accesses(db);
            stopping.store(true);
        }
        catch (...)
        {
            stopping.store(true);
        }
    }

    // ---- integrity -----------------------------------------------------------------------
    CheckResult check(bool fix)
    {
        CheckResult result;
        auto l = lock();
        {
            auto& s = db.cached("PRAGMA integrity_check");
            ResetOnExit r { s };
            result.sqlite_integrity_ok = s.step() && s.text(0) == "ok";
        }
        // Rows pointing to missing, unsafe or wrong-sized files.
        std::vector<std::pair<std::string, std::string>> bad_rows;
        std::unordered_map<std::string, bool> referenced;
        {
            auto& s = db.cached("SELECT key, path, size FROM cache WHERE path IS NOT NULL");
            ResetOnExit r { s };
            while (s.step())
            {
                std::string path(s.text(1));
                const auto actual = files.file_size(path);
                if (actual < 0)
                {
                    ++result.dangling_rows;
                    bad_rows.emplace_back(s.text(0), path);
                }
                else if (static_cast<std::uint64_t>(actual) != static_cast<std::uint64_t>(s.int64(2)))
                {
                    ++result.size_mismatches;
                    bad_rows.emplace_back(s.text(0), path);
                }
                referenced.emplace(std::move(path), true);
            }
        }
        {
            auto& s = db.cached("SELECT path FROM trash");
            ResetOnExit r { s };
            while (s.step())
                referenced.emplace(std::string(s.text(0)), true);
        }
        std::vector<std::string> orphans;
        for (auto& f : files.list())
        {
            if (f.age_seconds > 60.0 && !referenced.contains(f.relative))
                orphans.push_back(std::move(f.relative));
        }
        result.orphaned_files = orphans.size();
        settle_before_reading(db);
        {
            auto& s = db.cached("SELECT (SELECT count FROM counters WHERE id = 0) = (SELECT count(*) FROM cache) "
                                "AND (SELECT bytes FROM counters WHERE id = 0) = "
                                "(SELECT coalesce(sum(size), 0) FROM cache) AND "
                                "(SELECT file_bytes FROM counters WHERE id = 0) = "
                                "(SELECT coalesce(sum(size), 0) FROM cache WHERE path IS NOT NULL)");
            ResetOnExit r { s };
            result.counters_consistent = s.step() && s.int64(0) == 1;
        }
        result.ok = result.sqlite_integrity_ok && result.counters_consistent && result.orphaned_files == 0
            && result.dangling_rows == 0 && result.size_mismatches == 0;
        if (fix && !result.ok)
        {
            atomically(
                [&]
                {
                    auto& d = db.cached("DELETE FROM cache WHERE key = ?1 AND sciqlop_replaced(path = ?2, size, path)");
                    for (const auto& [key, path] : bad_rows)
                    {
                        ResetOnExit r { d };
                        d.bind(1, std::string_view(key));
                        d.bind(2, std::string_view(path));
                        delete_tracked(db, d);
                    }
                    settle(db); // the bad rows' files go to the trash; the recount below is exact
                    db.exec("INSERT INTO counters(id, count, bytes, file_bytes) SELECT 0, count(*), "
                            "coalesce(sum(size), 0), coalesce(sum(CASE WHEN path IS NOT NULL THEN size END), 0) "
                            "FROM cache WHERE true ON CONFLICT(id) DO UPDATE SET count = excluded.count, "
                            "bytes = excluded.bytes, file_bytes = excluded.file_bytes");
                    return 0;
                });
            for (const auto& p : orphans)
                files.remove(p);
            if (!result.sqlite_integrity_ok)
                db.exec("REINDEX");
        }
        return result;
    }
};

// ---- Store: the public surface forwards to Impl --------------------------------------------

template <class P>
Store<P>::Store(const fs::path& directory, Options options) : impl_(std::make_unique<Impl>(directory, options))
{
}

template <class P>
Store<P>::~Store()
{
    if (impl_)
        impl_->shutdown();
}

template <class P>
Store<P>::Store(Store&&) noexcept = default;
template <class P>
Store<P>& Store<P>::operator=(Store&&) noexcept = default;

template <class P>
void Store<P>::set_bytes(std::string_view key, std::span<const std::byte> value, const SetOptions& options)
{
    impl_->set_entry(key, value, options);
}

template <class P>
bool Store<P>::add_bytes(std::string_view key, std::span<const std::byte> value, const SetOptions& options)
{
    return impl_->add_entry(key, value, options);
}

template <class P>
bool Store<P>::update_bytes(std::string_view key, std::span<const std::byte> value)
{
    return impl_->update_entry(key, value);
}

template <class P>
void Store<P>::set_many(std::span<const Entry> entries)
{
    impl_->set_many(entries);
}

template <class P>
bool Store<P>::del(std::string_view key)
{
    auto l = impl_->write_lock();
    auto& db = impl_->db;
    return impl_->in_transaction(db,
                                 [&]
                                 {
                                     const double now = unix_now();
                                     {
                                         auto& s = db.cached(Impl::schema::del);
                                         ResetOnExit r { s };
                                         s.bind(1, key);
                                         if constexpr (P::expiration)
                                             s.bind(2, now);
                                         if (impl_->delete_tracked(db, s) > 0)
                                             return true;
                                     }
                                     if constexpr (P::expiration)
                                     {
                                         auto& e = db.cached(Impl::schema::del_expired);
                                         ResetOnExit r { e };
                                         e.bind(1, key);
                                         e.bind(2, now);
                                         impl_->delete_tracked(db, e);
                                     }
                                     return false;
                                 });
}

template <class P>
bool Store<P>::touch(std::string_view key, std::optional<double> expire_seconds)
    requires P::expiration
{
    check_expire(expire_seconds);
    auto l = impl_->write_lock();
    const double now = unix_now();
    auto& s = impl_->db.cached("UPDATE cache SET expire = ?2 WHERE key = ?1 AND (expire IS NULL OR expire > ?3)");
    ResetOnExit r { s };
    s.bind(1, key);
    s.bind(2, expire_seconds ? std::optional<double>(now + *expire_seconds) : std::nullopt);
    s.bind(3, now);
    s.step();
    return impl_->db.changes() > 0;
}

template <class P>
std::int64_t Store<P>::incr(std::string_view key, std::int64_t delta, std::int64_t default_value)
{
    auto l = impl_->write_lock();
    return impl_->atomically(
        [&]
        {
            const double now = unix_now();
            std::optional<std::int64_t> current;
            {
                auto& s = impl_->db.cached(Impl::schema::get);
                ResetOnExit r { s };
                s.bind(1, key);
                bool live = s.step();
                if constexpr (P::expiration)
                    live = live && (s.is_null(3) || s.real(3) > now);
                if (live)
                {
                    const auto blob = s.blob(0);
                    if (!s.is_null(1) || blob.size() != 8)
                        throw error("NOT_A_NUMBER", "the value stored under this key is not an 8-byte integer");
                    std::uint64_t raw = 0;
                    for (int i = 7; i >= 0; --i)
                        raw = (raw << 8) | static_cast<std::uint8_t>(blob[static_cast<std::size_t>(i)]);
                    current = static_cast<std::int64_t>(raw);
                }
            }
            std::int64_t result = 0;
            if (__builtin_add_overflow(current.value_or(default_value), delta, &result))
                throw error("NOT_A_NUMBER", "incr overflows a 64-bit integer");
            std::byte bytes[8];
            auto raw = static_cast<std::uint64_t>(result);
            for (auto& b : bytes)
            {
                b = static_cast<std::byte>(raw & 0xff);
                raw >>= 8;
            }
            if (current)
            {
                auto& u = impl_->db.cached("UPDATE cache SET value = ?2, size = 8 WHERE key = ?1");
                ResetOnExit r { u };
                u.bind(1, key);
                u.bind_blob(2, bytes);
                u.step();
            }
            else
            {
                auto& u = impl_->db.cached(Impl::schema::upsert);
                ResetOnExit r { u };
                impl_->bind_entry(u, key, bytes, {}, {}, now);
                impl_->write_tracked(u, sizeof bytes, {});
            }
            return result;
        });
}

template <class P>
void Store<P>::clear()
{
    auto l = impl_->write_lock();
    impl_->atomically(
        [&]
        {
            auto& db = impl_->db;
            auto& t = db.cached("INSERT INTO trash(path, ts) SELECT path, ?1 FROM cache WHERE path IS NOT NULL");
            {
                ResetOnExit r { t };
                t.bind(1, unix_now());
                t.step();
            }
            Impl::run(db, "DELETE FROM cache");
            Impl::run(db, "UPDATE counters SET count = 0, bytes = 0, file_bytes = 0 WHERE id = 0");
            return 0;
        });
    if constexpr (P::eviction)
    {
        std::lock_guard a(impl_->access_mutex);
        impl_->accesses.clear();
    }
}

template <class P>
std::optional<Buffer> Store<P>::get(std::string_view key)
{
    Buffer out;
    if (!get_into(key, [&](std::size_t n) { return (out = Buffer(n)).data(); }))
        return std::nullopt;
    return out;
}

template <class P>
bool Store<P>::get_into(std::string_view key, const ByteSink& sink)
{
    return impl_->get_into(key, sink, true);
}

template <class P>
bool Store<P>::peek_into(std::string_view key, const ByteSink& sink)
{
    return impl_->get_into(key, sink, false);
}

template <class P>
std::optional<Buffer> Store<P>::pop(std::string_view key)
{
    Buffer out;
    if (!pop_into(key, [&](std::size_t n) { return (out = Buffer(n)).data(); }))
        return std::nullopt;
    return out;
}

template <class P>
bool Store<P>::pop_into(std::string_view key, const ByteSink& sink)
{
    return impl_->pop_into(key, sink);
}

template <class P>
bool Store<P>::exists(std::string_view key)
{
    auto l = impl_->lock();
    if constexpr (P::expiration)
    {
        auto& s = impl_->db.cached("SELECT 1 FROM cache WHERE key = ?1 AND (expire IS NULL OR expire > ?2)");
        ResetOnExit r { s };
        s.bind(1, key);
        s.bind(2, unix_now());
        return s.step();
    }
    else
    {
        auto& s = impl_->db.cached("SELECT 1 FROM cache WHERE key = ?1");
        ResetOnExit r { s };
        s.bind(1, key);
        return s.step();
    }
}

template <class P>
std::vector<std::string> Store<P>::keys()
{
    auto l = impl_->lock();
    auto& s = impl_->db.cached(Impl::schema::keys);
    ResetOnExit r { s };
    if constexpr (P::expiration)
        s.bind(1, unix_now());
    std::vector<std::string> out;
    while (s.step())
        out.emplace_back(s.text(0));
    return out;
}

template <class P>
std::vector<std::string> Store<P>::keys_with_tag(std::string_view tag)
    requires P::tags
{
    auto l = impl_->lock();
    auto& s = impl_->db.cached(
        "SELECT key FROM cache WHERE tag = ?1 AND (expire IS NULL OR expire > ?2) ORDER BY key");
    ResetOnExit r { s };
    s.bind(1, tag);
    s.bind(2, unix_now());
    std::vector<std::string> out;
    while (s.step())
        out.emplace_back(s.text(0));
    return out;
}

template <class P>
std::uint64_t Store<P>::count()
{
    auto l = impl_->lock();
    auto total = impl_->counter(impl_->db, "SELECT count FROM counters WHERE id = 0");
    if constexpr (P::expiration)
    {
        // Expired rows not yet swept are not live; the partial index on expire finds them.
        auto& s = impl_->db.cached("SELECT count(*) FROM cache WHERE expire <= ?1");
        ResetOnExit r { s };
        s.bind(1, unix_now());
        if (s.step())
            total -= s.int64(0);
    }
    return static_cast<std::uint64_t>(std::max<std::int64_t>(0, total));
}

template <class P>
std::uint64_t Store<P>::size()
{
    auto l = impl_->lock();
    return static_cast<std::uint64_t>(impl_->counter(impl_->db, "SELECT bytes FROM counters WHERE id = 0"));
}

template <class P>
std::uint64_t Store<P>::volume()
{
    auto l = impl_->lock();
    const auto file_bytes = impl_->counter(impl_->db, "SELECT file_bytes FROM counters WHERE id = 0");
    return static_cast<std::uint64_t>(file_bytes) + file_size_or_zero(impl_->directory / "sciqlop-cache.db")
        + impl_->wal_size();
}

template <class P>
std::uint64_t Store<P>::wal_size() const
{
    impl_->throw_if_closed();
    return impl_->wal_size();
}

template <class P>
std::uint64_t Store<P>::expire()
    requires P::expiration
{
    return impl_->on_maintenance_connection([&](Connection& c, bool use_store_lock)
                                            { return impl_->expire_batches(c, use_store_lock); });
}

template <class P>
std::uint64_t Store<P>::evict()
    requires P::eviction
{
    return impl_->on_maintenance_connection(
        [&](Connection& c, bool use_store_lock)
        {
            impl_->flush_accesses(c);
            return impl_->evict_batches(c, use_store_lock);
        });
}

template <class P>
std::uint64_t Store<P>::evict_tag(std::string_view tag)
    requires P::tags
{
    auto l = impl_->write_lock();
    auto& db = impl_->db;
    return impl_->in_transaction(db,
                                 [&]
                                 {
                                     auto& s = db.cached("DELETE FROM cache WHERE tag = ?1 AND sciqlop_replaced(1, size, path)");
                                     ResetOnExit r { s };
                                     s.bind(1, tag);
                                     return impl_->delete_tracked(db, s);
                                 });
}

template <class P>
std::uint64_t Store<P>::max_size() const
    requires P::eviction
{
    impl_->throw_if_closed();
    return impl_->max_size.load();
}

template <class P>
void Store<P>::set_max_size(std::uint64_t max_size)
    requires P::eviction
{
    auto l = impl_->write_lock();
    impl_->apply_max_size(max_size);
}

template <class P>
Stats Store<P>::stats() const
    requires P::stats
{
    impl_->throw_if_closed();
    return { impl_->hits.load(), impl_->misses.load() };
}

template <class P>
void Store<P>::reset_stats()
    requires P::stats
{
    impl_->throw_if_closed();
    impl_->hits.store(0);
    impl_->misses.store(0);
}

template <class P>
CheckResult Store<P>::check(bool fix)
{
    return impl_->check(fix);
}

template <class P>
void Store<P>::begin()
{
    impl_->begin();
}

template <class P>
void Store<P>::commit()
{
    impl_->commit();
}

template <class P>
void Store<P>::rollback()
{
    impl_->rollback();
}

template <class P>
bool Store<P>::in_transaction() const
{
    return transaction_depth() > 0;
}

template <class P>
int Store<P>::transaction_depth() const
{
    std::lock_guard l(impl_->mutex);
    return impl_->owner == std::this_thread::get_id() ? impl_->depth : 0;
}

template <class P>
std::optional<std::string> Store<P>::meta_get(std::string_view key)
{
    auto l = impl_->lock();
    return impl_->meta_get_locked(key);
}

template <class P>
void Store<P>::meta_set(std::string_view key, std::string_view value)
{
    auto l = impl_->write_lock();
    impl_->meta_set_locked(key, value);
}

template <class P>
void Store<P>::close()
{
    impl_->shutdown();
}

template <class P>
bool Store<P>::closed() const noexcept
{
    std::lock_guard l(impl_->mutex);
    return impl_->is_closed;
}

template <class P>
const fs::path& Store<P>::directory() const noexcept
{
    return impl_->directory;
}

template <class P>
void Store<P>::run_maintenance()
{
    impl_->on_maintenance_connection(
        [&](Connection& c, bool use_store_lock)
        {
            if constexpr (P::eviction)
                impl_->flush_accesses(c);
            if constexpr (P::expiration)
                impl_->expire_batches(c, use_store_lock);
            if constexpr (P::eviction)
                impl_->evict_batches(c, use_store_lock);
            impl_->drain_trash(c);
            impl_->checkpoint(c);
            return 0;
        });
}

template class Store<CachePolicy>;
template class Store<IndexPolicy>;

} // namespace sciqlop_cache
