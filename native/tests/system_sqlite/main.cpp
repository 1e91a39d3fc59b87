// A C++ program that links the system's libsqlite3 next to sciqlop-cache and uses both.
// Our bundled SQLite lives under private names (cmake/sqlite3_prefix.cmake); without them a
// static link would bind this file's sqlite3_* calls to the bundled copy (or the library's
// calls to the system one). Exits non-zero on any surprise.
#include "sciqlop_cache/sciqlop_cache.hpp"

#include <sqlite3.h> // the system's header: this target has no vendored include directory

#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <unistd.h>

namespace fs = std::filesystem;
namespace sc = sciqlop_cache;

namespace
{
int failures = 0;

void expect(bool ok, const std::string& what)
{
    std::cout << (ok ? "  ok   " : "  FAIL ") << what << '\n';
    if (!ok)
        ++failures;
}

long long count_rows(const fs::path& db_file, const char* sql)
{
    sqlite3* db = nullptr;
    long long n = -1;
    if (sqlite3_open_v2(db_file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK)
    {
        sqlite3_stmt* st = nullptr;
        if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
            n = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return n;
}
}

int main()
{
    const fs::path root = fs::temp_directory_path() / ("sciqlop-cache-system-sqlite-" + std::to_string(::getpid()));
    fs::remove_all(root);
    fs::create_directories(root);

    const std::string system_version = sqlite3_libversion();
    const std::string bundled_version = sc::sqlite_version();
    std::cout << "system SQLite " << system_version << ", bundled SQLite " << bundled_version << '\n';
    expect(system_version == SQLITE_VERSION, "sqlite3_libversion() is the system library's (" SQLITE_VERSION ")");
    expect(bundled_version == SCIQLOP_CACHE_EXPECTED_SQLITE_VERSION,
        "sciqlop_cache::sqlite_version() is the bundled " SCIQLOP_CACHE_EXPECTED_SQLITE_VERSION);
    expect(system_version != bundled_version, "the two versions differ (else this test proves nothing)");

    // The system SQLite, in its own database.
    {
        sqlite3* db = nullptr;
        bool ok = sqlite3_open_v2((root / "system.db").c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr)
            == SQLITE_OK;
        ok = ok
            && sqlite3_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES (1), (2), (3);", nullptr, nullptr, nullptr)
                == SQLITE_OK;
        sqlite3_close(db);
        expect(ok, "the system SQLite creates and fills a database");
    }

    // sciqlop-cache, at the same time as an open system connection.
    sqlite3* system_db = nullptr;
    sqlite3_open_v2((root / "system.db").c_str(), &system_db, SQLITE_OPEN_READWRITE, nullptr);
    try
    {
        sc::Cache cache(root / "cache");
        for (int i = 0; i < 100; ++i)
            cache.set("key-" + std::to_string(i), std::string(i % 10 == 0 ? 20000 : 50, static_cast<char>('a' + i % 26)));
        const auto v = cache.get("key-7");
        expect(v && v->size() == 50 && v->view()[0] == 'h', "sciqlop-cache stores and reads a value");
        expect(cache.check().ok, "sciqlop-cache check() is clean");
        expect(sqlite3_exec(system_db, "INSERT INTO t VALUES (4);", nullptr, nullptr, nullptr) == SQLITE_OK,
            "the system SQLite writes while a store is open");
    }
    catch (const std::exception& e)
    {
        expect(false, std::string("sciqlop-cache threw: ") + e.what());
    }
    sqlite3_close(system_db);

    // Each reads the other's file format (after the store is closed: two SQLite libraries
    // must not hold the same database file open in one process, their POSIX locks interfere).
    expect(count_rows(root / "system.db", "SELECT count(*) FROM t") == 4, "the system database has 4 rows");
    expect(count_rows(root / "cache" / "sciqlop-cache.db", "SELECT count(*) FROM cache") == 100,
        "the system SQLite reads the store's database: 100 rows");

    fs::remove_all(root);
    if (failures)
        std::cout << failures << " failure(s)\n";
    return failures ? 1 : 0;
}
