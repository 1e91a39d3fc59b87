// Every basic operation of Cache and Index: set/get/get_into/peek_into/del/pop/add, value
// sizes around the 8 KiB blob/file threshold, binary keys, counts, sizes, stats, metadata,
// persistence, close.
#include "test_support.hpp"

#include <cmath>
#include <limits>

using namespace test;
using sciqlop_cache::Buffer;
using sciqlop_cache::Cache;
using sciqlop_cache::Index;
using sciqlop_cache::Options;
using sciqlop_cache::SetOptions;

namespace
{
template <class S>
std::string read_with_get_into(S& store, std::string_view key, bool* found = nullptr)
{
    std::string out;
    int calls = 0;
    const bool hit = store.get_into(key,
                                    [&](std::size_t n)
                                    {
                                        ++calls;
                                        out.resize(n);
                                        return reinterpret_cast<std::byte*>(out.data());
                                    });
    CHECK(calls == (hit ? 1 : 0));
    if (found)
        *found = hit;
    return out;
}

template <class S>
void check_roundtrip_sizes(S& store, const fs::path& dir)
{
    for (std::size_t n : { std::size_t { 0 }, std::size_t { 1 }, std::size_t { 8191 }, std::size_t { 8192 },
                           std::size_t { 8193 }, std::size_t { 1 } << 20 })
    {
        CAPTURE(n);
        const std::string key = "size-" + std::to_string(n);
        const std::string v = make_value(n, n + 17);
        store.set(key, v);
        const auto got = store.get(key);
        REQUIRE(got.has_value());
        CHECK(got->size() == n);
        CHECK(got->view() == v);
        bool found = false;
        CHECK(read_with_get_into(store, key, &found) == v);
        CHECK(found);
    }
    // Overwrite a file-backed value with a blob and back.
    store.set("flip", make_value(20000, 1));
    store.set("flip", make_value(10, 2));
    CHECK(to_string(store.get("flip")) == make_value(10, 2));
    store.set("flip", make_value(30000, 3));
    CHECK(to_string(store.get("flip")) == make_value(30000, 3));
    const auto popped = store.pop("size-1048576");
    REQUIRE(popped.has_value());
    CHECK(popped->view() == make_value(std::size_t { 1 } << 20, (std::size_t { 1 } << 20) + 17));
    CHECK_FALSE(store.exists("size-1048576"));
    (void)dir;
}

template <class S>
void check_binary_keys(S& store)
{
    using namespace std::string_literals;
    const std::string k1 = "a\0b"s, k2 = "a\0c"s, k3 = "a"s;
    store.set(k1, "one"s);
    store.set(k2, "two"s);
    store.set(k3, "three"s);
    CHECK(to_string(store.get(k1)) == "one");
    CHECK(to_string(store.get(k2)) == "two");
    CHECK(to_string(store.get(k3)) == "three");
    CHECK(store.count() == 3);
    CHECK(store.del(k2));
    CHECK_FALSE(store.exists(k2));
    CHECK(store.exists(k1));
    CHECK(store.exists(k3));
    CHECK_FALSE(store.get("a\0"s).has_value());

    // Byte order, including the empty key, a NUL inside, bytes >= 0x80 and non-UTF-8 bytes.
    store.clear();
    const std::vector<std::string> expected { ""s, "A"s, "a"s, "a\0"s, "a\0\0"s, "a\0b"s, "ab"s, "b"s, "\x7f"s,
                                              "\xc3\xa9"s, "\xff"s, "\xff\xff"s };
    for (auto it = expected.rbegin(); it != expected.rend(); ++it)
        store.set(*it, *it + "-value");
    CHECK(store.keys() == expected);
    for (const auto& k : expected)
        CHECK(to_string(store.get(k)) == k + "-value");

    // A 64 KiB key.
    const std::string long_key = make_value(65536, 99);
    store.set(long_key, "long"s);
    CHECK(to_string(store.get(long_key)) == "long");
}

template <class S>
void check_common_operations(S& store)
{
    using namespace std::string_literals;
    CHECK(store.count() == 0);
    CHECK(store.size() == 0);
    CHECK(store.keys().empty());
    CHECK_FALSE(store.get("missing").has_value());
    CHECK_FALSE(store.exists("missing"));
    CHECK_FALSE(store.del("missing"));
    CHECK_FALSE(store.pop("missing").has_value());
    bool found = true;
    CHECK(read_with_get_into(store, "missing", &found).empty());
    CHECK_FALSE(found);

    // Every accepted byte-range type.
    store.set("str", "hello"s);
    store.set("view", std::string_view("view"));
    store.set("cstr", "c-string");
    store.set("vec", std::vector<char> { 'a', 'b', 'c' });
    store.set("uvec", std::vector<unsigned char> { 1, 2, 255 });
    const std::vector<std::byte> bytes { std::byte { 0 }, std::byte { 0x80 } };
    store.set("span", std::span<const std::byte>(bytes));
    CHECK(to_string(store.get("str")) == "hello");
    CHECK(to_string(store.get("view")) == "view");
    CHECK(to_string(store.get("cstr")) == "c-string");
    CHECK(to_string(store.get("vec")) == "abc");
    CHECK(to_string(store.get("uvec")) == "\x01\x02\xff"s);
    CHECK(to_string(store.get("span")) == "\x00\x80"s);
    const auto buf = store.get("vec");
    REQUIRE(buf);
    // store.hpp documents a Buffer as a ByteRange (so a value read can be stored again):
    // checked at run time so that the rest of the suite still builds when it is not.
    CHECK_MESSAGE(sciqlop_cache::ByteRange<Buffer>, "Buffer does not satisfy ByteRange: set(key, buffer) does not compile");
    if constexpr (sciqlop_cache::ByteRange<Buffer>)
        store.set("buffer", *buf);
    else
        store.set("buffer", buf->span());
    CHECK(to_string(store.get("buffer")) == "abc");
    CHECK(store.count() == 7);

    // An empty value is a hit, not a miss.
    store.set("empty", ""s);
    const auto empty = store.get("empty");
    REQUIRE(empty.has_value());
    CHECK(empty->size() == 0);
    CHECK(store.exists("empty"));

    // del / pop / add.
    CHECK(store.del("str"));
    CHECK_FALSE(store.del("str"));
    CHECK_FALSE(store.get("str").has_value());
    const auto p = store.pop("view");
    CHECK(to_string(p) == "view");
    CHECK_FALSE(store.exists("view"));
    CHECK(store.add("added", "first"s));
    CHECK_FALSE(store.add("added", "second"s));
    CHECK(to_string(store.get("added")) == "first");
    CHECK(store.add("big-added", make_value(50000, 5)));
    CHECK_FALSE(store.add("big-added", make_value(50000, 6)));
    CHECK(to_string(store.get("big-added")) == make_value(50000, 5));
    std::string popped;
    CHECK(store.pop_into("added",
                         [&](std::size_t n)
                         {
                             popped.resize(n);
                             return reinterpret_cast<std::byte*>(popped.data());
                         }));
    CHECK(popped == "first");
    CHECK_FALSE(store.exists("added"));

    // peek_into reads like get_into.
    std::string peeked;
    CHECK(store.peek_into("cstr",
                          [&](std::size_t n)
                          {
                              peeked.resize(n);
                              return reinterpret_cast<std::byte*>(peeked.data());
                          }));
    CHECK(peeked == "c-string");

    // count / size (value bytes) / keys.
    store.clear();
    CHECK(store.count() == 0);
    CHECK(store.size() == 0);
    store.set("a", make_value(10, 1));
    store.set("b", make_value(20, 2));
    store.set("c", make_value(9000, 3));
    CHECK(store.count() == 3);
    CHECK(store.size() == 9030);
    store.set("b", make_value(25, 2));
    CHECK(store.size() == 9035);
    store.set("c", make_value(100, 3));
    CHECK(store.size() == 135);
    CHECK(store.del("a"));
    CHECK(store.size() == 125);
    CHECK(store.count() == 2);
    CHECK(store.keys() == std::vector<std::string> { "b", "c" });
    store.set("big", make_value(200000, 9));
    CHECK(store.volume() >= 200000);
    CHECK(store.volume() >= fs::file_size(db_file(store.directory())));

    // meta.
    CHECK_FALSE(store.meta_get("no-such-meta").has_value());
    store.meta_set("serializer", "bytes");
    CHECK(store.meta_get("serializer") == std::optional<std::string>("bytes"));
    store.meta_set("serializer", "json");
    CHECK(store.meta_get("serializer") == std::optional<std::string>("json"));
    CHECK(store.meta_get("format_version") == std::optional<std::string>("1"));

    const auto r = store.check();
    CHECK(r.ok);
    CHECK(r.counters_consistent);
    CHECK(r.sqlite_integrity_ok);
}

template <class S>
void check_close(S& store)
{
    using namespace std::string_literals;
    store.set("k", "v"s);
    CHECK_FALSE(store.closed());
    store.close();
    CHECK(store.closed());
    store.close(); // idempotent
    CHECK_ERROR_CODE(store.get("k"), "CLOSED");
    CHECK_ERROR_CODE(store.set("k", "w"s), "CLOSED");
    CHECK_ERROR_CODE(store.del("k"), "CLOSED");
    CHECK_ERROR_CODE(store.pop("k"), "CLOSED");
    CHECK_ERROR_CODE(store.add("k2", "w"s), "CLOSED");
    CHECK_ERROR_CODE(store.exists("k"), "CLOSED");
    CHECK_ERROR_CODE(store.incr("n"), "CLOSED");
    CHECK_ERROR_CODE(store.keys(), "CLOSED");
    CHECK_ERROR_CODE(store.count(), "CLOSED");
    CHECK_ERROR_CODE(store.size(), "CLOSED");
    CHECK_ERROR_CODE(store.clear(), "CLOSED");
    CHECK_ERROR_CODE(store.check(), "CLOSED");
    CHECK_ERROR_CODE(store.meta_get("format_version"), "CLOSED");
    CHECK_ERROR_CODE(store.meta_set("x", "y"), "CLOSED");
    CHECK_ERROR_CODE(store.begin(), "CLOSED");
    CHECK_ERROR_CODE(store.transact([] {}), "CLOSED");
    CHECK_ERROR_CODE(store.get_into("k", [](std::size_t) -> std::byte* { return nullptr; }), "CLOSED");
}
}

TEST_SUITE("basic")
{
    TEST_CASE("Cache: every common operation")
    {
        TempDir tmp("basic");
        Cache cache(tmp / "nested" / "cache");
        CHECK(fs::is_directory(tmp / "nested" / "cache"));
        CHECK(fs::exists(db_file(tmp / "nested" / "cache")));
        check_common_operations(cache);
    }

    TEST_CASE("Index: every common operation")
    {
        TempDir tmp("basic");
        Index index(tmp / "index");
        check_common_operations(index);
    }

    TEST_CASE("values of 0, 8191, 8192, 8193 bytes and 1 MiB round-trip")
    {
        TempDir tmp("basic");
        SUBCASE("Cache")
        {
            Cache cache(tmp.path());
            check_roundtrip_sizes(cache, tmp.path());
        }
        SUBCASE("Index")
        {
            Index index(tmp.path());
            check_roundtrip_sizes(index, tmp.path());
        }
        SUBCASE("Cache with durability power")
        {
            Cache cache(tmp.path(), Options { .durability = sciqlop_cache::Durability::power });
            check_roundtrip_sizes(cache, tmp.path());
        }
    }

    TEST_CASE("keys are byte strings: NUL bytes make distinct keys, keys() is in byte order")
    {
        TempDir tmp("basic");
        SUBCASE("Cache")
        {
            Cache cache(tmp.path());
            check_binary_keys(cache);
        }
        SUBCASE("Index")
        {
            Index index(tmp.path());
            check_binary_keys(index);
        }
    }

    TEST_CASE("entries persist across reopening")
    {
        TempDir tmp("basic");
        {
            Cache cache(tmp.path());
            cache.set("small", make_value(100, 1));
            cache.set("large", make_value(100000, 2));
            cache.set("tagged", make_value(10, 3), "t");
            cache.incr("n", 41);
            cache.meta_set("serializer", "bytes");
        }
        {
            Cache cache(tmp.path());
            CHECK(to_string(cache.get("small")) == make_value(100, 1));
            CHECK(to_string(cache.get("large")) == make_value(100000, 2));
            CHECK(cache.keys_with_tag("t") == std::vector<std::string> { "tagged" });
            CHECK(cache.incr("n") == 42);
            CHECK(cache.meta_get("serializer") == std::optional<std::string>("bytes"));
            CHECK(cache.count() == 4);
            CHECK(cache.size() == 100 + 100000 + 10 + 8);
        }
        {
            Index index(tmp / "idx");
            index.set("k", make_value(20000, 4));
        }
        {
            Index index(tmp / "idx");
            CHECK(to_string(index.get("k")) == make_value(20000, 4));
        }
    }

    TEST_CASE("stats count hits and misses of get, get_into and pop, not peek_into")
    {
        using namespace std::string_literals;
        TempDir tmp("basic");
        Cache cache(tmp.path());
        cache.set("a", "1"s);
        CHECK(cache.stats().hits == 0);
        CHECK(cache.stats().misses == 0);
        (void)cache.get("a");
        (void)cache.get("a");
        (void)cache.get("zz");
        auto sink = [buf = std::string()](std::size_t n) mutable
        {
            buf.resize(n);
            return reinterpret_cast<std::byte*>(buf.data());
        };
        CHECK(cache.get_into("a", sink));
        CHECK_FALSE(cache.get_into("zz", sink));
        CHECK(cache.peek_into("a", sink));
        CHECK_FALSE(cache.peek_into("zz", sink));
        auto s = cache.stats();
        CHECK(s.hits == 3);
        CHECK(s.misses == 2);
        CHECK(cache.pop("a").has_value());
        CHECK_FALSE(cache.pop("a").has_value());
        s = cache.stats();
        CHECK(s.hits == 4);
        CHECK(s.misses == 3);
        cache.reset_stats();
        s = cache.stats();
        CHECK(s.hits == 0);
        CHECK(s.misses == 0);
        (void)cache.get("zz");
        CHECK(cache.stats().misses == 1);
    }

    TEST_CASE("close: idempotent, and any later call throws CLOSED")
    {
        TempDir tmp("basic");
        SUBCASE("Cache")
        {
            {
                Cache cache(tmp.path());
                check_close(cache);
            }
            Cache reopened(tmp.path()); // the data written before close is still there
            CHECK(to_string(reopened.get("k")) == "v");
            reopened.close();
            Cache& cache = reopened;
            CHECK_ERROR_CODE(cache.stats(), "CLOSED");
            CHECK_ERROR_CODE(cache.evict_tag("t"), "CLOSED");
            CHECK_ERROR_CODE(cache.expire(), "CLOSED");
            CHECK_ERROR_CODE(cache.evict(), "CLOSED");
            CHECK_ERROR_CODE(cache.touch("k", 1.0), "CLOSED");
            CHECK_ERROR_CODE(cache.keys_with_tag("t"), "CLOSED");
        }
        SUBCASE("Index")
        {
            {
                Index index(tmp.path());
                check_close(index);
            }
            Index reopened(tmp.path());
            CHECK(to_string(reopened.get("k")) == "v");
        }
    }

    TEST_CASE("a moved-from store is replaced by the moved-to one")
    {
        using namespace std::string_literals;
        TempDir tmp("basic");
        Cache a(tmp.path());
        a.set("k", "v"s);
        Cache b(std::move(a));
        CHECK(to_string(b.get("k")) == "v");
        TempDir tmp2("basic");
        Cache c(tmp2.path());
        c = std::move(b);
        CHECK(to_string(c.get("k")) == "v");
        CHECK(c.directory() == tmp.path());
    }

    TEST_CASE("invalid expiry is rejected with INVALID_ARGUMENT and nothing is written")
    {
        using namespace std::string_literals;
        TempDir tmp("basic");
        Cache cache(tmp.path());
        const std::string v = "v";
        for (double bad : { 0.0, -1.0, std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity() })
        {
            CAPTURE(bad);
            CHECK_ERROR_CODE(cache.set_bytes("k", sciqlop_cache::as_byte_span(v), SetOptions { .expire = bad }),
                             "INVALID_ARGUMENT");
            CHECK_ERROR_CODE(cache.add_bytes("k", sciqlop_cache::as_byte_span(v), SetOptions { .expire = bad }),
                             "INVALID_ARGUMENT");
            CHECK_FALSE(cache.exists("k"));
        }
        cache.set("k", "v"s);
        CHECK_ERROR_CODE(cache.touch("k", -2.0), "INVALID_ARGUMENT");
        CHECK_ERROR_CODE(cache.touch("k", std::numeric_limits<double>::quiet_NaN()), "INVALID_ARGUMENT");
        CHECK(cache.exists("k"));
    }

    TEST_CASE("a directory that cannot be created gives an errno-named error")
    {
        TempDir tmp("basic");
        write_file(tmp / "file", "x");
        try
        {
            Cache cache(tmp / "file" / "sub");
            FAIL("opening below a regular file should throw");
        }
        catch (const sciqlop_cache::error& e)
        {
            const std::string code = e.code();
            CHECK_MESSAGE((code == "ENOTDIR" || code == "NOT_A_DIRECTORY" || code == "EEXIST"), code);
        }
    }
}
