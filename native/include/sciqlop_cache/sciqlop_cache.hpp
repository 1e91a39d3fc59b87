#pragma once
// sciqlop-cache: a fast, persistent key-value cache (SQLite plus value files).
// The public headers never include sqlite3.h: SQLite is an implementation detail,
// compiled into the library under private names (sciqlop_cache_sqlite3_*, see
// cmake/sqlite3_prefix.cmake), so a program may also link any other SQLite.
#include "buffer.hpp"
#include "error.hpp"
#include "fanout.hpp"
#include "hash.hpp"
#include "options.hpp"
#include "store.hpp"

namespace sciqlop_cache
{
inline constexpr const char* version = "0.1.0";
inline constexpr int format_version = 1;
/// Version of the SQLite compiled into the library ("3.53.2"), whatever other SQLite the
/// program links.
const char* sqlite_version() noexcept;
}
