// Basic operations of Cache and Index: set/get/has/delete/add/pop/clear,
// keys of every shape, persistence, counters (incr/decr), sizes and stats.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BytesSerializer, Cache, Index } from '../lib';
import { bytes, expectArgError, expectSame, freshPath, sleep, thrown, track, valueFiles, waitFor } from './helpers';

describe('Cache basics', () => {
  test('the constructor creates a missing directory (and its parents)', () => {
    const dir = path.join(freshPath(), 'a', 'b');
    expect(fs.existsSync(dir)).toBe(false);
    const c = track(new Cache(dir));
    expect(fs.statSync(dir).isDirectory()).toBe(true);
    expect(fs.existsSync(path.join(dir, 'sciqlop-cache.db'))).toBe(true);
    c.close();
  });

  test('set returns this; get returns the value, undefined or the default', () => {
    const c = track(new Cache(freshPath()));
    expect(c.set('a', { x: 1 })).toBe(c);
    expect(c.get('a')).toEqual({ x: 1 });
    expect(c.get('missing')).toBeUndefined();
    expect(c.get('missing', 42)).toBe(42);
    expect(c.get('a', 42)).toEqual({ x: 1 });
    c.set('a', 'replaced');
    expect(c.get('a')).toBe('replaced');
  });

  test('has and delete', () => {
    const c = track(new Cache(freshPath()));
    expect(c.has('k')).toBe(false);
    c.set('k', 1);
    expect(c.has('k')).toBe(true);
    expect(c.delete('k')).toBe(true);
    expect(c.has('k')).toBe(false);
    expect(c.delete('k')).toBe(false);
    expect(c.get('k')).toBeUndefined();
  });

  test('add stores only when absent', () => {
    const c = track(new Cache(freshPath()));
    expect(c.add('k', 'first')).toBe(true);
    expect(c.add('k', 'second')).toBe(false);
    expect(c.get('k')).toBe('first');
    c.delete('k');
    expect(c.add('k', 'third')).toBe(true);
    expect(c.get('k')).toBe('third');
  });

  test('pop gets and deletes', () => {
    const c = track(new Cache(freshPath()));
    c.set('k', [1, 2]);
    expect(c.pop('k')).toEqual([1, 2]);
    expect(c.has('k')).toBe(false);
    expect(c.pop('k')).toBeUndefined();
    expect(c.pop('k', 'dflt')).toBe('dflt');
    c.set('u', undefined);
    expect(c.pop('u', 'dflt')).toBeUndefined();
    expect(c.has('u')).toBe(false);
  });

  test('pop of a file-backed value', () => {
    const dir = freshPath();
    const c = track(new Cache(dir, { serializer: new BytesSerializer() }));
    const v = bytes(20000, 3);
    c.set('big', v);
    expect(valueFiles(dir)).toHaveLength(1);
    const got = c.pop('big') as Buffer;
    expect(Buffer.compare(got, v)).toBe(0);
    expect(c.has('big')).toBe(false);
    expect(c.valueBytes()).toBe(0);
  });

  test('clear removes every entry and, after the trash grace period, the value files', async () => {
    const dir = freshPath();
    const c = track(new Cache(dir, { serializer: new BytesSerializer() }));
    c.set('small', bytes(10));
    c.set('big1', bytes(10000, 1));
    c.set('big2', bytes(30000, 2), { tag: 't', expire: 100 });
    expect(valueFiles(dir)).toHaveLength(2);
    c.clear();
    expect(c.size).toBe(0);
    expect([...c.keys()]).toEqual([]);
    expect(c.valueBytes()).toBe(0);
    expect(c.has('big1')).toBe(false);
    c.set('after', bytes(5));
    expect(c.size).toBe(1);
    expect(c.check().ok).toBe(true);
    // displaced files go through the trash table: unlinked by the background thread
    // once older than the 5 s grace period (SPEC §4)
    expect(await waitFor(() => valueFiles(dir).length === 0, 10000)).toBe(true);
  });

  test('keys: empty, Unicode, astral, 64 KiB and 100 KiB long keys are ordinary keys', () => {
    const c = track(new Cache(freshPath()));
    const keys = ['', ' ', 'é', '日本語', '😀 emoji', 'a\u0000b', 'x'.repeat(64 * 1024), 'é'.repeat(50 * 1024), 'line\nbreak'];
    keys.forEach((k, i) => c.set(k, i));
    keys.forEach((k, i) => {
      expect(c.has(k)).toBe(true);
      expect(c.get(k)).toBe(i);
    });
    expect(c.size).toBe(keys.length);
    expect(new Set(c.keys())).toEqual(new Set(keys));
    expect(c.get('a')).toBeUndefined();
    expect(c.get('x'.repeat(64 * 1024 - 1))).toBeUndefined();
  });

  test('entries persist across close and reopen', () => {
    const dir = freshPath();
    const c = new Cache(dir);
    c.set('a', 1);
    c.set('b', { nested: [1, 'two'] }, { expire: 3600, tag: 'tg' });
    c.set('big', 'z'.repeat(50000));
    c.close();
    const d = track(new Cache(dir));
    expect(d.get('a')).toBe(1);
    expect(d.get('b')).toEqual({ nested: [1, 'two'] });
    expect(d.get('big')).toBe('z'.repeat(50000));
    expect(d.size).toBe(3);
    expect(d.evictTag('tg')).toBe(1);
  });

  test('two instances on one directory see each other\'s writes', () => {
    const dir = freshPath();
    const a = track(new Cache(dir));
    const b = track(new Cache(dir));
    a.set('k', 'from a');
    expect(b.get('k')).toBe('from a');
    b.delete('k');
    expect(a.has('k')).toBe(false);
    expect(b.add('n', 1)).toBe(true);
    expect(a.add('n', 2)).toBe(false);
  });
});

describe('valueBytes, volume', () => {
  test('valueBytes counts the stored value bytes', () => {
    const dir = freshPath();
    const c = track(new Cache(dir, { serializer: new BytesSerializer() }));
    expect(c.valueBytes()).toBe(0);
    c.set('a', bytes(100));
    c.set('b', bytes(20000));
    expect(c.valueBytes()).toBe(20100);
    c.set('a', bytes(50));
    expect(c.valueBytes()).toBe(20050);
    c.delete('b');
    expect(c.valueBytes()).toBe(50);
    c.pop('a');
    expect(c.valueBytes()).toBe(0);
  });

  test('volume() counts database, WAL and value files, at least valueBytes()', () => {
    const dir = freshPath();
    const c = track(new Cache(dir, { serializer: new BytesSerializer() }));
    const empty = c.volume();
    expect(empty).toBeGreaterThan(0);
    c.set('big', bytes(200000));
    c.set('small', bytes(1000));
    expect(c.valueBytes()).toBe(201000);
    expect(c.volume()).toBeGreaterThanOrEqual(c.valueBytes());
    expect(c.volume()).toBeGreaterThanOrEqual(empty + 200000);
    const onDisk = ['sciqlop-cache.db', 'sciqlop-cache.db-wal']
      .map((f) => path.join(dir, f))
      .filter((f) => fs.existsSync(f))
      .reduce((s, f) => s + fs.statSync(f).size, 0);
    expect(c.volume()).toBeGreaterThanOrEqual(onDisk);
  });
});

describe('incr / decr', () => {
  test('start from the default, step by delta, read back as numbers', () => {
    const c = track(new Cache(freshPath()));
    expect(c.incr('c')).toBe(1);
    expect(c.incr('c')).toBe(2);
    expect(c.incr('c', 5)).toBe(7);
    expect(c.decr('c')).toBe(6);
    expect(c.decr('c', 10)).toBe(-4);
    expect(c.get('c')).toBe(-4);
    expect(c.incr('d', 1, 100)).toBe(101);
    expect(c.decr('e', 1, 100)).toBe(99);
    expect(c.incr('f', 0)).toBe(0);
    expect(c.get('f')).toBe(0);
    expect(c.incr('g', -3)).toBe(-3);
    c.set('n', 40);
    expect(c.incr('n', 2)).toBe(42);
    expect(typeof c.get('n')).toBe('number');
  });

  test('a stored non-number is an error and nothing changes', () => {
    const c = track(new Cache(freshPath()));
    for (const v of ['12', { a: 1 }, [1], null, true, 5n]) {
      c.set('x', v);
      const e = thrown(() => c.incr('x'));
      expect(typeof e.name).toBe('string');
      expect(typeof e.message).toBe('string');
      expect(c.get('x')).toEqual(v);
    }
  });

  test('a non-integer delta is rejected and nothing is written', () => {
    const c = track(new Cache(freshPath()));
    for (const bad of [1.5, NaN, Infinity]) {
      const e = thrown(() => c.incr('x', bad));
      expect(['TypeError', 'RangeError']).toContain(e.name);
      expect(e.message).toContain('delta');
      expect(c.has('x')).toBe(false);
    }
    const e = thrown(() => c.incr('x', '1' as any));
    expect(e.name).toBe('TypeError');
    expect(c.has('x')).toBe(false);
    const d = thrown(() => c.decr('x', 0.25));
    expect(['TypeError', 'RangeError']).toContain(d.name);
    expect(c.has('x')).toBe(false);
  });

  test('a result beyond Number.MAX_SAFE_INTEGER is an error and nothing changes', () => {
    const c = track(new Cache(freshPath()));
    c.set('big', Number.MAX_SAFE_INTEGER - 1);
    expect(c.incr('big')).toBe(Number.MAX_SAFE_INTEGER);
    thrown(() => c.incr('big'));
    expect(c.get('big')).toBe(Number.MAX_SAFE_INTEGER);
    c.set('small', -Number.MAX_SAFE_INTEGER);
    thrown(() => c.decr('small'));
    expect(c.get('small')).toBe(-Number.MAX_SAFE_INTEGER);
    thrown(() => c.incr('fresh', 1, Number.MAX_SAFE_INTEGER));
    expect(c.has('fresh')).toBe(false);
  });

  test('incr keeps the tag and the expiry of a live entry', async () => {
    const c = track(new Cache(freshPath()));
    c.set('tagged', 1, { tag: 't' });
    c.set('expiring', 1, { expire: 0.3 });
    expect(c.incr('tagged')).toBe(2);
    expect(c.incr('expiring')).toBe(2);
    expect(c.evictTag('t')).toBe(1);
    expect(c.has('tagged')).toBe(false);
    expect(c.get('expiring')).toBe(2);
    await sleep(600);
    expect(c.has('expiring')).toBe(false);
  });

  test('incr of an expired entry starts from the default', async () => {
    const c = track(new Cache(freshPath()));
    c.set('k', 50, { expire: 0.2 });
    await sleep(400);
    expect(c.incr('k', 1, 10)).toBe(11);
    await sleep(300);
    expect(c.get('k')).toBe(11);
  });
});

describe('stats / resetStats', () => {
  test('get and pop count hits and misses; resetStats zeroes them', () => {
    const c = track(new Cache(freshPath()));
    expect(c.stats()).toEqual({ hits: 0, misses: 0 });
    c.set('a', 1);
    c.get('a');
    c.get('a');
    c.get('nope');
    c.pop('a');
    c.pop('a');
    expect(c.stats()).toEqual({ hits: 3, misses: 2 });
    c.resetStats();
    expect(c.stats()).toEqual({ hits: 0, misses: 0 });
    c.get('nope', 1);
    expect(c.stats()).toEqual({ hits: 0, misses: 1 });
  });

  test('stats are per instance', () => {
    const dir = freshPath();
    const a = track(new Cache(dir));
    const b = track(new Cache(dir));
    a.set('k', 1);
    a.get('k');
    b.get('x');
    expect(a.stats()).toEqual({ hits: 1, misses: 0 });
    expect(b.stats()).toEqual({ hits: 0, misses: 1 });
  });

  test('a stored undefined read with a default is a hit returning undefined', () => {
    const c = track(new Cache(freshPath()));
    c.set('u', undefined);
    expect(c.get('u', 'dflt')).toBeUndefined();
    expect(c.has('u')).toBe(true);
    expect(c.stats().hits).toBe(1);
  });
});

describe('Index basics', () => {
  test('the same operations work without expiration, tags or stats', () => {
    const dir = freshPath();
    const i = track(new Index(dir));
    expect(i.set('a', 1)).toBe(i);
    expect(i.get('a')).toBe(1);
    expect(i.get('b', 'd')).toBe('d');
    expect(i.has('a')).toBe(true);
    expect(i.add('a', 2)).toBe(false);
    expect(i.add('b', 2)).toBe(true);
    expect(i.pop('b')).toBe(2);
    expect(i.incr('n', 5)).toBe(5);
    expect(i.decr('n')).toBe(4);
    expect(i.size).toBe(2);
    expect([...i.keys()]).toEqual(['a', 'n']);
    expect(i.delete('a')).toBe(true);
    expect(i.delete('a')).toBe(false);
    i.set('big', 'q'.repeat(40000));
    expect(valueFiles(dir)).toHaveLength(1);
    expect(i.valueBytes()).toBeGreaterThan(40000);
    expect(i.volume()).toBeGreaterThanOrEqual(i.valueBytes());
    expect(i.check().ok).toBe(true);
    i.clear();
    expect(i.size).toBe(0);
    expect(i.valueBytes()).toBe(0);
    expect(i.check().ok).toBe(true);
  });

  test('an Index persists across reopen', () => {
    const dir = freshPath();
    const i = new Index(dir);
    i.set('k', new Map([[1, 'one']]));
    i.close();
    const j = track(new Index(dir));
    expectSame(j.get('k'), new Map([[1, 'one']]));
  });

  test('Index has no expiration, eviction, tag or stats operations', () => {
    const i = track(new Index(freshPath())) as any;
    for (const m of ['touch', 'expire', 'evict', 'evictTag', 'stats', 'resetStats']) {
      expect(typeof i[m]).toBe('undefined');
    }
  });

  test('Index rejects expire and tag options with a TypeError, writing nothing', () => {
    const i = track(new Index(freshPath())) as any;
    expectArgError(() => i.set('k', 1, { expire: 10 }), 'TypeError', 'expire');
    expectArgError(() => i.set('k', 1, { tag: 't' }), 'TypeError', 'tag');
    expectArgError(() => i.add('k', 1, { expire: 10 }), 'TypeError', 'expire');
    expectArgError(() => i.add('k', 1, { tag: 't' }), 'TypeError', 'tag');
    expect(i.size).toBe(0);
    expect(i.has('k')).toBe(false);
  });
});
