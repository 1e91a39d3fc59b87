#pragma once
// Cheap re-checks and conversions of the arguments the TypeScript layer already validated.
// The binding never trusts its caller: a wrong type is a TypeError, never undefined behaviour.
#include <napi.h>

#include <cmath>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace sciqlop_cache::binding
{

[[noreturn]] inline void throw_type_error(Napi::Env env, const char* message)
{
    throw Napi::TypeError::New(env, message);
}

/// A JS string as UTF-8. Keys up to a few hundred bytes (nearly all of them) are converted
/// into a stack buffer, so the hot path does not allocate.
class Utf8Arg
{
public:
    Utf8Arg(Napi::Env env, napi_value value, const char* type_error)
    {
        std::size_t length = 0;
        const napi_status status = napi_get_value_string_utf8(env, value, small_, sizeof small_, &length);
        if (status == napi_string_expected)
            throw_type_error(env, type_error);
        NAPI_THROW_IF_FAILED_VOID(env, status);
        // V8 never splits a character when truncating, so a result this far from the end of
        // the buffer is complete.
        if (length + 4 < sizeof small_)
        {
            view_ = { small_, length };
            return;
        }
        NAPI_THROW_IF_FAILED_VOID(env, napi_get_value_string_utf8(env, value, nullptr, 0, &length));
        large_.resize(length + 1);
        NAPI_THROW_IF_FAILED_VOID(env, napi_get_value_string_utf8(env, value, large_.data(), large_.size(), &length));
        large_.resize(length);
        view_ = large_;
    }
    Utf8Arg(const Utf8Arg&) = delete;
    Utf8Arg& operator=(const Utf8Arg&) = delete;

    [[nodiscard]] std::string_view view() const noexcept { return view_; }
    [[nodiscard]] std::string str() const { return std::string(view_); }

private:
    char small_[512];
    std::string large_;
    std::string_view view_;
};

struct KeyArg : Utf8Arg
{
    KeyArg(Napi::Env env, napi_value value) : Utf8Arg(env, value, "Expected a string for key") { }
};

/// The bytes of a TypedArray (Buffer, Uint8Array, ...) or DataView, without copying.
inline std::span<const std::byte> bytes_arg(Napi::Env env, napi_value value)
{
    bool is_typed_array = false;
    NAPI_THROW_IF_FAILED(env, napi_is_typedarray(env, value, &is_typed_array), {});
    void* data = nullptr;
    std::size_t byte_length = 0;
    if (is_typed_array)
    {
        napi_typedarray_type type;
        std::size_t length = 0;
        NAPI_THROW_IF_FAILED(env, napi_get_typedarray_info(env, value, &type, &length, &data, nullptr, nullptr), {});
        std::size_t element_size = 1;
        switch (type)
        {
            case napi_int16_array:
            case napi_uint16_array: element_size = 2; break;
            case napi_int32_array:
            case napi_uint32_array:
            case napi_float32_array: element_size = 4; break;
            case napi_float64_array:
            case napi_bigint64_array:
            case napi_biguint64_array: element_size = 8; break;
            default: element_size = 1; break;
        }
        byte_length = length * element_size;
    }
    else
    {
        bool is_data_view = false;
        NAPI_THROW_IF_FAILED(env, napi_is_dataview(env, value, &is_data_view), {});
        if (!is_data_view)
            throw_type_error(env, "Expected a Uint8Array for value");
        NAPI_THROW_IF_FAILED(env, napi_get_dataview_info(env, value, &byte_length, &data, nullptr, nullptr), {});
    }
    return { static_cast<const std::byte*>(data), byte_length };
}

/// An expiry in seconds: undefined/null for never, else a finite number > 0.
inline std::optional<double> expire_arg(Napi::Env env, const Napi::Value& value)
{
    if (value.IsUndefined() || value.IsNull())
        return std::nullopt;
    if (!value.IsNumber())
        throw_type_error(env, "Expected a number, null or undefined for expire");
    const double seconds = value.As<Napi::Number>().DoubleValue();
    if (!(seconds > 0) || !std::isfinite(seconds))
        throw Napi::RangeError::New(env, "Expected a finite number > 0 for expire");
    return seconds;
}

/// A tag: undefined/null for none, else a string.
inline std::optional<std::string> tag_arg(Napi::Env env, const Napi::Value& value)
{
    if (value.IsUndefined() || value.IsNull())
        return std::nullopt;
    if (!value.IsString())
        throw_type_error(env, "Expected a string, null or undefined for tag");
    return value.As<Napi::String>().Utf8Value();
}

/// A non-negative integer (a byte count, a shard count): undefined/null for none.
inline std::optional<std::uint64_t> count_arg(Napi::Env env, const Napi::Value& value, const char* type_error)
{
    if (value.IsUndefined() || value.IsNull())
        return std::nullopt;
    if (!value.IsNumber())
        throw_type_error(env, type_error);
    const double n = value.As<Napi::Number>().DoubleValue();
    if (!(n >= 0) || n > 9007199254740991.0 || std::floor(n) != n)
        throw Napi::RangeError::New(env, type_error);
    return static_cast<std::uint64_t>(n);
}

} // namespace sciqlop_cache::binding
