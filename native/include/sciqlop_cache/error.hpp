#pragma once
// Errors raised by the engine: every SQLite and OS failure becomes a sciqlop_cache::error
// carrying a stable string code ("SQLITE_BUSY", "ENOSPC", "CLOSED", ...) and the native message.
#include <stdexcept>
#include <string>

namespace sciqlop_cache
{

class error : public std::runtime_error
{
public:
    error(std::string code, const std::string& message, int sqlite_code = 0, int sys_errno = 0)
            : std::runtime_error(message)
            , code_(std::move(code))
            , sqlite_code_(sqlite_code)
            , sys_errno_(sys_errno)
    {
    }

    /// Stable string code: an SQLite primary result name (SQLITE_BUSY, SQLITE_CORRUPT,
    /// SQLITE_NOTADB, ...), an errno name (ENOENT, ENOSPC, EACCES, ...) or one of the
    /// engine's own: CLOSED, NOT_A_DIRECTORY, SHARD_COUNT_MISMATCH, STORE_TYPE_MISMATCH
    /// (a Cache opened as an Index or the reverse), FORMAT_VERSION (a newer on-disk format),
    /// INVALID_ARGUMENT, CORRUPT, NOT_A_NUMBER.
    [[nodiscard]] const std::string& code() const noexcept { return code_; }
    /// The extended SQLite result code, or 0 when the error did not come from SQLite.
    [[nodiscard]] int sqlite_code() const noexcept { return sqlite_code_; }
    /// The errno value, or 0 when the error did not come from the operating system.
    [[nodiscard]] int sys_errno() const noexcept { return sys_errno_; }

private:
    std::string code_;
    int sqlite_code_;
    int sys_errno_;
};

/// Name of an errno value ("ENOENT"), or "EUNKNOWN".
const char* errno_name(int err) noexcept;
/// Name of an SQLite primary result code ("SQLITE_BUSY"), or "SQLITE_ERROR".
const char* sqlite_code_name(int rc) noexcept;

} // namespace sciqlop_cache
