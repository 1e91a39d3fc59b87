#pragma once
// AsyncSession<S>: executes a batch of asynchronous operations on the worker thread of a
// store object (async_queue.hpp runs the thread and talks to JavaScript; this file knows
// nothing of Node). Writes share one transaction per shard; consecutive sets go through the
// engine's set_many; an operation that fails inside a shared transaction rolls it back and
// its operations are replayed one by one, each in its own transaction, so that each settles
// with its own outcome and nothing committed is lost.
#include <sciqlop_cache/sciqlop_cache.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sciqlop_cache::binding
{

enum class AsyncKind : std::uint8_t
{
    get,
    peek, // a get not counted in stats (memoize's second look-up under its lock)
    has,
    pop,
    del,
    set,
    add,
    incr,
    get_many,
    set_many,
    set_batch, // the setAsync calls of one JavaScript batch (lib/async.ts): all or none
};

/// One asynchronous operation with its arguments copied out of JavaScript, and its outcome.
struct AsyncOp
{
    struct Many
    {
        std::vector<std::string> keys;
        std::vector<Buffer> values; // set_many: to write; get_many: read (found[i] tells)
        std::vector<char> found;
    };
    /// set_batch: the keys (UTF-8) and values of the batch back to back in one block, with
    /// the length of each key and value (lengths[2i], lengths[2i + 1]).
    struct Batch
    {
        Buffer data;
        std::vector<std::uint32_t> lengths;

        [[nodiscard]] std::size_t count() const noexcept { return lengths.size() / 2; }
        /// Calls f(key, value) for each entry, in call order.
        template <class F>
        void for_each(F&& f) const
        {
            const std::byte* p = data.data();
            for (std::size_t i = 0; i + 1 < lengths.size(); i += 2)
            {
                const std::string_view key(reinterpret_cast<const char*>(p), lengths[i]);
                p += lengths[i];
                f(key, std::span<const std::byte>(p, lengths[i + 1]));
                p += lengths[i + 1];
            }
        }
    };

    AsyncKind kind = AsyncKind::get;
    bool result = false; // get/peek/pop: found; has/add/del: the answer
    std::uint64_t seq = 0;
    std::string key;
    Buffer value; // set/add: to write; get/peek/pop: read
    std::optional<double> expire;
    std::optional<std::string> tag;
    std::unique_ptr<Many> many;
    std::unique_ptr<Batch> batch;
    std::exception_ptr error;

    /// The rows this operation writes or reads, as the worker counts them to start a chunk.
    [[nodiscard]] std::size_t rows() const noexcept { return batch ? batch->count() : 1; }

    [[nodiscard]] bool writes() const noexcept
    {
        return kind != AsyncKind::get && kind != AsyncKind::peek && kind != AsyncKind::has
            && kind != AsyncKind::get_many;
    }
    [[nodiscard]] SetOptions options() const
    {
        SetOptions o;
        o.expire = expire;
        if (tag)
            o.tag = std::string_view(*tag);
        return o;
    }
    [[nodiscard]] std::size_t bytes() const noexcept
    {
        std::size_t n = key.size() + value.size();
        if (batch)
            n += batch->data.size();
        if (many)
        {
            for (const auto& v : many->values)
                n += v.size();
        }
        return n;
    }
};

/// The shards of a store as the worker sees them: a single store is its own only shard.
template <class S>
struct ShardsOf
{
    using Shard = S;
    static std::size_t count(S&) noexcept { return 1; }
    static std::size_t index(S&, std::string_view) noexcept { return 0; }
    static S& at(S& s, std::size_t) noexcept { return s; }
};
template <class S>
struct ShardsOf<Fanout<S>>
{
    using Shard = S;
    static std::size_t count(Fanout<S>& f) noexcept { return f.shard_count(); }
    static std::size_t index(Fanout<S>& f, std::string_view key) noexcept { return f.shard_index(key); }
    static S& at(Fanout<S>& f, std::size_t i) { return f.shard(i); }
};

/// The operations one pass of a store's worker executes (see async_queue.hpp), with one
/// transaction per shard, opened by the first write on that shard and committed by finish().
/// Plain C++: `ask_js` is how incrAsync gets its new bytes from the main thread.
template <class S>
class AsyncSession
{
    using Shards = ShardsOf<S>;
    using Shard = typename Shards::Shard;

public:
    /// incrAsync's step: the bytes to store given the current ones (none when absent), or
    /// std::nullopt when the JavaScript side failed the operation.
    using AskJs = std::function<std::optional<Buffer>(std::uint64_t seq, std::optional<Buffer> current)>;

    AsyncSession(S& store, AskJs ask_js)
            : store_(store), ask_js_(std::move(ask_js)), shards_(Shards::count(store))
    {
    }

    std::vector<AsyncOp> ops;
    std::size_t bytes = 0;

    void execute(std::vector<AsyncOp>&& batch)
    {
        const std::size_t first = ops.size();
        if (ops.empty())
            ops = std::move(batch);
        else
        {
            for (auto& op : batch)
                ops.push_back(std::move(op));
        }
        for (std::size_t i = first; i < ops.size();)
        {
            bytes += ops[i].bytes();
            if (ops[i].kind == AsyncKind::set)
            {
                std::size_t end = i + 1;
                while (end < ops.size() && ops[end].kind == AsyncKind::set)
                    bytes += ops[end++].bytes();
                run_sets(i, end);
                i = end;
                continue;
            }
            if (ops[i].kind == AsyncKind::set_batch)
            {
                std::size_t end = i + 1;
                while (end < ops.size() && ops[end].kind == AsyncKind::set_batch && same_options(ops[i], ops[end]))
                    bytes += ops[end++].bytes();
                run_batches(i, end);
                i = end;
                continue;
            }
            if (ops[i].kind == AsyncKind::get_many || ops[i].kind == AsyncKind::set_many)
                run_many(i);
            else if (ops[i].kind == AsyncKind::incr)
                run_incr(i);
            else
                run_single(i);
            ++i;
        }
    }

    /// Commits each shard's transaction; a shard whose commit fails has its operations
    /// replayed one by one.
    void finish()
    {
        for (std::size_t k = 0; k < shards_.size(); ++k)
            commit_shard(k);
    }

private:
    enum class Mode
    {
        none,
        open,
        failed
    };
    struct ShardTx
    {
        Mode mode = Mode::none;
        std::vector<std::size_t> ops; // done inside the open transaction, in order
        std::exception_ptr error;     // Mode::failed: why the transaction could not begin
    };

    Shard& shard(std::size_t k) { return Shards::at(store_, k); }

    void commit_shard(std::size_t k)
    {
        auto& tx = shards_[k];
        if (tx.mode != Mode::open)
            return;
        try
        {
            shard(k).commit();
            tx.mode = Mode::none;
            tx.ops.clear();
        }
        catch (...)
        {
            // The engine rolled the transaction back.
            tx.mode = Mode::none;
            replay(k);
        }
    }
    std::size_t shard_index(std::string_view key) { return Shards::index(store_, key); }

    static bool is_busy(const std::exception_ptr& e)
    {
        try
        {
            std::rethrow_exception(e);
        }
        catch (const error& err)
        {
            return err.code() == "SQLITE_BUSY" || err.code() == "CLOSED";
        }
        catch (...)
        {
            return false;
        }
    }

    /// Opens the shard's transaction if needed; false (and the op failed) when it cannot.
    bool ensure_open(std::size_t k, AsyncOp& op)
    {
        auto& tx = shards_[k];
        if (tx.mode == Mode::open)
            return true;
        if (tx.mode == Mode::none)
        {
            try
            {
                shard(k).begin();
                tx.mode = Mode::open;
                return true;
            }
            catch (...)
            {
                tx.mode = Mode::failed;
                tx.error = std::current_exception();
            }
        }
        op.error = tx.error;
        return false;
    }

    /// An operation failed inside the shard's transaction: roll it back and replay what it held.
    void recover(std::size_t k)
    {
        try
        {
            shard(k).rollback();
        }
        catch (...)
        {
        }
        shards_[k].mode = Mode::none;
        replay(k);
    }

    void replay(std::size_t k)
    {
        auto replayed = std::exchange(shards_[k].ops, {});
        for (const auto i : replayed)
            run_alone(ops[i], &k);
    }

    void run_single(std::size_t i)
    {
        auto& op = ops[i];
        const auto k = shard_index(op.key);
        auto& tx = shards_[k];
        if (!op.writes() && tx.mode != Mode::open)
        {
            run_alone(op, nullptr);
            return;
        }
        if (op.writes() && !ensure_open(k, op))
            return;
        tx.ops.push_back(i);
        try
        {
            run(op, shard(k));
        }
        catch (...)
        {
            recover(k);
        }
    }

    void run_sets(std::size_t begin, std::size_t end)
    {
        std::vector<std::vector<std::size_t>> per_shard(shards_.size());
        for (std::size_t i = begin; i < end; ++i)
            per_shard[shard_index(ops[i].key)].push_back(i);
        std::vector<Entry> entries;
        for (std::size_t k = 0; k < per_shard.size(); ++k)
        {
            const auto& group = per_shard[k];
            if (group.empty())
                continue;
            if (!ensure_open(k, ops[group.front()]))
            {
                for (const auto i : group)
                    ops[i].error = shards_[k].error;
                continue;
            }
            auto& tx = shards_[k];
            tx.ops.insert(tx.ops.end(), group.begin(), group.end());
            entries.clear();
            for (const auto i : group)
                entries.push_back({ ops[i].key, ops[i].value.span(), ops[i].options() });
            try
            {
                shard(k).set_many(entries);
            }
            catch (...)
            {
                recover(k);
            }
        }
    }

    void run_many(std::size_t i)
    {
        auto& op = ops[i];
        auto& many = *op.many;
        std::vector<std::size_t> touched;
        for (const auto& key : many.keys)
        {
            const auto k = shard_index(key);
            if (std::find(touched.begin(), touched.end(), k) == touched.end())
                touched.push_back(k);
        }
        if (op.kind == AsyncKind::set_many)
        {
            for (const auto k : touched)
            {
                if (!ensure_open(k, op))
                    return;
            }
        }
        for (const auto k : touched)
        {
            if (shards_[k].mode == Mode::open)
                shards_[k].ops.push_back(i);
        }
        try
        {
            run(op, shard(0));
        }
        catch (...)
        {
            op.error = std::current_exception();
            if (op.kind == AsyncKind::set_many)
            {
                for (const auto k : touched)
                    recover(k);
            }
        }
    }

    static bool same_options(const AsyncOp& a, const AsyncOp& b) { return a.expire == b.expire && a.tag == b.tag; }

    /// Consecutive JavaScript batches (same options) in one set_many: keys sorted over all of
    /// them, one statement per 64 rows. Each batch is all or none: on a failure the shards
    /// are rolled back and their operations replayed one by one, each batch in its own
    /// transaction (per shard for a fanout).
    void run_batches(std::size_t begin, std::size_t end)
    {
        std::size_t rows = 0;
        for (std::size_t i = begin; i < end; ++i)
            rows += ops[i].batch->count();
        std::vector<Entry> entries;
        entries.reserve(rows);
        const auto options = ops[begin].options();
        for (std::size_t i = begin; i < end; ++i)
            ops[i].batch->for_each([&](std::string_view key, std::span<const std::byte> value)
                                   { entries.push_back({ key, value, options }); });
        std::vector<std::size_t> touched;
        if (shards_.size() == 1)
            touched.push_back(0);
        else
        {
            std::vector<char> hit(shards_.size(), 0);
            for (const auto& e : entries)
                hit[shard_index(e.key)] = 1;
            for (std::size_t k = 0; k < hit.size(); ++k)
            {
                if (hit[k])
                    touched.push_back(k);
            }
        }
        for (const auto k : touched)
        {
            if (!ensure_open(k, ops[begin]))
            {
                for (std::size_t i = begin; i < end; ++i)
                    ops[i].error = shards_[k].error;
                return;
            }
        }
        for (const auto k : touched)
        {
            for (std::size_t i = begin; i < end; ++i)
                shards_[k].ops.push_back(i);
        }
        try
        {
            if (touched.size() == 1)
                shard(touched.front()).set_many(entries);
            else
                store_.set_many(entries);
        }
        catch (...)
        {
            recover_all(touched);
        }
    }

    /// recover() for an operation that wrote to several shards: every shard is rolled back
    /// before anything is replayed (a replay writes to all the shards of its operation).
    void recover_all(const std::vector<std::size_t>& touched)
    {
        std::vector<std::size_t> replayed;
        for (const auto k : touched)
        {
            try
            {
                shard(k).rollback();
            }
            catch (...)
            {
            }
            shards_[k].mode = Mode::none;
            auto& list = shards_[k].ops;
            replayed.insert(replayed.end(), list.begin(), list.end());
            list.clear();
        }
        std::sort(replayed.begin(), replayed.end());
        replayed.erase(std::unique(replayed.begin(), replayed.end()), replayed.end());
        for (const auto i : replayed)
            run_alone(ops[i], touched.size() == 1 ? &touched.front() : nullptr);
    }

    /// incrAsync. The JavaScript step never runs while this worker holds the write lock:
    /// something the main thread waits for (another store object on the same directory,
    /// another process) could be waiting for that lock. So the shard's transaction is
    /// committed first, the current bytes are read outside any transaction, and the new
    /// bytes are written in a transaction of their own only if the value is still the same
    /// (else another process wrote it meanwhile, and the step is asked again).
    void run_incr(std::size_t i)
    {
        commit_shard(shard_index(ops[i].key));
        run_alone(ops[i], nullptr);
    }

    static std::optional<Buffer> peek(Shard& s, std::string_view key)
    {
        std::optional<Buffer> bytes;
        s.peek_into(key,
                    [&](std::size_t n)
                    {
                        bytes.emplace(n);
                        return bytes->data();
                    });
        return bytes;
    }

    void increment(AsyncOp& op, Shard& s)
    {
        while (true)
        {
            const auto current = peek(s, op.key);
            const auto next = ask_js_(op.seq, current);
            if (!next)
                return; // the JavaScript side failed the operation and holds its error
            s.begin();
            try
            {
                if (peek(s, op.key) == current)
                {
                    if (!current || !s.update_bytes(op.key, next->span()))
                        s.set_bytes(op.key, next->span());
                    s.commit();
                    return;
                }
                s.rollback();
            }
            catch (...)
            {
                if (s.in_transaction())
                    s.rollback();
                throw;
            }
        }
    }

    /// Runs `op` on its own: in its own transaction, or inside none (reads).
    void run_alone(AsyncOp& op, const std::size_t* replayed_shard)
    {
        op.error = nullptr;
        op.result = false;
        try
        {
            run(op, shard(op.many || op.batch ? 0 : shard_index(op.key)));
        }
        catch (...)
        {
            op.error = std::current_exception();
            if (replayed_shard && is_busy(op.error))
            {
                // Waiting the busy timeout again for each operation would take forever.
                shards_[*replayed_shard].mode = Mode::failed;
                shards_[*replayed_shard].error = op.error;
            }
        }
    }

    /// The engine call of `op` on `s` (the shard of its key; multi-key operations go
    /// through the whole store, which routes each key).
    void run(AsyncOp& op, Shard& s)
    {
        const auto into = [&op](std::size_t n)
        {
            op.value = Buffer(n);
            return op.value.data();
        };
        switch (op.kind)
        {
            case AsyncKind::get: op.result = s.get_into(op.key, into); break;
            case AsyncKind::peek: op.result = s.peek_into(op.key, into); break;
            case AsyncKind::has: op.result = s.exists(op.key); break;
            case AsyncKind::pop: op.result = s.pop_into(op.key, into); break;
            case AsyncKind::del: op.result = s.del(op.key); break;
            case AsyncKind::set: s.set_bytes(op.key, op.value.span(), op.options()); break;
            case AsyncKind::add: op.result = s.add_bytes(op.key, op.value.span(), op.options()); break;
            case AsyncKind::incr: increment(op, s); break;
            case AsyncKind::get_many:
            {
                auto& many = *op.many;
                many.values.assign(many.keys.size(), Buffer {});
                many.found.assign(many.keys.size(), 0);
                for (std::size_t k = 0; k < many.keys.size(); ++k)
                {
                    auto& out = many.values[k];
                    many.found[k] = store_.get_into(many.keys[k],
                                                       [&out](std::size_t n)
                                                       {
                                                           out = Buffer(n);
                                                           return out.data();
                                                       });
                }
                break;
            }
            case AsyncKind::set_batch:
            {
                std::vector<Entry> entries;
                entries.reserve(op.batch->count());
                const auto options = op.options();
                op.batch->for_each([&](std::string_view key, std::span<const std::byte> value)
                                   { entries.push_back({ key, value, options }); });
                store_.set_many(entries);
                break;
            }
            case AsyncKind::set_many:
            {
                std::vector<Entry> entries;
                entries.reserve(op.many->keys.size());
                const auto options = op.options();
                for (std::size_t k = 0; k < op.many->keys.size(); ++k)
                    entries.push_back({ op.many->keys[k], op.many->values[k].span(), options });
                store_.set_many(entries);
                break;
            }
        }
    }

    S& store_;
    AskJs ask_js_;
    std::vector<ShardTx> shards_;
};

} // namespace sciqlop_cache::binding
