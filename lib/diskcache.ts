/**
 * Python diskcache directories as JavaScript sees them: where the databases are (a Cache or
 * an Index has cache.db at its root, a FanoutCache one per shard folder 000, 001, ...) and
 * what a row means (diskcache/core.py, Disk.put/get/store/fetch):
 *
 * - keys: a str, bytes, int or float is stored as it is (raw = 1), anything else pickled
 *   (raw = 0). Keys here are strings, so a key that is not a str becomes Python's str() of it
 *   (see python-str.ts), as pysciqlop-cache's own migration does.
 * - values, by mode: 1 raw (int, float, short str or short bytes in the row), 2 binary
 *   (bytes in a value file), 3 text (str in a UTF-8 value file, read with Python's
 *   universal newlines), 4 pickle (in the row, or in a value file when large).
 * - tags are stored as they are (a str, or an int, float or bytes, turned into its str()).
 *
 * The SQLite reading itself is native (native/src/diskcache_source.cpp); this module decodes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SciqlopCacheError } from './errors';
import { binding, type DiskcacheRow, type NativeDiskcacheSource } from './native';
import { unpickle } from './pickle';
import { floatRepr, pythonStr } from './python-str';

/** diskcache's storage modes (MODE_* in diskcache/core.py). */
export const DiskcacheMode = { None: 0, Raw: 1, Binary: 2, Text: 3, Pickle: 4 } as const;

export interface DiskcacheLayout {
  /** The directories holding a cache.db: the root, or each shard folder in order. */
  readonly databases: string[];
  /** true for a FanoutCache (shard folders). */
  readonly fanout: boolean;
}

/** Finds the databases of a diskcache Cache, Index or FanoutCache directory. */
export function diskcacheLayout(directory: string): DiskcacheLayout {
  const root = path.resolve(directory);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(root);
  } catch {
    throw new SciqlopCacheError(`The diskcache directory ${directory} does not exist`, 'ENOENT');
  }
  if (!stat.isDirectory()) throw new SciqlopCacheError(`${directory} is not a directory`, 'NOT_A_DIRECTORY');
  if (fs.existsSync(path.join(root, 'cache.db'))) return { databases: [root], fanout: false };
  // FanoutCache names its shards '%03d' % n.
  const shards = fs
    .readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && /^\d{3,}$/.test(e.name) && fs.existsSync(path.join(root, e.name, 'cache.db')))
    .map((e) => e.name)
    .sort((a, b) => Number(a) - Number(b));
  if (shards.length === 0) {
    throw new SciqlopCacheError(
      `${directory} is not a diskcache directory: it has no cache.db and no shard folders (000, 001, ...)`,
      'NOT_A_DISKCACHE',
    );
  }
  return { databases: shards.map((s) => path.join(root, s)), fanout: true };
}

/** Opens one diskcache database (read-only unless `writable`, which removing rows needs). */
export function openDiskcacheSource(directory: string, writable: boolean): NativeDiskcacheSource {
  return new binding.DiskcacheSource(directory, writable);
}

/** The key as a string: a str as it is, anything else as Python's str() of it. */
export function decodeKey(row: DiskcacheRow): string {
  const key = row.key;
  if (row.raw) {
    if (typeof key === 'string') return key;
    if (typeof key === 'bigint') return key.toString();
    if (typeof key === 'number') return floatRepr(key);
    if (key instanceof Uint8Array) return pythonStr(key);
    throw new TypeError('a raw key that is NULL');
  }
  if (!(key instanceof Uint8Array)) throw new TypeError('a pickled key that is not a BLOB');
  return pythonStr(unpickle(key, { exactFloats: true }));
}

/** A name for a row whose key could not be decoded. */
export function describeUndecodableKey(row: DiskcacheRow, directory: string): string {
  return `<undecodable key of row ${row.rowid} in ${path.join(directory, 'cache.db')}>`;
}

/** The tag as a string, or undefined for none. */
export function decodeTag(row: DiskcacheRow): string | undefined {
  const tag = row.tag;
  if (tag === null) return undefined;
  if (typeof tag === 'number') return floatRepr(tag);
  return pythonStr(tag);
}

// Python reads text value files with universal newlines: \r\n and \r become \n.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function fileBytes(source: NativeDiskcacheSource, row: DiskcacheRow): Buffer {
  if (row.filename === null) throw new TypeError(`mode ${row.mode} without a value file`);
  return source.readFile(row.filename, row.size);
}

/** The value as JavaScript: see pickle.ts for pickled values. */
export function decodeValue(source: NativeDiskcacheSource, row: DiskcacheRow): unknown {
  switch (row.mode) {
    case DiskcacheMode.Raw: {
      const value = row.value;
      if (typeof value === 'bigint') {
        return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
          ? Number(value)
          : value;
      }
      if (value === null) throw new TypeError('a raw value that is NULL');
      return value;
    }
    case DiskcacheMode.Binary:
      return fileBytes(source, row);
    case DiskcacheMode.Text:
      return utf8.decode(fileBytes(source, row)).replace(/\r\n?/g, '\n');
    case DiskcacheMode.Pickle: {
      const bytes = row.filename === null ? row.value : fileBytes(source, row);
      if (!(bytes instanceof Uint8Array)) throw new TypeError('a pickled value that is not a BLOB');
      return unpickle(bytes);
    }
    default:
      throw new TypeError(`unknown diskcache storage mode ${row.mode}`);
  }
}
