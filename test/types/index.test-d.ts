// Type tests of the published declarations (dist/index.d.ts), run by `npm run test:types`
// (tsd). They pin down what a TypeScript user sees: generic value types flowing through the
// API, the options each store accepts, and the errors the compiler must report.
import { expectAssignable, expectError, expectNotAssignable, expectType } from 'tsd';
import {
  BytesSerializer,
  Cache,
  type CacheOptions,
  type CheckResult,
  FanoutCache,
  FanoutIndex,
  Index,
  JsonSerializer,
  Lock,
  type Memoized,
  MsgpackSerializer,
  SciqlopCacheError,
  type Serializer,
  type SetOptions,
  type Stats,
  V8Serializer,
  nativeVersion,
} from '../..';

interface Reading {
  ts: number;
  values: number[];
}

// ---- stores and their value type -------------------------------------------------------
const cache = new Cache<Reading>('./cache', { maxSize: 1e9, durability: 'power' });
expectType<Reading | undefined>(cache.get('k'));
expectType<Reading | null>(cache.get('k', null));
expectType<Cache<Reading>>(cache.set('k', { ts: 1, values: [1] }));
expectType<Cache<Reading>>(cache.set('k', { ts: 1, values: [] }, { expire: 1.5, tag: 'sensor' }));
expectError(cache.set('k', { ts: 'not a number', values: [] }));
expectError(cache.set(1, { ts: 1, values: [] }));
expectType<boolean>(cache.add('k', { ts: 1, values: [] }, { expire: null }));
expectType<Reading | undefined>(cache.pop('k'));
expectType<boolean>(cache.has('k'));
expectType<boolean>(cache.delete('k'));
expectType<boolean>(cache.touch('k', 60));
expectType<number>(cache.expire());
expectType<number>(cache.evict());
expectType<number>(cache.evictTag('sensor'));
expectType<number>(cache.size);
expectType<number>(cache.valueBytes());
expectType<number>(cache.volume());
expectType<Stats>(cache.stats());
expectType<CheckResult>(cache.check(true));
expectType<boolean>(cache.check().ok);
expectType<string>(cache.transact(() => 'result'));
expectType<number>(cache.incr('counter', 2, 0));
expectType<Lock>(cache.lock('resource', { expire: 10 }));
expectType<Promise<Lock>>(cache.lock('resource').acquire({ timeout: 1 }));
expectType<Promise<number>>(cache.withLock('resource', async () => 42));

for (const [key, value] of cache) {
  expectType<string>(key);
  expectType<Reading>(value);
}
expectAssignable<IterableIterator<string>>(cache.keys());
expectAssignable<Iterable<Reading>>(cache.values());

const memoized = cache.memoize(async (x: number, y: string) => `${x}${y}`, { name: 'f', expire: 60 });
expectType<Memoized<(x: number, y: string) => Promise<string>>>(memoized);
expectType<Promise<string>>(memoized(1, 'a'));
expectType<string>(memoized.cacheKey(1, 'a'));
expectError(memoized('a', 1));

// The default value type is `any`, as with Map-like stores read back from disk.
const untyped = new Cache('./cache');
expectType<any>(untyped.get('k'));

// An Index has no expiration, tags, eviction or stats.
const index = new Index<string>('./index');
expectType<string | undefined>(index.get('k'));
expectType<Index<string>>(index.set('k', 'v'));
expectError(index.set('k', 'v', { expire: 10 }));
expectError(index.touch('k', 10));
expectError(index.stats());
expectError(new Index('./index', { maxSize: 10 }));

// Fanout stores: shardCount, and transact scoped to a key's shard.
const fanout = new FanoutCache<number>('./fanout', { shardCount: 4, maxSize: 1e6 });
expectType<number | undefined>(fanout.get('k'));
expectType<boolean>(fanout.transact('k', () => true));
expectError(fanout.transact(() => true));
const fanoutIndex = new FanoutIndex<Uint8Array>('./fanout-index', { shardCount: 2, serializer: new BytesSerializer() });
expectType<Uint8Array | undefined>(fanoutIndex.get('k'));

// ---- options -----------------------------------------------------------------------------
expectAssignable<CacheOptions>({ maxSize: 0, serializer: new JsonSerializer(), durability: 'process' });
expectNotAssignable<CacheOptions>({ durability: 'disk' });
expectNotAssignable<SetOptions>({ expire: '60' });
expectError(new Cache('./cache', { durability: 'disk' }));
expectError(new Cache(42));

// ---- serializers -------------------------------------------------------------------------
expectAssignable<Serializer>(new V8Serializer());
expectAssignable<Serializer>(new MsgpackSerializer());
expectAssignable<Serializer>(new JsonSerializer());
expectAssignable<Serializer<Uint8Array>>(new BytesSerializer());
const custom: Serializer<Date> = {
  name: 'date',
  serialize: (d) => new TextEncoder().encode(d.toISOString()),
  deserialize: (b) => new Date(new TextDecoder().decode(b)),
};
expectType<Date | undefined>(new Cache<Date>('./dates', { serializer: custom }).get('k'));
expectError(new Cache<Date>('./dates', { serializer: new BytesSerializer() }));

// ---- errors and the rest -----------------------------------------------------------------
declare const err: SciqlopCacheError;
expectAssignable<Error>(err);
expectType<string>(err.code);
expectType<string>(nativeVersion);
cache.close();
cache[Symbol.dispose]();
