#pragma once
// The documented, platform-independent shard routing hash: FNV-1a 64 over the key's bytes
// (UTF-8 for keys coming from JavaScript). Never std::hash, which differs between libraries.
#include <cstdint>
#include <string_view>

namespace sciqlop_cache
{

constexpr std::uint64_t fnv1a64(std::string_view bytes) noexcept
{
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (unsigned char c : bytes)
    {
        h ^= c;
        h *= 0x100000001b3ULL;
    }
    return h;
}

static_assert(fnv1a64("") == 0xcbf29ce484222325ULL);
static_assert(fnv1a64("a") == 0xaf63dc4c8601ec8cULL);

} // namespace sciqlop_cache
