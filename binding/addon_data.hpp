#pragma once
// Per-environment state of the addon (one per Node environment: the main thread and each
// worker). Nothing here is static, so the addon is context-aware and can be loaded by
// several workers at once.
#include <napi.h>

#include <memory>
#include <unordered_set>

namespace sciqlop_cache::binding
{

/// A store wrapper the environment must be able to close when it is torn down.
class Closable
{
public:
    virtual void close_native() noexcept = 0;

protected:
    ~Closable() = default;
};

/// The stores still open in one environment. Shared with each wrapper, so it outlives
/// whichever of the environment and the wrappers is finalized last.
class OpenStores
{
public:
    void add(Closable* store) { stores_.insert(store); }
    void remove(Closable* store) noexcept { stores_.erase(store); }
    void close_all() noexcept
    {
        auto stores = std::move(stores_);
        stores_.clear();
        for (auto* store : stores)
            store->close_native();
    }

private:
    std::unordered_set<Closable*> stores_;
};

/// Instance data of the addon in one environment. Its env cleanup hook closes every store
/// still open (a worker that exits or is terminated leaves no thread or database behind).
class AddonData
{
public:
    explicit AddonData(napi_env env);
    ~AddonData();
    AddonData(const AddonData&) = delete;
    AddonData& operator=(const AddonData&) = delete;

    [[nodiscard]] const std::shared_ptr<OpenStores>& open_stores() const noexcept { return open_stores_; }

    /// The JavaScript class native errors are created with (SciqlopCacheError, defined in
    /// lib/errors.ts); until it is set, plain Errors with a `code` are thrown.
    Napi::FunctionReference error_constructor;

private:
    static void on_env_cleanup(void* self) noexcept;

    napi_env env_;
    std::shared_ptr<OpenStores> open_stores_ = std::make_shared<OpenStores>();
    bool cleanup_hook_pending_ = false;
};

} // namespace sciqlop_cache::binding
