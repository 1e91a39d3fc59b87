/**
 * memoize(): caches a function's results in a store. The key is
 * `name + ':' + sha256(v8.serialize(args))` in hex (with each argument's type when `typed`),
 * so it is stable across processes and restarts. When `version` is given it is hashed in
 * front of the arguments: bumping it invalidates every earlier result.
 *
 * Thrown errors and rejected promises are not cached. Concurrent calls of an async function
 * with the same key share one computation. A function is async when it is an `async
 * function`, or once it has returned a promise; a hit of an async function returns a
 * resolved promise.
 */
import { createHash } from 'node:crypto';
import * as v8 from 'node:v8';
import { checkBoolean, checkExpire, checkFunction, checkTag, expected } from './validate';

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
}

export type Memoized<F extends (...args: any[]) => any> = F & {
  /** The store key a call with these arguments reads and writes. */
  cacheKey(...args: Parameters<F>): string;
};

/** What memoize needs from its store. */
export interface MemoizeBackend {
  /** `get` counted in stats; `missing` on a miss. */
  get<D>(key: string, missing: D): unknown;
  set(key: string, value: unknown, expire: number | undefined, tag: string | undefined): void;
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

  const cacheKey = (args: unknown[]): string => {
    const hash = createHash('sha256');
    if (versionPrefix !== undefined) hash.update(versionPrefix);
    hash.update(v8.serialize(typed ? [args, args.map(typeOfArgument)] : args));
    return `${name}:${hash.digest('hex')}`;
  };

  let isAsync = Object.prototype.toString.call(fn) === '[object AsyncFunction]';
  const inFlight = new Map<string, Promise<unknown>>();

  const memoized = function (this: unknown, ...args: unknown[]): unknown {
    const key = cacheKey(args);
    if (isAsync) {
      const pending = inFlight.get(key);
      if (pending !== undefined) return pending;
    }
    const cached = backend.get(key, missing);
    if (cached !== missing) return isAsync ? Promise.resolve(cached) : cached;

    const result: unknown = fn.apply(this, args);
    if (!isThenable(result)) {
      backend.set(key, result, expire, tag);
      return result;
    }
    isAsync = true;
    const promise = Promise.resolve(result).then(
      (value) => {
        inFlight.delete(key);
        backend.set(key, value, expire, tag);
        return value;
      },
      (error: unknown) => {
        inFlight.delete(key);
        throw error;
      },
    );
    inFlight.set(key, promise);
    return promise;
  };

  Object.defineProperty(memoized, 'name', { value: fn.name, configurable: true });
  Object.defineProperty(memoized, 'length', { value: fn.length, configurable: true });
  return Object.assign(memoized, { cacheKey: (...args: Parameters<F>) => cacheKey(args) }) as unknown as Memoized<F>;
}
