// The write-ahead log stays bounded: 100,000 single-commit sets never grow it past 64 MiB.
#include "test_support.hpp"

using namespace test;
using sciqlop_cache::Cache;
using sciqlop_cache::Index;

namespace
{
constexpr std::uint64_t wal_limit = 64ull << 20;

template <class S>
std::uint64_t max_wal_during_sets(S& store, const fs::path& dir, int sets)
{
    const auto wal = dir / "sciqlop-cache.db-wal";
    std::uint64_t max_seen = 0;
    const std::string value = make_value(200, 1);
    for (int i = 0; i < sets; ++i)
    {
        store.set("key-" + std::to_string(i), value);
        if (i % 1000 == 999)
        {
            std::error_code ec;
            const auto size = fs::file_size(wal, ec);
            if (!ec)
                max_seen = std::max<std::uint64_t>(max_seen, size);
            CHECK_MESSAGE(size < wal_limit, "WAL at " << size << " bytes after " << i + 1 << " sets");
            CHECK(store.wal_size() < wal_limit);
        }
    }
    return max_seen;
}
}

TEST_SUITE("wal")
{
    TEST_CASE("Cache: 100,000 single-commit sets keep the WAL under 64 MiB")
    {
        TempDir tmp("wal");
        Cache cache(tmp.path());
        const auto max_seen = max_wal_during_sets(cache, tmp.path(), 100'000);
        MESSAGE("largest WAL seen: " << max_seen << " bytes");
        CHECK(max_seen > 0); // the WAL was really sampled
        CHECK(cache.count() == 100'000);
        CHECK(cache.size() == 100'000ull * 200);
    }

    TEST_CASE("Index: 20,000 single-commit overwrites of large values keep the WAL under 64 MiB")
    {
        TempDir tmp("wal");
        Index index(tmp.path());
        const auto wal = tmp / "sciqlop-cache.db-wal";
        std::uint64_t max_seen = 0;
        for (int i = 0; i < 20'000; ++i)
        {
            index.set("k" + std::to_string(i % 500), make_value(8000, static_cast<std::uint64_t>(i % 7)));
            if (i % 1000 == 999)
            {
                std::error_code ec;
                const auto size = fs::file_size(wal, ec);
                if (!ec)
                    max_seen = std::max<std::uint64_t>(max_seen, size);
            }
        }
        MESSAGE("largest WAL seen: " << max_seen << " bytes");
        CHECK(max_seen < wal_limit);
        CHECK(index.count() == 500);
    }
}
