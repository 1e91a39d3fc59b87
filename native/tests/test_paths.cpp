// A store never reads, writes or unlinks outside its directory: a `path` column that is
// absolute, contains "..", or goes through a symbolic link is a miss (reported by check(),
// never followed), and clear()/check(true) do not follow symbolic links.
#include "test_support.hpp"

using namespace test;
using namespace std::string_literals;
using sciqlop_cache::Cache;
using sciqlop_cache::Index;
using sciqlop_cache::Options;

namespace
{
const std::string secret = make_value(10000, 42);

/// A store holding one file-backed entry "victim" whose row is then pointed at `path`
/// (the size stays 10000, the size of the outside file).
template <class S>
void point_victim_at(const fs::path& dir, const std::string& path)
{
    {
        S store(dir, Options { .background = false });
        store.set("victim", make_value(10000, 1));
    }
    RawDb raw(db_file(dir));
    REQUIRE(raw.integer("SELECT count(*) FROM cache") == 1);
    raw.exec_with_text("UPDATE cache SET path = ?1", path);
}

template <class S>
void check_not_followed(const fs::path& dir, const fs::path& outside_file)
{
    S store(dir, Options { .background = false });
    CHECK_FALSE(store.get("victim").has_value());
    CHECK(read_file(outside_file) == secret);
    CHECK_FALSE(store.exists("victim"));
    const auto r = store.check(true);
    CHECK(r.orphaned_files + r.dangling_rows + r.size_mismatches <= 1);
    const auto clean = store.check();
    CHECK(clean.ok);
    store.clear();
    store.run_maintenance();
    CHECK(read_file(outside_file) == secret);
}

template <class S>
void check_reported_by_check(const fs::path& dir, const fs::path& outside_file)
{
    S store(dir, Options { .background = false });
    const auto r = store.check();
    CHECK_FALSE(r.ok);
    CHECK(r.dangling_rows + r.size_mismatches == 1);
    const auto fixed = store.check(true);
    CHECK_FALSE(fixed.ok);
    CHECK(store.check().ok);
    CHECK_FALSE(store.get("victim").has_value());
    CHECK(read_file(outside_file) == secret);
}

enum class Unsafe
{
    absolute,
    dot_dot,
    dot_dot_inside,
    file_symlink,
    directory_symlink,
};

/// Prepares `store` (not yet created) and returns the unsafe path pointing at `outside_file`.
std::string prepare(Unsafe kind, const fs::path& store, const fs::path& outside, const fs::path& outside_file)
{
    switch (kind)
    {
    case Unsafe::absolute: return outside_file.string();
    case Unsafe::dot_dot: return "../outside/ab/cd/secret";
    case Unsafe::dot_dot_inside: return "ab/../../outside/ab/cd/secret";
    case Unsafe::file_symlink:
        fs::create_directories(store / "ef" / "01");
        fs::create_symlink(outside_file, store / "ef" / "01" / "link");
        return "ef/01/link";
    case Unsafe::directory_symlink:
        fs::create_directories(store);
        fs::create_directory_symlink(outside, store / "ef");
        return "ef/ab/cd/secret";
    }
    return {};
}

template <class S>
void run_all()
{
    for (Unsafe kind : { Unsafe::absolute, Unsafe::dot_dot, Unsafe::dot_dot_inside, Unsafe::file_symlink,
                         Unsafe::directory_symlink })
    {
        CAPTURE(static_cast<int>(kind));
        for (bool via_check : { false, true })
        {
            CAPTURE(via_check);
            TempDir tmp("paths");
            const auto outside = tmp / "outside";
            const auto outside_file = outside / "ab" / "cd" / "secret";
            write_file(outside_file, secret);
            const auto store = tmp / "store";
            const auto path = prepare(kind, store, outside, outside_file);
            point_victim_at<S>(store, path);
            if (via_check)
                check_reported_by_check<S>(store, outside_file);
            else
                check_not_followed<S>(store, outside_file);
        }
    }
}
}

TEST_SUITE("paths")
{
    TEST_CASE("Cache: an unsafe value path is a miss, reported, never followed")
    {
        run_all<Cache>();
    }

    TEST_CASE("Index: an unsafe value path is a miss, reported, never followed")
    {
        run_all<Index>();
    }

    TEST_CASE("check(true) and clear() do not follow a symbolic link out of the value tree")
    {
        TempDir tmp("paths");
        const auto outside = tmp / "outside";
        const auto old_file = outside / "01" / "abcd0000-0000-4000-8000-000000000000-1";
        write_file(old_file, "precious");
        age_file(old_file, 3600);
        const auto store_dir = tmp / "store";
        Cache cache(store_dir, Options { .background = false, .trash_grace = std::chrono::duration<double>(0) });
        cache.set("k", make_value(10000, 1));
        fs::create_directory_symlink(outside, store_dir / "ef");
        (void)cache.check(true);
        CHECK(read_file(old_file) == "precious");
        cache.clear();
        cache.run_maintenance();
        cache.close();
        CHECK(read_file(old_file) == "precious");
        CHECK(fs::exists(outside / "01"));
    }
}
