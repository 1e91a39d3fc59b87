// Tags (set/add with a tag, evictTag) and the LRU size limit (maxSize, evict(),
// the background eviction, maxSize persisted and overridden on reopen).
import { BytesSerializer, Cache, FanoutCache } from '../lib';
import { bytes, freshPath, sleep, track, valueFiles } from './helpers';

describe('tags', () => {
  test('evictTag removes exactly the entries with that tag', () => {
    const dir = freshPath();
    const c = track(new Cache(dir, { serializer: new BytesSerializer() }));
    c.set('a1', bytes(10), { tag: 'a' });
    c.set('a2', bytes(20000), { tag: 'a' });
    c.add('a3', bytes(10), { tag: 'a', expire: 100 });
    c.set('b1', bytes(10), { tag: 'b' });
    c.set('none', bytes(10));
    c.set('empty-tag', bytes(10), { tag: '' });
    expect(c.evictTag('a')).toBe(3);
    expect([...c.keys()]).toEqual(['b1', 'empty-tag', 'none']);
    expect(valueFiles(dir)).toHaveLength(1); // in the trash until its grace period ends
    expect(c.check().ok).toBe(true);
    expect(c.evictTag('a')).toBe(0);
    expect(c.evictTag('nope')).toBe(0);
    expect(c.evictTag('')).toBe(1);
    expect(c.evictTag('b')).toBe(1);
    expect([...c.keys()]).toEqual(['none']);
    expect(c.valueBytes()).toBe(10);
  });

  test('set without a tag drops the previous tag; set with another tag moves it', () => {
    const c = track(new Cache(freshPath()));
    c.set('k', 1, { tag: 'a' });
    c.set('k', 2);
    c.set('m', 1, { tag: 'a' });
    c.set('m', 2, { tag: 'b' });
    expect(c.evictTag('a')).toBe(0);
    expect(c.get('k')).toBe(2);
    expect(c.evictTag('b')).toBe(1);
    expect(c.has('m')).toBe(false);
  });

  test('tags are Unicode strings and persist', () => {
    const dir = freshPath();
    const c = new Cache(dir);
    c.set('k', 1, { tag: 'étiquette 😀' });
    c.close();
    const d = track(new Cache(dir));
    expect(d.evictTag('étiquette')).toBe(0);
    expect(d.evictTag('étiquette 😀')).toBe(1);
  });

  test('an expired tagged entry is not counted as live after evictTag', async () => {
    const c = track(new Cache(freshPath()));
    c.set('x', 1, { tag: 't', expire: 0.1 });
    c.set('y', 1, { tag: 't' });
    await sleep(250);
    const n = c.evictTag('t');
    expect(n === 1 || n === 2).toBe(true);
    expect(c.has('x')).toBe(false);
    expect(c.has('y')).toBe(false);
  });
});

describe('LRU size limit', () => {
  const KB10 = 10000;

  test('evict() trims to 90 % of maxSize and keeps recently read keys', () => {
    const maxSize = 100000;
    const c = track(new Cache(freshPath(), { maxSize, serializer: new BytesSerializer() }));
    const keep = ['keep0', 'keep1', 'keep2'];
    keep.forEach((k, i) => c.set(k, bytes(KB10, i)));
    for (let i = 0; i < 25; i++) {
      c.set(`f${String(i).padStart(2, '0')}`, bytes(KB10, 100 + i));
      for (const k of keep) expect(c.get(k)).toBeDefined();
    }
    c.evict();
    expect(c.valueBytes()).toBeLessThanOrEqual(0.9 * maxSize);
    for (const [i, k] of keep.entries()) {
      expect(Buffer.compare(c.get(k) as Buffer, bytes(KB10, i))).toBe(0);
    }
    expect(c.has('f00')).toBe(false);
    expect(c.has('f24')).toBe(true);
    expect(c.check().ok).toBe(true);
  });

  test('evict() returns the count removed and does nothing under the limit', () => {
    const c = track(new Cache(freshPath(), { maxSize: 50000, serializer: new BytesSerializer() }));
    for (let i = 0; i < 4; i++) c.set(`k${i}`, bytes(KB10, i));
    expect(c.evict()).toBe(0);
    expect(c.size).toBe(4);
    const before = c.size;
    for (let i = 4; i < 10; i++) c.set(`k${i}`, bytes(KB10, i));
    const sizeBefore = c.size;
    const removed = c.evict();
    expect(c.valueBytes()).toBeLessThanOrEqual(45000);
    expect(c.size).toBe(sizeBefore - removed);
    expect(before).toBe(4);
    expect(c.evict()).toBe(0);
  });

  test('maxSize 0 (the default) is unlimited', () => {
    const c = track(new Cache(freshPath(), { serializer: new BytesSerializer() }));
    for (let i = 0; i < 30; i++) c.set(`k${i}`, bytes(KB10, i));
    expect(c.evict()).toBe(0);
    expect(c.size).toBe(30);
    const d = track(new Cache(freshPath(), { maxSize: 0, serializer: new BytesSerializer() }));
    for (let i = 0; i < 30; i++) d.set(`k${i}`, bytes(KB10, i));
    expect(d.evict()).toBe(0);
    expect(d.valueBytes()).toBe(300000);
  });

  test('the background thread evicts by itself', async () => {
    const c = track(new Cache(freshPath(), { maxSize: 50000, serializer: new BytesSerializer() }));
    for (let i = 0; i < 20; i++) c.set(`k${i}`, bytes(KB10, i));
    const deadline = Date.now() + 5000;
    while (c.valueBytes() > 50000 && Date.now() < deadline) await sleep(100);
    expect(c.valueBytes()).toBeLessThanOrEqual(50000);
    expect(c.has('k19')).toBe(true);
  });

  test('maxSize persists across reopen and a new maxSize overrides it', () => {
    const dir = freshPath();
    const opts = { serializer: new BytesSerializer() };
    new Cache(dir, { ...opts, maxSize: 50000 }).close();

    const reopened = new Cache(dir, opts);
    for (let i = 0; i < 10; i++) reopened.set(`k${i}`, bytes(KB10, i));
    reopened.evict();
    expect(reopened.valueBytes()).toBeLessThanOrEqual(45000);
    reopened.close();

    const larger = new Cache(dir, { ...opts, maxSize: 200000 });
    for (let i = 0; i < 15; i++) larger.set(`m${i}`, bytes(KB10, i));
    larger.evict();
    const kept = larger.valueBytes();
    expect(kept).toBeGreaterThan(45000);
    expect(kept).toBeLessThanOrEqual(200000);
    larger.close();

    const again = new Cache(dir, opts);
    expect(again.evict()).toBe(0);
    expect(again.valueBytes()).toBe(kept);
    again.close();

    const unlimited = track(new Cache(dir, { ...opts, maxSize: 0 }));
    for (let i = 0; i < 30; i++) unlimited.set(`n${i}`, bytes(KB10, i));
    expect(unlimited.evict()).toBe(0);
  });

  test('a FanoutCache maxSize is the total over its shards', () => {
    const maxSize = 80000;
    const fc = track(new FanoutCache(freshPath(), { maxSize, serializer: new BytesSerializer() }));
    for (let i = 0; i < 40; i++) fc.set(`key-${i}`, bytes(5000, i));
    fc.evict();
    expect(fc.valueBytes()).toBeLessThanOrEqual(0.9 * maxSize);
    expect(fc.size).toBeGreaterThan(0);
  });
});
