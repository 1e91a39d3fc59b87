#pragma once
// Shared helpers of the C++ tests: temporary store directories, deterministic values,
// a raw SQLite connection for inspecting and tampering with the on-disk format, and the
// child-process machinery (the test binary re-executes itself in a named child mode).
#include "doctest.h"
#include "sciqlop_cache/sciqlop_cache.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <sys/types.h>

struct sqlite3;

namespace test
{

namespace fs = std::filesystem;
namespace sc = sciqlop_cache;

/// A unique directory under the system temp dir, removed (with everything in it) on destruction.
/// The directory itself is not created: stores must create theirs.
class TempDir
{
public:
    explicit TempDir(std::string_view label = "t");
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    [[nodiscard]] const fs::path& path() const noexcept { return path_; }
    [[nodiscard]] fs::path operator/(std::string_view child) const { return path_ / child; }

private:
    fs::path path_;
};

/// `size` bytes fully determined by (seed, size): equal inputs give equal bytes, and a prefix,
/// a shifted copy or another seed's value never compares equal.
std::string make_value(std::size_t size, std::uint64_t seed);

/// A key's value at a given version, as used by the crash and concurrency tests.
std::string versioned_value(std::uint64_t key, std::uint64_t version, std::size_t size);

std::string le64(std::int64_t v);
std::int64_t from_le64(std::string_view bytes);

inline std::string to_string(const std::optional<sc::Buffer>& b)
{
    return b ? std::string(b->view()) : std::string("<miss>");
}

inline void sleep_seconds(double s)
{
    std::this_thread::sleep_for(std::chrono::duration<double>(s));
}

/// Regular files of the value tree (anything below a subfolder of the store directory);
/// symbolic links are listed but not followed.
std::vector<fs::path> value_files(const fs::path& store_dir);

/// Sets a file's modification time `seconds` into the past (for the orphan age rule).
void age_file(const fs::path& file, double seconds);

void write_file(const fs::path& file, std::string_view bytes);
std::string read_file(const fs::path& file);

/// A raw connection to a store's database with the vendored SQLite, for inspecting or
/// tampering with the on-disk format. Throws std::runtime_error on any SQLite failure.
class RawDb
{
public:
    explicit RawDb(const fs::path& db_file, bool create = false);
    ~RawDb();
    RawDb(const RawDb&) = delete;
    RawDb& operator=(const RawDb&) = delete;

    void exec(const std::string& sql);
    /// First column of the first row as text (std::nullopt for no row or NULL).
    std::optional<std::string> text(const std::string& sql);
    std::int64_t integer(const std::string& sql);
    /// First column of every row as text ("" for NULL).
    std::vector<std::string> column(const std::string& sql);
    /// Runs `sql` with one text parameter bound to `param` (byte length, NUL allowed).
    void exec_with_text(const std::string& sql, std::string_view param);
    [[nodiscard]] sqlite3* handle() const noexcept { return db_; }

private:
    sqlite3* db_ = nullptr;
};

inline fs::path db_file(const fs::path& store_dir) { return store_dir / "sciqlop-cache.db"; }

// ---- child processes --------------------------------------------------------------------

/// A child mode: the test binary started as `<exe> --child <name> args...` runs `fn(args)`
/// and exits with its return value.
using ChildMain = int (*)(const std::vector<std::string>& args);
struct ChildRegistrar
{
    ChildRegistrar(const char* name, ChildMain fn);
};
int run_child_mode(int argc, char** argv);
void set_self_executable(const char* argv0);

/// fork + exec of the test binary in child mode `name`. `keep_fds` stay open in the child
/// (their numbers are passed in args by the caller); every other inherited descriptor is
/// closed on exec. `stdout_fd`, when >= 0, becomes the child's standard output.
pid_t spawn_child(const std::string& name, const std::vector<std::string>& args, const std::vector<int>& keep_fds = {},
                  int stdout_fd = -1);
/// waitpid; returns the exit code, or 128 + signal number.
int wait_child(pid_t pid);

} // namespace test

/// Checks that `expr` throws sciqlop_cache::error with code `expected`.
#define CHECK_ERROR_CODE(expr, expected)                                                                               \
    do                                                                                                                 \
    {                                                                                                                  \
        bool threw_ = false;                                                                                           \
        try                                                                                                            \
        {                                                                                                              \
            (void)(expr);                                                                                              \
        }                                                                                                              \
        catch (const ::sciqlop_cache::error& e_)                                                                       \
        {                                                                                                              \
            threw_ = true;                                                                                             \
            CHECK_MESSAGE(e_.code() == std::string(expected),                                                          \
                          #expr " threw code " << e_.code() << " (" << e_.what() << "), expected " << (expected));     \
        }                                                                                                              \
        CHECK_MESSAGE(threw_, #expr " did not throw sciqlop_cache::error");                                            \
    } while (0)
