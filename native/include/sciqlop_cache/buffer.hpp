#pragma once
// Buffer: an owned, contiguous run of bytes returned by get()/pop(). Allocated without
// zero-filling since it is always overwritten by the value.
#include <algorithm>
#include <cstddef>
#include <memory>
#include <span>
#include <string_view>

namespace sciqlop_cache
{

class Buffer
{
public:
    Buffer() = default;
    explicit Buffer(std::size_t size)
            : data_(size ? std::make_unique_for_overwrite<std::byte[]>(size) : nullptr), size_(size)
    {
    }
    Buffer(const Buffer& other) : Buffer(other.size_)
    {
        if (size_)
            std::copy_n(other.data_.get(), size_, data_.get());
    }
    Buffer& operator=(const Buffer& other)
    {
        if (this != &other)
            *this = Buffer(other);
        return *this;
    }
    Buffer(Buffer&&) noexcept = default;
    Buffer& operator=(Buffer&&) noexcept = default;

    [[nodiscard]] std::byte* data() noexcept { return data_.get(); }
    [[nodiscard]] const std::byte* data() const noexcept { return data_.get(); }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
    [[nodiscard]] std::span<const std::byte> span() const noexcept { return { data_.get(), size_ }; }
    [[nodiscard]] std::span<std::byte> span() noexcept { return { data_.get(), size_ }; }
    [[nodiscard]] std::string_view view() const noexcept
    {
        return { reinterpret_cast<const char*>(data_.get()), size_ };
    }
    [[nodiscard]] const std::byte* begin() const noexcept { return data_.get(); }
    [[nodiscard]] const std::byte* end() const noexcept { return data_.get() + size_; }
    [[nodiscard]] std::byte* begin() noexcept { return data_.get(); }
    [[nodiscard]] std::byte* end() noexcept { return data_.get() + size_; }

    friend bool operator==(const Buffer& a, const Buffer& b) noexcept { return a.view() == b.view(); }

private:
    std::unique_ptr<std::byte[]> data_;
    std::size_t size_ = 0;
};

} // namespace sciqlop_cache
