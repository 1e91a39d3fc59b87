#pragma once
// StoreWrap<S>: the JavaScript class over one C++ store type (Cache, Index, FanoutCache,
// FanoutIndex). Thin by design: it converts arguments, calls the engine and converts the
// result. Serialization, option parsing and transact()/incr()/lock logic live in lib/.
#include "addon_data.hpp"
#include "arguments.hpp"
#include "async_queue.hpp"
#include "errors.hpp"

#include <sciqlop_cache/sciqlop_cache.hpp>

#include <napi.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

namespace sciqlop_cache::binding
{

template <class S>
struct is_fanout : std::false_type
{
};
template <class S>
struct is_fanout<Fanout<S>> : std::true_type
{
};

/// The engine's ByteSink for reads: allocates an ordinary (non-external) Node Buffer of the
/// value's size and lets the engine copy the value into it: one copy from SQLite's row or the
/// value file into memory owned by V8, as Electron's memory cage requires.
struct BufferSink
{
    napi_env env;
    napi_value* out;

    std::byte* operator()(std::size_t size) const
    {
        void* data = nullptr;
        NAPI_THROW_IF_FAILED(env, napi_create_buffer(env, size, &data, out), nullptr);
        static std::byte empty_value; // napi_create_buffer may give no memory for 0 bytes
        return data ? static_cast<std::byte*>(data) : &empty_value;
    }
};

/// Values up to this size may be written into the caller's read pool (lib/read-pool.ts keeps
/// at least this much room free in it); larger ones always get a Buffer of their own.
inline constexpr std::size_t pooled_read_max = 4096;

/// Set while a read waits in store() for its store's asynchronous work, which may run
/// JavaScript (an incrAsync step through the serializer). A read that JavaScript makes then
/// does not use the read pool: the offset its caller would pass is the one the outer read
/// writes at.
inline thread_local bool pooled_read_running = false;

/// The engine's ByteSink for reads given a read pool (an ArrayBuffer and an offset in it): a
/// value of at most pooled_read_max bytes that fits is copied into the pool at the offset
/// (the caller makes a Buffer over that slice), any other into a Buffer of its own, as
/// BufferSink does. Either way, one copy into memory owned by V8. The pool arguments are only
/// looked at when a value is found (a miss costs nothing more); a pool that is not an
/// ArrayBuffer, is detached or has no room is not used.
struct PooledSink
{
    struct State
    {
        napi_env env;
        napi_value pool = nullptr; // nullptr: no pool
        napi_value offset = nullptr;
        napi_value out = nullptr;
        bool pooled = false;
        std::size_t size = 0;
    };
    State* state; // one pointer: fits in std::function's local storage, no allocation

    std::byte* operator()(std::size_t size) const
    {
        if (state->pool && size <= pooled_read_max)
        {
            void* data = nullptr;
            std::size_t length = 0;
            std::uint32_t at = 0;
            if (napi_get_arraybuffer_info(state->env, state->pool, &data, &length) == napi_ok && data
                && napi_get_value_uint32(state->env, state->offset, &at) == napi_ok && at <= length
                && size <= length - at)
            {
                state->pooled = true;
                state->size = size;
                return static_cast<std::byte*>(data) + at;
            }
        }
        state->pooled = false;
        return BufferSink { state->env, &state->out }(size);
    }
};

inline std::filesystem::path path_from_utf8(std::string_view utf8)
{
    return std::filesystem::path(std::u8string(utf8.begin(), utf8.end()));
}

template <class S>
class StoreWrap final : public Napi::ObjectWrap<StoreWrap<S>>, public Closable
{
    using Base = Napi::ObjectWrap<StoreWrap<S>>;
    using policy = typename S::policy;
    static constexpr bool fanout = is_fanout<S>::value;

public:
    static Napi::Function define(Napi::Env env, const char* name)
    {
        std::vector<typename Base::PropertyDescriptor> methods {
            Base::InstanceMethod("get", &StoreWrap::get),
            Base::InstanceMethod("peek", &StoreWrap::peek),
            Base::InstanceMethod("pop", &StoreWrap::pop),
            Base::InstanceMethod("has", &StoreWrap::has),
            Base::InstanceMethod("set", &StoreWrap::set),
            Base::InstanceMethod("add", &StoreWrap::add),
            Base::InstanceMethod("update", &StoreWrap::update),
            Base::InstanceMethod("delete", &StoreWrap::del),
            Base::InstanceMethod("clear", &StoreWrap::clear),
            Base::InstanceMethod("keys", &StoreWrap::keys),
            Base::InstanceMethod("count", &StoreWrap::count),
            Base::InstanceMethod("valueBytes", &StoreWrap::value_bytes),
            Base::InstanceMethod("volume", &StoreWrap::volume),
            Base::InstanceMethod("walSize", &StoreWrap::wal_size),
            Base::InstanceMethod("check", &StoreWrap::check),
            Base::InstanceMethod("begin", &StoreWrap::begin),
            Base::InstanceMethod("commit", &StoreWrap::commit),
            Base::InstanceMethod("rollback", &StoreWrap::rollback),
            Base::InstanceMethod("transactionDepth", &StoreWrap::transaction_depth),
            Base::InstanceMethod("metaGet", &StoreWrap::meta_get),
            Base::InstanceMethod("metaSet", &StoreWrap::meta_set),
            Base::InstanceMethod("runMaintenance", &StoreWrap::run_maintenance),
            Base::InstanceMethod("close", &StoreWrap::close),
            Base::InstanceMethod("isClosed", &StoreWrap::is_closed),
        };
        if constexpr (policy::expiration)
        {
            methods.push_back(Base::InstanceMethod("touch", &StoreWrap::touch));
            methods.push_back(Base::InstanceMethod("expire", &StoreWrap::expire));
        }
        if constexpr (policy::eviction)
        {
            methods.push_back(Base::InstanceMethod("evict", &StoreWrap::evict));
            methods.push_back(Base::InstanceMethod("maxSize", &StoreWrap::max_size));
            methods.push_back(Base::InstanceMethod("setMaxSize", &StoreWrap::set_max_size));
        }
        if constexpr (policy::tags)
        {
            methods.push_back(Base::InstanceMethod("evictTag", &StoreWrap::evict_tag));
            methods.push_back(Base::InstanceMethod("keysWithTag", &StoreWrap::keys_with_tag));
        }
        if constexpr (policy::stats)
        {
            methods.push_back(Base::InstanceMethod("stats", &StoreWrap::stats));
            methods.push_back(Base::InstanceMethod("resetStats", &StoreWrap::reset_stats));
        }
        if constexpr (fanout)
        {
            methods.push_back(Base::InstanceMethod("shardCount", &StoreWrap::shard_count));
            methods.push_back(Base::InstanceMethod("shardIndex", &StoreWrap::shard_index));
        }
        for (const auto& [js_name, method] : async_methods)
            methods.push_back(Base::InstanceMethod(js_name, method));
        return Base::DefineClass(env, name, methods);
    }

    /// new (directory: string, maxSize?: number, durability?: 'process' | 'power', shardCount?: number)
    explicit StoreWrap(const Napi::CallbackInfo& info) : Base(info)
    {
        const auto env = info.Env();
        guarded(env,
                [&]
                {
                    const Utf8Arg directory(env, info[0], "Expected a string for directory");
                    Options options;
                    if constexpr (policy::eviction)
                        options.max_size = count_arg(env, info[1], "Expected an integer >= 0 for maxSize");
                    const auto durability = info[2];
                    if (!durability.IsUndefined() && !durability.IsNull())
                    {
                        if (!durability.IsString())
                            throw_type_error(env, "Expected 'process' or 'power' for durability");
                        const auto name = durability.As<Napi::String>().Utf8Value();
                        if (name == "power")
                            options.durability = Durability::power;
                        else if (name != "process")
                            throw Napi::RangeError::New(env, "Expected 'process' or 'power' for durability");
                    }
                    const auto path = path_from_utf8(directory.view());
                    if constexpr (fanout)
                    {
                        const auto shards = count_arg(env, info[3], "Expected an integer >= 1 for shardCount");
                        if (shards && *shards < 1)
                            throw Napi::RangeError::New(env, "Expected an integer >= 1 for shardCount");
                        std::optional<std::size_t> shard_count;
                        if (shards)
                            shard_count = static_cast<std::size_t>(*shards);
                        store_ = std::make_unique<S>(path, shard_count, options);
                    }
                    else
                        store_ = std::make_unique<S>(path, options);
                });
        open_stores_ = env.GetInstanceData<AddonData>()->open_stores();
        open_stores_->add(this);
    }

    ~StoreWrap() override { close_native(); }

    /// Closes the store without touching JavaScript: from the finalizer or the env cleanup hook.
    void close_native() noexcept override
    {
        if (open_stores_)
            open_stores_->remove(this);
        if (auto queue = std::move(queue_))
            queue->close_without_js();
        if (auto store = std::move(store_))
        {
            try
            {
                store->close();
            }
            catch (...)
            {
            }
        }
    }

private:
    /// The store for a synchronous call, once the asynchronous operations issued before it
    /// have taken effect (see async_queue.hpp).
    S& store(Napi::Env env)
    {
        if (!store_) [[unlikely]]
            throw make_error(env, "CLOSED", "The store is closed");
        if (queue_) [[unlikely]]
            queue_->drain(env);
        return *store_;
    }

    /// The store a transaction applies to: the store itself, or for a fanout the shard of
    /// the key given as first argument.
    auto& transaction_target(const Napi::CallbackInfo& info)
    {
        if constexpr (fanout)
        {
            const KeyArg key(info.Env(), info[0]);
            return store(info.Env()).shard_for(key.view());
        }
        else
            return store(info.Env());
    }

    /// get/peek/pop(key) -> Buffer | undefined, or with a read pool (lib/read-pool.ts):
    /// (key, pool: ArrayBuffer, offset) -> the size of the value written at pool[offset], or a
    /// Buffer of its own (a large value), or undefined on a miss.
    template <class F>
    Napi::Value read(const Napi::CallbackInfo& info, F&& engine_read)
    {
        const auto env = info.Env();
        return guarded(env,
                       [&]() -> Napi::Value
                       {
                           const KeyArg key(env, info[0]);
                           // Only waiting for this store's asynchronous work (in store()) runs
                           // JavaScript, and the reads it makes then must not use the pool.
                           const bool may_pool = !pooled_read_running;
                           struct Running
                           {
                               const bool set;
                               explicit Running(bool s) : set(s) { if (set) pooled_read_running = true; }
                               ~Running() { if (set) pooled_read_running = false; }
                               Running(const Running&) = delete;
                               Running& operator=(const Running&) = delete;
                           } running(may_pool && queue_);
                           auto& s = store(env);
                           PooledSink::State state { env };
                           if (may_pool && info.Length() >= 3)
                           {
                               state.pool = info[1];
                               state.offset = info[2];
                           }
                           const ByteSink sink = PooledSink { &state };
                           if (!engine_read(s, key.view(), sink))
                               return env.Undefined();
                           if (state.pooled)
                               return Napi::Number::New(env, static_cast<double>(state.size));
                           return Napi::Value(env, state.out);
                       });
    }

    Napi::Value get(const Napi::CallbackInfo& info)
    {
        return read(info, [](S& s, std::string_view key, const ByteSink& sink) { return s.get_into(key, sink); });
    }
    Napi::Value peek(const Napi::CallbackInfo& info)
    {
        return read(info, [](S& s, std::string_view key, const ByteSink& sink) { return s.peek_into(key, sink); });
    }
    Napi::Value pop(const Napi::CallbackInfo& info)
    {
        return read(info, [](S& s, std::string_view key, const ByteSink& sink) { return s.pop_into(key, sink); });
    }

    Napi::Value has(const Napi::CallbackInfo& info)
    {
        const auto env = info.Env();
        return guarded(env,
                       [&]
                       {
                           const KeyArg key(env, info[0]);
                           return Napi::Boolean::New(env, store(env).exists(key.view()));
                       });
    }

    template <class F>
    Napi::Value write(const Napi::CallbackInfo& info, F&& engine_write)
    {
        const auto env = info.Env();
        return guarded(env,
                       [&]() -> Napi::Value
                       {
                           const KeyArg key(env, info[0]);
                           const auto value = bytes_arg(env, info[1]);
                           SetOptions options;
                           std::optional<std::string> tag;
                           // set(key, value) (no options, the common case) converts nothing more.
                           const auto argc = info.Length();
                           if constexpr (policy::expiration)
                           {
                               if (argc > 2)
                                   options.expire = expire_arg(env, info[2]);
                           }
                           if constexpr (policy::tags)
                           {
                               if (argc > 3)
                                   tag = tag_arg(env, info[3]);
                               if (tag)
                                   options.tag = *tag;
                           }
                           return engine_write(env, store(env), key.view(), value, options);
                       });
    }

    /// set(key, value, expire?, tag?) -> undefined
    Napi::Value set(const Napi::CallbackInfo& info)
    {
        return write(info,
                     [](Napi::Env env, S& s, std::string_view key, std::span<const std::byte> value,
                        const SetOptions& options) -> Napi::Value
                     {
                         s.set_bytes(key, value, options);
                         return env.Undefined();
                     });
    }
    /// add(key, value, expire?, tag?) -> boolean
    Napi::Value add(const Napi::CallbackInfo& info)
    {
        return write(info,
                     [](Napi::Env env, S& s, std::string_view key, std::span<const std::byte> value,
                        const SetOptions& options) -> Napi::Value
                     { return Napi::Boolean::New(env, s.add_bytes(key, value, options)); });
    }

    /// update(key, value) -> boolean: replaces the value of a live entry, keeping its expiry and tag.
    Napi::Value update(const Napi::CallbackInfo& info)
    {
        const auto env = info.Env();
        return guarded(env,
                       [&]
                       {
                           const KeyArg key(env, info[0]);
                           const auto value = bytes_arg(env, info[1]);
                           return Napi::Boolean::New(env, store(env).update_bytes(key.view(), value));
                       });
    }

    Napi::Value del(const Napi::CallbackInfo& info)
    {
        const auto env = info.Env();
        return guarded(env,
                       [&]
                       {
                           const KeyArg key(env, info[0]);
                           return Napi::Boolean::New(env, store(env).del(key.view()));
                       });
    }

    /// touch(key, expire | null) -> boolean
    Napi::Value touch(const Napi::CallbackInfo& info)
    {
        const auto env = info.Env();
        return guarded(env,
                       [&]
                       {
                           const KeyArg key(env, info[0]);
                           const auto expire = expire_arg(env, info[1]);
                           return Napi::Boolean::New(env, store(env).touch(key.view(), expire));
                       });
    }

    Napi::Value clear(const Napi::CallbackInfo& info)
    {
        const auto env = info.Env();
        return guarded(env,
                       [&]
                       {
                           store(env).clear();
                           return env.Undefined();
                       });
    }

    static Napi::Array to_js(Napi::Env env, const std::vector<std::string>& strings)
    {
        auto array = Napi::Array::New(env, strings.size());
        for (std::size_t i = 0; i < strings.size(); ++i)
            array.Set(static_cast<uint32_t>(i), Napi::String::New(env, strings[i]));
        return array;
    }
    static Napi::Number to_js(Napi::Env env, std::uint64_t n)
    {
        return Napi::Number::New(env, static_cast<double>(n));
    }

    Napi::Value keys(const Napi::CallbackInfo& info)
    {
        const auto env = info.Env();
        return guarded(env, [&] { return to_js(env, store(env).keys()); });
    }
    Napi::Value keys_with_tag(const Napi::CallbackInfo& info)
    {
        const auto env = info.Env();
        return guarded(env,
                       [&]
                       {
                           const Utf8Arg tag(env, info[0], "Expected a string for tag");
                           return to_js(env, store(env).keys_with_tag(tag.view()));
                       });
    }
    Napi::Value count(const Napi::CallbackInfo& info)
    {
        const auto env = info.Env();
        return guarded(env, [&] { return to_js(env, store(env).count()); });
    }
    Napi::Value value_bytes(const Napi::CallbackInfo& info)
    {
        const auto env = info.Env();
        return guarded(env, [&] { return to_js(env, store(env).size()); });
    }
    Napi::Value volume(const Napi::CallbackInfo& info)
    {
        const auto env = info.Env();
        return guarded(env, [&] { return to_js(env, store(env).volume()); });
    }
    Napi::Value wal_size(const Napi::CallbackInfo& info)
    {
        const auto env = info.Env();
        return guarded(env, [&] { return to_js(env, store(env).wal_size()); });
    }
    Napi::Value expire(const Napi::CallbackInfo& info)
    {
        const auto env = info.Env();
        return guarded(env, [&] { return to_js(env, store(env).expire()); });
    }
    Napi::Value evict(const Napi::CallbackInfo& info)
    {
        const auto env = info.Env();
        return guarded(env, [&] { return to_js(env, store(env).evict()); });
    }
    Napi::Value evict_tag(const Napi::CallbackInfo& info)
    {
        const auto env = info.Env();
        return guarded(env,
                       [&]
                       {
                           const Utf8Arg tag(env, info[0], "Expected a string for tag");
                           return to_js(env, store(env).evict_tag(tag.view()));
                       });
    }
    Napi::Value max_size(const Napi::CallbackInfo& info)
    {
        const auto env = info.Env();
        return guarded(env, [&] { return to_js(env, store(env).max_size()); });
    }
    Napi::Value set_max_size(const Napi::CallbackInfo& info)
    {
        const auto env = info.Env();
        return guarded(env,
                       [&]
                       {
                           const auto n = count_arg(env, info[0], "Expected an integer >= 0 for maxSize");
                           store(env).set_max_size(n.value_or(0));
                           return env.Undefined();
                       });
    }
    Napi::Value stats(const Napi::CallbackInfo& info)
    {
        const auto env = info.Env();
        return guarded(env,
                       [&]
                       {
                           const auto st = store(env).stats();
                           auto result = Napi::Object::New(env);
                           result.Set("hits", to_js(env, st.hits));
                           result.Set("misses", to_js(env, st.misses));
                           return result;
                       });
    }
    Napi::Value reset_stats(const Napi::CallbackInfo& info)
    {
        const auto env = info.Env();
        return guarded(env,
                       [&]
                       {
                           store(env).reset_stats();
                           return env.Undefined();
                       });
    }

    /// check(fix: boolean) -> { ok, orphanedFiles, danglingRows, sizeMismatches, countersConsistent, sqliteIntegrityOk }
    Napi::Value check(const Napi::CallbackInfo& info)
    {
        const auto env = info.Env();
        return guarded(env,
                       [&]
                       {
                           const bool fix = info[0].ToBoolean().Value();
                           const auto r = store(env).check(fix);
                           auto result = Napi::Object::New(env);
                           result.Set("ok", Napi::Boolean::New(env, r.ok));
                           result.Set("orphanedFiles", to_js(env, r.orphaned_files));
                           result.Set("danglingRows", to_js(env, r.dangling_rows));
                           result.Set("sizeMismatches", to_js(env, r.size_mismatches));
                           result.Set("countersConsistent", Napi::Boolean::New(env, r.counters_consistent));
                           result.Set("sqliteIntegrityOk", Napi::Boolean::New(env, r.sqlite_integrity_ok));
                           return result;
                       });
    }

    // Transactions are driven from JavaScript (lib/store.ts transact()): begin() nests as a
    // savepoint. A fanout takes the key whose shard the transaction is on as first argument.
    Napi::Value begin(const Napi::CallbackInfo& info)
    {
        return transaction_step(info, [](auto& target) { target.begin(); });
    }
    Napi::Value commit(const Napi::CallbackInfo& info)
    {
        return transaction_step(info, [](auto& target) { target.commit(); });
    }
    Napi::Value rollback(const Napi::CallbackInfo& info)
    {
        return transaction_step(info, [](auto& target) { target.rollback(); });
    }
    /// Runs begin/commit/rollback on the transaction's store and records how the depth changed,
    /// whether the step succeeded or threw.
    template <class Step>
    Napi::Value transaction_step(const Napi::CallbackInfo& info, Step&& step)
    {
        const auto env = info.Env();
        return guarded(env,
                       [&]
                       {
                           auto& target = transaction_target(info);
                           const int before = target.transaction_depth();
                           try
                           {
                               step(target);
                           }
                           catch (...)
                           {
                               track_transaction_depth(target.transaction_depth() - before);
                               throw;
                           }
                           track_transaction_depth(target.transaction_depth() - before);
                           return env.Undefined();
                       });
    }
    Napi::Value transaction_depth(const Napi::CallbackInfo& info)
    {
        const auto env = info.Env();
        return guarded(env, [&] { return Napi::Number::New(env, transaction_target(info).transaction_depth()); });
    }

    /// metaGet(key) -> string | undefined
    Napi::Value meta_get(const Napi::CallbackInfo& info)
    {
        const auto env = info.Env();
        return guarded(env,
                       [&]() -> Napi::Value
                       {
                           const KeyArg key(env, info[0]);
                           const auto value = store(env).meta_get(key.view());
                           if (!value)
                               return env.Undefined();
                           return Napi::String::New(env, *value);
                       });
    }
    Napi::Value meta_set(const Napi::CallbackInfo& info)
    {
        const auto env = info.Env();
        return guarded(env,
                       [&]
                       {
                           const KeyArg key(env, info[0]);
                           const Utf8Arg value(env, info[1], "Expected a string for value");
                           store(env).meta_set(key.view(), value.view());
                           return env.Undefined();
                       });
    }

    Napi::Value run_maintenance(const Napi::CallbackInfo& info)
    {
        const auto env = info.Env();
        return guarded(env,
                       [&]
                       {
                           store(env).run_maintenance();
                           return env.Undefined();
                       });
    }

    Napi::Value shard_count(const Napi::CallbackInfo& info)
    {
        const auto env = info.Env();
        return guarded(env, [&] { return to_js(env, store(env).shard_count()); });
    }
    Napi::Value shard_index(const Napi::CallbackInfo& info)
    {
        const auto env = info.Env();
        return guarded(env,
                       [&]
                       {
                           const KeyArg key(env, info[0]);
                           return to_js(env, store(env).shard_index(key.view()));
                       });
    }

    /// Idempotent. The engine error of a failing close is thrown, but the store is closed anyway.
    Napi::Value close(const Napi::CallbackInfo& info)
    {
        const auto env = info.Env();
        return guarded(env,
                       [&]
                       {
                           if (open_stores_)
                               open_stores_->remove(this);
                           if (auto queue = std::move(queue_))
                               queue->close(env);
                           if (auto store = std::move(store_))
                               store->close();
                           return env.Undefined();
                       });
    }
    Napi::Value is_closed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !store_); }

    // ---- asynchronous operations (see async_queue.hpp) ------------------------------------
    // Each converts its arguments (a throw here leaves nothing queued) and queues one
    // operation; the lib pairs them, in order, with the outcomes passed to its settle callback.

    /// Keeps the queue's view of transactions opened from JavaScript (on any shard) current.
    void track_transaction_depth(int delta)
    {
        tx_depth_ += delta;
        if (queue_)
            queue_->set_hold(tx_depth_ > 0);
    }

    AsyncQueue<S>& queue(Napi::Env env)
    {
        if (!store_) [[unlikely]]
            throw make_error(env, "CLOSED", "The store is closed");
        if (!queue_ || !queue_->started()) [[unlikely]]
            throw make_error(env, "INVALID_ARGUMENT", "asyncStart() was not called");
        return *queue_;
    }

    /// asyncStart(settle, step, takeBatch?, batchFlag?): once, before the first asynchronous
    /// operation.
    Napi::Value async_start(const Napi::CallbackInfo& info)
    {
        const auto env = info.Env();
        return guarded(env,
                       [&]
                       {
                           if (!store_)
                               throw make_error(env, "CLOSED", "The store is closed");
                           if (!info[0].IsFunction() || !info[1].IsFunction())
                               throw_type_error(env, "Expected functions for settle and step");
                           if (!queue_)
                           {
                               auto queue = std::make_shared<AsyncQueue<S>>(*store_);
                               queue->start(env, queue, info.This().As<Napi::Object>(),
                                            info[0].As<Napi::Function>(), info[1].As<Napi::Function>(), info[2],
                                            info[3]);
                               queue->set_hold(tx_depth_ > 0);
                               queue_ = std::move(queue);
                           }
                           return env.Undefined();
                       });
    }

    Napi::Value async_flush(const Napi::CallbackInfo& info)
    {
        if (queue_)
            queue_->flush();
        return info.Env().Undefined();
    }

    Napi::Value async_key_op(const Napi::CallbackInfo& info, AsyncKind kind)
    {
        const auto env = info.Env();
        return guarded(env,
                       [&]
                       {
                           auto& q = queue(env);
                           AsyncOp op;
                           op.kind = kind;
                           op.key = KeyArg(env, info[0]).str();
                           q.push(env, std::move(op));
                           return env.Undefined();
                       });
    }
    Napi::Value async_get(const Napi::CallbackInfo& info) { return async_key_op(info, AsyncKind::get); }
    Napi::Value async_peek(const Napi::CallbackInfo& info) { return async_key_op(info, AsyncKind::peek); }
    Napi::Value async_has(const Napi::CallbackInfo& info) { return async_key_op(info, AsyncKind::has); }
    Napi::Value async_pop(const Napi::CallbackInfo& info) { return async_key_op(info, AsyncKind::pop); }
    Napi::Value async_delete(const Napi::CallbackInfo& info) { return async_key_op(info, AsyncKind::del); }
    /// asyncIncr(key): the new bytes come from the lib's step callback.
    Napi::Value async_incr(const Napi::CallbackInfo& info) { return async_key_op(info, AsyncKind::incr); }

    static Buffer copy_bytes(std::span<const std::byte> bytes)
    {
        Buffer b(bytes.size());
        if (!bytes.empty())
            std::memcpy(b.data(), bytes.data(), bytes.size());
        return b;
    }

    /// The expire and tag arguments at `index` and `index + 1`, for the policies that have them.
    void async_set_options(Napi::Env env, const Napi::CallbackInfo& info, std::size_t index, AsyncOp& op)
    {
        if constexpr (policy::expiration)
            op.expire = expire_arg(env, info[index]);
        if constexpr (policy::tags)
            op.tag = tag_arg(env, info[index + 1]);
    }

    /// asyncSet/asyncAdd(key, value, expire?, tag?): the value is copied now (the caller may
    /// reuse its buffer before the write happens).
    Napi::Value async_write(const Napi::CallbackInfo& info, AsyncKind kind)
    {
        const auto env = info.Env();
        return guarded(env,
                       [&]
                       {
                           auto& q = queue(env);
                           AsyncOp op;
                           op.kind = kind;
                           const KeyArg key(env, info[0]);
                           op.value = copy_bytes(bytes_arg(env, info[1]));
                           async_set_options(env, info, 2, op);
                           op.key = key.str();
                           q.push(env, std::move(op));
                           return env.Undefined();
                       });
    }
    Napi::Value async_set(const Napi::CallbackInfo& info) { return async_write(info, AsyncKind::set); }
    Napi::Value async_add(const Napi::CallbackInfo& info) { return async_write(info, AsyncKind::add); }

    /// asyncSetBatch(block, used, lengths, count, expire?, tag?): the setAsync calls the lib
    /// gathered (see AsyncQueue::make_batch), as one operation.
    Napi::Value async_set_batch(const Napi::CallbackInfo& info)
    {
        const auto env = info.Env();
        return guarded(env,
                       [&]
                       {
                           auto& q = queue(env);
                           q.push(env, AsyncQueue<S>::make_batch(env, info[0], info[1], info[2], info[3], info[4],
                                                                 info[5]));
                           return env.Undefined();
                       });
    }

    static std::vector<std::string> keys_arg(Napi::Env env, const Napi::Value& value)
    {
        if (!value.IsArray())
            throw_type_error(env, "Expected an array of strings for keys");
        const auto array = value.As<Napi::Array>();
        std::vector<std::string> keys;
        keys.reserve(array.Length());
        for (std::uint32_t i = 0; i < array.Length(); ++i)
            keys.push_back(KeyArg(env, array.Get(i)).str());
        return keys;
    }

    /// asyncGetMany(keys) -> settles with an array of Buffer | undefined.
    Napi::Value async_get_many(const Napi::CallbackInfo& info)
    {
        const auto env = info.Env();
        return guarded(env,
                       [&]
                       {
                           auto& q = queue(env);
                           AsyncOp op;
                           op.kind = AsyncKind::get_many;
                           op.many = std::make_unique<AsyncOp::Many>();
                           op.many->keys = keys_arg(env, info[0]);
                           q.push(env, std::move(op));
                           return env.Undefined();
                       });
    }

    /// asyncSetMany(keys, values, expire?, tag?): one transaction (per shard for a fanout).
    Napi::Value async_set_many(const Napi::CallbackInfo& info)
    {
        const auto env = info.Env();
        return guarded(env,
                       [&]
                       {
                           auto& q = queue(env);
                           AsyncOp op;
                           op.kind = AsyncKind::set_many;
                           op.many = std::make_unique<AsyncOp::Many>();
                           op.many->keys = keys_arg(env, info[0]);
                           if (!info[1].IsArray() || info[1].As<Napi::Array>().Length() != op.many->keys.size())
                               throw_type_error(env, "Expected an array of Uint8Array, one per key, for values");
                           const auto values = info[1].As<Napi::Array>();
                           op.many->values.reserve(op.many->keys.size());
                           for (std::uint32_t i = 0; i < values.Length(); ++i)
                               op.many->values.push_back(copy_bytes(bytes_arg(env, values.Get(i))));
                           async_set_options(env, info, 2, op);
                           q.push(env, std::move(op));
                           return env.Undefined();
                       });
    }

    using AsyncMethod = Napi::Value (StoreWrap::*)(const Napi::CallbackInfo&);
    static constexpr std::pair<const char*, AsyncMethod> async_methods[] = {
        { "asyncStart", &StoreWrap::async_start },     { "asyncFlush", &StoreWrap::async_flush },
        { "asyncGet", &StoreWrap::async_get },         { "asyncPeek", &StoreWrap::async_peek },
        { "asyncHas", &StoreWrap::async_has },         { "asyncPop", &StoreWrap::async_pop },
        { "asyncDelete", &StoreWrap::async_delete },   { "asyncSet", &StoreWrap::async_set },
        { "asyncAdd", &StoreWrap::async_add },         { "asyncIncr", &StoreWrap::async_incr },
        { "asyncGetMany", &StoreWrap::async_get_many }, { "asyncSetMany", &StoreWrap::async_set_many },
        { "asyncSetBatch", &StoreWrap::async_set_batch },
    };

    std::unique_ptr<S> store_;
    std::shared_ptr<OpenStores> open_stores_;
    std::shared_ptr<AsyncQueue<S>> queue_;
    int tx_depth_ = 0; // transaction levels opened from JavaScript, over all shards
};

} // namespace sciqlop_cache::binding
