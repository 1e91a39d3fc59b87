#pragma once
// A VFS over the platform's default one that writes each WAL frame with one system call
// instead of two (see wal_vfs.cpp). Every other file, and every other operation, goes to the
// default VFS unchanged.

struct sqlite3_vfs;

namespace sciqlop_cache::detail
{

/// Registers (not as the default) a VFS named `name` that writes WAL frames in one call and
/// otherwise is `under`; null on failure. The tests wrap a VFS of their own this way.
sqlite3_vfs* register_wal_frame_vfs(sqlite3_vfs* under, const char* name);

/// The name of the VFS the engine opens its databases with, registered on first use
/// (thread-safe). Not the default VFS of the process: other SQLite users are unaffected.
const char* wal_frame_vfs();

} // namespace sciqlop_cache::detail
