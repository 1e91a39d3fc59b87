/**
 * BaseStore: everything Cache, Index, FanoutCache and FanoutIndex share. Values go through
 * the serializer here, in the calling thread; the native store only sees bytes. The hot
 * path of `get` is a typeof check, one native call that returns a Buffer (or undefined on
 * a miss), and `deserialize`.
 */
import * as path from 'node:path';
import { AsyncOps, GET, GET_MANY, HAS, INCR, POP, rejectAt, SET } from './async';
import { disposeSymbol } from './dispose';
import { closedError, SciqlopCacheError } from './errors';
import { closeOnExit } from './exit-hook';
import type { AcquireOptions, LockBackend } from './lock';
import { Lock } from './lock';
import { memoize, type Memoized, type MemoizeOptions } from './memoize';
import { binding, type NativeCheckResult, type NativeFanout, type NativeStore, type NativeStoreKind } from './native';
import { createObjectView } from './object-view';
import { pooledResult, readPool } from './read-pool';
import { builtinSerializer, checkSerializer, type Serializer, V8Serializer } from './serializers';
import {
  checkExpire,
  checkFunction,
  checkInteger,
  checkKey,
  checkOptions,
  checkSafeInteger,
  checkTag,
  describe,
  expected,
  invalidKey,
  isWellFormed,
} from './validate';

export type Durability = 'process' | 'power';

export interface StoreOptions<V = any> {
  /** How values become bytes; default: the one recorded in the store, else V8Serializer. */
  serializer?: Serializer<V> | undefined;
  /** 'process' (default): committed entries survive a killed process; 'power': also power loss. */
  durability?: Durability | undefined;
}

export interface CacheOptions<V = any> extends StoreOptions<V> {
  /** Limit on the stored value bytes, 0 = unlimited; persisted in the store when given. */
  maxSize?: number | undefined;
}

export interface FanoutOptions {
  /** Number of shards of a new directory (default 8); must match the recorded one on reopen. */
  shardCount?: number | undefined;
}

export interface SetOptions {
  /** Seconds until the entry expires (fractions allowed); null or undefined: never. */
  expire?: number | null | undefined;
  /** Groups entries for `evictTag`. */
  tag?: string | null | undefined;
}

export type CheckResult = NativeCheckResult;

export interface Stats {
  hits: number;
  misses: number;
}

/** @internal What a concrete class tells the base class about itself. */
export interface StoreKind {
  readonly native: NativeStoreKind;
  /** Class name, for messages and Symbol.toStringTag. */
  readonly label: string;
  /** Accepted constructor option names. */
  readonly options: readonly string[];
  /** Accepted set()/add()/lock() option names: expire and tag for caches, none for indexes. */
  readonly setOptions: readonly string[];
}

type NativeConstructor = new (
  directory: string,
  maxSize: number | undefined,
  durability: Durability | undefined,
  shardCount: number | undefined,
) => NativeStore;

function checkDurability(value: unknown): Durability | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new TypeError(expected("'process' or 'power'", 'durability', value));
  if (value !== 'process' && value !== 'power') throw new RangeError(expected("'process' or 'power'", 'durability', value));
  return value;
}

/**
 * The serializer of a store: the name is recorded on first open (the only write an open
 * does besides a changed maxSize); later opens must pass one with the same name, or none to
 * use the recorded one (known names map to the built-in classes).
 */
function resolveSerializer(native: NativeStore, given: Serializer | undefined): Serializer {
  let recorded = native.metaGet('serializer');
  if (recorded === undefined) {
    // Look again and record under the write lock: of several processes creating the
    // directory at the same instant with different serializers, exactly one records its
    // own; the others then see it (a mismatch is an error, not a store of mixed formats).
    // A fanout records the name in every shard; shard 0, read first, is the one locked.
    const fanout = native as NativeStore & Partial<NativeFanout>;
    const lockKey = typeof fanout.shardIndex === 'function' ? keyOfShardZero(fanout as NativeFanout) : undefined;
    native.begin(lockKey);
    try {
      recorded = native.metaGet('serializer');
      if (recorded === undefined) native.metaSet('serializer', (given ?? new V8Serializer()).name);
      native.commit(lockKey);
    } catch (error) {
      rollbackQuietly(native, lockKey);
      throw error;
    }
    if (recorded === undefined) return given ?? new V8Serializer();
  }
  if (given !== undefined) {
    if (given.name !== recorded) {
      throw new SciqlopCacheError(
        `This store was written with the serializer ${JSON.stringify(recorded)} but is opened with ` +
          `${JSON.stringify(given.name)}: pass a serializer named ${JSON.stringify(recorded)}, or none`,
        'SERIALIZER_MISMATCH',
      );
    }
    return given;
  }
  const builtin = builtinSerializer(recorded);
  if (builtin === undefined) {
    throw new SciqlopCacheError(
      `This store was written with the serializer ${JSON.stringify(recorded)}, which is not built in: ` +
        `pass a serializer named ${JSON.stringify(recorded)}`,
      'UNKNOWN_SERIALIZER',
    );
  }
  return builtin;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

export abstract class BaseStore<V = any, O extends object = SetOptions> implements Map<string, V> {
  /** The store's directory, absolute. */
  readonly directory: string;
  readonly serializer: Serializer<V>;
  /** @internal */
  protected readonly native: NativeStore;
  readonly #kind: StoreKind;
  readonly #forgetOnExit: () => void;

  /** @internal */
  protected constructor(kind: StoreKind, directory: string, options: unknown) {
    // A NUL byte would cut the path short in the system calls (Node's fs refuses it too).
    if (typeof directory !== 'string' || directory === '' || !isWellFormed(directory) || directory.includes('\0')) {
      throw new TypeError(expected('a non-empty string without NUL bytes', 'directory', directory));
    }
    const o = checkOptions<CacheOptions & FanoutOptions>(options, kind.options, `${kind.label} options`);
    const maxSize = o.maxSize === undefined ? undefined : checkInteger(o.maxSize, 'maxSize', 0);
    const durability = checkDurability(o.durability);
    const shardCount = o.shardCount === undefined ? undefined : checkInteger(o.shardCount, 'shardCount', 1);
    const given = o.serializer === undefined ? undefined : checkSerializer(o.serializer);

    this.#kind = kind;
    this.directory = path.resolve(directory);
    const NativeClass = binding[kind.native] as NativeConstructor;
    this.native = new NativeClass(this.directory, maxSize, durability, shardCount);
    try {
      this.serializer = resolveSerializer(this.native, given) as Serializer<V>;
    } catch (error) {
      this.native.close();
      throw error;
    }
    this.#forgetOnExit = closeOnExit(this.native);
  }

  // ---- reads ----------------------------------------------------------------------------

  /** The value, or `defaultValue` (undefined) when the key is missing or expired. */
  get(key: string): V | undefined;
  get<D>(key: string, defaultValue: D): V | D;
  get(key: string, defaultValue?: unknown): unknown {
    if (typeof key !== 'string' || !isWellFormed(key)) throw invalidKey(key);
    const bytes = pooledRead(this.native, this.native.get, key);
    return bytes === undefined ? defaultValue : this.serializer.deserialize(bytes);
  }

  /** True if the key exists and has not expired. */
  has(key: string): boolean {
    if (typeof key !== 'string' || !isWellFormed(key)) throw invalidKey(key);
    return this.native.has(key);
  }

  /** Gets and deletes atomically. */
  pop(key: string): V | undefined;
  pop<D>(key: string, defaultValue: D): V | D;
  pop(key: string, defaultValue?: unknown): unknown {
    if (typeof key !== 'string' || !isWellFormed(key)) throw invalidKey(key);
    const bytes = pooledRead(this.native, this.native.pop, key);
    return bytes === undefined ? defaultValue : this.serializer.deserialize(bytes);
  }

  // ---- writes ---------------------------------------------------------------------------

  /** Stores `value` under `key`, replacing the whole entry (no tag given means no tag). */
  set(key: string, value: V, options?: O): this {
    if (typeof key !== 'string' || !isWellFormed(key)) throw invalidKey(key);
    if (options === undefined) {
      this.native.set(key, this.serializer.serialize(value));
    } else {
      const { expire, tag } = this.#setOptions(options, 'set options');
      this.native.set(key, this.serializer.serialize(value), expire, tag);
    }
    return this;
  }

  /** Stores only if the key is absent (or expired), atomically across processes; true if stored. */
  add(key: string, value: V, options?: O): boolean {
    checkKey(key);
    const { expire, tag } = this.#setOptions(options, 'add options');
    return this.native.add(key, this.serializer.serialize(value), expire, tag);
  }

  /** True if a live entry was removed. */
  delete(key: string): boolean {
    if (typeof key !== 'string' || !isWellFormed(key)) throw invalidKey(key);
    return this.native.delete(key);
  }

  /** Removes every entry, value files included. */
  clear(): void {
    this.native.clear();
  }

  /**
   * Adds `delta` to the integer stored under `key` (`defaultValue` when absent) in one
   * transaction, atomically across threads and processes, and returns the new value. The
   * value goes through the serializer, so `get` reads a number back. A stored value that is
   * not a safe integer is a NOT_A_NUMBER error; a result beyond Number.MAX_SAFE_INTEGER a
   * RangeError.
   */
  incr(key: string, delta = 1, defaultValue = 0): number {
    checkKey(key);
    checkSafeInteger(delta, 'delta');
    checkSafeInteger(defaultValue, 'default');
    return this.#addToCounter(key, delta, defaultValue);
  }

  /** incr(key, -delta, defaultValue). */
  decr(key: string, delta = 1, defaultValue = 0): number {
    checkKey(key);
    checkSafeInteger(delta, 'delta');
    checkSafeInteger(defaultValue, 'default');
    return this.#addToCounter(key, -delta, defaultValue);
  }

  #addToCounter(key: string, delta: number, defaultValue: number): number {
    return this.transactOn(key, () => {
      const bytes = pooledRead(this.native, this.native.peek, key); // not a look-up: not counted in stats
      let current = defaultValue;
      if (bytes !== undefined) {
        const stored: unknown = this.serializer.deserialize(bytes);
        if (typeof stored !== 'number' || !Number.isSafeInteger(stored)) {
          throw new SciqlopCacheError(
            `Expected an integer as the value of ${JSON.stringify(key)} for incr/decr but found ${describe(stored)}`,
            'NOT_A_NUMBER',
          );
        }
        current = stored;
      }
      const result = current + delta;
      if (!Number.isSafeInteger(result)) {
        throw new RangeError(
          `Expected incr/decr of ${JSON.stringify(key)} to stay within Number.MAX_SAFE_INTEGER but ${current} + ${delta} = ${result}`,
        );
      }
      // A live entry keeps its tag and expiry (SPEC §6); an absent one becomes a plain entry.
      const encoded = this.serializer.serialize(result as V);
      if (bytes === undefined || !this.native.update(key, encoded)) this.native.set(key, encoded);
      return result;
    });
  }

  // ---- asynchronous operations ----------------------------------------------------------
  //
  // Same semantics as the synchronous ones; the SQLite and file work runs on the store's
  // worker thread, serialization here (see lib/async.ts, binding/async_queue.hpp and the
  // README's "Async API"). They take effect in call order together with the synchronous
  // calls: a synchronous call waits for the asynchronous ones issued before it. They never
  // throw: bad arguments, a closed store or a failure reject the promise, with an error
  // whose stack starts at the caller's line. Inside transact(), they wait for the
  // transaction to end and are not part of it.

  #asyncOps: AsyncOps<V> | undefined;

  get #async(): AsyncOps<V> {
    return (this.#asyncOps ??= new AsyncOps(this.native, this.serializer));
  }

  /** get() off the main thread: the value, or `defaultValue` (undefined) when missing or expired. */
  getAsync(key: string): Promise<V | undefined>;
  getAsync<D>(key: string, defaultValue: D): Promise<V | D>;
  getAsync(key: string, defaultValue?: unknown): Promise<unknown> {
    const ops = this.#async;
    const site = ops.site(this.getAsync);
    try {
      checkKey(key);
      ops.native.asyncGet(key);
      return ops.track(GET, site, defaultValue);
    } catch (error) {
      return rejectAt(site, error, this.getAsync);
    }
  }

  /** getAsync() not counted in stats (memoize's look-up under its lock). */
  #peekAsync(key: string, defaultValue: unknown): Promise<unknown> {
    const ops = this.#async;
    const site = ops.site(this.#peekAsync);
    try {
      ops.native.asyncPeek(key);
      return ops.track(GET, site, defaultValue);
    } catch (error) {
      return rejectAt(site, error, this.#peekAsync);
    }
  }

  /** has() off the main thread. */
  hasAsync(key: string): Promise<boolean> {
    const ops = this.#async;
    const site = ops.site(this.hasAsync);
    try {
      checkKey(key);
      ops.native.asyncHas(key);
      return ops.track(HAS, site);
    } catch (error) {
      return rejectAt(site, error, this.hasAsync);
    }
  }

  /** pop() off the main thread: gets and deletes atomically. */
  popAsync(key: string): Promise<V | undefined>;
  popAsync<D>(key: string, defaultValue: D): Promise<V | D>;
  popAsync(key: string, defaultValue?: unknown): Promise<unknown> {
    const ops = this.#async;
    const site = ops.site(this.popAsync);
    try {
      checkKey(key);
      ops.native.asyncPop(key);
      return ops.track(POP, site, defaultValue);
    } catch (error) {
      return rejectAt(site, error, this.popAsync);
    }
  }

  /** delete() off the main thread: true if a live entry was removed. */
  deleteAsync(key: string): Promise<boolean> {
    const ops = this.#async;
    const site = ops.site(this.deleteAsync);
    try {
      checkKey(key);
      ops.native.asyncDelete(key);
      return ops.track(HAS, site);
    } catch (error) {
      return rejectAt(site, error, this.deleteAsync);
    }
  }

  /**
   * set() off the main thread; resolves to undefined once the entry is committed. Writes of
   * the same event-loop turn are committed together.
   */
  setAsync(key: string, value: V, options?: O): Promise<void> {
    const ops = this.#async;
    let serializing = false;
    try {
      if (typeof key !== 'string' || !isWellFormed(key)) throw invalidKey(key);
      const o = options === undefined ? undefined : this.#setOptions(options, 'set options');
      serializing = true;
      const bytes = this.serializer.serialize(value);
      serializing = false;
      // small values join the batch of setAsync calls being gathered (lib/async.ts)
      return o === undefined
        ? ops.set(this.setAsync, key, bytes, undefined, undefined)
        : ops.set(this.setAsync, key, bytes, o.expire, o.tag);
    } catch (error) {
      return rejectAt(undefined, error, this.setAsync, serializing);
    }
  }

  /** add() off the main thread: stores only if the key is absent (or expired); true if stored. */
  addAsync(key: string, value: V, options?: O): Promise<boolean> {
    const ops = this.#async;
    const site = ops.site(this.addAsync);
    let serializing = false;
    try {
      checkKey(key);
      const { expire, tag } = this.#setOptions(options, 'add options');
      serializing = true;
      const bytes = this.serializer.serialize(value);
      serializing = false;
      ops.native.asyncAdd(key, bytes, expire, tag);
      return ops.track(HAS, site);
    } catch (error) {
      return rejectAt(site, error, this.addAsync, serializing);
    }
  }

  /**
   * incr() off the main thread: the read, the addition (through the serializer, on this
   * thread) and the write happen in one transaction of the store's worker.
   */
  incrAsync(key: string, delta = 1, defaultValue = 0): Promise<number> {
    return this.#counterAsync(this.incrAsync, key, delta, defaultValue, 1);
  }

  /** incrAsync(key, -delta, defaultValue). */
  decrAsync(key: string, delta = 1, defaultValue = 0): Promise<number> {
    return this.#counterAsync(this.decrAsync, key, delta, defaultValue, -1);
  }

  #counterAsync(api: Function, key: string, delta: number, defaultValue: number, sign: 1 | -1): Promise<number> {
    const ops = this.#async;
    const site = ops.site(api);
    try {
      checkKey(key);
      checkSafeInteger(delta, 'delta');
      checkSafeInteger(defaultValue, 'default');
      ops.native.asyncIncr(key);
      return ops.track(INCR, site, { key, delta: sign * delta, defaultValue });
    } catch (error) {
      return rejectAt(site, error, api);
    }
  }

  /** The values of `keys` (undefined for the missing ones), read in one pass of the worker. */
  getManyAsync(keys: readonly string[]): Promise<Array<V | undefined>> {
    const ops = this.#async;
    const site = ops.site(this.getManyAsync);
    try {
      if (!Array.isArray(keys)) throw new TypeError(expected('an array of strings', 'keys', keys));
      for (let i = 0; i < keys.length; i++) checkKey(keys[i], `keys[${i}]`);
      ops.native.asyncGetMany(keys as string[]);
      return ops.track(GET_MANY, site);
    } catch (error) {
      return rejectAt(site, error, this.getManyAsync);
    }
  }

  /**
   * Sets every [key, value] of `entries` (an array of pairs, a Map...) in one transaction
   * (for a fanout, one per shard): all of them or none. `options` apply to each entry.
   */
  setManyAsync(entries: Iterable<readonly [string, V]>, options?: O): Promise<void> {
    const ops = this.#async;
    const site = ops.site(this.setManyAsync);
    let serializing = false;
    try {
      if (entries === null || typeof (entries as { [Symbol.iterator]?: unknown })?.[Symbol.iterator] !== 'function') {
        throw new TypeError(expected('an iterable of [key, value] pairs', 'entries', entries));
      }
      const { expire, tag } = this.#setOptions(options, 'setMany options');
      const keys: string[] = [];
      const values: Uint8Array[] = [];
      for (const entry of entries) {
        if (!Array.isArray(entry) || entry.length < 2) {
          throw new TypeError(expected('a [key, value] pair', `entries[${keys.length}]`, entry));
        }
        checkKey(entry[0], `entries[${keys.length}][0]`);
        serializing = true;
        values.push(this.serializer.serialize(entry[1] as V));
        serializing = false;
        keys.push(entry[0]);
      }
      ops.native.asyncSetMany(keys, values, expire, tag);
      return ops.track(SET, site);
    } catch (error) {
      return rejectAt(site, error, this.setManyAsync, serializing);
    }
  }

  // ---- Map-compatible iteration ---------------------------------------------------------

  /** Number of live entries. */
  get size(): number {
    return this.native.count();
  }

  /** Live keys in byte order, from a snapshot taken now. */
  keys(): MapIterator<string> {
    return this.native.keys()[Symbol.iterator]();
  }

  /** Values of the keys live now, read as the iteration reaches them (deleted ones skipped). */
  values(): MapIterator<V> {
    return this.#iterate(this.native.keys(), (_key, value) => value) as MapIterator<V>;
  }

  /** [key, value] pairs, like values(). */
  entries(): MapIterator<[string, V]> {
    return this.#iterate(this.native.keys(), (key, value): [string, V] => [key, value]) as MapIterator<[string, V]>;
  }

  [Symbol.iterator](): MapIterator<[string, V]> {
    return this.entries();
  }

  forEach(callback: (value: V, key: string, store: this) => void, thisArg?: unknown): void {
    checkFunction(callback, 'callback');
    for (const [key, value] of this.entries()) callback.call(thisArg, value, key, this);
  }

  *#iterate<T>(keys: string[], project: (key: string, value: V) => T): Generator<T, undefined, undefined> {
    for (const key of keys) {
      const bytes = pooledRead(this.native, this.native.peek, key); // iteration is not counted in stats
      if (bytes !== undefined) yield project(key, this.serializer.deserialize(bytes));
    }
    return undefined;
  }

  abstract get [Symbol.toStringTag](): string;

  // ---- transactions ---------------------------------------------------------------------

  /**
   * @internal Runs `fn` in a transaction on the store, or for a fanout on the shard of
   * `shardKey`. Reentrant: a nested call is a savepoint, committed with the outer
   * transaction; a throw rolls back to where this call started. A `fn` returning a promise
   * is rolled back and rejected with a TypeError, since the transaction cannot span an await.
   */
  protected transactOn<R>(shardKey: string | undefined, fn: () => R): R {
    checkFunction(fn, 'fn');
    const native = this.native;
    native.begin(shardKey);
    let result: R;
    try {
      result = fn();
    } catch (error) {
      rollbackQuietly(native, shardKey);
      throw error;
    }
    if (isThenable(result)) {
      rollbackQuietly(native, shardKey);
      throw new TypeError(
        expected('a synchronous function', 'transact', result) +
          ' (a function returning a promise cannot run inside a transaction; it was rolled back)',
      );
    }
    try {
      native.commit(shardKey);
    } catch (error) {
      rollbackQuietly(native, shardKey);
      throw error;
    }
    return result;
  }

  // ---- locks, memoize, object view ------------------------------------------------------

  /** A cross-process lock stored under `key` (so `has(key)` sees it); see Lock. */
  lock(key: string, options?: O): Lock {
    checkKey(key);
    const { expire, tag } = this.#setOptions(options, 'lock options');
    this.#assertOpen();
    return new Lock(this.#lockBackend(), key, expire, tag);
  }

  /** Acquires the lock on `key`, runs `fn`, and releases the lock however `fn` ends. */
  async withLock<R>(key: string, fn: () => R | PromiseLike<R>, options?: O & AcquireOptions): Promise<Awaited<R>> {
    checkKey(key);
    checkFunction(fn, 'fn');
    const o = checkOptions<SetOptions & AcquireOptions>(options, [...this.#kind.setOptions, 'timeout'], 'withLock options');
    const { timeout, ...lockOptions } = o;
    const lock = this.lock(key, lockOptions as O);
    await lock.acquire({ timeout });
    try {
      return await fn();
    } finally {
      lock.release();
    }
  }

  /** Wraps `fn` so that its results are cached in this store; see memoize.ts. */
  memoize<F extends (...args: any[]) => any>(fn: F, options?: MemoizeOptions): Memoized<F> {
    const o = checkOptions<MemoizeOptions>(
      options,
      ['name', 'typed', 'version', 'lock', ...this.#kind.setOptions],
      'memoize options',
    );
    if (o.lock !== null && typeof o.lock === 'object' && !this.#kind.setOptions.includes('expire')) {
      checkOptions(o.lock, ['timeout'], `${this.#kind.label} memoize lock options`);
    }
    this.#assertOpen();
    const native = this.native;
    const serializer = this.serializer;
    return memoize(
      {
        get: (key, missing) => {
          const bytes = pooledRead(native, native.get, key);
          return bytes === undefined ? missing : serializer.deserialize(bytes);
        },
        peek: (key, missing) => {
          const bytes = pooledRead(native, native.peek, key);
          return bytes === undefined ? missing : serializer.deserialize(bytes);
        },
        set: (key, value, expire, tag) => native.set(key, serializer.serialize(value as V), expire, tag),
        getAsync: (key, missing) => this.getAsync(key, missing),
        peekAsync: (key, missing) => this.#peekAsync(key, missing),
        setAsync: (key, value, expire, tag) =>
          this.setAsync(key, value as V, (expire === undefined && tag === undefined ? undefined : { expire, tag }) as O),
        lock: (key, expire) => new Lock(this.#lockBackend(), key, expire, undefined),
      },
      fn,
      o,
    );
  }

  /** A Proxy over the store: `o.k`, `o['k'] = v`, `delete o.k`, `'k' in o`, `Object.keys(o)`. */
  asObject(): Record<string, V> {
    this.#assertOpen();
    return createObjectView<V>({
      get: (key) => this.get(key),
      peek: (key) => {
        const bytes = pooledRead(this.native, this.native.peek, key);
        return bytes === undefined
          ? { found: false, value: undefined }
          : { found: true, value: this.serializer.deserialize(bytes) };
      },
      set: (key, value) => void this.set(key, value),
      delete: (key) => this.delete(key),
      has: (key) => this.has(key),
      keys: () => this.native.keys(),
    });
  }

  // ---- integrity and disk usage ---------------------------------------------------------

  /** Total bytes of the stored values (the Python `size()`). */
  valueBytes(): number {
    return this.native.valueBytes();
  }

  /** Total bytes on disk: database, WAL and value files. */
  volume(): number {
    return this.native.volume();
  }

  /** Reports orphaned files, dangling rows, size mismatches and counter drift; `fix` repairs them after reporting. */
  check(fix = false): CheckResult {
    if (typeof fix !== 'boolean') throw new TypeError(expected('a boolean', 'fix', fix));
    return this.native.check(fix);
  }

  // ---- lifetime -------------------------------------------------------------------------

  /** Releases the database and stops background work. Idempotent; any later call throws CLOSED. */
  close(): void {
    this.#forgetOnExit();
    this.native.close();
  }

  get closed(): boolean {
    return this.native.isClosed();
  }

  [disposeSymbol](): void {
    this.close();
  }

  // ---- helpers --------------------------------------------------------------------------

  #setOptions(options: unknown, what: string): { expire: number | undefined; tag: string | undefined } {
    if (options === undefined) return { expire: undefined, tag: undefined };
    const o = checkOptions<SetOptions>(options, this.#kind.setOptions, `${this.#kind.label} ${what}`);
    return { expire: checkExpire(o.expire), tag: checkTag(o.tag) };
  }

  #assertOpen(): void {
    if (this.native.isClosed()) throw closedError();
  }

  #lockBackend(): LockBackend {
    const native = this.native;
    return {
      addRaw: (key, bytes, expire, tag) => native.add(key, bytes, expire, tag),
      peekRaw: (key) => native.peek(key),
      deleteRaw: (key) => native.delete(key),
      hasRaw: (key) => native.has(key),
      transactOn: (key, fn) => this.transactOn(key, fn),
      encodeToken: (token) => encodeLockToken(this.serializer, token),
    };
  }
}

type PooledNativeRead = (key: string, pool: ArrayBuffer, offset: number) => Buffer | number | undefined;

/**
 * A synchronous read of a value through the read pool (see read-pool.ts): `read` is the
 * native store's get, peek or pop (passed as a method, not a name: a keyed look-up cost 5 %).
 */
function pooledRead(native: NativeStore, read: PooledNativeRead, key: string): Buffer | undefined {
  const pool = readPool();
  const offset = pool.offset;
  return pooledResult(pool, offset, read.call(native, key, pool.buffer, offset));
}

/** A key whose shard is shard 0 (the fanout's transactions are per shard). */
function keyOfShardZero(native: NativeFanout): string {
  for (let i = 0; ; i++) if (native.shardIndex(String(i)) === 0) return String(i);
}

function rollbackQuietly(native: NativeStore, shardKey: string | undefined): void {
  try {
    native.rollback(shardKey);
  } catch {
    // The error that made us roll back is the one to report (the store may be closed).
  }
}

/**
 * A lock's token in the store's format when the serializer takes strings, so `get(lockKey)`
 * reads it back; raw UTF-8 otherwise (a BytesSerializer reads it as a Buffer).
 */
function encodeLockToken(serializer: Serializer, token: string): Uint8Array {
  try {
    return serializer.serialize(token);
  } catch {
    return Buffer.from(token, 'utf8');
  }
}
