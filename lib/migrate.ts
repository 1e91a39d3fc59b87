/**
 * migrate(src, dst): copies a Python diskcache Cache, FanoutCache or Index directory into a
 * sciqlop-cache store, reading diskcache's SQLite database and value files directly (no
 * Python needed). The library form of `npx sciqlop-cache migrate`.
 *
 * - The source kind is detected: cache.db at the root (Cache or Index) or shard folders
 *   000, 001, ... (FanoutCache). The destination is a Cache (or an Index with
 *   `type: 'index'`); a FanoutCache/FanoutIndex with `shards` N, or when the source is a
 *   FanoutCache (same shard count). An existing destination is used as it is: a single
 *   store takes a FanoutCache's entries, a fanout keeps its shard count (`shards` must agree).
 * - Expiry is kept as the remaining time to live; tags are kept (an Index has neither).
 *   Entries already expired are skipped (counted in `skipped`).
 * - An entry that cannot be decoded (a pickle of a class only Python knows, a missing value
 *   file, ...) is counted in `errors` and reported to `onError` with its key; the run goes
 *   on. A failure of the destination store itself (disk full, ...) stops the run.
 * - A key that is not a Python str becomes its str() (7 -> '7', (1, 'a') -> "(1, 'a')"); when
 *   that string is also a str key of the source (or the str() of another key), the entry is
 *   an error rather than overwrite the other one. Entries already in the destination are
 *   overwritten, so a migration can be run again.
 * - With `drop`, each source entry is deleted (row and value file) once written; entries
 *   skipped or in error stay. Without it the source is opened read-only.
 *
 * Synchronous, like the rest of the API; it works in batches of rows, so memory stays flat.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Cache } from './cache';
import {
  decodeKey,
  decodeTag,
  decodeValue,
  describeUndecodableKey,
  diskcacheLayout,
  openDiskcacheSource,
} from './diskcache';
import { SciqlopCacheError } from './errors';
import { FanoutCache, FanoutIndex } from './fanout';
import { Index } from './index-store';
import type { DiskcacheRow, NativeDiskcacheSource } from './native';
import { checkSerializer, type Serializer } from './serializers';
import { checkFunction, checkInteger, checkOptions, expected } from './validate';

export interface MigrateOptions {
  /** The destination kind: 'cache' (default) or 'index' (no expiry, no tags). */
  type?: 'cache' | 'index' | undefined;
  /** Delete each source entry once it is written. */
  drop?: boolean | undefined;
  /** Shard count of a fanout destination (default: the source's, for a FanoutCache). */
  shards?: number | undefined;
  /** Serializer of a new destination (default: the recorded one, else V8Serializer). */
  serializer?: Serializer | undefined;
  /** Called after each batch of rows, and once at the start with done = 0. */
  onProgress?: ((done: number, total: number) => void) | undefined;
  /** Called for each entry counted in `errors`. */
  onError?: ((key: string, error: Error) => void) | undefined;
}

export interface MigrateResult {
  migrated: number;
  skipped: number;
  errors: number;
  elapsedSecs: number;
}

type Destination = Cache | Index | FanoutCache | FanoutIndex;

const batchRows = 256;

/**
 * The destination store: an existing one as it is (a fanout keeps its shard count unless
 * `requestedShards` contradicts it), else a new fanout of `requestedShards ?? sourceShards`
 * shards when either is given, else a single store.
 */
function openDestination(
  dst: string,
  type: 'cache' | 'index',
  requestedShards: number | undefined,
  sourceShards: number | undefined,
  serializer: Serializer | undefined,
): Destination {
  const root = path.resolve(dst);
  const existingFanout = fs.existsSync(path.join(root, 'fanout.json'));
  const existingSingle = fs.existsSync(path.join(root, 'sciqlop-cache.db'));
  const options = serializer === undefined ? {} : { serializer };
  if (existingSingle && !existingFanout) {
    if (requestedShards !== undefined) {
      throw new SciqlopCacheError(
        `The destination ${dst} is a single store, not a fanout: migrate into it without a shard count, or into a new directory`,
        'SHARD_COUNT_MISMATCH',
      );
    }
    return type === 'index' ? new Index(root, options) : new Cache(root, options);
  }
  const shards = existingFanout ? requestedShards : (requestedShards ?? sourceShards);
  if (existingFanout || shards !== undefined) {
    const fanoutOptions = shards === undefined ? options : { ...options, shardCount: shards };
    return type === 'index' ? new FanoutIndex(root, fanoutOptions) : new FanoutCache(root, fanoutOptions);
  }
  return type === 'index' ? new Index(root, options) : new Cache(root, options);
}

function isStoreFailure(error: unknown): boolean {
  return error instanceof Error && error.name === 'SciqlopCacheError';
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** Migrates a diskcache directory into a sciqlop-cache store; see the module comment. */
export function migrate(src: string, dst: string, options?: MigrateOptions): MigrateResult {
  if (typeof src !== 'string' || src === '') throw new TypeError(expected('a non-empty string', 'src', src));
  if (typeof dst !== 'string' || dst === '') throw new TypeError(expected('a non-empty string', 'dst', dst));
  const o = checkOptions<MigrateOptions>(
    options,
    ['type', 'drop', 'shards', 'serializer', 'onProgress', 'onError'],
    'migrate options',
  );
  const type = o.type ?? 'cache';
  if (type !== 'cache' && type !== 'index') throw new RangeError(expected("'cache' or 'index'", 'type', o.type));
  if (o.drop !== undefined && typeof o.drop !== 'boolean') throw new TypeError(expected('a boolean', 'drop', o.drop));
  const drop = o.drop === true;
  const requestedShards = o.shards === undefined ? undefined : checkInteger(o.shards, 'shards', 1);
  const serializer = o.serializer === undefined ? undefined : checkSerializer(o.serializer);
  if (o.onProgress !== undefined) checkFunction(o.onProgress, 'onProgress');
  if (o.onError !== undefined) checkFunction(o.onError, 'onError');
  if (path.resolve(src) === path.resolve(dst)) {
    throw new SciqlopCacheError('The source and the destination of a migration must be different directories', 'INVALID_ARGUMENT');
  }

  const started = performance.now();
  const layout = diskcacheLayout(src);
  const sources: { directory: string; native: NativeDiskcacheSource }[] = [];
  let destination: Destination | undefined;
  try {
    for (const directory of layout.databases) sources.push({ directory, native: openDiskcacheSource(directory, drop) });
    const sourceShards = layout.fanout ? layout.databases.length : undefined;
    destination = openDestination(dst, type, requestedShards, sourceShards, serializer);
    const result = copyEntries(sources, destination, { type, drop, onProgress: o.onProgress, onError: o.onError });
    return { ...result, elapsedSecs: Math.round(performance.now() - started) / 1000 };
  } finally {
    for (const s of sources) s.native.close();
    destination?.close();
  }
}

interface CopyOptions {
  type: 'cache' | 'index';
  drop: boolean;
  onProgress: MigrateOptions['onProgress'];
  onError: MigrateOptions['onError'];
}

function copyEntries(
  sources: { directory: string; native: NativeDiskcacheSource }[],
  destination: Destination,
  options: CopyOptions,
): Omit<MigrateResult, 'elapsedSecs'> {
  const { type, drop, onProgress, onError } = options;
  const total = sources.reduce((n, s) => n + s.native.count(), 0);
  let migrated = 0;
  let skipped = 0;
  let errors = 0;
  let done = 0;
  // str() forms of non-str keys written so far: a later str key equal to one is a collision.
  const fromNonStrKeys = new Set<string>();

  const fail = (key: string, error: unknown): void => {
    errors++;
    onError?.(key, asError(error));
  };

  const copyRow = (source: { directory: string; native: NativeDiskcacheSource }, row: DiskcacheRow, now: number) => {
    let key: string;
    try {
      key = decodeKey(row);
    } catch (error) {
      fail(describeUndecodableKey(row, source.directory), error);
      return false;
    }
    if (row.expireTime !== null && row.expireTime <= now) {
      skipped++;
      return false;
    }
    // The source gives the rows of non-str keys first, while every str key is still there.
    const isStrKey = row.raw && typeof row.key === 'string';
    if (!isStrKey && (fromNonStrKeys.has(key) || sources.some((s) => s.native.hasTextKey(key)))) {
      fail(key, new Error(`the str() of this Python key, ${JSON.stringify(key)}, is also the key of another entry`));
      return false;
    }
    let value: unknown;
    try {
      value = decodeValue(source.native, row);
    } catch (error) {
      fail(key, error);
      return false;
    }
    try {
      if (type === 'cache') {
        const expire = row.expireTime === null ? undefined : row.expireTime - now;
        (destination as Cache | FanoutCache).set(key, value, { expire, tag: decodeTag(row) });
      } else {
        (destination as Index | FanoutIndex).set(key, value);
      }
    } catch (error) {
      if (isStoreFailure(error)) throw error;
      fail(key, error); // the serializer refused the value, or the key is not valid UTF-16
      return false;
    }
    if (!isStrKey) fromNonStrKeys.add(key);
    migrated++;
    return true;
  };

  onProgress?.(0, total);
  for (const source of sources) {
    for (let rows = source.native.nextBatch(batchRows); rows.length > 0; rows = source.native.nextBatch(batchRows)) {
      const now = Date.now() / 1000;
      const written: DiskcacheRow[] = [];
      const copyBatch = (): void => {
        for (const row of rows) if (copyRow(source, row, now)) written.push(row);
      };
      // A single store takes the batch in one transaction; a fanout's shards each commit their own.
      if (destination instanceof Cache || destination instanceof Index) destination.transact(copyBatch);
      else copyBatch();
      // Only once the batch is committed in the destination.
      if (drop) for (const row of written) source.native.remove(row.rowid, row.storeTime);
      done += rows.length;
      onProgress?.(done, total);
    }
  }
  return { migrated, skipped, errors };
}
