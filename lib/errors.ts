/**
 * The one error class of sciqlop-cache. Native failures are created as this class by the
 * addon itself (see `setErrorConstructor` in native.ts), so they carry the caller's stack.
 *
 * `code` is a stable string:
 * - the library's own: `CLOSED`, `LOCK_TIMEOUT`, `SERIALIZER_MISMATCH`, `UNKNOWN_SERIALIZER`
 *   (a store written with a serializer that is not built in, opened without one),
 *   `SHARD_COUNT_MISMATCH`, `NOT_A_DIRECTORY`, `NOT_A_NUMBER` (incr/decr of a non-integer),
 *   `INVALID_ARGUMENT`, `NOT_A_DISKCACHE` (migrate: a source that is not a diskcache directory),
 *   `REENTRANT_CALL` (a serializer used the store synchronously while it encoded the
 *   result of incrAsync);
 * - `CORRUPT` for a damaged, truncated or foreign database, whichever way SQLite noticed it
 *   (`SQLITE_CORRUPT` or `SQLITE_NOTADB`, kept in `sqliteCode`);
 * - SQLite's primary result names for its other failures: `SQLITE_BUSY`, `SQLITE_FULL`, ...;
 * - errno names from the operating system: `ENOENT`, `EACCES`, `ENOSPC`, ... with the number
 *   in `errno`.
 *
 * Jest and worker threads load the package once per realm: test errors by `code` and
 * `name`, which are the same in every realm, rather than with `instanceof`.
 */
export class SciqlopCacheError extends Error {
  /** Stable string code, see the class comment. */
  readonly code: string;
  /** SQLite's result name (`SQLITE_BUSY`, `SQLITE_NOTADB`, ...), when the error came from SQLite. */
  declare readonly sqliteCode?: string;
  /** SQLite's extended result code, when the error came from SQLite. */
  declare readonly sqliteExtendedCode?: number;
  /** Operating-system errno value, when the error came from a system call. */
  declare readonly errno?: number;

  constructor(message: string, code: string) {
    super(message);
    this.code = code;
  }
}

Object.defineProperty(SciqlopCacheError.prototype, 'name', {
  value: 'SciqlopCacheError',
  writable: true,
  enumerable: false,
  configurable: true,
});

export function closedError(): SciqlopCacheError {
  return new SciqlopCacheError('The store is closed', 'CLOSED');
}
