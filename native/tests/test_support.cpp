#include "test_support.hpp"

#include "sqlite3.h"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <stdexcept>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace test
{

namespace
{
    std::uint64_t splitmix64(std::uint64_t& state)
    {
        std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }

    std::string& self_executable()
    {
        static std::string exe;
        return exe;
    }

    std::map<std::string, ChildMain>& child_modes()
    {
        static std::map<std::string, ChildMain> modes;
        return modes;
    }
}

TempDir::TempDir(std::string_view label)
{
    static std::atomic<unsigned> counter { 0 };
    std::random_device rd;
    std::ostringstream name;
    name << "sciqlop-cache-test-" << label << '-' << ::getpid() << '-' << counter++ << '-' << std::hex << rd();
    path_ = fs::temp_directory_path() / name.str();
    std::error_code ec;
    fs::remove_all(path_, ec);
}

TempDir::~TempDir()
{
    std::error_code ec;
    fs::remove_all(path_, ec);
}

std::string make_value(std::size_t size, std::uint64_t seed)
{
    std::string out(size, '\0');
    std::uint64_t state = seed * 0x2545f4914f6cdd1dULL + size;
    std::size_t i = 0;
    while (i < size)
    {
        const std::uint64_t r = splitmix64(state);
        for (int b = 0; b < 8 && i < size; ++b, ++i)
            out[i] = static_cast<char>((r >> (8 * b)) & 0xff);
    }
    return out;
}

std::string versioned_value(std::uint64_t key, std::uint64_t version, std::size_t size)
{
    return make_value(size, (key << 40) ^ (version * 0x9e3779b97f4a7c15ULL) ^ 0x5a5a5a5aULL);
}

std::string le64(std::int64_t v)
{
    std::string out(8, '\0');
    auto u = static_cast<std::uint64_t>(v);
    for (int i = 0; i < 8; ++i)
        out[static_cast<std::size_t>(i)] = static_cast<char>((u >> (8 * i)) & 0xff);
    return out;
}

std::int64_t from_le64(std::string_view bytes)
{
    if (bytes.size() != 8)
        throw std::runtime_error("from_le64: expected 8 bytes, got " + std::to_string(bytes.size()));
    std::uint64_t u = 0;
    for (int i = 7; i >= 0; --i)
        u = (u << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
    return static_cast<std::int64_t>(u);
}

std::vector<fs::path> value_files(const fs::path& store_dir)
{
    std::vector<fs::path> files;
    std::error_code ec;
    for (const auto& top : fs::directory_iterator(store_dir, ec))
    {
        if (!top.is_directory() || top.is_symlink())
            continue;
        for (auto it = fs::recursive_directory_iterator(top.path(), ec); it != fs::recursive_directory_iterator();
             it.increment(ec))
        {
            if (ec)
                break;
            if (it->is_symlink() || it->is_regular_file())
                files.push_back(it->path());
        }
    }
    return files;
}

void age_file(const fs::path& file, double seconds)
{
    struct timespec now;
    ::clock_gettime(CLOCK_REALTIME, &now);
    const auto back = static_cast<time_t>(seconds);
    struct timespec times[2] = { { now.tv_sec - back, 0 }, { now.tv_sec - back, 0 } };
    if (::utimensat(AT_FDCWD, file.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
        throw std::runtime_error("utimensat " + file.string() + ": " + std::strerror(errno));
}

void write_file(const fs::path& file, std::string_view bytes)
{
    fs::create_directories(file.parent_path());
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out)
        throw std::runtime_error("cannot write " + file.string());
}

std::string read_file(const fs::path& file)
{
    std::ifstream in(file, std::ios::binary);
    if (!in)
        throw std::runtime_error("cannot read " + file.string());
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// ---- RawDb ------------------------------------------------------------------------------

namespace
{
    [[noreturn]] void fail(sqlite3* db, const std::string& what)
    {
        throw std::runtime_error(what + ": " + (db ? sqlite3_errmsg(db) : "no connection"));
    }

    struct Stmt
    {
        sqlite3_stmt* s = nullptr;
        Stmt(sqlite3* db, const std::string& sql)
        {
            if (sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &s, nullptr) != SQLITE_OK)
                fail(db, "prepare " + sql);
        }
        ~Stmt() { sqlite3_finalize(s); }
    };
}

RawDb::RawDb(const fs::path& db_file, bool create)
{
    const int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
    if (sqlite3_open_v2(db_file.c_str(), &db_, flags, nullptr) != SQLITE_OK)
    {
        std::string msg = "open " + db_file.string() + ": " + (db_ ? sqlite3_errmsg(db_) : "out of memory");
        sqlite3_close(db_);
        db_ = nullptr;
        throw std::runtime_error(msg);
    }
    sqlite3_busy_timeout(db_, 60'000);
}

RawDb::~RawDb() { sqlite3_close(db_); }

void RawDb::exec(const std::string& sql)
{
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK)
    {
        std::string msg = "exec " + sql + ": " + (err ? err : "?");
        sqlite3_free(err);
        throw std::runtime_error(msg);
    }
}

std::optional<std::string> RawDb::text(const std::string& sql)
{
    Stmt st(db_, sql);
    const int rc = sqlite3_step(st.s);
    if (rc == SQLITE_DONE)
        return std::nullopt;
    if (rc != SQLITE_ROW)
        fail(db_, "step " + sql);
    if (sqlite3_column_type(st.s, 0) == SQLITE_NULL)
        return std::nullopt;
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st.s, 0));
    return std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(st.s, 0)));
}

std::int64_t RawDb::integer(const std::string& sql)
{
    Stmt st(db_, sql);
    const int rc = sqlite3_step(st.s);
    if (rc != SQLITE_ROW)
        fail(db_, "no row for " + sql);
    return sqlite3_column_int64(st.s, 0);
}

std::vector<std::string> RawDb::column(const std::string& sql)
{
    Stmt st(db_, sql);
    std::vector<std::string> out;
    int rc;
    while ((rc = sqlite3_step(st.s)) == SQLITE_ROW)
    {
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st.s, 0));
        out.emplace_back(p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(st.s, 0))) : std::string());
    }
    if (rc != SQLITE_DONE)
        fail(db_, "step " + sql);
    return out;
}

void RawDb::exec_with_text(const std::string& sql, std::string_view param)
{
    Stmt st(db_, sql);
    sqlite3_bind_text(st.s, 1, param.data(), static_cast<int>(param.size()), SQLITE_TRANSIENT);
    if (sqlite3_step(st.s) != SQLITE_DONE)
        fail(db_, "step " + sql);
}

// ---- child processes --------------------------------------------------------------------

ChildRegistrar::ChildRegistrar(const char* name, ChildMain fn) { child_modes()[name] = fn; }

void set_self_executable(const char* argv0)
{
    char buf[4096];
    const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n > 0)
        self_executable().assign(buf, static_cast<std::size_t>(n));
    else
        self_executable() = fs::absolute(argv0).string();
}

int run_child_mode(int argc, char** argv)
{
    if (argc < 1)
        return 125;
    const auto it = child_modes().find(argv[0]);
    if (it == child_modes().end())
        return 126;
    std::vector<std::string> args(argv + 1, argv + argc);
    try
    {
        return it->second(args);
    }
    catch (const sc::error& e)
    {
        std::fprintf(stderr, "child %s: sciqlop_cache::error %s: %s\n", argv[0], e.code().c_str(), e.what());
        return 124;
    }
    catch (const std::exception& e)
    {
        std::fprintf(stderr, "child %s: %s\n", argv[0], e.what());
        return 123;
    }
}

pid_t spawn_child(const std::string& name, const std::vector<std::string>& args, const std::vector<int>& keep_fds,
                  int stdout_fd)
{
    std::vector<std::string> all { self_executable(), "--child", name };
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all)
        argv.push_back(a.data());
    argv.push_back(nullptr);

    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0)
        throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (pid == 0)
    {
        // Only async-signal-safe calls until exec.
        if (stdout_fd >= 0 && ::dup2(stdout_fd, STDOUT_FILENO) < 0)
            ::_exit(121);
        for (int fd : keep_fds)
            if (::fcntl(fd, F_SETFD, 0) < 0)
                ::_exit(121);
        ::execv(argv[0], argv.data());
        ::_exit(122);
    }
    return pid;
}

int wait_child(pid_t pid)
{
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0)
    {
        if (errno != EINTR)
            throw std::runtime_error(std::string("waitpid: ") + std::strerror(errno));
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -1;
}

} // namespace test
