// FanoutCache / FanoutIndex: shard folders, fanout.json, FNV-1a 64 routing,
// shard-count rules, every operation across shards, transact(key, fn).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BytesSerializer, Cache, FanoutCache, FanoutIndex, Index } from '../lib';
import { byteOrder, bytes, expectArgError, expectCode, freshPath, sleep, thrown, track } from './helpers';

/** FNV-1a 64 of the UTF-8 bytes of `key`, the shard routing function of the spec. */
function fnv1a64(key: string): bigint {
  let h = 0xcbf29ce484222325n;
  for (const b of Buffer.from(key, 'utf8')) {
    h ^= BigInt(b);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h;
}
const shardOf = (key: string, n: number): number => Number(fnv1a64(key) % BigInt(n));
const shardDirs = (dir: string): string[] =>
  fs.readdirSync(dir).filter((f) => /^\d+$/.test(f) && fs.statSync(path.join(dir, f)).isDirectory()).sort();

describe('FanoutCache layout', () => {
  test('the test FNV-1a 64 matches the published vectors', () => {
    expect(fnv1a64('')).toBe(0xcbf29ce484222325n);
    expect(fnv1a64('a')).toBe(0xaf63dc4c8601ec8cn);
    expect(fnv1a64('foobar')).toBe(0x85944171f73967e8n);
  });

  test('8 shards by default in folders 00..07, and fanout.json', () => {
    const dir = freshPath();
    const fc = track(new FanoutCache(dir));
    expect(shardDirs(dir)).toEqual(['00', '01', '02', '03', '04', '05', '06', '07']);
    for (const s of shardDirs(dir)) expect(fs.existsSync(path.join(dir, s, 'sciqlop-cache.db'))).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'fanout.json'), 'utf8'))).toEqual({ shardCount: 8, hash: 'fnv1a64' });
    fc.close();
  });

  test('shardCount 12 makes folders 00..11; shardCount 1 makes 00', () => {
    const a = freshPath();
    track(new FanoutCache(a, { shardCount: 12 }));
    expect(shardDirs(a)).toEqual(Array.from({ length: 12 }, (_, i) => String(i).padStart(2, '0')));
    expect(JSON.parse(fs.readFileSync(path.join(a, 'fanout.json'), 'utf8')).shardCount).toBe(12);
    const b = freshPath();
    const one = track(new FanoutIndex(b, { shardCount: 1 }));
    expect(shardDirs(b)).toEqual(['00']);
    one.set('k', 1);
    expect(one.get('k')).toBe(1);
  });

  test('a key lives in shard fnv1a64(utf8(key)) % N', () => {
    const dir = freshPath();
    const n = 5;
    const keys = ['', 'a', 'foobar', 'é', '😀', 'sensor/temperature', ...Array.from({ length: 40 }, (_, i) => `key-${i}`)];
    const fc = new FanoutCache(dir, { shardCount: n });
    keys.forEach((k) => fc.set(k, k));
    fc.close();
    const used = new Set<number>();
    for (const k of keys) {
      const s = shardOf(k, n);
      used.add(s);
      const shard = new Cache(path.join(dir, String(s).padStart(2, '0')));
      expect(shard.get(k)).toBe(k);
      shard.close();
      const other = new Cache(path.join(dir, String((s + 1) % n).padStart(2, '0')));
      expect(other.has(k)).toBe(false);
      other.close();
    }
    expect(used.size).toBe(n);
  });

  test('reopening with another shardCount is SHARD_COUNT_MISMATCH; without one uses the recorded', () => {
    const dir = freshPath();
    const fc = new FanoutCache(dir, { shardCount: 4 });
    for (let i = 0; i < 20; i++) fc.set(`k${i}`, i);
    fc.close();
    expectCode(thrown(() => track(new FanoutCache(dir, { shardCount: 8 }))), 'SHARD_COUNT_MISMATCH');
    expectCode(thrown(() => track(new FanoutCache(dir, { shardCount: 3 }))), 'SHARD_COUNT_MISMATCH');
    expect(shardDirs(dir)).toEqual(['00', '01', '02', '03']);
    const again = track(new FanoutCache(dir));
    expect(again.size).toBe(20);
    for (let i = 0; i < 20; i++) expect(again.get(`k${i}`)).toBe(i);
    again.close();
    const same = track(new FanoutCache(dir, { shardCount: 4 }));
    expect(same.get('k3')).toBe(3);
  });

  test('FanoutIndex follows the same rules', () => {
    const dir = freshPath();
    const fi = new FanoutIndex(dir, { shardCount: 3 });
    expect(shardDirs(dir)).toEqual(['00', '01', '02']);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'fanout.json'), 'utf8'))).toEqual({ shardCount: 3, hash: 'fnv1a64' });
    fi.set('a', 1);
    fi.close();
    expectCode(thrown(() => track(new FanoutIndex(dir, { shardCount: 2 }))), 'SHARD_COUNT_MISMATCH');
    const again = track(new FanoutIndex(dir));
    expect(again.get('a')).toBe(1);
    const shard = track(new Index(path.join(dir, String(shardOf('a', 3)).padStart(2, '0'))));
    expect(shard.get('a')).toBe(1);
  });
});

describe('FanoutCache operations', () => {
  const KEYS = Array.from({ length: 30 }, (_, i) => `k-${i}-${'é'.repeat(i % 3)}`);

  test('set/get/has/delete/add/pop/size/keys/values/entries across shards', () => {
    const fc = track(new FanoutCache(freshPath(), { shardCount: 4 }));
    expect(fc.set('x', 1)).toBe(fc);
    KEYS.forEach((k, i) => fc.set(k, i));
    expect(fc.size).toBe(31);
    expect(fc.get('x')).toBe(1);
    expect(fc.get('nope', 'd')).toBe('d');
    expect(fc.has(KEYS[5]!)).toBe(true);
    expect(fc.delete('x')).toBe(true);
    expect(fc.delete('x')).toBe(false);
    expect(fc.add(KEYS[0]!, 'no')).toBe(false);
    expect(fc.add('new', 'yes')).toBe(true);
    expect(fc.pop('new')).toBe('yes');
    expect(fc.pop('new', 'd')).toBe('d');
    const order = byteOrder(KEYS);
    expect([...fc.keys()]).toEqual(order);
    expect([...fc.values()]).toEqual(order.map((k) => KEYS.indexOf(k)));
    expect([...fc.entries()]).toEqual(order.map((k) => [k, KEYS.indexOf(k)]));
    expect([...fc]).toEqual(order.map((k) => [k, KEYS.indexOf(k)]));
    const seen: string[] = [];
    fc.forEach((_v: unknown, k: string) => seen.push(k));
    expect(seen).toEqual(order);
    const o = fc.asObject() as Record<string, any>;
    expect(o[KEYS[3]!]).toBe(3);
    expect(Object.keys(o)).toEqual(order);
    fc.clear();
    expect(fc.size).toBe(0);
  });

  test('incr/decr, touch, expire, evictTag, valueBytes, volume, stats, check', async () => {
    const fc = track(new FanoutCache(freshPath(), { shardCount: 4, serializer: new BytesSerializer() }));
    KEYS.forEach((k, i) => fc.set(k, bytes(100 + i, i), { tag: i % 2 ? 'odd' : 'even' }));
    const total = KEYS.reduce((s, _k, i) => s + 100 + i, 0);
    expect(fc.valueBytes()).toBe(total);
    expect(fc.volume()).toBeGreaterThanOrEqual(total);
    expect(fc.evictTag('odd')).toBe(15);
    expect(fc.size).toBe(15);

    fc.resetStats();
    fc.get(KEYS[0]!);
    fc.get(KEYS[2]!);
    fc.get(KEYS[1]!);
    fc.get('missing-1');
    fc.get('missing-2');
    expect(fc.stats()).toEqual({ hits: 2, misses: 3 });
    fc.resetStats();
    expect(fc.stats()).toEqual({ hits: 0, misses: 0 });

    expect(fc.touch(KEYS[0]!, 0.2)).toBe(true);
    expect(fc.touch('missing', 1)).toBe(false);
    fc.set('short', bytes(1), { expire: 0.2 });
    await sleep(400);
    expect(fc.has(KEYS[0]!)).toBe(false);
    expect(fc.expire()).toBeLessThanOrEqual(2);
    expect(fc.has('short')).toBe(false);

    const report = fc.check();
    expect(report).toEqual({
      ok: true, orphanedFiles: 0, danglingRows: 0, sizeMismatches: 0, countersConsistent: true, sqliteIntegrityOk: true,
    });
  });

  test('incr/decr on a FanoutCache', () => {
    const fc = track(new FanoutCache(freshPath(), { shardCount: 3 }));
    expect(fc.incr('a')).toBe(1);
    expect(fc.incr('b', 10)).toBe(10);
    expect(fc.decr('a', 3)).toBe(-2);
    expect(fc.get('a')).toBe(-2);
  });

  test('transact(key, fn) runs in the key\'s shard: commit, rollback, value, promise', () => {
    const fc = track(new FanoutCache(freshPath(), { shardCount: 4 }));
    expect(fc.transact('acct', () => {
      fc.set('acct', 10);
      fc.incr('acct', 5);
      return fc.get('acct');
    })).toBe(15);
    expect(fc.get('acct')).toBe(15);
    thrown(() => fc.transact('acct', () => {
      fc.set('acct', 0);
      fc.transact('acct', () => fc.set('acct', -1));
      throw new Error('rollback');
    }));
    expect(fc.get('acct')).toBe(15);
    const e = thrown(() => fc.transact('acct', (() => {
      fc.set('acct', 99);
      return Promise.resolve();
    }) as any));
    expect(e.name).toBe('TypeError');
    expect(fc.get('acct')).toBe(15);
    expectArgError(() => fc.transact(5 as any, () => 1), 'TypeError', 'key');
  });

  test('FanoutIndex: all Index operations', () => {
    const fi = track(new FanoutIndex(freshPath(), { shardCount: 4 }));
    KEYS.forEach((k, i) => fi.set(k, { i }));
    expect(fi.size).toBe(KEYS.length);
    expect([...fi.keys()]).toEqual(byteOrder(KEYS));
    expect(fi.get(KEYS[7]!)).toEqual({ i: 7 });
    expect(fi.has(KEYS[7]!)).toBe(true);
    expect(fi.delete(KEYS[7]!)).toBe(true);
    expect(fi.add(KEYS[7]!, 1)).toBe(true);
    expect(fi.pop(KEYS[7]!)).toBe(1);
    expect(fi.incr('n', 2)).toBe(2);
    expect(fi.transact('n', () => fi.incr('n'))).toBe(3);
    fi.set('big', 'b'.repeat(30000));
    expect(fi.valueBytes()).toBeGreaterThan(30000);
    expect(fi.volume()).toBeGreaterThanOrEqual(fi.valueBytes());
    expect(fi.check().ok).toBe(true);
    for (const m of ['touch', 'expire', 'evict', 'evictTag', 'stats']) expect(typeof (fi as any)[m]).toBe('undefined');
    fi.clear();
    expect(fi.size).toBe(0);
  });
});
