#include "value_files.hpp"
#include "sqlite.hpp"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fcntl.h>
#include <random>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

namespace sciqlop_cache::detail
{
namespace
{
    struct Fd
    {
        int fd = -1;
        ~Fd()
        {
            if (fd >= 0)
                ::close(fd);
        }
    };

    /// A random 128-bit id in hex. Its first four digits name the folders (ab/cd); they are
    /// kept for `files_per_folder` consecutive ids of a thread so that most writes land in a
    /// folder that already exists: creating two folders per value file would cost more than
    /// writing a megabyte into it.
    std::string random_hex32()
    {
        static constexpr unsigned files_per_folder = 1024;
        thread_local std::mt19937_64 rng { []
                                           {
                                               std::random_device rd;
                                               std::seed_seq seq { rd(), rd(), rd(), rd(),
                                                                   static_cast<unsigned>(::getpid()) };
                                               return std::mt19937_64(seq);
                                           }() };
        thread_local std::uint64_t folder_bits = rng();
        thread_local unsigned used = 0;
        if (++used > files_per_folder)
        {
            folder_bits = rng();
            used = 1;
        }
        static constexpr char digits[] = "0123456789abcdef";
        std::string out(32, '0');
        for (int half = 0; half < 2; ++half)
        {
            auto v = rng();
            for (int i = 0; i < 16; ++i, v >>= 4)
                out[static_cast<std::size_t>(half * 16 + i)] = digits[v & 0xf];
        }
        for (int i = 0; i < 4; ++i)
            out[static_cast<std::size_t>(i)] = digits[(folder_bits >> (4 * i)) & 0xf];
        return out;
    }

    bool is_hex2(const char* name)
    {
        auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); };
        return name[0] && name[1] && !name[2] && hex(name[0]) && hex(name[1]);
    }

    void fsync_path(const std::filesystem::path& p, int flags)
    {
        Fd d { ::open(p.c_str(), flags | O_CLOEXEC) };
        if (d.fd < 0)
            throw_errno(errno, "open " + p.string());
        if (::fsync(d.fd) != 0)
            throw_errno(errno, "fsync " + p.string());
    }
}

bool ValueFiles::is_safe(std::string_view relative) noexcept
{
    if (relative.empty() || relative.front() == '/' || relative.find('\\') != std::string_view::npos
        || relative.find('\0') != std::string_view::npos)
        return false;
    std::size_t start = 0;
    while (start <= relative.size())
    {
        auto end = relative.find('/', start);
        if (end == std::string_view::npos)
            end = relative.size();
        const auto part = relative.substr(start, end - start);
        if (part.empty() || part == "." || part == "..")
            return false;
        start = end + 1;
    }
    return true;
}

int ValueFiles::open_beneath(std::string_view relative, int flags) const
{
    if (!is_safe(relative))
        return -1;
    int dir = ::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        return -1;
    std::size_t start = 0;
    while (true)
    {
        auto end = relative.find('/', start);
        const bool last = end == std::string_view::npos;
        const std::string part(relative.substr(start, last ? std::string_view::npos : end - start));
        const int next = ::openat(dir, part.c_str(),
                                  (last ? flags : (O_RDONLY | O_DIRECTORY)) | O_NOFOLLOW | O_CLOEXEC);
        const int saved = errno;
        ::close(dir);
        if (next < 0)
        {
            errno = saved;
            return -1;
        }
        if (last)
            return next;
        dir = next;
        start = end + 1;
    }
}

std::string ValueFiles::write(std::span<const std::byte> value, bool sync) const
{
    const auto id = random_hex32();
    const std::string folder = id.substr(0, 2) + "/" + id.substr(2, 2);
    const std::string name = id + "-" + std::to_string(::getpid());
    const auto dir = root_ / folder;
    const auto final_path = dir / name;
    const auto temp_path = dir / (name + ".tmp");

    int fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    bool created_dirs = false;
    if (fd < 0 && errno == ENOENT)
    {
        std::error_code ec;
        std::filesystem::create_directories(dir, ec);
        if (ec)
            throw error(errno_name(ec.value()), "create " + dir.string() + ": " + ec.message(), 0, ec.value());
        created_dirs = true;
        fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    }
    if (fd < 0)
        throw_errno(errno, "create " + temp_path.string());

    auto fail = [&](const char* what)
    {
        const int err = errno;
        if (fd >= 0)
            ::close(fd);
        ::unlink(temp_path.c_str());
        throw_errno(err, std::string(what) + " " + temp_path.string());
    };

    const auto* p = reinterpret_cast<const char*>(value.data());
    std::size_t left = value.size();
    while (left > 0)
    {
        const auto n = ::write(fd, p, left);
        if (n < 0)
        {
            if (errno == EINTR)
                continue;
            fail("write");
        }
        p += n;
        left -= static_cast<std::size_t>(n);
    }
    if (sync && ::fsync(fd) != 0)
        fail("fsync");
    if (::close(fd) != 0)
    {
        fd = -1;
        fail("close");
    }
    fd = -1;
    if (::rename(temp_path.c_str(), final_path.c_str()) != 0)
        fail("rename");
    if (sync)
    {
        fsync_path(dir, O_RDONLY | O_DIRECTORY);
        if (created_dirs)
        {
            fsync_path(dir.parent_path(), O_RDONLY | O_DIRECTORY);
            fsync_path(root_, O_RDONLY | O_DIRECTORY);
        }
    }
    return folder + "/" + name;
}

ReadStatus ValueFiles::read(std::string_view relative, std::uint64_t expected_size, const ByteSink& sink) const
{
    if (!is_safe(relative))
        return ReadStatus::unsafe_path;
    // O_NONBLOCK: a FIFO planted where a value file should be must not block the open (it
    // is then rejected as not a regular file); it changes nothing for regular files.
    Fd f { open_beneath(relative, O_RDONLY | O_NONBLOCK) };
    if (f.fd < 0)
        return errno == ELOOP || errno == ENOTDIR ? ReadStatus::unsafe_path : ReadStatus::missing;
    struct stat st {};
    if (::fstat(f.fd, &st) != 0 || !S_ISREG(st.st_mode))
        return ReadStatus::unsafe_path;
    if (static_cast<std::uint64_t>(st.st_size) != expected_size)
        return ReadStatus::size_mismatch;
    auto* out = reinterpret_cast<char*>(sink(static_cast<std::size_t>(expected_size)));
    std::size_t done = 0;
    while (done < expected_size)
    {
        const auto n = ::read(f.fd, out + done, static_cast<std::size_t>(expected_size - done));
        if (n < 0)
        {
            if (errno == EINTR)
                continue;
            throw_errno(errno, "read " + (root_ / std::string(relative)).string());
        }
        if (n == 0)
            return ReadStatus::size_mismatch; // truncated while we were reading
        done += static_cast<std::size_t>(n);
    }
    return ReadStatus::ok;
}

void ValueFiles::remove(std::string_view relative) const noexcept
{
    if (!is_safe(relative))
        return;
    const auto slash = relative.rfind('/');
    if (slash == std::string_view::npos)
    {
        ::unlink((root_ / std::string(relative)).c_str());
        return;
    }
    // Open the parent without following symlinks, then unlink the entry itself (a symlink
    // is removed, never its target).
    Fd dir { open_beneath(relative.substr(0, slash), O_RDONLY | O_DIRECTORY) };
    if (dir.fd >= 0)
        ::unlinkat(dir.fd, std::string(relative.substr(slash + 1)).c_str(), 0);
}

std::int64_t ValueFiles::file_size(std::string_view relative) const
{
    Fd f { open_beneath(relative, O_RDONLY | O_NONBLOCK) };
    if (f.fd < 0)
        return -1;
    struct stat st {};
    if (::fstat(f.fd, &st) != 0 || !S_ISREG(st.st_mode))
        return -1;
    return st.st_size;
}

std::vector<ValueFiles::Entry> ValueFiles::list() const
{
    std::vector<Entry> out;
    const auto now = std::chrono::system_clock::now();
    auto scan = [](const std::filesystem::path& p, auto&& on_entry)
    {
        DIR* d = ::opendir(p.c_str());
        if (!d)
            return;
        while (auto* e = ::readdir(d))
        {
            if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
                continue;
            on_entry(e->d_name);
        }
        ::closedir(d);
    };
    auto is_dir_nofollow = [](const std::filesystem::path& p)
    {
        struct stat st {};
        return ::lstat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
    };
    scan(root_,
         [&](const char* a)
         {
             if (!is_hex2(a) || !is_dir_nofollow(root_ / a))
                 return;
             scan(root_ / a,
                  [&](const char* b)
                  {
                      const auto dir = root_ / a / b;
                      if (!is_hex2(b) || !is_dir_nofollow(dir))
                          return;
                      scan(dir,
                           [&](const char* name)
                           {
                               struct stat st {};
                               if (::lstat((dir / name).c_str(), &st) != 0)
                                   return;
                               const auto mtime = std::chrono::system_clock::from_time_t(st.st_mtim.tv_sec)
                                   + std::chrono::nanoseconds(st.st_mtim.tv_nsec);
                               out.push_back({ std::string(a) + "/" + b + "/" + name,
                                               std::chrono::duration<double>(now - mtime).count() });
                           });
                  });
         });
    return out;
}

} // namespace sciqlop_cache::detail
