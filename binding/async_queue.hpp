#pragma once
// AsyncQueue<S>: the asynchronous operations (getAsync, setAsync, ...) of one store object.
//
// - Call order. One worker thread per store object, started by its first asynchronous call,
//   executes the operations in the order they were called. A synchronous call on the store
//   first waits until every asynchronous operation issued before it has taken effect
//   (drain()), so a store behaves as if every call, sync or async, took effect when it was
//   made. Inside a transaction opened from JavaScript (transact()), asynchronous operations
//   are held back until the transaction ends and synchronous calls do not wait: the worker
//   could not write before the transaction ends anyway, and waiting would deadlock.
// - Batching. JavaScript appends operations to a queue that the worker drains while more are
//   appended. The worker opens a transaction with the first write and commits when the
//   event-loop turn that issued the writes ends (flush(), called from a microtask), or when
//   no operation came for `idle_commit`, or after `max_session` (so the write lock of the
//   database is never held for long). The writes of one turn thus share one commit, and the
//   worker starts on them before the turn ends. Consecutive sets go through the engine's
//   set_many (key order, many rows per statement). The execution itself, with the failure
//   handling below, is async_session.hpp.
// - JavaScript batches. setAsync() calls with small values are gathered by lib/async.ts
//   into one block (keys and values back to back) and handed over as one operation
//   (set_batch: copied here in one piece, written with one set_many, all or none, one
//   promise for the whole batch). The batch being gathered must reach the queue before
//   anything else on the store: the lib hands it over before its other asynchronous calls,
//   and drain() and close() take it (`take_batch`) when the flag the lib raises while it
//   gathers one is set.
// - A dedicated thread rather than libuv's pool: a write waiting for another process's lock
//   (up to the busy timeout) never holds one of the four pool threads that fs, dns, crypto
//   and zlib share, and a transaction can span several queue drains.
// - Failures stay with their operation: when an operation throws inside a shared
//   transaction, that transaction is rolled back and its operations replayed one by one,
//   each in its own transaction, so each settles with its own outcome. Nothing committed is
//   ever rolled back. A transaction that cannot begin (SQLITE_BUSY after the busy timeout)
//   fails the writes of that session at once instead of waiting again for each.
// - Results reach the main thread through a thread-safe function, after the commit; values
//   read by the worker are copied there into ordinary Node Buffers (Buffer::Copy: no
//   external buffers). No napi_env is touched off the main thread.
// - incrAsync's read-modify-write goes through the JavaScript serializer: the worker reads
//   the current bytes and asks the main thread for the new bytes (a "step", answered by the
//   next event-loop turn or by a synchronous call waiting in drain()), then writes them if
//   the value did not change meanwhile (compare and set; no lock is held while JavaScript
//   computes).
// - Lifetime. While operations are pending, the store's JavaScript object and the event
//   loop are kept alive (so an awaited operation of a dropped store still settles); when
//   idle, neither is. close() waits for every pending operation and settles them; a worker
//   or process teardown stops the thread after running what is queued (their promises can
//   no longer settle).
#include "async_session.hpp"
#include "arguments.hpp"
#include "errors.hpp"

#include <sciqlop_cache/sciqlop_cache.hpp>

#include <napi.h>

#ifdef __linux__
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace sciqlop_cache::binding
{

template <class S>
class AsyncQueue
{
    using Clock = std::chrono::steady_clock;

public:
    /// Tuning of the worker's sessions (one transaction per shard each); see the file comment.
    /// A session commits when its turn is flushed, or after this long without a new operation
    /// (JavaScript busy with something else within the same turn)...
    static constexpr auto idle_commit = std::chrono::milliseconds(5);
    /// ...or after this long or this many value bytes, whatever JavaScript does. Sessions of
    /// a few MiB keep the WAL short enough for the background thread to checkpoint it, instead
    /// of a commit doing it inline, and bound the values held for a replay.
    static constexpr auto max_session = std::chrono::milliseconds(100);
    static constexpr std::size_t max_session_bytes = std::size_t { 8 } << 20;
    /// Before its turn ends, queued operations are taken by chunks of at least this many, or
    /// once the first has waited `chunk_wait`: large chunks make set_many efficient.
    static constexpr std::size_t min_chunk = 4096;
    static constexpr auto chunk_wait = std::chrono::milliseconds(5);
    static constexpr auto poll_interval = std::chrono::microseconds(200);

    explicit AsyncQueue(S& store) : store_(store) { }
    ~AsyncQueue() { stop_worker(); }
    AsyncQueue(const AsyncQueue&) = delete;
    AsyncQueue& operator=(const AsyncQueue&) = delete;

    // ---- main thread ---------------------------------------------------------------------

    /// Creates the thread-safe function and starts the worker. `settle(count, results?,
    /// errors?)` receives the outcomes of the next `count` operations in call order; `step(seq,
    /// bytes?)` answers incrAsync (see the file comment). Both are held weakly (their owner, the
    /// JavaScript store, holds them) except while operations are pending.
    /// `take_batch()` returns the JavaScript batch being gathered (the arguments of
    /// push_batch() as an array) or undefined; `batch_flag` is a Uint8Array whose first byte
    /// the lib sets while it gathers one (both optional).
    void start(Napi::Env env, const std::shared_ptr<AsyncQueue>& self, Napi::Object owner, Napi::Function settle,
               Napi::Function step, Napi::Value take_batch = {}, Napi::Value batch_flag = {})
    {
        if (started_)
            return;
        owner_ = Napi::Reference<Napi::Object>::New(owner, 0);
        settle_ = Napi::Reference<Napi::Function>::New(settle, 0);
        step_fn_ = Napi::Reference<Napi::Function>::New(step, 0);
        if (!take_batch.IsEmpty() && take_batch.IsFunction() && !batch_flag.IsEmpty() && batch_flag.IsTypedArray())
        {
            const auto flag = batch_flag.As<Napi::TypedArray>();
            auto buffer = flag.ArrayBuffer(); // off the V8 heap from now on: does not move
            if (flag.ByteLength() >= 1)
            {
                take_batch_ = Napi::Reference<Napi::Function>::New(take_batch.As<Napi::Function>(), 0);
                batch_flag_ref_ = Napi::Reference<Napi::Object>::New(buffer, 1);
                batch_flag_ = static_cast<volatile std::uint8_t*>(buffer.Data()) + flag.ByteOffset();
            }
        }
        auto* context = new std::shared_ptr<AsyncQueue>(self);
        const napi_status status = napi_create_threadsafe_function(
            env, nullptr, nullptr, Napi::String::New(env, "sciqlop-cache async"), 0, 1, context,
            &AsyncQueue::on_tsfn_finalize, context, &AsyncQueue::on_tsfn_call, &tsfn_);
        if (status != napi_ok)
        {
            delete context;
            NAPI_THROW_IF_FAILED_VOID(env, status);
        }
        napi_unref_threadsafe_function(env, tsfn_);
        worker_ = std::thread([this] { run(); });
        started_ = true;
    }

    [[nodiscard]] bool started() const noexcept { return started_; }

    /// A set_batch operation from the lib's arguments (block, used, lengths, count, expire?,
    /// tag?): the first `used` bytes of `block` hold `count` keys and values back to back,
    /// lengths[2i] and lengths[2i + 1] the size of each. Copied (the lib reuses its block).
    static AsyncOp make_batch(Napi::Env env, const Napi::Value& block, const Napi::Value& used,
                              const Napi::Value& lengths, const Napi::Value& count, const Napi::Value& expire,
                              const Napi::Value& tag)
    {
        if (!block.IsTypedArray() || block.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array
            || !lengths.IsTypedArray() || lengths.As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array
            || !used.IsNumber() || !count.IsNumber())
            throw Napi::TypeError::New(env, "Expected (Uint8Array, number, Uint32Array, number) for a batch");
        const auto bytes = block.As<Napi::Uint8Array>();
        const auto sizes = lengths.As<Napi::Uint32Array>();
        const double used_d = used.As<Napi::Number>().DoubleValue();
        const double count_d = count.As<Napi::Number>().DoubleValue();
        if (!(used_d >= 0) || used_d > static_cast<double>(bytes.ByteLength()) || !(count_d >= 0)
            || count_d * 2 > static_cast<double>(sizes.ElementLength()))
            throw Napi::RangeError::New(env, "Batch sizes out of range");
        const auto n = static_cast<std::size_t>(count_d);
        const auto size = static_cast<std::size_t>(used_d);
        AsyncOp op;
        op.kind = AsyncKind::set_batch;
        op.batch = std::make_unique<AsyncOp::Batch>();
        op.batch->lengths.assign(sizes.Data(), sizes.Data() + 2 * n);
        std::uint64_t total = 0;
        for (const auto l : op.batch->lengths)
            total += l;
        if (total != size)
            throw Napi::RangeError::New(env, "Batch lengths do not add up");
        op.batch->data = Buffer(size);
        if (size)
            std::memcpy(op.batch->data.data(), bytes.Data(), size);
        using policy = typename S::policy;
        if constexpr (policy::expiration)
            op.expire = expire_arg(env, expire);
        if constexpr (policy::tags)
            op.tag = tag_arg(env, tag);
        return op;
    }

    /// Takes the batch the lib is gathering, if any, and queues it.
    void take_js_batch(Napi::Env env)
    {
        if (batch_flag_ == nullptr || *batch_flag_ == 0 || take_batch_.IsEmpty())
            return;
        const Napi::Function fn = take_batch_.Value();
        if (fn.IsEmpty())
            return;
        const Napi::Value args = fn.Call({});
        if (!args.IsArray())
            return;
        const auto a = args.As<Napi::Array>();
        push(env, make_batch(env, a.Get(0u), a.Get(1u), a.Get(2u), a.Get(3u), a.Get(4u), a.Get(5u)));
    }
    /// Appends an operation (arguments already converted: nothing here throws JavaScript errors).
    void push(Napi::Env env, AsyncOp&& op)
    {
        op.seq = issued_++;
        set_busy(env, true);
        if (hold_)
        {
            held_.push_back(std::move(op));
            return;
        }
        bool wake = false;
        {
            std::lock_guard l(mutex_);
            queued_rows_ += op.rows();
            queue_.push_back(std::move(op));
            handed_.fetch_add(1, std::memory_order_relaxed);
            wake = std::exchange(worker_waiting_, false);
        }
        if (wake)
            work_cv_.notify_one();
    }

    /// End of the JavaScript turn: the worker commits once it has executed what is queued.
    /// Without the mutex: the main thread must never wait for a worker that holds it and was
    /// descheduled (a missed wake-up only delays the commit by one poll interval).
    void flush()
    {
        if (!started_)
            return;
        flush_seq_.store(handed_.load(std::memory_order_relaxed), std::memory_order_release);
        work_cv_.notify_one();
    }

    /// A transaction opened from JavaScript holds back operations issued inside it.
    void set_hold(bool hold)
    {
        if (hold == hold_)
            return;
        hold_ = hold;
        if (hold || held_.empty())
            return;
        {
            std::lock_guard l(mutex_);
            for (auto& op : held_)
            {
                queued_rows_ += op.rows();
                queue_.push_back(std::move(op));
            }
            handed_.fetch_add(held_.size(), std::memory_order_relaxed);
            flush_seq_.store(handed_.load(std::memory_order_relaxed), std::memory_order_release);
            worker_waiting_ = false;
        }
        held_.clear();
        work_cv_.notify_one();
    }

    /// Waits until every operation issued so far has taken effect, answering incrAsync steps
    /// meanwhile. Called before each synchronous operation; cheap when nothing is pending.
    void drain(Napi::Env env)
    {
        if (batch_flag_ != nullptr && *batch_flag_ != 0) [[unlikely]]
            take_js_batch(env);
        if (!started_ || executed_.load(std::memory_order_acquire) == issued_ || hold_)
            return;
        flush();
        std::unique_lock l(mutex_);
        while (executed_.load(std::memory_order_relaxed) != issued_)
        {
            if (step_.state == StepState::requested)
            {
                l.unlock();
                serve_step(env);
                l.lock();
                continue;
            }
            if (step_.state == StepState::serving)
                throw make_error(env, "REENTRANT_CALL",
                                 "The store cannot be used synchronously from its serializer while that serializer "
                                 "encodes the result of incrAsync()");
            idle_cv_.wait(l);
        }
    }

    /// close() from JavaScript: operations held by an open transaction fail with CLOSED (the
    /// transaction is rolled back by the close), every other one takes effect and settles now.
    void close(Napi::Env env)
    {
        if (!started_)
            return;
        take_js_batch(env); // held back too when inside a transaction: then failed below
        fail_held();
        hold_ = false;
        drain(env);
        stop_worker();
        settle(env);
        release_tsfn(napi_tsfn_release);
        set_busy(env, false);
    }

    /// Teardown without JavaScript (finalizer, environment cleanup): runs what is queued,
    /// failing incrAsync steps, and stops the worker. Nothing is settled.
    void close_without_js() noexcept
    {
        if (!started_)
            return;
        held_.clear();
        {
            std::lock_guard l(mutex_);
            no_js_ = true;
        }
        step_cv_.notify_all();
        stop_worker();
        release_tsfn(napi_tsfn_abort);
    }

private:
    enum class StepState
    {
        none,
        requested,
        serving,
        answered
    };
    struct Step
    {
        StepState state = StepState::none;
        std::uint64_t seq = 0;
        bool found = false;
        Buffer input;
        std::optional<Buffer> output;
    };

    /// Keeps the JavaScript store and the event loop alive while operations are pending.
    void set_busy(Napi::Env env, bool busy)
    {
        if (busy == busy_)
            return;
        busy_ = busy;
        if (tsfn_)
            busy ? napi_ref_threadsafe_function(env, tsfn_) : napi_unref_threadsafe_function(env, tsfn_);
        if (!owner_.IsEmpty())
            busy ? owner_.Ref() : owner_.Unref();
        for (auto* ref : { &settle_, &step_fn_, &take_batch_ })
        {
            if (!ref->IsEmpty())
                busy ? ref->Ref() : ref->Unref();
        }
    }

    void fail_held()
    {
        if (held_.empty())
            return;
        std::lock_guard l(mutex_);
        for (auto& op : held_)
        {
            op.error = std::make_exception_ptr(
                error("CLOSED", "the store was closed before the transaction this operation waited for ended"));
            completed_.push_back(std::move(op));
        }
        // They never reach the worker: count them as handed over and executed.
        handed_.fetch_add(held_.size(), std::memory_order_relaxed);
        taken_ += held_.size();
        executed_.fetch_add(held_.size(), std::memory_order_release);
        held_.clear();
    }

    void release_tsfn(napi_threadsafe_function_release_mode mode) noexcept
    {
        if (tsfn_)
        {
            napi_release_threadsafe_function(tsfn_, mode);
            tsfn_ = nullptr;
        }
    }

    void stop_worker() noexcept
    {
        {
            std::lock_guard l(mutex_);
            stopping_ = true;
        }
        work_cv_.notify_all();
        if (worker_.joinable())
            worker_.join();
    }

    static void on_tsfn_call(napi_env env, napi_value, void* context, void*)
    {
        if (env == nullptr) // the environment is being torn down
            return;
        auto& self = **static_cast<std::shared_ptr<AsyncQueue>*>(context);
        const Napi::Env e(env);
        try
        {
            {
                std::lock_guard l(self.mutex_);
                self.notified_ = false;
            }
            self.serve_step(e);
            self.settle(e);
        }
        catch (const Napi::Error& error)
        {
            error.ThrowAsJavaScriptException(); // a bug in the lib's callbacks: report it, uncaught
        }
        catch (...)
        {
            current_exception_to_js(e).ThrowAsJavaScriptException();
        }
    }

    /// The thread-safe function is gone (released after close(), or the environment is being
    /// torn down, possibly before our own cleanup hook): make sure the worker never calls it.
    static void on_tsfn_finalize(napi_env, void* data, void*)
    {
        auto* self = static_cast<std::shared_ptr<AsyncQueue>*>(data);
        {
            auto& q = **self;
            {
                std::lock_guard l(q.mutex_);
                q.no_js_ = true;
            }
            q.step_cv_.notify_all();
            q.stop_worker();
            q.tsfn_ = nullptr;
        }
        delete self;
    }

    /// Runs the JavaScript step the worker waits for, if any. Returns whether one ran.
    bool serve_step(Napi::Env env)
    {
        std::uint64_t seq = 0;
        bool found = false;
        Buffer input;
        {
            std::lock_guard l(mutex_);
            if (step_.state != StepState::requested)
                return false;
            step_.state = StepState::serving;
            seq = step_.seq;
            found = step_.found;
            input = std::move(step_.input);
        }
        std::optional<Buffer> output;
        try
        {
            Napi::HandleScope scope(env);
            if (!step_fn_.IsEmpty() && !step_fn_.Value().IsEmpty())
            {
                const Napi::Value bytes = found
                    ? Napi::Value(Napi::Buffer<std::uint8_t>::Copy(
                          env, reinterpret_cast<const std::uint8_t*>(input.data()), input.size()))
                    : env.Undefined();
                const Napi::Value result
                    = step_fn_.Value().Call({ Napi::Number::New(env, static_cast<double>(seq)), bytes });
                if (result.IsTypedArray())
                {
                    const auto array = result.As<Napi::TypedArray>();
                    const auto* data = static_cast<const std::byte*>(array.ArrayBuffer().Data())
                        + array.ByteOffset();
                    Buffer out(array.ByteLength());
                    if (out.size())
                        std::memcpy(out.data(), data, out.size());
                    output = std::move(out);
                }
            }
        }
        catch (...)
        {
            // The lib's step reports its failures by returning undefined; anything else is a
            // bug: fail the operation rather than the process.
            output.reset();
        }
        {
            std::lock_guard l(mutex_);
            step_.output = std::move(output);
            step_.state = StepState::answered;
        }
        step_cv_.notify_all();
        return true;
    }

    static bool has_result(AsyncKind kind) noexcept
    {
        return kind != AsyncKind::set && kind != AsyncKind::set_many && kind != AsyncKind::set_batch
            && kind != AsyncKind::incr;
    }

    static Napi::Value buffer_of(Napi::Env env, const Buffer& b)
    {
        return Napi::Buffer<std::uint8_t>::Copy(env, reinterpret_cast<const std::uint8_t*>(b.data()), b.size());
    }

    /// Hands the outcomes of the completed operations to JavaScript, in call order.
    void settle(Napi::Env env)
    {
        std::vector<AsyncOp> done;
        {
            std::lock_guard l(mutex_);
            done.swap(completed_);
        }
        if (done.empty())
            return;
        Napi::HandleScope scope(env);
        bool any_result = false, any_error = false;
        for (const auto& op : done)
        {
            any_error = any_error || op.error;
            any_result = any_result || (!op.error && has_result(op.kind));
        }
        Napi::Value results = env.Undefined(), errors = env.Undefined();
        if (any_result)
        {
            auto array = Napi::Array::New(env, done.size());
            for (std::size_t i = 0; i < done.size(); ++i)
            {
                const auto& op = done[i];
                if (op.error || !has_result(op.kind))
                    continue;
                const auto index = static_cast<std::uint32_t>(i);
                switch (op.kind)
                {
                    case AsyncKind::get:
                    case AsyncKind::peek:
                    case AsyncKind::pop:
                        if (op.result)
                            array.Set(index, buffer_of(env, op.value));
                        break;
                    case AsyncKind::get_many:
                    {
                        auto values = Napi::Array::New(env, op.many->keys.size());
                        for (std::size_t k = 0; k < op.many->keys.size(); ++k)
                        {
                            if (op.many->found[k])
                                values.Set(static_cast<std::uint32_t>(k), buffer_of(env, op.many->values[k]));
                        }
                        array.Set(index, values);
                        break;
                    }
                    default: array.Set(index, Napi::Boolean::New(env, op.result)); break;
                }
            }
            results = array;
        }
        if (any_error)
        {
            auto array = Napi::Array::New(env, done.size());
            for (std::size_t i = 0; i < done.size(); ++i)
            {
                if (!done[i].error)
                    continue;
                try
                {
                    std::rethrow_exception(done[i].error);
                }
                catch (...)
                {
                    array.Set(static_cast<std::uint32_t>(i), current_exception_to_js(env).Value());
                }
            }
            errors = array;
        }
        settled_ += done.size();
        const bool idle = settled_ == issued_;
        Napi::Function fn;
        if (!settle_.IsEmpty())
            fn = settle_.Value();
        if (idle)
            set_busy(env, false);
        if (!fn.IsEmpty())
            fn.Call({ Napi::Number::New(env, static_cast<double>(done.size())), results, errors });
    }

    // ---- worker thread -------------------------------------------------------------------

    void notify_main_locked()
    {
        if (!notified_ && tsfn_ && !no_js_)
        {
            notified_ = true;
            napi_call_threadsafe_function(tsfn_, nullptr, napi_tsfn_nonblocking);
        }
    }

    void run()
    {
#ifdef __linux__
        // The worker must not take the CPU from the JavaScript thread, whose event loop is
        // what the asynchronous API is for: SCHED_BATCH (the "not interactive" policy) keeps
        // its wake-ups from preempting the JavaScript thread, and nice +10 (for this thread
        // only) lets the scheduler favour the JavaScript thread when both want the same CPU.
        // On a loaded 2-CPU machine this brought the event-loop p99 delay of the 1 MiB
        // benchmark (bench/async.js) from about 8.5 ms to about 5.5 ms, with the same write
        // throughput. Best effort: neither needs a privilege.
        sched_param batch {};
        pthread_setschedparam(pthread_self(), SCHED_BATCH, &batch);
        setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 10);
#endif
        std::unique_lock l(mutex_);
        while (true)
        {
            if (queue_.empty())
            {
                if (stopping_)
                    return;
                worker_waiting_ = true;
                work_cv_.wait(l, [&] { return !queue_.empty() || stopping_; });
                worker_waiting_ = false;
                continue;
            }
            AsyncSession<S> session(store_, [this](std::uint64_t seq, std::optional<Buffer> current)
                                    { return ask_js(seq, std::move(current)); });
            const auto started = Clock::now();
            auto last_change = started; // when the queue last grew or was drained
            auto chunk_since = started; // when the queued chunk started to wait
            std::size_t last_size = 0;
            while (true)
            {
                const auto now = Clock::now();
                if (queue_.size() != last_size)
                {
                    if (last_size == 0)
                        chunk_since = now;
                    last_size = queue_.size();
                    last_change = now;
                }
                const bool flushed
                    = flush_seq_.load(std::memory_order_acquire) >= handed_.load(std::memory_order_relaxed);
                if (!queue_.empty()
                    && (flushed || stopping_ || no_js_ || queued_rows_ >= min_chunk
                        || now - chunk_since >= chunk_wait))
                {
                    auto batch = std::exchange(queue_, {});
                    taken_ += batch.size();
                    queued_rows_ = 0;
                    l.unlock();
                    session.execute(std::move(batch));
                    l.lock();
                    last_size = 0;
                    last_change = Clock::now();
                    continue;
                }
                if (stopping_ || no_js_ || now - started >= max_session || session.bytes >= max_session_bytes)
                    break;
                if (queue_.empty() && (flushed || now - last_change >= idle_commit))
                    break;
                work_cv_.wait_for(l, poll_interval);
            }
            l.unlock();
            session.finish();
            l.lock();
            if (completed_.empty())
                completed_ = std::move(session.ops);
            else
            {
                for (auto& op : session.ops)
                    completed_.push_back(std::move(op));
            }
            executed_.store(taken_, std::memory_order_release);
            notify_main_locked();
            idle_cv_.notify_all();
        }
    }

    /// incrAsync's step: the main thread turns the current bytes (none when absent) into the
    /// bytes to store; std::nullopt when the JavaScript side failed the operation.
    std::optional<Buffer> ask_js(std::uint64_t seq, std::optional<Buffer> current)
    {
        std::unique_lock l(mutex_);
        if (no_js_)
            throw error("CLOSED", "the store was closed before incrAsync() could complete");
        step_.state = StepState::requested;
        step_.seq = seq;
        step_.found = current.has_value();
        step_.input = current ? std::move(*current) : Buffer {};
        step_.output.reset();
        notify_main_locked();
        idle_cv_.notify_all();
        step_cv_.wait(l,
                      [&]
                      {
                          return step_.state == StepState::answered
                              || (no_js_ && step_.state != StepState::serving);
                      });
        if (step_.state != StepState::answered)
        {
            step_.state = StepState::none;
            throw error("CLOSED", "the store was closed before incrAsync() could complete");
        }
        step_.state = StepState::none;
        return std::move(step_.output);
    }

    S& store_;
    std::thread worker_;
    napi_threadsafe_function tsfn_ = nullptr;
    Napi::Reference<Napi::Object> owner_;
    Napi::FunctionReference settle_, step_fn_, take_batch_;
    Napi::ObjectReference batch_flag_ref_;      // keeps the flag's memory
    volatile std::uint8_t* batch_flag_ = nullptr; // set by the lib while it gathers a batch

    // Main thread only.
    bool started_ = false;
    bool busy_ = false;
    bool hold_ = false;
    std::uint64_t issued_ = 0;  // operations pushed
    std::uint64_t settled_ = 0; // operations handed to settle()
    std::vector<AsyncOp> held_;

    // Shared with the worker, under mutex_.
    std::mutex mutex_;
    std::condition_variable work_cv_, idle_cv_, step_cv_;
    std::vector<AsyncOp> queue_;     // handed over, not yet taken
    std::vector<AsyncOp> completed_; // executed, not yet settled
    std::uint64_t taken_ = 0;
    std::size_t queued_rows_ = 0; // rows in queue_ (a batch counts its entries)
    std::atomic<std::uint64_t> handed_ { 0 }, flush_seq_ { 0 }; // written by the main thread
    std::atomic<std::uint64_t> executed_ { 0 };
    bool worker_waiting_ = false, stopping_ = false, no_js_ = false, notified_ = false;
    Step step_;
};

} // namespace sciqlop_cache::binding
