/**
 * FanoutCache and FanoutIndex: N independent shards (subfolders 00, 01, ...), a key going to
 * shard FNV-1a 64(UTF-8 key) mod N. The count is recorded in fanout.json; reopening without
 * `shardCount` uses it, with another one is a SHARD_COUNT_MISMATCH error. Transactions are
 * per shard: `transact(key, fn)` runs on the shard of `key`.
 */
import { CacheStore } from './cache';
import type { IndexSetOptions } from './index-store';
import type { NativeFanout } from './native';
import { BaseStore, type CacheOptions, type FanoutOptions, type StoreKind, type StoreOptions } from './store';
import { invalidKey, isWellFormed } from './validate';

const fanoutCacheKind: StoreKind = {
  native: 'FanoutCache',
  label: 'FanoutCache',
  options: ['maxSize', 'serializer', 'durability', 'shardCount'],
  setOptions: ['expire', 'tag'],
};

const fanoutIndexKind: StoreKind = {
  native: 'FanoutIndex',
  label: 'FanoutIndex',
  options: ['serializer', 'durability', 'shardCount'],
  setOptions: [],
};

export class FanoutCache<V = any> extends CacheStore<V> {
  /** `maxSize` is the total over all shards. */
  constructor(directory: string, options?: CacheOptions<V> & FanoutOptions) {
    super(fanoutCacheKind, directory, options);
  }

  get shardCount(): number {
    return (this.native as unknown as NativeFanout).shardCount();
  }

  /** Like Cache.transact, on the shard of `key` only. */
  transact<R>(key: string, fn: () => R): R {
    if (typeof key !== 'string' || !isWellFormed(key)) throw invalidKey(key);
    return this.transactOn(key, fn);
  }

  get [Symbol.toStringTag](): string {
    return 'FanoutCache';
  }
}

export class FanoutIndex<V = any> extends BaseStore<V, IndexSetOptions> {
  constructor(directory: string, options?: StoreOptions<V> & FanoutOptions) {
    super(fanoutIndexKind, directory, options);
  }

  get shardCount(): number {
    return (this.native as unknown as NativeFanout).shardCount();
  }

  /** Like Index.transact, on the shard of `key` only. */
  transact<R>(key: string, fn: () => R): R {
    if (typeof key !== 'string' || !isWellFormed(key)) throw invalidKey(key);
    return this.transactOn(key, fn);
  }

  get [Symbol.toStringTag](): string {
    return 'FanoutIndex';
  }
}
