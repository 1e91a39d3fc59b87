// The entry/byte counters and the trash are kept by the engine in C++ (its connections run
// with triggers off) and by the schema's triggers for any other writer. These tests drive
// every kind of write, inside and outside (nested) transactions that commit or roll back,
// and compare after each step: the counters row with a recount, count()/size() with a model,
// and the value files on disk with the rows and trash entries that reference them.
#include "test_support.hpp"

#include <map>
#include <random>
#include <set>

using namespace test;
using namespace std::chrono_literals;
using sciqlop_cache::Cache;
using sciqlop_cache::Entry;
using sciqlop_cache::Index;
using sciqlop_cache::Options;

namespace
{

/// The counters row against a recount, through a separate connection (committed state).
void check_counters_row(const fs::path& dir)
{
    RawDb raw(db_file(dir));
    const auto stored = raw.text("SELECT count || ' ' || bytes || ' ' || file_bytes FROM counters WHERE id = 0");
    const auto recount = raw.text("SELECT count(*) || ' ' || coalesce(sum(size), 0) || ' ' || "
                                  "coalesce(sum(CASE WHEN path IS NOT NULL THEN size END), 0) FROM cache");
    REQUIRE(stored);
    CHECK_MESSAGE(*stored == *recount, "counters " << *stored << ", recount " << *recount);
}

/// Every value file on disk is referenced by a row or by the trash, and every referenced
/// path of a row exists (stores opened with background = false: nothing is unlinked).
void check_files_accounted(const fs::path& dir)
{
    RawDb raw(db_file(dir));
    std::set<std::string> referenced;
    for (auto& p : raw.column("SELECT path FROM cache WHERE path IS NOT NULL"))
    {
        CHECK_MESSAGE(fs::exists(dir / p), "row points to missing " << p);
        referenced.insert(p);
    }
    for (auto& p : raw.column("SELECT path FROM trash"))
        referenced.insert(p);
    for (const auto& f : value_files(dir))
        CHECK_MESSAGE(referenced.contains(fs::relative(f, dir).string()), "unaccounted value file " << f);
}

std::string value_of(std::mt19937_64& rng, std::uint64_t seed)
{
    // Inline and file-backed sizes, around the 8 KiB threshold too.
    static constexpr std::size_t sizes[] = { 0, 8, 100, 256, 8192, 8193, 12000, 40000 };
    return make_value(sizes[rng() % std::size(sizes)], seed);
}

template <class S>
void random_operations(std::uint64_t seed, int steps)
{
    TempDir tmp("counters");
    S store(tmp.path(), Options { .background = false });
    std::mt19937_64 rng(seed);
    // Model of the live entries, one map per open transaction level (copy-on-begin).
    std::vector<std::map<std::string, std::string>> levels(1);
    const auto key = [&] { return "k" + std::to_string(rng() % 24); };
    for (int step = 0; step < steps; ++step)
    {
        auto& model = levels.back();
        const auto k = key();
        const auto op = rng() % 16;
        INFO("seed " << seed << " step " << step << " op " << op << " key " << k << " depth " << levels.size() - 1);
        switch (op)
        {
            case 0:
            case 1:
            case 2:
            {
                const auto v = value_of(rng, rng());
                store.set(k, v);
                model[k] = v;
                break;
            }
            case 3:
            {
                const auto v = value_of(rng, rng());
                const bool added = store.add(k, v);
                CHECK(added == !model.contains(k));
                if (added)
                    model[k] = v;
                break;
            }
            case 4:
            {
                const auto v = value_of(rng, rng());
                const bool updated = store.update_bytes(k, sciqlop_cache::as_byte_span(v));
                CHECK(updated == model.contains(k));
                if (updated)
                    model[k] = v;
                break;
            }
            case 5:
                CHECK(store.del(k) == (model.erase(k) > 0));
                break;
            case 6:
            {
                const auto popped = store.pop(k);
                CHECK(to_string(popped) == (model.contains(k) ? model[k] : "<miss>"));
                model.erase(k);
                break;
            }
            case 7:
            {
                const bool number = !model.contains(k) || model[k].size() == 8;
                if (number)
                {
                    const auto before = model.contains(k) ? from_le64(model[k]) : 0;
                    CHECK(store.incr(k, 3) == before + 3);
                    model[k] = le64(before + 3);
                }
                break;
            }
            case 8:
            {
                std::vector<std::string> keys, values;
                const auto n = 1 + rng() % 6;
                for (std::size_t i = 0; i < n; ++i)
                    keys.push_back(key()), values.push_back(value_of(rng, rng()));
                std::vector<Entry> entries;
                for (std::size_t i = 0; i < n; ++i)
                {
                    entries.push_back({ keys[i], sciqlop_cache::as_byte_span(values[i]) });
                    model[keys[i]] = values[i];
                }
                store.set_many(entries);
                break;
            }
            case 9:
                if (rng() % 4 == 0)
                {
                    store.clear();
                    model.clear();
                }
                break;
            case 10:
            case 11:
                if (levels.size() < 4)
                {
                    store.begin();
                    levels.push_back(levels.back());
                }
                break;
            case 12:
            case 13:
                if (levels.size() > 1)
                {
                    store.commit();
                    auto committed = std::move(levels.back());
                    levels.pop_back();
                    levels.back() = std::move(committed);
                }
                break;
            case 14:
                if (levels.size() > 1)
                {
                    store.rollback();
                    levels.pop_back();
                }
                break;
            case 15:
                CHECK(to_string(store.get(k)) == (model.contains(k) ? model[k] : "<miss>"));
                break;
        }
        auto& now = levels.back();
        std::uint64_t bytes = 0;
        for (const auto& [mk, mv] : now)
            bytes += mv.size();
        // Inside a transaction: what this thread sees, pending counter changes included. Not
        // at every step: reading the counters writes what is pending, which would hide a
        // mishandled rollback of pending changes.
        if (levels.size() == 1 || rng() % 4 == 0)
        {
            REQUIRE(store.count() == now.size());
            REQUIRE(store.size() == bytes);
        }
        if (levels.size() == 1)
        {
            check_counters_row(tmp.path());
            check_files_accounted(tmp.path());
        }
    }
    while (levels.size() > 1)
    {
        store.rollback();
        levels.pop_back();
    }
    check_counters_row(tmp.path());
    check_files_accounted(tmp.path());
    const auto r = store.check();
    CHECK(r.counters_consistent);
    CHECK(r.dangling_rows == 0);
    CHECK(r.size_mismatches == 0);
}

} // namespace

TEST_SUITE("counters")
{
    TEST_CASE("Cache: counters and trash stay exact under random writes and transactions")
    {
        for (std::uint64_t seed = 1; seed <= 6; ++seed)
            random_operations<Cache>(seed, 400);
    }

    TEST_CASE("Index: counters and trash stay exact under random writes and transactions")
    {
        for (std::uint64_t seed = 11; seed <= 14; ++seed)
        {
            TempDir tmp("counters-index");
            Index index(tmp.path(), Options { .background = false });
            std::mt19937_64 rng(seed);
            std::map<std::string, std::string> model;
            for (int step = 0; step < 300; ++step)
            {
                const auto k = "k" + std::to_string(rng() % 16);
                const auto v = value_of(rng, rng());
                switch (rng() % 4)
                {
                    case 0:
                        index.set(k, v), model[k] = v;
                        break;
                    case 1:
                        if (index.add(k, v))
                            model[k] = v;
                        break;
                    case 2:
                        CHECK(index.del(k) == (model.erase(k) > 0));
                        break;
                    case 3:
                        if (index.update_bytes(k, sciqlop_cache::as_byte_span(v)))
                            model[k] = v;
                        break;
                }
                REQUIRE(index.count() == model.size());
            }
            check_counters_row(tmp.path());
            check_files_accounted(tmp.path());
        }
    }

    TEST_CASE("expiry, eviction and evict_tag keep the counters and trash the removed files")
    {
        TempDir tmp("counters-maint");
        Cache cache(tmp.path(), Options { .background = false });
        for (int i = 0; i < 40; ++i)
        {
            const auto v = make_value(i % 3 == 0 ? 20000 : 300, static_cast<std::uint64_t>(i));
            if (i % 4 == 0)
                cache.set("t" + std::to_string(i), v, 0.2s);
            else if (i % 4 == 1)
                cache.set("g" + std::to_string(i), v, std::string_view("group"));
            else
                cache.set("p" + std::to_string(i), v);
        }
        sleep_seconds(0.3);
        CHECK(cache.expire() == 10);
        check_counters_row(tmp.path());
        check_files_accounted(tmp.path());
        CHECK(cache.evict_tag("group") == 10);
        check_counters_row(tmp.path());
        check_files_accounted(tmp.path());
        cache.set_max_size(cache.size() / 2);
        CHECK(cache.evict() > 0);
        CHECK(cache.size() <= cache.max_size());
        check_counters_row(tmp.path());
        check_files_accounted(tmp.path());
        // The same inside a transaction, rolled back: nothing of it remains.
        const auto count = cache.count(), size = cache.size();
        cache.begin();
        cache.set_max_size(1);
        for (const auto& k : cache.keys())
            (void)cache.get(k); // accesses to flush inside the transaction
        cache.evict();
        CHECK(cache.count() < count);
        cache.rollback();
        CHECK(cache.count() == count);
        CHECK(cache.size() == size);
        check_counters_row(tmp.path());
    }

    TEST_CASE("another writer (triggers on) keeps the counters and trash exact in the same file")
    {
        TempDir tmp("counters-foreign");
        {
            Cache cache(tmp.path(), Options { .background = false });
            cache.set("a", make_value(100, 1));
            cache.set("b", make_value(20000, 2));
            cache.set("c", make_value(300, 3));
        }
        {
            // A foreign writer, e.g. pysciqlop-cache or the sqlite3 shell: the schema's triggers.
            RawDb raw(db_file(tmp.path()));
            raw.exec("DELETE FROM cache WHERE key = 'b'");
            raw.exec("INSERT INTO cache(key, value, size) VALUES ('d', zeroblob(50), 50)");
            raw.exec("UPDATE cache SET value = zeroblob(7), size = 7 WHERE key = 'a'");
            CHECK(raw.integer("SELECT count(*) FROM trash") == 1);
        }
        check_counters_row(tmp.path());
        Cache cache(tmp.path(), Options { .background = false });
        CHECK(cache.count() == 3);
        CHECK(cache.size() == 7 + 300 + 50);
        cache.set("d", make_value(60, 4));
        CHECK(cache.size() == 7 + 300 + 60);
        check_counters_row(tmp.path());
        CHECK(cache.check().ok);
    }
}
