/**
 * sciqlop-cache: a fast, persistent key-value cache (SQLite plus value files, native core
 * through N-API). See README.md for a tour and SPEC.md for the contract.
 */
export { Cache, CacheStore } from './cache';
export { Index, type IndexSetOptions } from './index-store';
export { FanoutCache, FanoutIndex } from './fanout';
export {
  BaseStore,
  type CacheOptions,
  type CheckResult,
  type Durability,
  type FanoutOptions,
  type SetOptions,
  type Stats,
  type StoreOptions,
} from './store';
export { SciqlopCacheError } from './errors';
export { BytesSerializer, JsonSerializer, MsgpackSerializer, type Serializer, V8Serializer } from './serializers';
export { Lock, type AcquireOptions } from './lock';
export type { Memoized, MemoizeOptions } from './memoize';
export { migrate, type MigrateOptions, type MigrateResult } from './migrate';

import { binding } from './native';
/** Version of the native engine. */
export const nativeVersion: string = binding.version;
