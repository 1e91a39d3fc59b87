#include "errors.hpp"

#include "addon_data.hpp"

#include <sciqlop_cache/error.hpp>

#include <new>
#include <string>
#include <system_error>

namespace sciqlop_cache::binding
{

Napi::Error make_error(Napi::Env env, std::string_view code, std::string_view message, int sqlite_code,
                       int sys_errno)
{
    // A damaged or foreign database is reported as CORRUPT whichever way SQLite noticed it;
    // the SQLite name stays in `sqliteCode`.
    const bool from_sqlite = code.starts_with("SQLITE_");
    const bool corrupt = code == "SQLITE_CORRUPT" || code == "SQLITE_NOTADB";
    const std::string_view js_code = corrupt ? std::string_view("CORRUPT") : code;
    const auto js_message = Napi::String::New(env, message.data(), message.size());
    const auto js_code_value = Napi::String::New(env, js_code.data(), js_code.size());
    Napi::Object error;
    auto* data = env.GetInstanceData<AddonData>();
    if (data && !data->error_constructor.IsEmpty())
        error = data->error_constructor.New({ js_message, js_code_value });
    else
    {
        error = Napi::Error::New(env, std::string(message)).Value();
        error.Set("code", js_code_value);
    }
    if (from_sqlite)
        error.Set("sqliteCode", Napi::String::New(env, code.data(), code.size()));
    if (sqlite_code)
        error.Set("sqliteExtendedCode", Napi::Number::New(env, sqlite_code));
    if (sys_errno)
        error.Set("errno", Napi::Number::New(env, sys_errno));
    return Napi::Error(env, error);
}

Napi::Error current_exception_to_js(Napi::Env env)
{
    try
    {
        throw;
    }
    catch (const Napi::Error& e)
    {
        return e;
    }
    catch (const sciqlop_cache::error& e)
    {
        return make_error(env, e.code(), e.what(), e.sqlite_code(), e.sys_errno());
    }
    catch (const std::system_error& e) // std::filesystem errors escaping the engine
    {
        const bool is_errno = e.code().category() == std::generic_category()
            || e.code().category() == std::system_category();
        return make_error(env, is_errno ? errno_name(e.code().value()) : "INTERNAL", e.what(), 0,
                          is_errno ? e.code().value() : 0);
    }
    catch (const std::bad_alloc&)
    {
        return make_error(env, "ENOMEM", "out of memory");
    }
    catch (const std::exception& e)
    {
        return make_error(env, "INTERNAL", e.what());
    }
    catch (...)
    {
        return make_error(env, "INTERNAL", "unknown native exception");
    }
}

} // namespace sciqlop_cache::binding
