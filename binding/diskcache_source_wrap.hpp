#pragma once
// DiskcacheSourceWrap: the JavaScript class over sciqlop_cache::DiskcacheSource (one Python
// diskcache directory, read for migration). Thin: it converts rows to plain objects; the
// decoding of pickles and Python key types lives in lib/diskcache.ts.
#include "addon_data.hpp"
#include "arguments.hpp"
#include "errors.hpp"

#include <sciqlop_cache/diskcache_source.hpp>

#include <napi.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace sciqlop_cache::binding
{

class DiskcacheSourceWrap final : public Napi::ObjectWrap<DiskcacheSourceWrap>, public Closable
{
    using Base = Napi::ObjectWrap<DiskcacheSourceWrap>;

public:
    static Napi::Function define(Napi::Env env)
    {
        return Base::DefineClass(env, "DiskcacheSource",
                                 {
                                     Base::InstanceMethod("count", &DiskcacheSourceWrap::count),
                                     Base::InstanceMethod("nextBatch", &DiskcacheSourceWrap::next_batch),
                                     Base::InstanceMethod("readFile", &DiskcacheSourceWrap::read_file),
                                     Base::InstanceMethod("remove", &DiskcacheSourceWrap::remove),
                                     Base::InstanceMethod("hasTextKey", &DiskcacheSourceWrap::has_text_key),
                                     Base::InstanceMethod("close", &DiskcacheSourceWrap::close),
                                 });
    }

    /// new (directory: string, writable: boolean)
    explicit DiskcacheSourceWrap(const Napi::CallbackInfo& info) : Base(info)
    {
        const auto env = info.Env();
        guarded(env,
                [&]
                {
                    const Utf8Arg directory(env, info[0], "Expected a string for directory");
                    const auto& d = directory.view();
                    source_ = std::make_unique<DiskcacheSource>(std::filesystem::path(std::u8string(d.begin(), d.end())),
                                                                info[1].ToBoolean().Value());
                });
        open_stores_ = env.GetInstanceData<AddonData>()->open_stores();
        open_stores_->add(this);
    }

    ~DiskcacheSourceWrap() override { close_native(); }

    void close_native() noexcept override
    {
        if (open_stores_)
            open_stores_->remove(this);
        if (auto source = std::move(source_))
            source->close();
    }

private:
    DiskcacheSource& source(Napi::Env env)
    {
        if (!source_) [[unlikely]]
            throw make_error(env, "CLOSED", "The diskcache source is closed");
        return *source_;
    }

    /// SQLite's types as JavaScript sees them: INTEGER -> bigint (exact, and distinct from a
    /// REAL with an integral value, which Python's str() of a key tells apart), REAL -> number,
    /// TEXT -> string, BLOB -> Buffer, NULL -> null.
    static Napi::Value to_js(Napi::Env env, const SqlValue& v)
    {
        switch (v.type)
        {
            case SqlValue::Type::integer:
                return Napi::BigInt::New(env, static_cast<int64_t>(v.integer));
            case SqlValue::Type::real:
                return Napi::Number::New(env, v.real);
            case SqlValue::Type::text:
                return Napi::String::New(env, v.bytes);
            case SqlValue::Type::blob:
                return Napi::Buffer<char>::Copy(env, v.bytes.data(), v.bytes.size());
            default:
                return env.Null();
        }
    }
    static Napi::Value to_js(Napi::Env env, const std::optional<double>& v)
    {
        return v ? Napi::Value(Napi::Number::New(env, *v)) : env.Null();
    }

    Napi::Value count(const Napi::CallbackInfo& info)
    {
        const auto env = info.Env();
        return guarded(env, [&] { return Napi::Number::New(env, static_cast<double>(source(env).count())); });
    }

    /// nextBatch(maxRows) -> [{ rowid, key, raw, storeTime, expireTime, tag, mode, filename, value, size }]
    Napi::Value next_batch(const Napi::CallbackInfo& info)
    {
        const auto env = info.Env();
        return guarded(env,
                       [&]
                       {
                           const auto max_rows = count_arg(env, info[0], "Expected an integer >= 0 for maxRows");
                           const auto rows = source(env).next_batch(static_cast<std::size_t>(max_rows.value_or(256)));
                           auto out = Napi::Array::New(env, rows.size());
                           for (std::size_t i = 0; i < rows.size(); ++i)
                           {
                               const auto& r = rows[i];
                               auto o = Napi::Object::New(env);
                               o.Set("rowid", Napi::Number::New(env, static_cast<double>(r.rowid)));
                               o.Set("key", to_js(env, r.key));
                               o.Set("raw", Napi::Boolean::New(env, r.raw));
                               o.Set("storeTime", to_js(env, r.store_time));
                               o.Set("expireTime", to_js(env, r.expire_time));
                               o.Set("tag", to_js(env, r.tag));
                               o.Set("mode", Napi::Number::New(env, r.mode));
                               o.Set("filename", r.filename ? Napi::Value(Napi::String::New(env, *r.filename))
                                                            : env.Null());
                               o.Set("value", to_js(env, r.value));
                               o.Set("size", Napi::Number::New(env, static_cast<double>(r.size)));
                               out.Set(static_cast<uint32_t>(i), o);
                           }
                           return out;
                       });
    }

    /// readFile(filename, size) -> Buffer
    Napi::Value read_file(const Napi::CallbackInfo& info)
    {
        const auto env = info.Env();
        return guarded(env,
                       [&]() -> Napi::Value
                       {
                           const Utf8Arg filename(env, info[0], "Expected a string for filename");
                           const auto size = count_arg(env, info[1], "Expected an integer >= 0 for size");
                           napi_value out = nullptr;
                           source(env).read_file(filename.view(), size.value_or(0),
                                                 [&](std::size_t n) -> std::byte*
                                                 {
                                                     void* data = nullptr;
                                                     NAPI_THROW_IF_FAILED(env, napi_create_buffer(env, n, &data, &out),
                                                                          nullptr);
                                                     static std::byte empty_value;
                                                     return data ? static_cast<std::byte*>(data) : &empty_value;
                                                 });
                           return Napi::Value(env, out);
                       });
    }

    /// remove(rowid, storeTime | null) -> boolean
    Napi::Value remove(const Napi::CallbackInfo& info)
    {
        const auto env = info.Env();
        return guarded(env,
                       [&]
                       {
                           if (!info[0].IsNumber())
                               throw_type_error(env, "Expected an integer for rowid");
                           const auto rowid = info[0].As<Napi::Number>().Int64Value();
                           std::optional<double> store_time;
                           if (info[1].IsNumber())
                               store_time = info[1].As<Napi::Number>().DoubleValue();
                           return Napi::Boolean::New(env, source(env).remove(rowid, store_time));
                       });
    }

    Napi::Value has_text_key(const Napi::CallbackInfo& info)
    {
        const auto env = info.Env();
        return guarded(env,
                       [&]
                       {
                           const KeyArg key(env, info[0]);
                           return Napi::Boolean::New(env, source(env).has_text_key(key.view()));
                       });
    }

    Napi::Value close(const Napi::CallbackInfo& info)
    {
        close_native();
        return info.Env().Undefined();
    }

    std::unique_ptr<DiskcacheSource> source_;
    std::shared_ptr<OpenStores> open_stores_;
};

} // namespace sciqlop_cache::binding
