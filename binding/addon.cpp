// Entry point of the addon: one class per store type, the error class hook, and the
// per-environment cleanup that closes stores left open when a worker or the process exits.
#include "addon_data.hpp"
#include "diskcache_source_wrap.hpp"
#include "store_wrap.hpp"

#include <sciqlop_cache/sciqlop_cache.hpp>

#include <napi.h>

namespace sciqlop_cache::binding
{

AddonData::AddonData(napi_env env) : env_(env)
{
    NAPI_THROW_IF_FAILED_VOID(env, napi_add_env_cleanup_hook(env, &AddonData::on_env_cleanup, this));
    cleanup_hook_pending_ = true;
}

AddonData::~AddonData()
{
    if (cleanup_hook_pending_)
        napi_remove_env_cleanup_hook(env_, &AddonData::on_env_cleanup, this);
    open_stores_->close_all();
}

void AddonData::on_env_cleanup(void* self) noexcept
{
    auto* data = static_cast<AddonData*>(self);
    data->cleanup_hook_pending_ = false;
    data->open_stores_->close_all();
}

namespace
{
    /// setErrorConstructor(SciqlopCacheError): the class native errors are created with;
    /// it is called as `new C(message, code)`.
    Napi::Value set_error_constructor(const Napi::CallbackInfo& info)
    {
        const auto env = info.Env();
        if (!info[0].IsFunction())
            throw Napi::TypeError::New(env, "Expected a class for setErrorConstructor");
        env.GetInstanceData<AddonData>()->error_constructor = Napi::Persistent(info[0].As<Napi::Function>());
        return env.Undefined();
    }

    Napi::Object init(Napi::Env env, Napi::Object exports)
    {
        env.SetInstanceData(new AddonData(env));
        exports.Set("Cache", StoreWrap<Cache>::define(env, "Cache"));
        exports.Set("Index", StoreWrap<Index>::define(env, "Index"));
        exports.Set("FanoutCache", StoreWrap<FanoutCache>::define(env, "FanoutCache"));
        exports.Set("FanoutIndex", StoreWrap<FanoutIndex>::define(env, "FanoutIndex"));
        exports.Set("DiskcacheSource", DiskcacheSourceWrap::define(env));
        exports.Set("setErrorConstructor", Napi::Function::New(env, set_error_constructor, "setErrorConstructor"));
        exports.Set("version", Napi::String::New(env, sciqlop_cache::version));
        exports.Set("formatVersion", Napi::Number::New(env, sciqlop_cache::format_version));
        exports.Set("inlineValueMax", Napi::Number::New(env, static_cast<double>(sciqlop_cache::inline_value_max)));
        exports.Set("pooledReadMax", Napi::Number::New(env, static_cast<double>(pooled_read_max)));
        return exports;
    }
}

} // namespace sciqlop_cache::binding

static Napi::Object init_sciqlop_cache(Napi::Env env, Napi::Object exports)
{
    return sciqlop_cache::binding::init(env, exports);
}

NODE_API_MODULE(sciqlop_cache, init_sciqlop_cache)
