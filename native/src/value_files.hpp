#pragma once
// Value files: values larger than inline_value_max (options.hpp) live as files under the store's
// directory at ab/cd/<uuid>-<pid>. They are written under a temporary name and renamed into
// place, so a row never points to a partial file; reads never follow a path out of the store.
#include "sciqlop_cache/store.hpp"

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sciqlop_cache::detail
{

enum class ReadStatus
{
    ok,
    missing,
    size_mismatch,
    unsafe_path,
};

class ValueFiles
{
public:
    ValueFiles() = default;
    explicit ValueFiles(std::filesystem::path root) : root_(std::move(root)) { }

    /// Writes `value` to a new file and returns its path relative to the root. With `sync`,
    /// the file and its folder are fsynced before returning.
    std::string write(std::span<const std::byte> value, bool sync) const;
    /// Reads exactly `expected_size` bytes into `sink`; the sink is called only after the
    /// file's size was checked.
    ReadStatus read(std::string_view relative, std::uint64_t expected_size, const ByteSink& sink) const;
    /// Removes a value file; a missing file is not an error, an unsafe path is ignored.
    void remove(std::string_view relative) const noexcept;
    /// Size of the file, or -1 when it is missing or its path is unsafe.
    std::int64_t file_size(std::string_view relative) const;

    struct Entry
    {
        std::string relative;
        double age_seconds;
    };
    /// Every regular file of the value tree (<hex2>/<hex2>/<name>), symlinks not followed.
    std::vector<Entry> list() const;

    /// A stored path is safe when it is relative, has no empty, "." or ".." component and no
    /// backslash; symlinks are rejected when opening.
    static bool is_safe(std::string_view relative) noexcept;

    [[nodiscard]] const std::filesystem::path& root() const noexcept { return root_; }

private:
    /// Opens a relative path component by component without following symlinks; -1 on failure.
    int open_beneath(std::string_view relative, int flags) const;
    std::filesystem::path root_;
};

} // namespace sciqlop_cache::detail
