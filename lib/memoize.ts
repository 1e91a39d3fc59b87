/**
 * memoize(): caches a function's results in a store. The key is
 * `name + ':' + sha256(v8.serialize(args))` in hex (with each argument's type when `typed`),
 * so it is stable across processes and restarts. When `version` is given it is hashed in
 * front of the arguments: bumping it invalidates every earlier result.
 *
 * Thrown errors and rejected promises are not cached. Concurrent calls of an async function
 * with the same key share one computation. A function is async when it is an `async
 * function`, or once it has returned a promise; a hit of an async function returns a
 * resolved promise. An async function's look-up and store go through the store's async
 * operations (getAsync/setAsync: off the main thread); its result is returned once stored.
 *
 * `lock` adds stampede protection across processes: on a miss, the caller takes the lock
 * `<key>:lock` (the store's cross-process lock, lock.ts), looks again (another process may
 * have computed the value while it waited), and only then computes and stores; the others
 * wait for the lock and then find the value. `lock: { timeout }` bounds that wait (seconds;
 * a LOCK_TIMEOUT error after it); `lock: { expire }` (Cache only) lets a lock left by a
 * crashed process lapse. A failed computation releases the lock without storing anything,
 * so the next waiter computes.
 */
import { createHash } from 'node:crypto';
import * as v8 from 'node:v8';
import type { Lock } from './lock';
import { asTypeError, checkBoolean, checkExpire, checkFunction, checkOptions, checkTag, checkTimeout, expected } from './validate';

export interface MemoizeOptions {
  /** Key prefix; defaults to the function's name and is required when that is empty. */
  name?: string | undefined;
  /** Seconds each result lives (Cache only). */
  expire?: number | null | undefined;
  /** Tag of the stored results (Cache only), for `evictTag`. */
  tag?: string | null | undefined;
  /** Tell arguments apart by their type too (a Buffer from a Uint8Array with the same bytes). */
  typed?: boolean | undefined;
  /** Part of the key: change it when the function's results change. */
  version?: string | number | undefined;
  /** Only one process computes a missing result, the others wait for it (see above). */
  lock?: boolean | MemoizeLockOptions | undefined;
}

export interface MemoizeLockOptions {
  /** Seconds to wait for the process computing the result; undefined: no limit. */
  timeout?: number | null | undefined;
  /** Seconds after which the lock lapses (Cache only); undefined: never. */
  expire?: number | null | undefined;
}

export type Memoized<F extends (...args: any[]) => any> = F & {
  /** The store key a call with these arguments reads and writes. */
  cacheKey(...args: Parameters<F>): string;
};

/** What memoize needs from its store. */
export interface MemoizeBackend {
  /** `get` counted in stats; `missing` on a miss. */
  get<D>(key: string, missing: D): unknown;
  /** Like get, not counted in stats (the look-up again under the lock). */
  peek<D>(key: string, missing: D): unknown;
  set(key: string, value: unknown, expire: number | undefined, tag: string | undefined): void;
  getAsync<D>(key: string, missing: D): Promise<unknown>;
  peekAsync<D>(key: string, missing: D): Promise<unknown>;
  setAsync(key: string, value: unknown, expire: number | undefined, tag: string | undefined): Promise<void>;
  /** The store's cross-process lock on `key`. */
  lock(key: string, expire: number | undefined): Lock;
}

const missing: unique symbol = Symbol('missing');

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

function typeOfArgument(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object' && typeof value !== 'function') return typeof value;
  const ctor = (value as { constructor?: { name?: unknown } }).constructor;
  return `object:${typeof ctor?.name === 'string' ? ctor.name : ''}`;
}

export function memoize<F extends (...args: any[]) => any>(
  backend: MemoizeBackend,
  fn: F,
  options: MemoizeOptions,
): Memoized<F> {
  checkFunction(fn, 'fn');
  const name = options.name ?? fn.name;
  if (typeof name !== 'string' || name === '') {
    throw new TypeError(expected('a non-empty string (the function has no name)', 'name', options.name));
  }
  const expire = checkExpire(options.expire);
  const tag = checkTag(options.tag);
  const typed = options.typed === undefined ? false : checkBoolean(options.typed, 'typed');
  const version = options.version;
  if (version !== undefined && typeof version !== 'string' && typeof version !== 'number') {
    throw new TypeError(expected('a string or a number', 'version', version));
  }
  const versionPrefix = version === undefined ? undefined : `version:${typeof version}:${String(version)}\0`;
  const lockOptions = checkLockOption(options.lock);

  const cacheKey = (args: unknown[]): string => {
    const hash = createHash('sha256');
    if (versionPrefix !== undefined) hash.update(versionPrefix);
    let bytes: Buffer;
    try {
      bytes = v8.serialize(typed ? [args, args.map(typeOfArgument)] : args);
    } catch (error) {
      throw asTypeError(error, /could not be cloned\.?$/, 'structured-cloneable arguments', args);
    }
    hash.update(bytes);
    return `${name}:${hash.digest('hex')}`;
  };

  let isAsync = Object.prototype.toString.call(fn) === '[object AsyncFunction]';
  const inFlight = new Map<string, Promise<unknown>>();

  /** Stores a promised result once it is settled; resolves to it after that. */
  const storeWhenSettled = (key: string, result: PromiseLike<unknown>): Promise<unknown> =>
    Promise.resolve(result).then(async (value) => {
      await backend.setAsync(key, value, expire, tag);
      return value;
    });

  /**
   * A miss of a sync function (or the first call of one not known to be async yet): the
   * result, stored, or a promise of it that resolves once stored.
   */
  const computeSync = (self: unknown, args: unknown[], key: string): unknown => {
    const lock = lockOptions && backend.lock(`${key}:lock`, lockOptions.expire);
    let releaseNow = true;
    try {
      if (lock) {
        lock.acquireSync({ timeout: lockOptions!.timeout });
        const cached = backend.peek(key, missing);
        if (cached !== missing) return cached;
      }
      const result: unknown = fn.apply(self, args);
      if (!isThenable(result)) {
        backend.set(key, result, expire, tag);
        return result;
      }
      const stored = storeWhenSettled(key, result);
      if (!lock) return stored;
      releaseNow = false;
      return stored.finally(() => lock.release());
    } finally {
      if (lock && releaseNow) lock.release();
    }
  };

  const callAsync = async (self: unknown, args: unknown[], key: string): Promise<unknown> => {
    const cached = await backend.getAsync(key, missing);
    if (cached !== missing) return cached;
    if (lockOptions === undefined) {
      const value = await fn.apply(self, args);
      await backend.setAsync(key, value, expire, tag);
      return value;
    }
    const lock = backend.lock(`${key}:lock`, lockOptions.expire);
    await lock.acquire({ timeout: lockOptions.timeout });
    try {
      const computed = await backend.peekAsync(key, missing);
      if (computed !== missing) return computed;
      const value = await fn.apply(self, args);
      await backend.setAsync(key, value, expire, tag);
      return value;
    } finally {
      lock.release();
    }
  };

  const share = (key: string, promise: Promise<unknown>): Promise<unknown> => {
    inFlight.set(key, promise);
    const forget = (): void => void inFlight.delete(key);
    promise.then(forget, forget);
    return promise;
  };

  const memoized = function (this: unknown, ...args: unknown[]): unknown {
    const key = cacheKey(args);
    if (isAsync) return inFlight.get(key) ?? share(key, callAsync(this, args, key));
    const cached = backend.get(key, missing);
    if (cached !== missing) return cached;

    const result: unknown = computeSync(this, args, key);
    if (!isThenable(result)) return result;
    isAsync = true;
    return share(key, result as Promise<unknown>);
  };

  Object.defineProperty(memoized, 'name', { value: fn.name, configurable: true });
  Object.defineProperty(memoized, 'length', { value: fn.length, configurable: true });
  return Object.assign(memoized, { cacheKey: (...args: Parameters<F>) => cacheKey(args) }) as unknown as Memoized<F>;
}

function checkLockOption(value: unknown): { timeout: number | undefined; expire: number | undefined } | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return { timeout: undefined, expire: undefined };
  if (value === null || typeof value !== 'object') {
    throw new TypeError(expected('a boolean or { timeout?, expire? }', 'lock', value));
  }
  const o = checkOptions<MemoizeLockOptions>(value, ['timeout', 'expire'], 'memoize lock options');
  return { timeout: checkTimeout(o.timeout, 'lock.timeout'), expire: checkExpire(o.expire, 'lock.expire') };
}
