// The on-disk format of SPEC section 4: file names, WAL mode, tables and columns, meta,
// the 8 KiB blob/file threshold and the ab/cd/<name> layout; plus opening without writing
// and the background thread's prompt stop.
#include "test_support.hpp"

#include <regex>

using namespace test;
using namespace std::chrono_literals;
using namespace std::string_literals;
using sciqlop_cache::Cache;
using sciqlop_cache::Index;
using sciqlop_cache::Options;

namespace
{
std::vector<std::string> columns_of(RawDb& raw, const std::string& table)
{
    return raw.column("SELECT name FROM pragma_table_info('" + table + "') ORDER BY cid");
}

bool contains(const std::vector<std::string>& v, const std::string& s)
{
    return std::find(v.begin(), v.end(), s) != v.end();
}
}

TEST_SUITE("format")
{
    TEST_CASE("Cache schema: tables, columns, WITHOUT ROWID, WAL, meta")
    {
        TempDir tmp("format");
        {
            Cache cache(tmp.path(), Options { .max_size = 1'000'000 });
            cache.set("k", "v"s);
        }
        CHECK(fs::is_regular_file(db_file(tmp.path())));
        RawDb raw(db_file(tmp.path()));
        CHECK(raw.text("PRAGMA journal_mode") == std::optional<std::string>("wal"));
        const auto cols = columns_of(raw, "cache");
        const std::vector<std::string> expected { "key",      "path",     "value", "size",
                                                  "expire",   "last_update", "last_use",
                                                  "access_count_since_last_update", "tag" };
        REQUIRE(cols.size() >= expected.size());
        CHECK(std::vector<std::string>(cols.begin(), cols.begin() + static_cast<std::ptrdiff_t>(expected.size()))
              == expected);
        const auto sql = raw.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'cache'");
        REQUIRE(sql);
        CHECK(sql->find("WITHOUT ROWID") != std::string::npos);
        CHECK(raw.integer("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'idx_cache_tag'") == 1);
        CHECK(columns_of(raw, "meta") == std::vector<std::string> { "key", "value" });
        CHECK(columns_of(raw, "trash") == std::vector<std::string> { "path", "ts" });
        CHECK(raw.integer("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'counters'") == 1);
        CHECK(raw.text("SELECT value FROM meta WHERE key = 'format_version'") == std::optional<std::string>("1"));
        CHECK(raw.integer("SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'max_size'") == 1'000'000);
        // The key is stored as TEXT.
        CHECK(raw.text("SELECT typeof(key) FROM cache") == std::optional<std::string>("text"));
    }

    TEST_CASE("Index schema: the bare columns only")
    {
        TempDir tmp("format");
        {
            Index index(tmp.path());
            index.set("k", "v"s);
        }
        RawDb raw(db_file(tmp.path()));
        CHECK(raw.text("PRAGMA journal_mode") == std::optional<std::string>("wal"));
        const auto cols = columns_of(raw, "cache");
        CHECK(cols == std::vector<std::string> { "key", "path", "value", "size" });
        CHECK_FALSE(contains(cols, "expire"));
        CHECK(raw.text("SELECT value FROM meta WHERE key = 'format_version'") == std::optional<std::string>("1"));
        CHECK(raw.integer("SELECT count(*) FROM meta WHERE key = 'max_size'") == 0);
        CHECK(columns_of(raw, "trash") == std::vector<std::string> { "path", "ts" });
    }

    TEST_CASE("values of at most 8192 bytes are BLOBs, larger ones files at ab/cd/<name>")
    {
        TempDir tmp("format");
        Cache cache(tmp.path(), Options { .background = false });
        cache.set("blob-0", ""s);
        cache.set("blob-8191", make_value(8191, 1));
        cache.set("blob-8192", make_value(8192, 2));
        CHECK(value_files(tmp.path()).empty());
        cache.set("file-8193", make_value(8193, 3));
        cache.set("file-1M", make_value(1 << 20, 4));
        CHECK(value_files(tmp.path()).size() == 2);

        RawDb raw(db_file(tmp.path()));
        CHECK(raw.integer("SELECT count(*) FROM cache WHERE path IS NULL AND value IS NOT NULL") == 3);
        CHECK(raw.integer("SELECT size FROM cache WHERE key = 'blob-8192'") == 8192);
        CHECK(raw.integer("SELECT length(value) FROM cache WHERE key = 'blob-8192'") == 8192);
        CHECK(raw.integer("SELECT size FROM cache WHERE key = 'blob-0'") == 0);
        CHECK(raw.integer("SELECT count(*) FROM cache WHERE path IS NOT NULL AND value IS NULL") == 2);

        const std::regex layout("^([0-9a-f]{2})/([0-9a-f]{2})/([^/]+)$");
        for (const auto& [key, size, seed] : { std::tuple { "file-8193", std::size_t { 8193 }, 3 },
                                               std::tuple { "file-1M", std::size_t { 1 << 20 }, 4 } })
        {
            CAPTURE(key);
            const auto path = raw.text("SELECT path FROM cache WHERE key = '"s + key + "'");
            REQUIRE(path);
            std::smatch m;
            REQUIRE_MESSAGE(std::regex_match(*path, m, layout), "path " << *path);
            // The folders are the first four hex digits of the file name.
            CHECK(m[3].str().substr(0, 4) == m[1].str() + m[2].str());
            CHECK(raw.integer("SELECT size FROM cache WHERE key = '"s + key + "'") == static_cast<std::int64_t>(size));
            // The file holds exactly the value's bytes.
            CHECK(read_file(tmp / *path) == make_value(size, static_cast<std::uint64_t>(seed)));
        }
    }

    TEST_CASE("opening an existing store performs no write")
    {
        TempDir tmp("format");
        {
            Cache cache(tmp.path(), Options { .max_size = 5000 });
            cache.set("k", "v"s);
        }
        {
            Index index(tmp / "idx");
            index.set("k", "v"s);
        }
        RawDb raw(db_file(tmp.path()));
        RawDb raw_index(db_file(tmp / "idx"));
        const auto v0 = raw.integer("PRAGMA data_version");
        const auto i0 = raw_index.integer("PRAGMA data_version");
        {
            Cache a(tmp.path(), Options { .background = false });
            Cache b(tmp.path(), Options { .max_size = 5000, .background = false });
            Index c(tmp / "idx");
            CHECK(to_string(a.get("k")) == "v");
            CHECK(to_string(c.get("k")) == "v");
            CHECK(raw.integer("PRAGMA data_version") == v0);
            CHECK(raw_index.integer("PRAGMA data_version") == i0);
        }
        // A different max_size is the one write an open may do.
        Cache d(tmp.path(), Options { .max_size = 6000, .background = false });
        CHECK(raw.integer("PRAGMA data_version") != v0);
        CHECK(raw.integer("SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'max_size'") == 6000);
    }

    TEST_CASE("the background thread stops promptly on close and on destruction")
    {
        TempDir tmp("format");
        for (bool explicit_close : { true, false })
        {
            CAPTURE(explicit_close);
            auto cache = std::make_unique<Cache>(tmp.path(), Options { .background = true, .background_period = 1000ms });
            cache->set("k", "v"s);
            sleep_seconds(0.15); // the thread is now waiting for its next period
            const auto t0 = std::chrono::steady_clock::now();
            if (explicit_close)
                cache->close();
            else
                cache.reset();
            const auto elapsed = std::chrono::steady_clock::now() - t0;
            CHECK_MESSAGE(elapsed < 250ms,
                          "stopping took " << std::chrono::duration<double>(elapsed).count() << " s");
        }
    }
}
