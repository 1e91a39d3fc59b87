/**
 * Loads the N-API addon (binding/) with node-gyp-build: build/Release/sciqlop-cache.node
 * from a local build first, then prebuilds/<platform>-<arch>/. The addon is context-aware,
 * so every worker thread and every jest realm gets its own instance.
 */
import * as path from 'node:path';
import { SciqlopCacheError } from './errors';

export interface NativeCheckResult {
  ok: boolean;
  orphanedFiles: number;
  danglingRows: number;
  sizeMismatches: number;
  countersConsistent: boolean;
  sqliteIntegrityOk: boolean;
}

export interface NativeStats {
  hits: number;
  misses: number;
}

/**
 * The methods every native store has. Values cross as bytes only; reads return an ordinary
 * Buffer (filled by the engine with one copy) or undefined on a miss. `shardKey` selects the
 * shard a fanout's transaction runs on and is ignored by single stores.
 */
export interface NativeStore {
  get(key: string): Buffer | undefined;
  /**
   * With a read pool (lib/read-pool.ts): a value of at most 4 KiB is written into `pool` at
   * `offset` and its size returned; a larger one comes back as a Buffer of its own.
   */
  get(key: string, pool: ArrayBuffer, offset: number): Buffer | number | undefined;
  /** Like get() but not counted in stats. */
  peek(key: string): Buffer | undefined;
  peek(key: string, pool: ArrayBuffer, offset: number): Buffer | number | undefined;
  pop(key: string): Buffer | undefined;
  pop(key: string, pool: ArrayBuffer, offset: number): Buffer | number | undefined;
  has(key: string): boolean;
  set(key: string, value: Uint8Array, expire?: number, tag?: string): void;
  add(key: string, value: Uint8Array, expire?: number, tag?: string): boolean;
  /** Replaces the value of a live entry, keeping its expiry and tag; false (nothing written) if absent. */
  update(key: string, value: Uint8Array): boolean;
  delete(key: string): boolean;
  clear(): void;
  keys(): string[];
  count(): number;
  valueBytes(): number;
  volume(): number;
  /** Bytes of the write-ahead log(s). */
  walSize(): number;
  check(fix: boolean): NativeCheckResult;
  begin(shardKey?: string): void;
  commit(shardKey?: string): void;
  rollback(shardKey?: string): void;
  transactionDepth(shardKey?: string): number;
  metaGet(key: string): string | undefined;
  metaSet(key: string, value: string): void;
  runMaintenance(): void;
  close(): void;
  isClosed(): boolean;

  // Asynchronous operations (binding/async_queue.hpp, lib/async.ts): each queues one
  // operation; outcomes come back, in call order, through the `settle` given to asyncStart.
  /**
   * `takeBatch` returns the setAsync batch lib/async.ts is gathering (the arguments of
   * asyncSetBatch), taken by the addon before a synchronous call while `flag[0]` is 1.
   */
  asyncStart(
    settle: (count: number, results: unknown[] | undefined, errors: unknown[] | undefined) => void,
    step: (seq: number, bytes: Buffer | undefined) => Uint8Array | undefined,
    takeBatch: () => NativeBatchArgs | undefined,
    flag: Uint8Array,
  ): void;
  /** The current event-loop turn is over: commit what it queued. */
  asyncFlush(): void;
  asyncGet(key: string): void;
  /** asyncGet not counted in stats. */
  asyncPeek(key: string): void;
  asyncHas(key: string): void;
  asyncPop(key: string): void;
  asyncDelete(key: string): void;
  asyncSet(key: string, value: Uint8Array, expire?: number, tag?: string): void;
  asyncAdd(key: string, value: Uint8Array, expire?: number, tag?: string): void;
  asyncIncr(key: string): void;
  asyncGetMany(keys: string[]): void;
  asyncSetMany(keys: string[], values: Uint8Array[], expire?: number, tag?: string): void;
  /** `count` setAsync calls: keys (UTF-8) and values back to back in block[0, used), their sizes in lengths. */
  asyncSetBatch(...args: NativeBatchArgs): void;
}

/** asyncSetBatch's arguments: block, used, lengths, count, expire, tag. */
export type NativeBatchArgs = [Uint8Array, number, Uint32Array, number, number | undefined, string | undefined];

export interface NativeCacheStore extends NativeStore {
  touch(key: string, expire: number | undefined): boolean;
  expire(): number;
  evict(): number;
  evictTag(tag: string): number;
  keysWithTag(tag: string): string[];
  maxSize(): number;
  setMaxSize(bytes: number): void;
  stats(): NativeStats;
  resetStats(): void;
}

export interface NativeFanout {
  shardCount(): number;
  shardIndex(key: string): number;
}

type Durability = 'process' | 'power';

export interface NativeBinding {
  /** Values of at most this many bytes are stored in the row; larger ones are files. */
  inlineValueMax: number;
  /** Sync reads write values of at most this many bytes into the read pool (lib/read-pool.ts). */
  pooledReadMax: number;
  Cache: new (directory: string, maxSize: number | undefined, durability: Durability | undefined) => NativeCacheStore;
  Index: new (directory: string, maxSize: undefined, durability: Durability | undefined) => NativeStore;
  FanoutCache: new (
    directory: string,
    maxSize: number | undefined,
    durability: Durability | undefined,
    shardCount: number | undefined,
  ) => NativeCacheStore & NativeFanout;
  FanoutIndex: new (
    directory: string,
    maxSize: undefined,
    durability: Durability | undefined,
    shardCount: number | undefined,
  ) => NativeStore & NativeFanout;
  DiskcacheSource: new (directory: string, writable: boolean) => NativeDiskcacheSource;
  setErrorConstructor(constructor: new (message: string, code: string) => Error): void;
  version: string;
  formatVersion: number;
}

/**
 * One row of a Python diskcache's Cache table, with SQLite's types: INTEGER -> bigint,
 * REAL -> number, TEXT -> string, BLOB -> Buffer, NULL -> null.
 */
export interface DiskcacheRow {
  rowid: number;
  key: bigint | number | string | Buffer | null;
  /** false: `key` is a pickle. */
  raw: boolean;
  storeTime: number | null;
  /** Absolute Unix time in seconds, or null for never. */
  expireTime: number | null;
  tag: bigint | number | string | Buffer | null;
  mode: number;
  /** The value file, relative to the directory. */
  filename: string | null;
  value: bigint | number | string | Buffer | null;
  size: number;
}

/** native/include/sciqlop_cache/diskcache_source.hpp: reads one diskcache database for migration. */
export interface NativeDiskcacheSource {
  count(): number;
  /** The next rows in rowid order (at most maxRows); empty at the end. */
  nextBatch(maxRows: number): DiskcacheRow[];
  readFile(filename: string, size: number): Buffer;
  /** Deletes the row (if its store time is unchanged) and its value file; needs a writable source. */
  remove(rowid: number, storeTime: number | null): boolean;
  hasTextKey(key: string): boolean;
  close(): void;
}

export type NativeStoreKind = 'Cache' | 'Index' | 'FanoutCache' | 'FanoutIndex';

const packageRoot = path.resolve(__dirname, '..');

function libcDescription(): string {
  if (process.platform !== 'linux') return '';
  try {
    const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
    return header?.glibcVersionRuntime ? `, glibc ${header.glibcVersionRuntime}` : ', musl libc';
  } catch {
    return '';
  }
}

function load(): NativeBinding {
  const nodeGypBuild = require('node-gyp-build') as (directory: string) => unknown;
  try {
    return nodeGypBuild(packageRoot) as NativeBinding;
  } catch (cause) {
    const platform = `${process.platform}-${process.arch}`;
    const message = cause instanceof Error ? cause.message : String(cause);
    throw new Error(
      `sciqlop-cache could not load its native addon for ${platform} ` +
        `(Node ${process.versions.node}, Node-API ${process.versions.napi ?? '?'}${libcDescription()}).\n` +
        `It looked for build/Release/sciqlop-cache.node and prebuilds/${platform}/ in ${packageRoot}.\n` +
        `Build it from source with \`npm rebuild sciqlop-cache\` (needs CMake >= 3.20 and a C++20 compiler), ` +
        `or, in a clone of the repository, \`npx cmake-js compile\`.\n` +
        `Cause: ${message}`,
      { cause },
    );
  }
}

export const binding: NativeBinding = load();
binding.setErrorConstructor(SciqlopCacheError);
