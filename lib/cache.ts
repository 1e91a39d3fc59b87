/**
 * Cache: a store with expiration, an LRU size limit, tags and hit/miss statistics.
 * CacheStore holds what Cache and FanoutCache share; they differ only in `transact`.
 */
import type { NativeCacheStore } from './native';
import { type CacheOptions, BaseStore, type SetOptions, type Stats, type StoreKind } from './store';
import { checkExpire, checkTag, invalidKey, isWellFormed, expected } from './validate';

export abstract class CacheStore<V = any> extends BaseStore<V, SetOptions> {
  /** Changes the expiry of a live entry (null: never expires); true if it existed. */
  touch(key: string, expire: number | null | undefined): boolean {
    if (typeof key !== 'string' || !isWellFormed(key)) throw invalidKey(key);
    return this.#native.touch(key, checkExpire(expire));
  }

  /** Removes expired entries now; returns how many. */
  expire(): number {
    return this.#native.expire();
  }

  /** One LRU pass now: when over maxSize, evicts least recently used entries down to 90 %. */
  evict(): number {
    return this.#native.evict();
  }

  /** Removes every entry with this tag; returns how many. */
  evictTag(tag: string): number {
    const checked = checkTag(tag);
    if (checked === undefined) throw new TypeError(expected('a string', 'tag', tag));
    return this.#native.evictTag(checked);
  }

  /** Hits and misses of get, pop and memoize look-ups by this instance. */
  stats(): Stats {
    return this.#native.stats();
  }

  resetStats(): void {
    this.#native.resetStats();
  }

  /** The size limit in value bytes (0 = unlimited); for a fanout, the total over its shards. */
  get maxSize(): number {
    return this.#native.maxSize();
  }

  get #native(): NativeCacheStore {
    return this.native as NativeCacheStore;
  }
}

const cacheKind: StoreKind = {
  native: 'Cache',
  label: 'Cache',
  options: ['maxSize', 'serializer', 'durability'],
  setOptions: ['expire', 'tag'],
};

export class Cache<V = any> extends CacheStore<V> {
  constructor(directory: string, options?: CacheOptions<V>) {
    super(cacheKind, directory, options);
  }

  /**
   * Runs `fn` in one transaction: commits when it returns, rolls back when it throws.
   * Reentrant: a nested transact joins this one, and rolling this one back discards the
   * nested work too. `fn` must be synchronous (a returned promise is a TypeError).
   */
  transact<R>(fn: () => R): R {
    return this.transactOn(undefined, fn);
  }

  get [Symbol.toStringTag](): string {
    return 'Cache';
  }
}
