// The WAL-frame VFS (native/src/wal_vfs.cpp): one write per WAL frame, the same bytes in the
// same order as SQLite's own VFS, errors reported, files interchangeable with other SQLite
// users. The unix VFS's pwrite is replaced (xSetSystemCall) to count and to fail writes.
#include "test_support.hpp"
#include "wal_vfs.hpp"

#include <sqlite3.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <random>

#ifndef _WIN32
#include <unistd.h>

using namespace test;

namespace
{

struct Write
{
    std::size_t size;
    long long offset;
    int fd = -1;
    std::thread::id thread {};
};

// The hook's state (the unix VFS's system calls are process-wide, and a store's background
// thread writes too: g_writes_mutex guards g_writes while a store is open).
std::mutex g_writes_mutex;
std::vector<Write> g_writes;
int g_fail_next_write_larger_than = -1; // fails (EIO) the first write larger than this
sqlite3_syscall_ptr g_real_pwrite = nullptr;

ssize_t counting_pwrite(int fd, const void* data, size_t size, off_t offset)
{
    if (g_fail_next_write_larger_than >= 0 && size > static_cast<size_t>(g_fail_next_write_larger_than))
    {
        g_fail_next_write_larger_than = -1;
        errno = EIO;
        return -1;
    }
    {
        std::lock_guard l(g_writes_mutex);
        g_writes.push_back({ size, static_cast<long long>(offset), fd, std::this_thread::get_id() });
    }
    return reinterpret_cast<ssize_t (*)(int, const void*, size_t, off_t)>(g_real_pwrite)(fd, data, size, offset);
}

/// Counts (and can fail) every pwrite of the unix VFS while alive.
struct PwriteHook
{
    sqlite3_vfs* unix_vfs = sqlite3_vfs_find(nullptr);
    PwriteHook()
    {
        REQUIRE(unix_vfs->iVersion >= 3);
        g_real_pwrite = unix_vfs->xGetSystemCall(unix_vfs, "pwrite");
        REQUIRE(static_cast<bool>(g_real_pwrite));
        REQUIRE(unix_vfs->xSetSystemCall(unix_vfs, "pwrite", reinterpret_cast<sqlite3_syscall_ptr>(counting_pwrite))
                == SQLITE_OK);
        g_writes.clear();
        g_fail_next_write_larger_than = -1;
    }
    ~PwriteHook()
    {
        unix_vfs->xSetSystemCall(unix_vfs, "pwrite", nullptr); // restores the default
        g_fail_next_write_larger_than = -1;
    }
    PwriteHook(const PwriteHook&) = delete;
    PwriteHook& operator=(const PwriteHook&) = delete;
};

/// A raw connection, through the WAL-frame VFS (or SQLite's default one when `vfs` is null).
struct Db
{
    sqlite3* db = nullptr;
    Db(const fs::path& file, const char* vfs)
    {
        REQUIRE(sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs) == SQLITE_OK);
    }
    ~Db() { sqlite3_close_v2(db); }
    Db(const Db&) = delete;
    Db& operator=(const Db&) = delete;
    int exec(const std::string& sql) { return sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr); }
    void must(const std::string& sql) { REQUIRE_MESSAGE(exec(sql) == SQLITE_OK, sql << ": " << sqlite3_errmsg(db)); }
    std::string text(const std::string& sql)
    {
        sqlite3_stmt* s = nullptr;
        REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK);
        std::string out;
        while (sqlite3_step(s) == SQLITE_ROW)
            for (int c = 0; c < sqlite3_column_count(s); ++c)
            {
                const auto* t = sqlite3_column_text(s, c);
                out += t ? reinterpret_cast<const char*>(t) : "NULL";
                out += c + 1 < sqlite3_column_count(s) ? "|" : "\n";
            }
        sqlite3_finalize(s);
        return out;
    }
};

long long size_of(const fs::path& p)
{
    std::error_code ec;
    const auto n = fs::file_size(p, ec);
    return ec ? 0 : static_cast<long long>(n);
}

constexpr long long frame = 24 + 4096; // header + page at the default page size

/// The file an open descriptor refers to (Linux's /proc), or "" when unknown.
std::string path_of(int fd)
{
    std::error_code ec;
    const auto target = fs::read_symlink("/proc/self/fd/" + std::to_string(fd), ec);
    return ec ? std::string() : target.string();
}


/// A TempDir that exists (TempDir only names one, for the stores to create).
struct Dir : TempDir
{
    Dir() { fs::create_directories(path()); }
};

} // namespace

TEST_SUITE("wal_vfs")
{
    TEST_CASE("each WAL frame is one write, where SQLite's own VFS makes two")
    {
        Dir dir;
        const char* ours = sciqlop_cache::detail::wal_frame_vfs();
        REQUIRE(ours != nullptr);
        for (const bool wrapped : { true, false })
        {
            CAPTURE(wrapped);
            const auto file = dir.path() / (wrapped ? "ours.db" : "plain.db");
            Db db(file, wrapped ? ours : nullptr);
            db.must("PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; PRAGMA synchronous=NORMAL;"
                    "CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB)");
            db.must("INSERT INTO t VALUES (1, zeroblob(100))"); // the WAL exists and has its header
            const auto wal = fs::path(file.string() + "-wal");
            PwriteHook hook;
            const long long before = size_of(wal);
            for (int i = 0; i < 20; ++i)
                db.must("UPDATE t SET v = randomblob(100) WHERE k = 1"); // one page, one frame
            db.must("WITH RECURSIVE s(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM s WHERE value < 2000) "
                    "INSERT INTO t SELECT value + 1, randomblob(300) FROM s");
            const long long frames = (size_of(wal) - before) / frame;
            CHECK(frames > 20 + 100); // the big insert wrote well over a hundred pages
            for (const auto& w : g_writes)
                CHECK(w.offset >= before); // WAL appends only: no checkpoint ran
            CHECK(static_cast<long long>(g_writes.size()) == (wrapped ? frames : 2 * frames));
            if (wrapped)
                for (const auto& w : g_writes)
                    CHECK(w.size == static_cast<std::size_t>(frame));
        }
    }

    TEST_CASE("held frame headers are written before anything else happens to the file, in order")
    {
        Dir dir;
        sqlite3_vfs* vfs = sqlite3_vfs_find(sciqlop_cache::detail::wal_frame_vfs());
        REQUIRE(vfs != nullptr);
        const auto db_path = dir.path() / "x.db";
        std::ofstream(db_path).put('\0'); // the unix VFS takes a WAL file's mode from its database
        sqlite3_filename name = sqlite3_create_filename(db_path.c_str(), (db_path.string() + "-journal").c_str(),
                                                        (db_path.string() + "-wal").c_str(), 0, nullptr);
        REQUIRE(name != nullptr);
        const char* wal_name = sqlite3_filename_wal(name);
        std::vector<char> storage(static_cast<std::size_t>(vfs->szOsFile));
        auto* f = reinterpret_cast<sqlite3_file*>(storage.data());
        int out_flags = 0;
        REQUIRE(vfs->xOpen(vfs, wal_name, f, SQLITE_OPEN_WAL | SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &out_flags)
                == SQLITE_OK);
        REQUIRE(f->pMethods != nullptr);
        std::string header(24, 'h'), page(4096, 'p'), other(10, 'o');
        std::vector<Write> expected;
        {
            PwriteHook hook;
            // A header then the bytes right after it: one write.
            CHECK(f->pMethods->xWrite(f, header.data(), 24, 32) == SQLITE_OK);
            CHECK(g_writes.empty());
            CHECK(f->pMethods->xWrite(f, page.data(), 4096, 56) == SQLITE_OK);
            expected.push_back({ 4120, 32 });
            // A header then a write elsewhere: the header first, on its own.
            CHECK(f->pMethods->xWrite(f, header.data(), 24, 5000) == SQLITE_OK);
            CHECK(f->pMethods->xWrite(f, other.data(), 10, 9000) == SQLITE_OK);
            expected.push_back({ 24, 5000 });
            expected.push_back({ 10, 9000 });
            // A header then a read of it: written before the read, which sees it.
            CHECK(f->pMethods->xWrite(f, header.data(), 24, 10000) == SQLITE_OK);
            char back[24] = {};
            CHECK(f->pMethods->xRead(f, back, 24, 10000) == SQLITE_OK);
            CHECK(std::string(back, 24) == header);
            expected.push_back({ 24, 10000 });
            // A header then a size query and a sync.
            CHECK(f->pMethods->xWrite(f, header.data(), 24, 11000) == SQLITE_OK);
            sqlite3_int64 size = 0;
            CHECK(f->pMethods->xFileSize(f, &size) == SQLITE_OK);
            CHECK(size == 11024);
            expected.push_back({ 24, 11000 });
            CHECK(f->pMethods->xWrite(f, header.data(), 24, 12000) == SQLITE_OK);
            CHECK(f->pMethods->xSync(f, SQLITE_SYNC_NORMAL) == SQLITE_OK);
            expected.push_back({ 24, 12000 });
            // A header held when the file is closed.
            CHECK(f->pMethods->xWrite(f, header.data(), 24, 13000) == SQLITE_OK);
            CHECK(f->pMethods->xClose(f) == SQLITE_OK);
            expected.push_back({ 24, 13000 });
            REQUIRE(g_writes.size() == expected.size());
            for (std::size_t i = 0; i < expected.size(); ++i)
            {
                CAPTURE(i);
                CHECK(g_writes[i].size == expected[i].size);
                CHECK(g_writes[i].offset == expected[i].offset);
            }
        }
        sqlite3_free_filename(name);
        std::ifstream in(db_path.string() + "-wal", std::ios::binary);
        const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        REQUIRE(bytes.size() == 13024);
        CHECK(bytes.substr(32, 24) == header);
        CHECK(bytes.substr(56, 4096) == page);
        CHECK(bytes.substr(5000, 24) == header);
        CHECK(bytes.substr(9000, 10) == other);
        CHECK(bytes.substr(13000, 24) == header);
    }

    TEST_CASE("a failed frame write fails its commit, and the database goes on from the last commit")
    {
        Dir dir;
        const auto file = dir.path() / "x.db";
        Db db(file, sciqlop_cache::detail::wal_frame_vfs());
        db.must("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT)");
        db.must("INSERT INTO t VALUES (1, 'one')");
        {
            PwriteHook hook;
            g_fail_next_write_larger_than = 24; // the combined header + page write
            const int rc = db.exec("INSERT INTO t VALUES (2, 'two')");
            CHECK((rc & 0xff) == SQLITE_IOERR);
            CHECK(g_fail_next_write_larger_than == -1); // the failure was injected
        }
        CHECK(db.text("SELECT k, v FROM t ORDER BY k") == "1|one\n");
        db.must("INSERT INTO t VALUES (3, 'three')");
        Db other(file, nullptr); // SQLite's own VFS reads what ours wrote, WAL included
        CHECK(other.text("SELECT k, v FROM t ORDER BY k") == "1|one\n3|three\n");
        CHECK(other.text("PRAGMA integrity_check") == "ok\n");
    }

    TEST_CASE("the same operations give the same database through either VFS, and each reads the other's WAL")
    {
        Dir dir;
        std::mt19937 rng(7);
        Db ours(dir.path() / "ours.db", sciqlop_cache::detail::wal_frame_vfs());
        Db plain(dir.path() / "plain.db", nullptr);
        for (Db* d : { &ours, &plain })
            d->must("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=20;"
                    "CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB)");
        for (int round = 0; round < 60; ++round)
        {
            // Transactions of one to a few hundred rows, with a tiny page cache so that big ones
            // spill (and rewrite frames of the transaction).
            const int rows = 1 + static_cast<int>(rng() % 300);
            const int start = static_cast<int>(rng() % 2000);
            const int size = 1 + static_cast<int>(rng() % 3000);
            const std::string sql = "BEGIN; WITH RECURSIVE s(value) AS (SELECT " + std::to_string(start)
                + " UNION ALL SELECT value + 1 FROM s WHERE value < " + std::to_string(start + rows - 1)
                + ") INSERT OR REPLACE INTO t SELECT value, zeroblob(" + std::to_string(size) + ") || CAST(value * "
                + std::to_string(round + 1) + " AS BLOB) FROM s; DELETE FROM t WHERE k % 97 = "
                + std::to_string(round % 97) + "; COMMIT";
            ours.must(sql);
            plain.must(sql);
        }
        const std::string digest = "SELECT count(*), sum(length(v)), sum(k * length(v)) FROM t";
        const std::string expected = plain.text(digest);
        CHECK(ours.text(digest) == expected);
        // Read the other VFS's files while their writers are open, before any checkpoint of it.
        Db ours_by_plain(dir.path() / "ours.db", nullptr);
        Db plain_by_ours(dir.path() / "plain.db", sciqlop_cache::detail::wal_frame_vfs());
        CHECK(ours_by_plain.text(digest) == expected);
        CHECK(plain_by_ours.text(digest) == expected);
        CHECK(ours_by_plain.text("PRAGMA integrity_check") == "ok\n");
        CHECK(plain_by_ours.text("PRAGMA integrity_check") == "ok\n");
    }

    TEST_CASE("the engine's stores open through it")
    {
        Dir dir;
        sciqlop_cache::Cache cache(dir.path());
        cache.set("k", std::string(300, 'v'));
        Db plain(dir.path() / "sciqlop-cache.db", nullptr);
        CHECK(plain.text("SELECT length(value) FROM cache WHERE key = 'k'") == "300\n");
        PwriteHook hook;
        for (int i = 0; i < 10; ++i)
            cache.set("k", std::string(300, static_cast<char>('a' + i)));
        CHECK(g_writes.size() >= 10);
        for (const auto& w : g_writes)
            CHECK(w.size != 24); // no frame header written on its own
    }

    TEST_CASE("large transactions leave the checkpoints they trigger to the background thread, small ones run them")
    {
        if (!fs::exists("/proc/self/fd"))
            return; // the check below names files by their descriptors, through Linux's /proc
        // Database pages written (by checkpoints: commits write the WAL) by the committing
        // thread and by others, without then with a background thread.
        std::uint64_t here[2] = {}, elsewhere[2] = {}, small_commits_here[2] = {};
        for (const bool background : { false, true })
        {
            CAPTURE(background);
            Dir dir;
            sciqlop_cache::Cache cache(dir.path(), sciqlop_cache::Options { .background = background });
            const std::string value(200, 'v');
            cache.transact(
                [&]
                {
                    for (int i = 0; i < 20000; ++i)
                        cache.set("k" + std::to_string(i), value);
                });
            const auto main_thread = std::this_thread::get_id();
            const auto count = [&](std::uint64_t& mine, std::uint64_t* others)
            {
                std::lock_guard l(g_writes_mutex);
                for (const auto& w : g_writes)
                    if (path_of(w.fd).ends_with("sciqlop-cache.db"))
                        ++(w.thread == main_thread ? mine : *others);
            };
            {
                PwriteHook hook;
                // 2,000 overwrites spread over the 20,000 entries, 60 times: a thousand pages
                // or so per commit, each past SQLite's 1,000-page checkpoint threshold.
                for (int round = 1; round <= 60; ++round)
                    cache.transact(
                        [&]
                        {
                            for (int i = 0; i < 2000; ++i)
                                cache.set("k" + std::to_string((i * 7919 + round * 104729) % 20000),
                                          std::string(200, static_cast<char>('a' + round % 26)));
                        });
                count(here[background], &elsewhere[background]);
            }
            {
                PwriteHook hook;
                for (int i = 0; i < 3000; ++i) // single-set commits: one page each
                    cache.set("k" + std::to_string(i % 100), value);
                std::uint64_t ignored = 0;
                count(small_commits_here[background], &ignored);
            }
            MESSAGE("database pages written by the committing thread: " << here[background]
                                                                        << ", by others: " << elsewhere[background]);
            CHECK(small_commits_here[background] > 0); // small commits still checkpoint themselves
            CHECK(cache.wal_size() < (64ull << 20));
            CHECK(cache.count() == 20000);
            CHECK(cache.check().ok);
        }
        CHECK(elsewhere[0] == 0);
        CHECK(here[0] > 20000); // without a background thread, every large commit checkpoints
        // With one, the committing thread checkpoints only when the WAL reaches 8,192 pages (the
        // background thread not keeping up with this loop): a fraction of the pages, even if
        // the background thread never ran.
        CHECK(here[1] * 3 < here[0]);
    }
}

#endif // _WIN32
