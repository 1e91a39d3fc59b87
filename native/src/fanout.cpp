#include "sciqlop_cache/fanout.hpp"
#include "sqlite.hpp"

#include <atomic>
#include <cerrno>
#include <fcntl.h>
#include <fstream>
#include <regex>
#include <sstream>
#include <unistd.h>

namespace sciqlop_cache::detail
{
namespace fs = std::filesystem;

std::string shard_folder_name(std::size_t index)
{
    auto s = std::to_string(index);
    return s.size() < 2 ? std::string(2 - s.size(), '0') + s : s;
}

namespace
{
    std::optional<std::size_t> read_manifest(const fs::path& file)
    {
        std::ifstream in(file);
        if (!in)
            return std::nullopt;
        std::stringstream ss;
        ss << in.rdbuf();
        const auto text = ss.str();
        static const std::regex count_re(R"re("shardCount"\s*:\s*(\d+))re");
        static const std::regex hash_re(R"re("hash"\s*:\s*"([^"]*)")re");
        std::smatch m;
        if (!std::regex_search(text, m, count_re))
            throw error("CORRUPT", file.string() + " has no shardCount");
        const auto count = static_cast<std::size_t>(std::stoull(m[1].str()));
        if (std::regex_search(text, m, hash_re) && m[1].str() != "fnv1a64")
            throw error("SHARD_COUNT_MISMATCH", file.string() + " uses hash " + m[1].str() + ", expected fnv1a64");
        if (count < 1)
            throw error("CORRUPT", file.string() + " records a shard count of 0");
        return count;
    }
}

std::size_t open_fanout_manifest(const fs::path& directory, std::optional<std::size_t> requested)
{
    if (requested && *requested < 1)
        throw error("INVALID_ARGUMENT", "shard_count must be at least 1");
    std::error_code ec;
    if (fs::exists(directory, ec) && !fs::is_directory(directory, ec))
        throw error("NOT_A_DIRECTORY", directory.string() + " exists and is not a directory");
    fs::create_directories(directory, ec);
    if (ec)
        throw error(errno_name(ec.value()), "cannot create " + directory.string() + ": " + ec.message(), 0,
                    ec.value());
    const auto manifest = directory / "fanout.json";
    auto recorded = read_manifest(manifest);
    if (!recorded)
    {
        // Write under a temporary name and link() it into place: exactly one of several
        // processes creating the directory at once wins; the others read the winner's.
        const auto count = requested.value_or(8);
        // The name is unique per call, not only per process: threads of one process opening
        // the same new directory at once must not write, link or unlink each other's file.
        static std::atomic<unsigned> calls { 0 };
        const auto temp = directory
            / ("fanout.json." + std::to_string(::getpid()) + "." + std::to_string(calls.fetch_add(1)) + ".tmp");
        {
            std::ofstream out(temp, std::ios::trunc);
            out << "{\"shardCount\": " << count << ", \"hash\": \"fnv1a64\"}\n";
            out.flush();
            if (!out)
                throw_errno(errno ? errno : EIO, "write " + temp.string());
        }
        const int rc = ::link(temp.c_str(), manifest.c_str());
        const int err = errno;
        ::unlink(temp.c_str());
        if (rc != 0 && err != EEXIST)
            throw_errno(err, "create " + manifest.string());
        recorded = read_manifest(manifest);
        if (!recorded)
            throw error("ENOENT", "cannot read " + manifest.string(), 0, ENOENT);
    }
    if (requested && *requested != *recorded)
        throw error("SHARD_COUNT_MISMATCH",
                    directory.string() + " has " + std::to_string(*recorded) + " shards, not "
                        + std::to_string(*requested));
    return *recorded;
}

} // namespace sciqlop_cache::detail
