// migrate(src, dst): Python diskcache directories (made by real diskcache, committed under
// test/fixtures/diskcache by make_diskcache_fixtures.py) into sciqlop-cache stores. Every
// test migrates a copy: the committed fixtures are never touched.
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Cache, FanoutCache, FanoutIndex, Index, JsonSerializer, migrate, type MigrateResult } from '../lib';
import { unpickle } from '../lib/pickle';
import { floatRepr, pythonStr } from '../lib/python-str';
import { expectArgError, expectSame, expectThrowsCode, freshPath, tmpDir, track } from './helpers';

// better-sqlite3 (a dev dependency, installed without types): what these tests use of it.
interface SqliteDatabase {
  prepare(sql: string): { all(): unknown[] };
  exec(sql: string): void;
  close(): void;
}
const Database = require('better-sqlite3') as new (file: string, options?: { fileMustExist?: boolean }) => SqliteDatabase;

const FIXTURES = path.join(__dirname, 'fixtures', 'diskcache');
const GENERATOR = path.join(__dirname, 'fixtures', 'make_diskcache_fixtures.py');
const PYTHON = '/usr/bin/python3';

/** A copy of a fixture directory (or of all of them), safe to migrate with drop. */
function copyOf(name: string, from = FIXTURES): string {
  const dir = path.join(tmpDir(), name);
  fs.cpSync(path.join(from, name), dir, { recursive: true });
  return dir;
}

/** Every file under `dir` with a hash of its content. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name);
    out[path.relative(dir, file)] = crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  }
  return out;
}

/** Rows of a sciqlop-cache database: key -> { expire, tag }. */
function destinationRows(dbFile: string): Record<string, { expire: number | null; tag: string | null }> {
  const db = new Database(dbFile, { fileMustExist: true });
  try {
    const out: Record<string, { expire: number | null; tag: string | null }> = {};
    for (const r of db.prepare('SELECT key, expire, tag FROM cache').all() as { key: string; expire: number | null; tag: string | null }[]) {
      out[r.key] = { expire: r.expire, tag: r.tag };
    }
    return out;
  } finally {
    db.close();
  }
}

/** SELECT on a diskcache database (no writes, so diskcache's DQS triggers do not matter). */
function sourceQuery<T>(dir: string, sql: string): T[] {
  const db = new Database(path.join(dir, 'cache.db'), { fileMustExist: true });
  try {
    return db.prepare(sql).all() as T[];
  } finally {
    db.close();
  }
}

function collect(src: string, dst: string, options: Parameters<typeof migrate>[2] = {}) {
  const failures: { key: string; message: string; code: unknown }[] = [];
  const result = migrate(src, dst, {
    ...options,
    onError: (key, error) => failures.push({ key, message: error.message, code: (error as { code?: unknown }).code }),
  });
  return { result, failures };
}

const LIVE_ENTRIES: Record<string, unknown> = {
  'raw/bytes': Buffer.from('\x00\x01\x02 raw bytes', 'latin1'),
  'raw/int': 42,
  'raw/big-int': 2n ** 62n,
  'raw/float': 2.5,
  'raw/str': 'short text',
  'file/binary': Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
  'file/text': 'line one\nligne deux é\n'.repeat(4),
  'pickle/inline': [1, -2, 3.5, null, true],
  'pickle/file': {
    name: 'sensor',
    values: [21.5, 22.0, -1e-7],
    tuple: [1, 'two'],
    bytes: Buffer.from('\xffdata', 'latin1'),
    nested: { big: 2n ** 70n, negative: -(2 ** 40), none: null },
    set: new Set([3]),
    int_keys: new Map([[1, 'one']]),
  },
  "b'bytes-key\\x00'": 'bytes key',
  '7': 'int key',
  '2.5': 'float key',
  "(1, 'a')": 'tuple key',
  "frozenset({'x'})": 'frozenset key',
  '8': 'str key eight',
  'tagged/1': 1,
  'tagged/2': 2,
  'ttl/live': 'still here',
};

/** An object's entries in key order, for order-sensitive comparisons. */
function sorted(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function entriesOf(store: Cache | Index | FanoutCache | FanoutIndex): Record<string, unknown> {
  return sorted(Object.fromEntries(store.entries()));
}

describe('migrate a diskcache Cache', () => {
  let src: string;
  let dst: string;
  let run: ReturnType<typeof collect>;
  let before: Record<string, string>;

  beforeAll(() => {
    src = copyOf('cache');
    dst = freshPath('dst');
    before = tree(src);
    run = collect(src, dst);
  });

  test('counts: migrated, skipped (expired), errors (undecodable value and key, key collision)', () => {
    const { result } = run;
    expect(result).toEqual({ migrated: 18, skipped: 1, errors: 3, elapsedSecs: expect.any(Number) });
    expect(result.elapsedSecs).toBeGreaterThanOrEqual(0);
    expect(Object.keys(result).sort()).toEqual(['elapsedSecs', 'errors', 'migrated', 'skipped']);
  });

  test('every storage mode and every kind of key comes back as the same value', () => {
    const cache = track(new Cache(dst));
    expect(cache.size).toBe(18);
    expectSame(entriesOf(cache), sorted(LIVE_ENTRIES));
    cache.close();
  });

  test('undecodable entries are reported with their key, and the run goes on', () => {
    const byKey = Object.fromEntries(run.failures.map((f) => [f.key.replace(/ of row \d+ in .*>$/, '>'), f.message]));
    expect(byKey).toEqual({
      'bad/unportable': expect.stringContaining('__main__.Unportable'),
      '<undecodable key>': expect.stringContaining('__main__.Unportable'),
      '8': expect.stringContaining('also the key of another entry'),
    });
    expect(run.failures.find((f) => f.key.startsWith('<'))?.key).toContain(path.join(src, 'cache.db'));
  });

  test('tags are kept, expiry is kept as the remaining time, expired entries are skipped', () => {
    const rows = destinationRows(path.join(dst, 'sciqlop-cache.db'));
    expect(rows['tagged/1']).toEqual({ expire: null, tag: 'blue' });
    expect(rows['tagged/2']?.tag).toBe('blue');
    expect(rows['ttl/expired']).toBeUndefined();
    const [{ expire_time }] = sourceQuery<{ expire_time: number }>(src, "SELECT expire_time FROM Cache WHERE key = 'ttl/live'") as [
      { expire_time: number },
    ];
    expect(Math.abs(rows['ttl/live']!.expire! - expire_time)).toBeLessThan(5);
    expect(rows['raw/int']).toEqual({ expire: null, tag: null });
    const cache = track(new Cache(dst));
    expect(cache.evictTag('blue')).toBe(2);
    cache.close();
  });

  test('without drop the source is left exactly as it was (no -wal or -shm left behind)', () => {
    expect(tree(src)).toEqual(before);
  });

  test('the destination serializer is the default V8 one, or the one given', () => {
    const json = freshPath('json');
    const { result, failures } = collect(copyOf('cache'), json, { serializer: new JsonSerializer() });
    // JSON cannot hold bigints, Sets, Maps: those entries are errors, the others are stored.
    expect(failures.map((f) => f.key)).toEqual(expect.arrayContaining(['raw/big-int', 'pickle/file']));
    expect(result.migrated).toBe(16);
    const cache = track(new Cache(json));
    expect(cache.serializer.name).toBe('json');
    expect(cache.get('pickle/inline')).toEqual([1, -2, 3.5, null, true]);
    cache.close();
  });

  test('running it again overwrites the same entries (idempotent)', () => {
    const again = collect(copyOf('cache'), dst);
    expect(again.result).toMatchObject({ migrated: 18, skipped: 1, errors: 3 });
    const cache = track(new Cache(dst));
    expect(cache.size).toBe(18); // with the two 'blue' entries evicted by the test above
    cache.close();
  });
});

describe('migrate with drop', () => {
  test('deletes each migrated entry and its value file through diskcache\'s own triggers; the rest stays', () => {
    const src = copyOf('cache');
    const schema = sourceQuery<{ sql: string }>(src, 'SELECT sql FROM sqlite_master ORDER BY name');
    const dst = freshPath();
    const { result } = collect(src, dst, { drop: true });
    expect(result).toMatchObject({ migrated: 18, skipped: 1, errors: 3 });
    const left = sourceQuery<{ key: unknown }>(src, 'SELECT key FROM Cache').map((r) => r.key);
    expect(left).toHaveLength(4); // expired, unportable value and key, the colliding int key 8
    expect(left).toEqual(expect.arrayContaining(['ttl/expired', 'bad/unportable', 8]));
    // The Settings triggers (double-quoted literals) ran: diskcache's own count is right.
    expect(sourceQuery<{ value: number }>(src, "SELECT value FROM Settings WHERE key = 'count'")).toEqual([{ value: 4 }]);
    // Every value file was migrated, so none is left, nor their folders.
    expect(Object.keys(tree(src))).toEqual(['cache.db']);
    // The source schema was not rewritten.
    expect(sourceQuery<{ sql: string }>(src, 'SELECT sql FROM sqlite_master ORDER BY name')).toEqual(schema);
    const cache = track(new Cache(dst));
    expectSame(entriesOf(cache), sorted(LIVE_ENTRIES));
    cache.close();
  });
});

describe('migrate a diskcache FanoutCache and Index', () => {
  test('a FanoutCache (shard folders 000, 001) becomes a FanoutCache with as many shards', () => {
    const dst = freshPath();
    const { result, failures } = collect(copyOf('fanout'), dst);
    expect(failures).toEqual([]);
    expect(result).toMatchObject({ migrated: 8, skipped: 0, errors: 0 });
    const fc = track(new FanoutCache(dst));
    expect(fc.shardCount).toBe(2);
    expect(entriesOf(fc)).toEqual({
      ...Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`fan/${i}`, { i }])),
      'fan/tagged': 'red thing',
      'fan/ttl': 'live',
    });
    expect(fc.evictTag('red')).toBe(1);
    fc.close();
  });

  test('shards: N makes a fanout destination of N shards from any source', () => {
    const dst = freshPath();
    expect(collect(copyOf('cache'), dst, { shards: 3 }).result.migrated).toBe(18);
    const fc = track(new FanoutCache(dst));
    expect(fc.shardCount).toBe(3);
    expectSame(entriesOf(fc), sorted(LIVE_ENTRIES));
    fc.close();
  });

  test("type: 'index' makes an Index (no expiry, no tags); a pickled tuple key becomes its str()", () => {
    const dst = freshPath();
    const { result } = collect(copyOf('index'), dst, { type: 'index' });
    expect(result).toMatchObject({ migrated: 3, skipped: 0, errors: 0 });
    const index = track(new Index(dst));
    expect(entriesOf(index)).toEqual({ alpha: 1, beta: 'two', "('gamma', 3)": [3, 'three'] });
    index.close();
    const fromFanout = freshPath();
    expect(collect(copyOf('fanout'), fromFanout, { type: 'index' }).result.migrated).toBe(8);
    const fi = track(new FanoutIndex(fromFanout));
    expect(fi.size).toBe(8);
    fi.close();
  });

  test('into an existing store: a single store takes a FanoutCache source as it is; shards must agree', () => {
    const single = freshPath();
    track(new Cache(single)).close();
    expect(collect(copyOf('fanout'), single).result.migrated).toBe(8);
    expect(fs.existsSync(path.join(single, 'fanout.json'))).toBe(false);
    expectThrowsCode(() => migrate(copyOf('fanout'), single, { shards: 2 }), 'SHARD_COUNT_MISMATCH');
    const fanout = freshPath();
    track(new FanoutCache(fanout, { shardCount: 5 })).close();
    expect(collect(copyOf('fanout'), fanout).result.migrated).toBe(8);
    const fc = track(new FanoutCache(fanout));
    expect(fc.shardCount).toBe(5);
    fc.close();
    expectThrowsCode(() => migrate(copyOf('fanout'), fanout, { shards: 2 }), 'SHARD_COUNT_MISMATCH');
  });

  test('an Index source migrates into a Cache too', () => {
    const dst = freshPath();
    expect(collect(copyOf('index'), dst).result.migrated).toBe(3);
    const cache = track(new Cache(dst));
    expect(cache.get('alpha')).toBe(1);
    cache.close();
  });
});

describe('migrate: damaged entries and bad arguments', () => {
  test('a missing or resized value file is an error for that entry only', () => {
    const src = copyOf('cache');
    const files = Object.fromEntries(
      sourceQuery<{ key: string; filename: string }>(src, 'SELECT key, filename FROM Cache WHERE filename IS NOT NULL').map(
        (r) => [r.key, r.filename],
      ),
    );
    fs.rmSync(path.join(src, files['file/binary']!));
    fs.appendFileSync(path.join(src, files['file/text']!), 'more');
    const { result, failures } = collect(src, freshPath());
    expect(result).toMatchObject({ migrated: 16, errors: 5 });
    expect(failures.find((f) => f.key === 'file/binary')?.code).toBe('ENOENT');
    expect(failures.find((f) => f.key === 'file/text')?.code).toBe('CORRUPT');
  });

  test('a value file path that leaves the directory is never followed', () => {
    const src = copyOf('cache');
    const outside = path.join(path.dirname(src), 'outside.val');
    fs.writeFileSync(outside, Buffer.alloc(256, 1));
    const [{ filename }] = sourceQuery<{ filename: string }>(src, "SELECT filename FROM Cache WHERE key = 'file/binary'") as [
      { filename: string },
    ];
    fs.rmSync(path.join(src, filename));
    fs.symlinkSync(outside, path.join(src, filename));
    const { failures } = collect(src, freshPath());
    expect(failures.find((f) => f.key === 'file/binary')?.code).toBe('CORRUPT');
  });

  test('not a diskcache directory, same directory, bad options', () => {
    expectThrowsCode(() => migrate(freshPath('none'), freshPath()), 'ENOENT');
    expectThrowsCode(() => migrate(tmpDir(), freshPath()), 'NOT_A_DISKCACHE');
    const other = tmpDir();
    const db = new Database(path.join(other, 'cache.db'));
    db.exec('CREATE TABLE t(x)');
    db.close();
    expectThrowsCode(() => migrate(other, freshPath()), 'NOT_A_DISKCACHE');
    const src = copyOf('index');
    expectThrowsCode(() => migrate(src, src), 'INVALID_ARGUMENT');
    expectArgError(() => migrate(src, freshPath(), { type: 'fanout' as never }), 'RangeError', 'type');
    expectArgError(() => migrate(src, freshPath(), { shards: 0 }), 'RangeError', 'shards');
    expectArgError(() => migrate(src, freshPath(), { nope: 1 } as never), 'TypeError', 'nope');
    expectArgError(() => migrate(src, freshPath(), { serializer: {} as never }), 'TypeError', 'serializer');
    expectArgError(() => migrate(1 as never, freshPath()), 'TypeError', 'src');
  });

  test('progress is reported from 0 to the row count', () => {
    const calls: [number, number][] = [];
    migrate(copyOf('cache'), freshPath(), { onProgress: (done, total) => calls.push([done, total]) });
    expect(calls[0]).toEqual([0, 22]);
    expect(calls[calls.length - 1]).toEqual([22, 22]);
  });
});

describe('pickles and Python str()', () => {
  // Bytes written by CPython's pickle (protocol noted), decoded without Python.
  const hex = (h: string) => Buffer.from(h.replace(/\s/g, ''), 'hex');

  test('integers of any size and sign, in every protocol', () => {
    // pickle.dumps([-2**40, 2**70, -2**70, 2**63, -1, 255, -129], protocol=2)
    const ints = hex(
      '80025d7100288a060000000000ff8a090000000000000000408a090000000000000000c08a090000000000000080004affffffff4bff4a7fffffff652e',
    );
    expect(unpickle(ints)).toEqual([-(2 ** 40), 2n ** 70n, -(2n ** 70n), 2n ** 63n, -1, 255, -129]);
    // pickle.dumps(2**100, protocol=4)
    expect(unpickle(hex('80049510000000000000008a0d000000000000000000000000102e'))).toBe(2n ** 100n);
    // pickle.dumps([5, 2**70, True], protocol=0)
    expect(unpickle(Buffer.from('(lp0\nI5\naL1180591620717411303424L\naI01\na.', 'latin1'))).toEqual([5, 2n ** 70n, true]);
  });

  test('bytes, sets, dicts with other keys, OrderedDict, protocol 0 dicts', () => {
    // pickle.dumps({'a': b'x', 1: {2, 3}, 'o': collections.OrderedDict([('k', 1)])}, protocol=2)
    const mixed = hex(
      '80027d7100285801000000617101635f636f646563730a656e636f64650a7102580100000078710358060000006c6174696e317104867105527106' +
        '4b01635f5f6275696c74696e5f5f0a7365740a71075d7108284b024b036585710952710a58010000006f710b63636f6c6c656374696f6e730a4f7264' +
        '65726564446963740a710c2952710d58010000006b710e4b0173752e',
    );
    expect(unpickle(mixed)).toEqual(new Map<unknown, unknown>([['a', Buffer.from('x')], [1, new Set([2, 3])], ['o', { k: 1 }]]));
    // pickle.dumps({'a': 1, 'b': [1.5, None]}, protocol=0)
    expect(unpickle(Buffer.from('(dp0\nVa\np1\nI1\nsVb\np2\n(lp3\nF1.5\naNas.', 'latin1'))).toEqual({ a: 1, b: [1.5, null] });
  });

  test('types outside the allowed set are refused by name; malformed pickles too', () => {
    // pickle.dumps(datetime.date(2020, 1, 2), protocol=2)
    const date = hex(
      '8002636461746574696d650a646174650a7100635f636f646563730a656e636f64650a7101580500000007c3a40102710258060000006c6174696e3171038671045271058571065271072e',
    );
    expect(() => unpickle(date)).toThrow(/unsupported Python type datetime\.date/);
    expect(() => unpickle(hex('8002'))).toThrow(/pickle/);
    expect(() => unpickle(hex('ff'))).toThrow(/opcode/);
  });

  test('str() of keys as Python prints them', () => {
    expect(pythonStr('plain')).toBe('plain');
    expect(pythonStr(7n)).toBe('7');
    expect(pythonStr([1, 'a'])).toBe("(1, 'a')");
    expect(pythonStr([1])).toBe('(1,)');
    expect(pythonStr([])).toBe('()');
    expect(pythonStr(["it's", 'say "hi"', 'both \' "'])).toBe(`("it's", 'say "hi"', 'both \\' "')`);
    expect(pythonStr(Buffer.from("a'\x00\n\xff", 'latin1'))).toBe(`b"a'\\x00\\n\\xff"`);
    expect(pythonStr([null, true, false, new Set(['x'])])).toBe("(None, True, False, frozenset({'x'}))");
    expect(pythonStr(['tab\t', 'é', '\u200b', '\u{1f600}'])).toBe("('tab\\t', 'é', '\\u200b', '\u{1f600}')");
    expect(unpickle(hex('80054b022e'))).toBe(2);
    // pickle.dumps((2.0, 1), protocol=5): 2.0 stays a float when asked.
    const tuple = hex('8005950e000000000000004740000000000000004b0186942e');
    expect(unpickle(tuple)).toEqual([2, 1]);
    expect(pythonStr(unpickle(tuple, { exactFloats: true }))).toBe('(2.0, 1)');
  });

  test('float repr: shortest digits, Python layout', () => {
    const cases: [number, string][] = [
      [2.5, '2.5'],
      [2, '2.0'],
      [-0, '-0.0'],
      [0.1, '0.1'],
      [1e-4, '0.0001'],
      [1e-5, '1e-05'],
      [1.5e-7, '1.5e-07'],
      [1e16, '1e+16'],
      [1234567890123456.7, '1234567890123456.8'],
      [123456789012345680, '1.2345678901234568e+17'],
      [Infinity, 'inf'],
      [-Infinity, '-inf'],
      [NaN, 'nan'],
    ];
    for (const [x, repr] of cases) expect(floatRepr(x)).toBe(repr);
  });
});

const pythonHasDiskcache =
  fs.existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import diskcache'], { stdio: 'ignore' }).status === 0;

/** What a migration of the three fixture stores gives, independent of paths and times. */
function migrationSnapshot(fixtures: string): unknown {
  const out: Record<string, unknown> = {};
  for (const [name, options] of [
    ['cache', {}],
    ['fanout', {}],
    ['index', { type: 'index' }],
  ] as const) {
    const dst = freshPath(name);
    const { result, failures } = collect(copyOf(name, fixtures), dst, options);
    const { elapsedSecs: _, ...counts } = result as MigrateResult;
    const store = track(name === 'fanout' ? new FanoutCache(dst) : name === 'index' ? new Index(dst) : new Cache(dst));
    const dbFiles = name === 'fanout' ? ['00', '01'].map((s) => path.join(dst, s, 'sciqlop-cache.db')) : [path.join(dst, 'sciqlop-cache.db')];
    const rows = Object.assign({}, ...dbFiles.map((f) => (name === 'index' ? {} : destinationRows(f))));
    out[name] = {
      counts,
      failures: failures.map((f) => [f.key.replace(/ of row \d+ in .*>$/, '>'), f.message]).sort(),
      entries: entriesOf(store),
      tags: Object.fromEntries(Object.entries(rows).map(([k, r]) => [k, [(r as { tag: unknown }).tag, (r as { expire: unknown }).expire !== null]])),
    };
    store.close();
  }
  return out;
}

describe('the committed fixtures are what diskcache writes', () => {
  const title = pythonHasDiskcache
    ? 'regenerated by make_diskcache_fixtures.py with the installed diskcache, they migrate the same'
    : `regenerating the fixtures (skipped: ${PYTHON} cannot import diskcache; install python3-diskcache)`;
  (pythonHasDiskcache ? test : test.skip)(title, () => {
    const fresh = path.join(tmpDir(), 'fixtures');
    const run = spawnSync(PYTHON, [GENERATOR, fresh], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expectSame(migrationSnapshot(fresh), migrationSnapshot(FIXTURES));
  });
});
