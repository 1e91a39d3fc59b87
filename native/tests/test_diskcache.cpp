// DiskcacheSource over a database laid out exactly as diskcache 5.x writes it (schema and
// triggers copied from diskcache/core.py, double-quoted literals included): batches, value
// files, paths that leave the directory, --drop deletions that fire diskcache's triggers.
#include "test_support.hpp"

#include "sciqlop_cache/diskcache_source.hpp"

#include <sqlite3.h>

#include <algorithm>

using namespace test;
using sciqlop_cache::DiskcacheRow;
using sciqlop_cache::DiskcacheSource;
using sciqlop_cache::SqlValue;

namespace
{
/// diskcache.Cache.__init__'s schema (eviction policy least-recently-stored).
constexpr const char* diskcache_schema = R"sql(
CREATE TABLE Settings ( key TEXT NOT NULL UNIQUE, value);
INSERT INTO Settings VALUES ('count', 0), ('size', 0), ('hits', 0), ('misses', 0);
CREATE TABLE Cache ( rowid INTEGER PRIMARY KEY, key BLOB, raw INTEGER, store_time REAL, expire_time REAL,
  access_time REAL, access_count INTEGER DEFAULT 0, tag BLOB, size INTEGER DEFAULT 0, mode INTEGER DEFAULT 0,
  filename TEXT, value BLOB);
CREATE UNIQUE INDEX Cache_key_raw ON Cache(key, raw);
CREATE INDEX Cache_expire_time ON Cache (expire_time);
CREATE INDEX Cache_store_time ON Cache (store_time);
CREATE TRIGGER Settings_count_insert AFTER INSERT ON Cache FOR EACH ROW BEGIN UPDATE Settings SET value = value + 1 WHERE key = "count"; END;
CREATE TRIGGER Settings_count_delete AFTER DELETE ON Cache FOR EACH ROW BEGIN UPDATE Settings SET value = value - 1 WHERE key = "count"; END;
CREATE TRIGGER Settings_size_insert AFTER INSERT ON Cache FOR EACH ROW BEGIN UPDATE Settings SET value = value + NEW.size WHERE key = "size"; END;
CREATE TRIGGER Settings_size_update AFTER UPDATE ON Cache FOR EACH ROW BEGIN UPDATE Settings SET value = value + NEW.size - OLD.size WHERE key = "size"; END;
CREATE TRIGGER Settings_size_delete AFTER DELETE ON Cache FOR EACH ROW BEGIN UPDATE Settings SET value = value - OLD.size WHERE key = "size"; END;
)sql";

/// A diskcache directory with: a str key with a raw int, a bytes key, an int key, a pickled
/// key, a binary file value, a value whose file is missing, one whose path leaves the
/// directory, and a tagged entry with an expiry.
void make_diskcache(const fs::path& dir)
{
    fs::create_directories(dir / "ab" / "cd");
    write_file(dir / "ab" / "cd" / "0123.val", "file bytes");
    write_file(dir.parent_path() / "outside.val", "secret");
    RawDb db(dir / "cache.db", true);
    sqlite3_db_config(db.handle(), SQLITE_DBCONFIG_DQS_DDL, 1, nullptr);
    sqlite3_db_config(db.handle(), SQLITE_DBCONFIG_DQS_DML, 1, nullptr);
    db.exec("PRAGMA journal_mode = wal");
    db.exec(diskcache_schema);
    db.exec(
        "INSERT INTO Cache (key, raw, store_time, mode, value) VALUES ('answer', 1, 10.0, 1, 42);"
        "INSERT INTO Cache (key, raw, store_time, mode, value) VALUES (x'00ff', 1, 11.0, 1, 'bytes key');"
        "INSERT INTO Cache (key, raw, store_time, mode, value) VALUES (7, 1, 12.0, 1, 2.5);"
        "INSERT INTO Cache (key, raw, store_time, mode, value) VALUES (x'80054b012e', 0, 13.0, 4, x'80054b022e');"
        "INSERT INTO Cache (key, raw, store_time, mode, filename, size) VALUES ('file', 1, 14.0, 2, 'ab/cd/0123.val', 10);"
        "INSERT INTO Cache (key, raw, store_time, mode, filename, size) VALUES ('missing', 1, 15.0, 2, 'ab/cd/none.val', 3);"
        "INSERT INTO Cache (key, raw, store_time, mode, filename, size) VALUES ('escape', 1, 16.0, 2, '../outside.val', 6);"
        "INSERT INTO Cache (key, raw, store_time, expire_time, tag, mode, value) VALUES ('tagged', 1, 17.0, 99.5, 'blue', 1, 'v');");
}

std::vector<DiskcacheRow> all_rows(DiskcacheSource& source, std::size_t batch)
{
    std::vector<DiskcacheRow> rows;
    for (auto part = source.next_batch(batch); !part.empty(); part = source.next_batch(batch))
        rows.insert(rows.end(), part.begin(), part.end());
    return rows;
}
}

TEST_SUITE("diskcache")
{
    TEST_CASE("rows come in batches, keys that are not str first, each part in rowid order, with SQLite's own types")
    {
        TempDir tmp("dc");
        const auto dir = tmp / "src";
        make_diskcache(dir);
        DiskcacheSource source(dir);
        CHECK(source.count() == 8);
        auto rows = all_rows(source, 3);
        REQUIRE(rows.size() == 8);
        const std::vector<std::int64_t> order { 2, 3, 4, 1, 5, 6, 7, 8 };
        for (std::size_t i = 0; i < rows.size(); ++i)
            CHECK(rows[i].rowid == order[i]);
        std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.rowid < b.rowid; });

        CHECK(rows[0].key.type == SqlValue::Type::text);
        CHECK(rows[0].key.bytes == "answer");
        CHECK(rows[0].raw);
        CHECK(rows[0].value.type == SqlValue::Type::integer);
        CHECK(rows[0].value.integer == 42);
        CHECK(rows[0].store_time == 10.0);
        CHECK_FALSE(rows[0].expire_time.has_value());
        CHECK(rows[0].tag.type == SqlValue::Type::null);

        CHECK(rows[1].key.type == SqlValue::Type::blob);
        CHECK(rows[1].key.bytes == std::string("\x00\xff", 2));
        CHECK(rows[2].key.type == SqlValue::Type::integer);
        CHECK(rows[2].value.type == SqlValue::Type::real);
        CHECK(rows[2].value.real == 2.5);
        CHECK_FALSE(rows[3].raw);
        CHECK(rows[3].mode == static_cast<int>(sciqlop_cache::DiskcacheMode::pickle));
        CHECK(rows[4].filename == "ab/cd/0123.val");
        CHECK(rows[4].size == 10);
        CHECK(rows[7].tag.bytes == "blue");
        CHECK(rows[7].expire_time == 99.5);
        CHECK(source.next_batch(10).empty());
    }

    TEST_CASE("value files: read when inside the directory and of the recorded size, never followed out of it")
    {
        TempDir tmp("dc");
        const auto dir = tmp / "src";
        make_diskcache(dir);
        DiskcacheSource source(dir);
        CHECK(source.read_file("ab/cd/0123.val", 10).view() == "file bytes");
        CHECK(source.read_file("ab\\cd\\0123.val", 10).view() == "file bytes"); // written on Windows
        CHECK_ERROR_CODE(source.read_file("ab/cd/0123.val", 11), "CORRUPT");
        CHECK_ERROR_CODE(source.read_file("ab/cd/none.val", 3), "ENOENT");
        CHECK_ERROR_CODE(source.read_file("../outside.val", 6), "CORRUPT");
        CHECK_ERROR_CODE(source.read_file((tmp / "outside.val").string(), 6), "CORRUPT");
        fs::create_directory_symlink(tmp.path(), dir / "ef");
        CHECK_ERROR_CODE(source.read_file("ef/outside.val", 6), "CORRUPT");
    }

    TEST_CASE("remove deletes the row through diskcache's triggers, then its file and empty folders")
    {
        TempDir tmp("dc");
        const auto dir = tmp / "src";
        make_diskcache(dir);
        {
            DiskcacheSource source(dir, true);
            auto rows = all_rows(source, 100);
            std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.rowid < b.rowid; });
            CHECK_FALSE(source.remove(rows[4].rowid, 99.0)); // replaced since read: left alone
            CHECK(fs::exists(dir / "ab" / "cd" / "0123.val"));
            CHECK(source.remove(rows[4].rowid, rows[4].store_time));
            CHECK_FALSE(fs::exists(dir / "ab"));
            CHECK(source.remove(rows[0].rowid, rows[0].store_time));
            CHECK_FALSE(source.remove(rows[0].rowid, rows[0].store_time));
            CHECK(source.remove(rows[6].rowid, rows[6].store_time)); // unsafe path: row gone, file kept
            CHECK(fs::exists(tmp / "outside.val"));
            CHECK(source.count() == 5);
        }
        RawDb db(dir / "cache.db");
        CHECK(db.integer("SELECT value FROM Settings WHERE key = 'count'") == 5);
        CHECK(db.integer("SELECT value FROM Settings WHERE key = 'size'") == 3);
    }

    TEST_CASE("a source not opened writable cannot remove, and leaves no file behind")
    {
        TempDir tmp("dc");
        const auto dir = tmp / "src";
        make_diskcache(dir);
        {
            DiskcacheSource source(dir);
            CHECK_ERROR_CODE(source.remove(1, 10.0), "READ_ONLY");
            CHECK(source.count() == 8);
            CHECK(all_rows(source, 100).size() == 8);
        }
        CHECK_FALSE(fs::exists(dir / "cache.db-wal"));
        CHECK_FALSE(fs::exists(dir / "cache.db-shm"));
    }

    TEST_CASE("has_text_key matches str keys only")
    {
        TempDir tmp("dc");
        const auto dir = tmp / "src";
        make_diskcache(dir);
        DiskcacheSource source(dir);
        CHECK(source.has_text_key("answer"));
        CHECK_FALSE(source.has_text_key("7"));
        CHECK_FALSE(source.has_text_key("nope"));
    }

    TEST_CASE("not a diskcache: a missing database, another schema, garbage; closed")
    {
        TempDir tmp("dc");
        CHECK_ERROR_CODE(DiskcacheSource(tmp / "none"), "ENOENT");
        fs::create_directories(tmp / "other");
        {
            RawDb db(tmp / "other" / "cache.db", true);
            db.exec("CREATE TABLE t(x)");
        }
        CHECK_ERROR_CODE(DiskcacheSource(tmp / "other"), "NOT_A_DISKCACHE");
        fs::create_directories(tmp / "garbage");
        write_file(tmp / "garbage" / "cache.db", std::string(4096, 'x'));
        CHECK_ERROR_CODE(DiskcacheSource(tmp / "garbage"), "CORRUPT");

        make_diskcache(tmp / "src");
        DiskcacheSource source(tmp / "src");
        source.close();
        source.close();
        CHECK(source.closed());
        CHECK_ERROR_CODE(source.count(), "CLOSED");
    }
}
