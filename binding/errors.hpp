#pragma once
// Turning native failures into JavaScript errors. Every engine error becomes an instance of
// the registered error class (SciqlopCacheError) with the engine's string `code`, so
// `instanceof` and `.code` work in every realm; nothing native ever aborts the process.
#include <napi.h>

#include <string_view>

namespace sciqlop_cache::binding
{

/// A JS error of the registered class with `code`; SQLite errors also get `sqliteCode` (the
/// SQLite result name) and `sqliteExtendedCode`, system errors `errno`. SQLITE_CORRUPT and
/// SQLITE_NOTADB become code CORRUPT.
[[nodiscard]] Napi::Error make_error(Napi::Env env, std::string_view code, std::string_view message,
                                     int sqlite_code = 0, int sys_errno = 0);

/// Converts the exception being handled (inside a catch block) into a JS error.
[[nodiscard]] Napi::Error current_exception_to_js(Napi::Env env);

/// Runs `body`, converting any C++ exception into a thrown JavaScript error.
template <class F>
decltype(auto) guarded(Napi::Env env, F&& body)
{
    try
    {
        return body();
    }
    catch (const Napi::Error&)
    {
        throw;
    }
    catch (...)
    {
        throw current_exception_to_js(env);
    }
}

} // namespace sciqlop_cache::binding
