// sciqlop-cache from C++: a Cache with a size limit, expiry and tags, an Index, and a
// FanoutCache. Usage: sciqlop_cache_example [directory]; without one, a temporary
// directory is used and removed at the end. Exits non-zero if anything behaves unexpectedly.
#include "sciqlop_cache/sciqlop_cache.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace std::chrono_literals;
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

std::string show(const std::optional<sc::Buffer>& v)
{
    if (!v)
        return "(missing)";
    if (v->size() > 32)
        return "<" + std::to_string(v->size()) + " bytes>";
    return "\"" + std::string(v->view()) + "\"";
}
}

int main(int argc, char** argv)
{
    const bool temporary = argc < 2;
    const fs::path root = temporary
        ? fs::temp_directory_path() / ("sciqlop-cache-example-" + std::to_string(::getpid()))
        : fs::path(argv[1]);
    std::cout << "sciqlop-cache " << sc::version << " in " << root << "\n";

    try
    {
        {
            std::cout << "Cache with a 1 MB size limit:\n";
            sc::Cache cache(root / "cache", /*max_size=*/1'000'000);
            cache.set("greeting", std::string("hello"));
            cache.set("session", std::string("token"), 300ms);
            cache.set("sensor/temperature", std::vector<char>(20'000, 't'), "sensors");
            cache.set("sensor/pressure", std::vector<char>(100, 'p'), 60s, "sensors");
            std::cout << "  get(greeting) = " << show(cache.get("greeting")) << '\n';
            std::cout << "  get(sensor/temperature) = " << show(cache.get("sensor/temperature")) << '\n';
            expect(cache.get("greeting").has_value() && cache.get("greeting")->view() == "hello", "set then get");

            cache.incr("visits");
            cache.incr("visits", 10);
            const auto visits = cache.decr("visits", 2);
            std::cout << "  visits after incr, incr 10, decr 2 = " << visits << '\n';
            expect(visits == 9, "incr/decr");

            std::this_thread::sleep_for(400ms);
            expect(!cache.get("session").has_value(), "a 300 ms entry is gone after 400 ms");

            const auto removed = cache.evict_tag("sensors");
            std::cout << "  evict_tag(sensors) removed " << removed << " entries\n";
            expect(removed == 2, "evict_tag");

            const auto report = cache.check();
            std::cout << "  check(): ok=" << report.ok << " orphaned_files=" << report.orphaned_files
                      << " dangling_rows=" << report.dangling_rows << '\n';
            expect(report.ok, "check() is clean");
            const auto stats = cache.stats();
            std::cout << "  " << cache.count() << " entries, " << cache.size() << " value bytes, " << cache.volume()
                      << " bytes on disk, hits=" << stats.hits << " misses=" << stats.misses << '\n';
        }
        {
            std::cout << "Index:\n";
            sc::Index index(root / "index");
            index.set("config", std::string("{\"verbose\": true}"));
            expect(index.add("config", std::string("ignored")) == false, "add does not overwrite");
            std::cout << "  get(config) = " << show(index.get("config")) << '\n';
            const auto popped = index.pop("config");
            expect(popped.has_value() && !index.exists("config"), "pop removes the entry");
        }
        {
            std::cout << "FanoutCache with 4 shards:\n";
            sc::FanoutCache fc(root / "fanout", /*shard_count=*/4, /*max_size=*/0);
            for (int i = 0; i < 20; ++i)
                fc.set("item-" + std::to_string(i), std::string(100, static_cast<char>('a' + i)));
            std::cout << "  " << fc.count() << " entries over " << fc.shard_count() << " shards; item-7 is in shard "
                      << fc.shard_index("item-7") << '\n';
            expect(fc.count() == 20, "fanout count");
            expect(fc.check(true).ok, "fanout check(true)");
        }
        {
            sc::Cache cache(root / "cache");
            cache.close();
            try
            {
                (void)cache.get("greeting");
                expect(false, "a closed cache throws");
            }
            catch (const sc::error& e)
            {
                std::cout << "  after close(): " << e.code() << ": " << e.what() << '\n';
                expect(e.code() == "CLOSED", "a closed cache throws CLOSED");
            }
        }
    }
    catch (const sc::error& e)
    {
        std::cerr << "sciqlop_cache::error " << e.code() << ": " << e.what() << '\n';
        failures++;
    }

    if (temporary)
    {
        std::error_code ec;
        fs::remove_all(root, ec);
    }
    std::cout << (failures ? "example FAILED\n" : "example done\n");
    return failures ? 1 : 0;
}
