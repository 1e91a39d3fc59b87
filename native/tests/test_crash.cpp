// Crash safety: a child process writes mixed small and large values (overwrites, deletes,
// two-key transactions, counters) and reports each operation over a pipe before starting it
// and after it returns. The parent SIGKILLs it at random moments; afterwards every
// acknowledged write reads back intact (the one in flight may or may not have happened, as a
// whole), no partial value is ever returned, and check() finds nothing wrong.
#include "test_support.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <map>
#include <random>
#include <set>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

using namespace test;
using sciqlop_cache::Cache;
using sciqlop_cache::Options;

namespace
{
/// Keys 0..29 are overwritten and deleted over and over; write-once keys are numbered by
/// the version that wrote them (>= 10,000,000).
constexpr std::uint32_t key_count = 30;
constexpr int rounds = 10;

enum Kind : std::uint8_t
{
    begin_set = 'S',
    begin_del = 'D',
    begin_tx = 'T',
    begin_incr = 'I',
    ack = 'A',
};

struct Record
{
    std::uint8_t kind;
    std::uint8_t pad[3];
    std::uint32_t key;
    std::uint32_t key2;
    std::uint32_t size;
    std::uint64_t version;
};
static_assert(sizeof(Record) == 24);

std::string key_name(std::uint32_t k) { return "key-" + std::to_string(k); }

void send(const Record& r)
{
    const char* p = reinterpret_cast<const char*>(&r);
    std::size_t left = sizeof r;
    while (left)
    {
        const ssize_t n = ::write(STDOUT_FILENO, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            ::_exit(30);
        p += n;
        left -= static_cast<std::size_t>(n);
    }
}

std::uint32_t random_size(std::mt19937_64& rng, bool large)
{
    if (large)
    {
        switch (rng() % 4)
        {
        case 0: return 8193;
        default: return static_cast<std::uint32_t>(8193 + rng() % 200'000);
        }
    }
    switch (rng() % 6)
    {
    case 0: return 8192;
    case 1: return 0;
    default: return static_cast<std::uint32_t>(rng() % 8193);
    }
}

/// Child: writes forever until killed.
int crash_writer(const std::vector<std::string>& args)
{
    const fs::path dir = args.at(0);
    std::mt19937_64 rng(std::stoull(args.at(1)));
    std::uint64_t version = std::stoull(args.at(2));
    Cache cache(dir);
    for (;;)
    {
        ++version;
        Record r {};
        r.version = version;
        r.key = static_cast<std::uint32_t>(rng() % key_count);
        const auto dice = rng() % 20;
        if (dice < 6)
        {
            // A write-once key: it must survive every later crash, not only the next one.
            r.kind = begin_set;
            r.key = static_cast<std::uint32_t>(version);
            r.size = rng() % 8 == 0 ? static_cast<std::uint32_t>(8193 + rng() % 12'000) : random_size(rng, false) % 2000;
            send(r);
            cache.set(key_name(r.key), versioned_value(r.key, version, r.size));
        }
        else if (dice < 9)
        {
            r.kind = begin_set;
            r.size = random_size(rng, false);
            send(r);
            cache.set(key_name(r.key), versioned_value(r.key, version, r.size));
        }
        else if (dice < 13)
        {
            r.kind = begin_set;
            r.size = random_size(rng, true);
            send(r);
            cache.set(key_name(r.key), versioned_value(r.key, version, r.size));
        }
        else if (dice < 15)
        {
            r.kind = begin_del;
            send(r);
            cache.del(key_name(r.key));
        }
        else if (dice < 18)
        {
            r.kind = begin_tx;
            r.key2 = static_cast<std::uint32_t>((r.key + 1 + rng() % (key_count - 1)) % key_count);
            r.size = random_size(rng, rng() % 2 == 0);
            send(r);
            cache.transact(
                [&]
                {
                    cache.set(key_name(r.key), versioned_value(r.key, version, r.size));
                    cache.set(key_name(r.key2), versioned_value(r.key2, version, r.size));
                });
        }
        else
        {
            r.kind = begin_incr;
            send(r);
            cache.incr("counter");
        }
        Record a {};
        a.kind = ack;
        send(a);
    }
}
const ChildRegistrar reg("crash-writer", crash_writer);

struct Entry
{
    std::uint64_t version;
    std::uint32_t size;
    bool operator==(const Entry&) const = default;
};
using State = std::map<std::uint32_t, std::optional<Entry>>;

struct Model
{
    State state;
    std::int64_t counter = 0;
    std::optional<Record> pending;
    std::uint64_t acked = 0;

    void apply(const Record& r)
    {
        switch (r.kind)
        {
        case begin_set: state[r.key] = Entry { r.version, r.size }; break;
        case begin_del: state[r.key] = std::nullopt; break;
        case begin_tx:
            state[r.key] = Entry { r.version, r.size };
            state[r.key2] = Entry { r.version, r.size };
            break;
        case begin_incr: ++counter; break;
        default: break;
        }
    }
    void feed(const Record& r)
    {
        if (r.kind == ack)
        {
            REQUIRE(pending.has_value());
            apply(*pending);
            pending.reset();
            ++acked;
        }
        else
        {
            REQUIRE_FALSE(pending.has_value());
            pending = r;
        }
    }
};

bool matches(const std::optional<sciqlop_cache::Buffer>& got, std::uint32_t key, const std::optional<Entry>& e)
{
    if (!e)
        return !got.has_value();
    return got.has_value() && got->size() == e->size && got->view() == versioned_value(key, e->version, e->size);
}

std::string describe(const std::optional<sciqlop_cache::Buffer>& got)
{
    return got ? "a value of " + std::to_string(got->size()) + " bytes" : std::string("a miss");
}

/// Checks the store against the model; the pending operation may have happened or not,
/// as a whole. Folds the observed outcome into the model.
void verify(Cache& cache, Model& m)
{
    std::optional<Entry> pending_new[2];
    std::uint32_t pending_keys[2] = { key_count, key_count };
    int pending_n = 0;
    if (m.pending && m.pending->kind != begin_incr)
    {
        State after = m.state;
        Model tmp { after, 0, std::nullopt, 0 };
        tmp.apply(*m.pending);
        pending_keys[0] = m.pending->key;
        pending_new[0] = tmp.state[m.pending->key];
        pending_n = 1;
        if (m.pending->kind == begin_tx)
        {
            pending_keys[1] = m.pending->key2;
            pending_new[1] = tmp.state[m.pending->key2];
            pending_n = 2;
        }
    }
    std::set<std::uint32_t> all_keys;
    for (std::uint32_t k = 0; k < key_count; ++k)
        all_keys.insert(k);
    for (const auto& [k, e] : m.state)
        all_keys.insert(k);
    for (int i = 0; i < pending_n; ++i)
        all_keys.insert(pending_keys[i]);
    int pending_applied = 0, pending_not_applied = 0;
    for (const std::uint32_t k : all_keys)
    {
        CAPTURE(k);
        const auto got = cache.get(key_name(k));
        const auto& old = m.state[k];
        int p = -1;
        for (int i = 0; i < pending_n; ++i)
            if (pending_keys[i] == k)
                p = i;
        if (p < 0)
        {
            CHECK_MESSAGE(matches(got, k, old), "acknowledged state of " << key_name(k) << " lost: got " << describe(got));
            continue;
        }
        if (matches(got, k, pending_new[p]))
            ++pending_applied;
        else if (matches(got, k, old))
            ++pending_not_applied;
        else
            FAIL_CHECK("key " << key_name(k) << " is neither its acknowledged state nor the in-flight one: got "
                              << describe(got));
    }
    // A two-key transaction is all or nothing.
    CHECK_MESSAGE(!(pending_applied && pending_not_applied), "an interrupted transaction was half applied");
    if (pending_applied && m.pending)
        m.apply(*m.pending);

    const auto counter = cache.get("counter");
    const std::int64_t stored = counter ? from_le64(counter->view()) : 0;
    if (m.pending && m.pending->kind == begin_incr)
    {
        CHECK((stored == m.counter || stored == m.counter + 1));
        m.counter = stored;
    }
    else
        CHECK(stored == m.counter);
    m.pending.reset();

    // No entry exists that the model does not know of.
    std::uint64_t live = counter ? 1 : 0;
    for (const auto& [k, e] : m.state)
        live += e.has_value() ? 1 : 0;
    CHECK(cache.count() == live);
}

/// Reads whatever is available on `fd` until `deadline` (or EOF when deadline is nullopt).
void pump(int fd, std::string& buffer, Model& m, std::optional<std::chrono::steady_clock::time_point> deadline)
{
    char chunk[4096];
    for (;;)
    {
        int timeout_ms = -1;
        if (deadline)
        {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline
                                                                                    - std::chrono::steady_clock::now());
            if (left.count() <= 0)
                return;
            timeout_ms = static_cast<int>(left.count());
        }
        pollfd p { fd, POLLIN, 0 };
        const int rc = ::poll(&p, 1, timeout_ms);
        if (rc < 0 && errno == EINTR)
            continue;
        REQUIRE(rc >= 0);
        if (rc == 0)
            continue;
        const ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        REQUIRE(n >= 0);
        if (n == 0)
            return; // EOF: the child is gone
        buffer.append(chunk, static_cast<std::size_t>(n));
        std::size_t used = 0;
        while (buffer.size() - used >= sizeof(Record))
        {
            Record r;
            std::memcpy(&r, buffer.data() + used, sizeof r);
            m.feed(r);
            used += sizeof r;
        }
        buffer.erase(0, used);
    }
}
}

TEST_SUITE("crash")
{
    TEST_CASE("SIGKILL at random moments loses no acknowledged write and never exposes a partial value")
    {
        TempDir tmp("crash");
        const auto seed = std::random_device {}();
        INFO("seed = " << seed);
        std::mt19937_64 rng(seed);
        Model model;
        std::uint64_t total_acked = 0;
        for (int round = 0; round < rounds; ++round)
        {
            CAPTURE(round);
            int fds[2];
            REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
            const pid_t pid = spawn_child("crash-writer",
                                          { tmp.path().string(), std::to_string(rng()),
                                            std::to_string(static_cast<std::uint64_t>(round + 1) * 10'000'000ULL) },
                                          {}, fds[1]);
            ::close(fds[1]);
            // The first rounds die early (possibly while the store is being created), later ones mid-stream.
            const auto delay = std::chrono::milliseconds(round < 2 ? rng() % 30 : 20 + rng() % 280);
            std::string buffer;
            pump(fds[0], buffer, model, std::chrono::steady_clock::now() + delay);
            ::kill(pid, SIGKILL);
            const int code = wait_child(pid);
            CHECK_MESSAGE(code == 128 + SIGKILL, "the writer exited by itself with " << code);
            pump(fds[0], buffer, model, std::nullopt);
            ::close(fds[0]);
            CHECK(buffer.empty()); // records are written whole

            total_acked += model.acked;
            model.acked = 0;
            Cache cache(tmp.path(), Options { .background = false });
            verify(cache, model);
            const auto r = cache.check();
            CHECK(r.dangling_rows == 0);
            CHECK(r.size_mismatches == 0);
            CHECK(r.counters_consistent);
            CHECK(r.sqlite_integrity_ok);
            CHECK(r.ok);
        }
        MESSAGE("acknowledged operations over all rounds: " << total_acked);
        CHECK(total_acked > 100);

        Cache cache(tmp.path(), Options { .background = false });
        (void)cache.check(true);
        const auto r = cache.check();
        CHECK(r.ok);
        CHECK(r.orphaned_files == 0);
        CHECK(r.dangling_rows == 0);
        CHECK(r.size_mismatches == 0);
        CHECK(r.counters_consistent);
        CHECK(r.sqlite_integrity_ok);
        verify(cache, model);
    }
}
