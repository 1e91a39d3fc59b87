// Four processes on one directory (the test binary re-executed in a child mode, so each child
// creates its own stores and inherits no thread): all open a fresh directory at the same
// instant, exactly one add() wins, and incr totals are exact.
#include "test_support.hpp"

#include <cerrno>

#include <fcntl.h>
#include <unistd.h>

using namespace test;
using namespace std::string_literals;
using sciqlop_cache::Cache;
using sciqlop_cache::FanoutCache;
using sciqlop_cache::Index;

namespace
{
constexpr int process_count = 4;
constexpr int incr_per_process = 500;
constexpr int exit_won = 10;
constexpr int exit_lost = 11;

/// Blocks until the parent closes the write end of the start pipe, so that all children start together.
void wait_for_start(int fd)
{
    char c;
    ssize_t n;
    while ((n = ::read(fd, &c, 1)) < 0 && errno == EINTR)
    {
    }
    ::close(fd);
}

template <class S>
constexpr bool is_fanout = requires(S& s) { s.shard_count(); };

/// The second key of the transactional pair: for a Fanout, one routed to the same shard as
/// "pair-a" (a Fanout transaction is scoped to one shard).
std::string pair_b_key(std::size_t shards)
{
    if (shards == 1)
        return "pair-b";
    const auto target = sciqlop_cache::fnv1a64("pair-a") % shards;
    for (int i = 0;; ++i)
    {
        std::string k = "pair-b-" + std::to_string(i);
        if (sciqlop_cache::fnv1a64(k) % shards == target)
            return k;
    }
}

template <class S>
std::string pair_b_key_of(S& store)
{
    if constexpr (is_fanout<S>)
        return pair_b_key(store.shard_count());
    else
        return pair_b_key(1);
}

template <class S, class F>
void transact_pair(S& store, F&& f)
{
    if constexpr (is_fanout<S>)
        store.transact("pair-a", std::forward<F>(f));
    else
        store.transact(std::forward<F>(f));
}

template <class S>
int contend(S& store, int id)
{
    const bool won = store.add("winner", "process-"s + std::to_string(id));
    for (int i = 0; i < incr_per_process; ++i)
    {
        store.incr("counter");
        if (i % 50 == 0)
        {
            // Mixed traffic: a file-backed value per process, read back whole.
            const std::string key = "big-" + std::to_string(id);
            const std::string v = make_value(20000 + static_cast<std::size_t>(i), static_cast<std::uint64_t>(id));
            store.set(key, v);
            if (to_string(store.get(key)) != v)
                return 20;
            const auto pair_b = pair_b_key_of(store);
            transact_pair(store,
                          [&]
                          {
                              store.incr("pair-a");
                              store.incr(pair_b, 2);
                          });
        }
    }
    return won ? exit_won : exit_lost;
}

int child_cache(const std::vector<std::string>& args)
{
    wait_for_start(std::stoi(args.at(1)));
    Cache cache(args.at(0));
    return contend(cache, std::stoi(args.at(2)));
}
int child_index(const std::vector<std::string>& args)
{
    wait_for_start(std::stoi(args.at(1)));
    Index index(args.at(0));
    return contend(index, std::stoi(args.at(2)));
}
int child_fanout(const std::vector<std::string>& args)
{
    wait_for_start(std::stoi(args.at(1)));
    FanoutCache fc(args.at(0), 4);
    return contend(fc, std::stoi(args.at(2)));
}
/// A value that carries its own version, so a reader can tell a whole value from anything else.
std::string hot_value(std::uint64_t version, std::size_t size)
{
    return le64(static_cast<std::int64_t>(version)) + versioned_value(7, version, size);
}
bool is_whole_hot_value(const sciqlop_cache::Buffer& b)
{
    if (b.size() < 8)
        return false;
    const auto version = static_cast<std::uint64_t>(from_le64(b.view().substr(0, 8)));
    return b.view().substr(8) == versioned_value(7, version, b.size() - 8);
}

/// Overwrites "hot" (file-backed and blob values in turn) for args[1] milliseconds, with a
/// short trash grace so that displaced files really are unlinked while the parent reads.
int child_overwriter(const std::vector<std::string>& args)
{
    Cache cache(args.at(0), sciqlop_cache::Options { .trash_grace = std::chrono::duration<double>(0.3),
                                                     .background_period = std::chrono::milliseconds(50) });
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(std::stoi(args.at(1)));
    std::uint64_t version = 1;
    while (std::chrono::steady_clock::now() < end)
    {
        ++version;
        const std::size_t size = version % 5 == 0 ? 100 + version % 5000 : 8193 + (version * 7919) % 150'000;
        cache.set("hot", hot_value(version, size));
    }
    return 0;
}

const ChildRegistrar reg_overwriter("overwriter", child_overwriter);
const ChildRegistrar reg_cache("contend-cache", child_cache);
const ChildRegistrar reg_index("contend-index", child_index);
const ChildRegistrar reg_fanout("contend-fanout", child_fanout);

/// Starts the children, releases them together, and returns their exit codes.
std::vector<int> run_contenders(const std::string& mode, const fs::path& dir)
{
    int start[2];
    REQUIRE(::pipe2(start, O_CLOEXEC) == 0);
    std::vector<pid_t> pids;
    for (int id = 0; id < process_count; ++id)
        pids.push_back(spawn_child(mode, { dir.string(), std::to_string(start[0]), std::to_string(id) }, { start[0] }));
    ::close(start[0]);
    ::usleep(100'000); // let every child reach the barrier
    ::close(start[1]);
    std::vector<int> codes;
    for (pid_t p : pids)
        codes.push_back(wait_child(p));
    return codes;
}

template <class S>
void check_outcome(S& store, const std::vector<int>& codes)
{
    int winners = 0;
    int winner_id = -1;
    for (std::size_t i = 0; i < codes.size(); ++i)
    {
        CAPTURE(i);
        CHECK_MESSAGE((codes[i] == exit_won || codes[i] == exit_lost), "child exit code " << codes[i]);
        if (codes[i] == exit_won)
        {
            ++winners;
            winner_id = static_cast<int>(i);
        }
    }
    CHECK(winners == 1);
    CHECK(to_string(store.get("winner")) == "process-" + std::to_string(winner_id));
    CHECK(from_le64(to_string(store.get("counter"))) == process_count * incr_per_process);
    const auto a = from_le64(to_string(store.get("pair-a")));
    const auto b = from_le64(to_string(store.get(pair_b_key_of(store))));
    CHECK(a == process_count * (incr_per_process / 50));
    CHECK(b == 2 * a);
    for (int id = 0; id < process_count; ++id)
        CHECK(to_string(store.get("big-" + std::to_string(id)))
              == make_value(20000 + 450, static_cast<std::uint64_t>(id)));
    const auto r = store.check();
    CHECK(r.ok);
    CHECK(r.counters_consistent);
}
}

TEST_SUITE("processes")
{
    TEST_CASE("a reader in another process never gets a spurious miss or a partial value while a key is overwritten")
    {
        TempDir tmp("procs");
        Cache reader(tmp.path(), sciqlop_cache::Options { .background = false });
        reader.set("hot", hot_value(1, 20000));
        const pid_t pid = spawn_child("overwriter", { tmp.path().string(), "1500" });
        std::uint64_t reads = 0, misses = 0, broken = 0, versions_seen = 0, last_version = 0;
        const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(1400);
        while (std::chrono::steady_clock::now() < end)
        {
            const auto v = reader.get("hot");
            ++reads;
            if (!v)
                ++misses;
            else if (!is_whole_hot_value(*v))
                ++broken;
            else
            {
                const auto version = static_cast<std::uint64_t>(from_le64(v->view().substr(0, 8)));
                versions_seen += version != last_version;
                last_version = version;
            }
        }
        CHECK(wait_child(pid) == 0);
        MESSAGE(reads << " reads, " << versions_seen << " distinct versions seen");
        CHECK(misses == 0);
        CHECK(broken == 0);
        CHECK(versions_seen > 10); // the reads really raced with the writer
        const auto final_value = reader.get("hot");
        REQUIRE(final_value);
        CHECK(is_whole_hot_value(*final_value));
        CHECK(reader.check().ok);
    }

    TEST_CASE("4 processes on one Cache directory: one add winner, exact incr totals")
    {
        TempDir tmp("procs");
        const auto codes = run_contenders("contend-cache", tmp.path());
        Cache cache(tmp.path());
        check_outcome(cache, codes);
    }

    TEST_CASE("4 processes on one Index directory: one add winner, exact incr totals")
    {
        TempDir tmp("procs");
        const auto codes = run_contenders("contend-index", tmp.path());
        Index index(tmp.path());
        check_outcome(index, codes);
    }

    TEST_CASE("4 processes on one FanoutCache directory: one add winner, exact incr totals")
    {
        TempDir tmp("procs");
        const auto codes = run_contenders("contend-fanout", tmp.path());
        FanoutCache fc(tmp.path());
        CHECK(fc.shard_count() == 4);
        check_outcome(fc, codes);
    }
}
