// SQLite writes a WAL frame as two writes: its 24-byte header, then the page right after it
// (walWriteOneFrame() in sqlite3.c). Each is a pwrite() of its own, so a single-row commit costs
// two system calls where one would do. This VFS keeps a frame header back until the write that
// follows it, and when that write continues it, writes both with one call; anything else (a
// write elsewhere, a read, a sync, a size query, a lock, a close, ...) first writes the held
// header out, so the file sees the same bytes in the same order as without it.
//
// Only files opened as WAL files are wrapped; the database, the journals and the shared-memory
// index are the default VFS's own objects. Safety rests on what SQLite guarantees anyway: a
// frame becomes visible to other connections only once the WAL index header says so, which the
// writer publishes after both writes of every frame returned; a crash while a header is held
// leaves that frame unwritten, as if SQLite had stopped just before it; recovery keeps only
// transactions whose commit frame is complete, either way.
#include "wal_vfs.hpp"

#include "sqlite.hpp"

#include <cstring>
#include <new>

namespace sciqlop_cache::detail
{
namespace
{

constexpr int frame_header_size = 24; // WAL_FRAME_HDRSIZE

struct WalFile
{
    sqlite3_file base; // pMethods: one of wal_methods[] (or null when the open failed)
    sqlite3_file* real;
    sqlite3_int64 held_offset; // where the held header goes; -1 when none is held
    unsigned char held[frame_header_size];
    unsigned char* scratch; // header + page, for the combined write (sqlite3_malloc)
    int scratch_size;
};

// The real file lives right after the wrapper; keep it aligned as SQLite aligns its own.
constexpr int wrapper_size = static_cast<int>((sizeof(WalFile) + 15) & ~std::size_t(15));

sqlite3_vfs* real_vfs(sqlite3_vfs* vfs)
{
    return static_cast<sqlite3_vfs*>(vfs->pAppData);
}

WalFile* wal(sqlite3_file* f)
{
    return reinterpret_cast<WalFile*>(f);
}

sqlite3_file* real(sqlite3_file* f)
{
    return wal(f)->real;
}

/// Writes the held frame header, if any, on its own.
int release_held(WalFile* w)
{
    if (w->held_offset < 0)
        return SQLITE_OK;
    const sqlite3_int64 offset = w->held_offset;
    w->held_offset = -1;
    return w->real->pMethods->xWrite(w->real, w->held, frame_header_size, offset);
}

int wal_write(sqlite3_file* f, const void* data, int amount, sqlite3_int64 offset)
{
    WalFile* w = wal(f);
    if (w->held_offset >= 0)
    {
        if (offset == w->held_offset + frame_header_size && amount > 0 && amount <= 65536)
        {
            const int total = frame_header_size + amount;
            if (w->scratch_size < total)
            {
                auto* grown = static_cast<unsigned char*>(sqlite3_realloc(w->scratch, total));
                if (!grown)
                {
                    const int rc = release_held(w);
                    return rc != SQLITE_OK ? rc : w->real->pMethods->xWrite(w->real, data, amount, offset);
                }
                w->scratch = grown;
                w->scratch_size = total;
            }
            std::memcpy(w->scratch, w->held, frame_header_size);
            std::memcpy(w->scratch + frame_header_size, data, static_cast<std::size_t>(amount));
            const sqlite3_int64 at = w->held_offset;
            w->held_offset = -1;
            return w->real->pMethods->xWrite(w->real, w->scratch, total, at);
        }
        if (const int rc = release_held(w); rc != SQLITE_OK)
            return rc;
    }
    if (amount == frame_header_size)
    {
        std::memcpy(w->held, data, frame_header_size);
        w->held_offset = offset;
        return SQLITE_OK;
    }
    return w->real->pMethods->xWrite(w->real, data, amount, offset);
}

int wal_close(sqlite3_file* f)
{
    WalFile* w = wal(f);
    const int held = release_held(w);
    const int rc = w->real->pMethods->xClose(w->real);
    sqlite3_free(w->scratch);
    return held != SQLITE_OK ? held : rc;
}

// Every other method: the held header first, then the real file's method.
#define SCIQLOP_CACHE_FORWARD(name, params, args)                                                                  \
    int wal_##name params                                                                                          \
    {                                                                                                              \
        if (const int rc = release_held(wal(f)); rc != SQLITE_OK)                                                  \
            return rc;                                                                                             \
        return real(f)->pMethods->x##name args;                                                                    \
    }
SCIQLOP_CACHE_FORWARD(Read, (sqlite3_file * f, void* data, int amount, sqlite3_int64 offset),
                      (real(f), data, amount, offset))
SCIQLOP_CACHE_FORWARD(Truncate, (sqlite3_file * f, sqlite3_int64 size), (real(f), size))
SCIQLOP_CACHE_FORWARD(Sync, (sqlite3_file * f, int flags), (real(f), flags))
SCIQLOP_CACHE_FORWARD(FileSize, (sqlite3_file * f, sqlite3_int64* size), (real(f), size))
SCIQLOP_CACHE_FORWARD(Lock, (sqlite3_file * f, int level), (real(f), level))
SCIQLOP_CACHE_FORWARD(Unlock, (sqlite3_file * f, int level), (real(f), level))
SCIQLOP_CACHE_FORWARD(CheckReservedLock, (sqlite3_file * f, int* out), (real(f), out))
SCIQLOP_CACHE_FORWARD(FileControl, (sqlite3_file * f, int op, void* arg), (real(f), op, arg))
SCIQLOP_CACHE_FORWARD(ShmMap, (sqlite3_file * f, int page, int size, int extend, void volatile** out),
                      (real(f), page, size, extend, out))
SCIQLOP_CACHE_FORWARD(ShmLock, (sqlite3_file * f, int offset, int n, int flags), (real(f), offset, n, flags))
SCIQLOP_CACHE_FORWARD(ShmUnmap, (sqlite3_file * f, int delete_flag), (real(f), delete_flag))
SCIQLOP_CACHE_FORWARD(Fetch, (sqlite3_file * f, sqlite3_int64 offset, int amount, void** out),
                      (real(f), offset, amount, out))
SCIQLOP_CACHE_FORWARD(Unfetch, (sqlite3_file * f, sqlite3_int64 offset, void* p), (real(f), offset, p))
#undef SCIQLOP_CACHE_FORWARD

int wal_SectorSize(sqlite3_file* f)
{
    return real(f)->pMethods->xSectorSize(real(f));
}

int wal_DeviceCharacteristics(sqlite3_file* f)
{
    return real(f)->pMethods->xDeviceCharacteristics(real(f));
}

void wal_ShmBarrier(sqlite3_file* f)
{
    (void)release_held(wal(f)); // cannot report an error; the next method call will
    real(f)->pMethods->xShmBarrier(real(f));
}

/// The wrapper's methods for a real file whose methods are of `version` (1 to 3): the same
/// version, so that SQLite calls exactly the methods the real file has.
constexpr sqlite3_io_methods make_methods(int version)
{
    sqlite3_io_methods m {};
    m.iVersion = version;
    m.xClose = wal_close;
    m.xRead = wal_Read;
    m.xWrite = wal_write;
    m.xTruncate = wal_Truncate;
    m.xSync = wal_Sync;
    m.xFileSize = wal_FileSize;
    m.xLock = wal_Lock;
    m.xUnlock = wal_Unlock;
    m.xCheckReservedLock = wal_CheckReservedLock;
    m.xFileControl = wal_FileControl;
    m.xSectorSize = wal_SectorSize;
    m.xDeviceCharacteristics = wal_DeviceCharacteristics;
    if (version >= 2)
    {
        m.xShmMap = wal_ShmMap;
        m.xShmLock = wal_ShmLock;
        m.xShmBarrier = wal_ShmBarrier;
        m.xShmUnmap = wal_ShmUnmap;
    }
    if (version >= 3)
    {
        m.xFetch = wal_Fetch;
        m.xUnfetch = wal_Unfetch;
    }
    return m;
}

constexpr sqlite3_io_methods wal_methods[3] = { make_methods(1), make_methods(2), make_methods(3) };

int vfs_open(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags)
{
    sqlite3_vfs* under = real_vfs(vfs);
    if (!(flags & SQLITE_OPEN_WAL))
        return under->xOpen(under, name, file, flags, out_flags); // the real file itself, unwrapped
    auto* w = new (file) WalFile {};
    w->base.pMethods = nullptr;
    w->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + wrapper_size);
    w->held_offset = -1;
    const int rc = under->xOpen(under, name, w->real, flags, out_flags);
    const sqlite3_io_methods* methods = w->real->pMethods;
    if (methods)
    {
        const int version = methods->iVersion < 1 ? 1 : methods->iVersion > 3 ? 3 : methods->iVersion;
        w->base.pMethods = &wal_methods[version - 1];
    }
    return rc;
}

// The VFS's other methods: the real VFS's, called with the real VFS (the default unix VFS keeps
// its own state in pAppData).
int vfs_delete(sqlite3_vfs* v, const char* name, int sync_dir)
{
    return real_vfs(v)->xDelete(real_vfs(v), name, sync_dir);
}
int vfs_access(sqlite3_vfs* v, const char* name, int flags, int* out)
{
    return real_vfs(v)->xAccess(real_vfs(v), name, flags, out);
}
int vfs_full_pathname(sqlite3_vfs* v, const char* name, int size, char* out)
{
    return real_vfs(v)->xFullPathname(real_vfs(v), name, size, out);
}
void* vfs_dl_open(sqlite3_vfs* v, const char* name)
{
    return real_vfs(v)->xDlOpen ? real_vfs(v)->xDlOpen(real_vfs(v), name) : nullptr;
}
void vfs_dl_error(sqlite3_vfs* v, int size, char* out)
{
    if (real_vfs(v)->xDlError)
        real_vfs(v)->xDlError(real_vfs(v), size, out);
    else if (size > 0)
        out[0] = '\0';
}
void (*vfs_dl_sym(sqlite3_vfs* v, void* handle, const char* symbol))(void)
{
    return real_vfs(v)->xDlSym ? real_vfs(v)->xDlSym(real_vfs(v), handle, symbol) : nullptr;
}
void vfs_dl_close(sqlite3_vfs* v, void* handle)
{
    if (real_vfs(v)->xDlClose)
        real_vfs(v)->xDlClose(real_vfs(v), handle);
}
int vfs_randomness(sqlite3_vfs* v, int size, char* out)
{
    return real_vfs(v)->xRandomness(real_vfs(v), size, out);
}
int vfs_sleep(sqlite3_vfs* v, int microseconds)
{
    return real_vfs(v)->xSleep(real_vfs(v), microseconds);
}
int vfs_current_time(sqlite3_vfs* v, double* out)
{
    return real_vfs(v)->xCurrentTime(real_vfs(v), out);
}
int vfs_get_last_error(sqlite3_vfs* v, int size, char* out)
{
    return real_vfs(v)->xGetLastError ? real_vfs(v)->xGetLastError(real_vfs(v), size, out) : 0;
}
int vfs_current_time_int64(sqlite3_vfs* v, sqlite3_int64* out)
{
    return real_vfs(v)->xCurrentTimeInt64(real_vfs(v), out);
}
int vfs_set_system_call(sqlite3_vfs* v, const char* name, sqlite3_syscall_ptr call)
{
    return real_vfs(v)->xSetSystemCall(real_vfs(v), name, call);
}
sqlite3_syscall_ptr vfs_get_system_call(sqlite3_vfs* v, const char* name)
{
    return real_vfs(v)->xGetSystemCall(real_vfs(v), name);
}
const char* vfs_next_system_call(sqlite3_vfs* v, const char* name)
{
    return real_vfs(v)->xNextSystemCall(real_vfs(v), name);
}

} // namespace

sqlite3_vfs* register_wal_frame_vfs(sqlite3_vfs* under, const char* name)
{
    if (!under || !name)
        return nullptr;
    auto* vfs = new (std::nothrow) sqlite3_vfs {}; // registered for the life of the process
    if (!vfs)
        return nullptr;
    vfs->iVersion = under->iVersion < 3 ? under->iVersion : 3;
    vfs->szOsFile = wrapper_size + under->szOsFile;
    vfs->mxPathname = under->mxPathname;
    vfs->zName = name;
    vfs->pAppData = under;
    vfs->xOpen = vfs_open;
    vfs->xDelete = vfs_delete;
    vfs->xAccess = vfs_access;
    vfs->xFullPathname = vfs_full_pathname;
    vfs->xDlOpen = vfs_dl_open;
    vfs->xDlError = vfs_dl_error;
    vfs->xDlSym = vfs_dl_sym;
    vfs->xDlClose = vfs_dl_close;
    vfs->xRandomness = vfs_randomness;
    vfs->xSleep = vfs_sleep;
    vfs->xCurrentTime = vfs_current_time;
    vfs->xGetLastError = vfs_get_last_error;
    if (vfs->iVersion >= 2)
        vfs->xCurrentTimeInt64 = vfs_current_time_int64;
    if (vfs->iVersion >= 3)
    {
        vfs->xSetSystemCall = vfs_set_system_call;
        vfs->xGetSystemCall = vfs_get_system_call;
        vfs->xNextSystemCall = vfs_next_system_call;
    }
    if (sqlite3_vfs_register(vfs, 0) != SQLITE_OK)
    {
        delete vfs;
        return nullptr;
    }
    return vfs;
}

const char* wal_frame_vfs()
{
    static const char* const name = []() -> const char*
    {
        const sqlite3_vfs* vfs = register_wal_frame_vfs(sqlite3_vfs_find(nullptr), "sciqlop-cache-wal");
        return vfs ? vfs->zName : nullptr;
    }();
    return name; // null (the default VFS) if it could not be registered
}

} // namespace sciqlop_cache::detail
