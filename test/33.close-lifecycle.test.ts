// Lifecycle: every call after close() throws CLOSED, close() twice is a no-op,
// Symbol.dispose closes, and processes exit cleanly with or without close().
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Cache, FanoutCache, FanoutIndex, Index } from '../lib';
import { resultOf, runTogether } from './helpers/children';
import { expectCode, expectThrowsCode, freshPath, rejected, thrown, track } from './helpers';

jest.setTimeout(60000);

/** Every operation of a Cache, as calls on a closed store. */
function cacheCalls(c: any): Array<[string, () => unknown]> {
  return [
    ['set', () => c.set('k', 1)],
    ['get', () => c.get('k')],
    ['get with default', () => c.get('k', 1)],
    ['has', () => c.has('k')],
    ['delete', () => c.delete('k')],
    ['add', () => c.add('k', 1)],
    ['pop', () => c.pop('k')],
    ['touch', () => c.touch('k', 1)],
    ['expire', () => c.expire()],
    ['evict', () => c.evict()],
    ['evictTag', () => c.evictTag('t')],
    ['incr', () => c.incr('k')],
    ['decr', () => c.decr('k')],
    ['clear', () => c.clear()],
    ['keys', () => [...c.keys()]],
    ['values', () => [...c.values()]],
    ['entries', () => [...c.entries()]],
    ['iterator', () => [...c]],
    ['forEach', () => c.forEach(() => undefined)],
    ['size', () => c.size],
    ['valueBytes', () => c.valueBytes()],
    ['volume', () => c.volume()],
    ['stats', () => c.stats()],
    ['check', () => c.check()],
    ['check(true)', () => c.check(true)],
    ['transact', () => c.transact(() => 1)],
    ['lock acquireSync', () => c.lock('L').acquireSync()],
    ['memoized call', () => c.memoize(function m() { return 1; })()],
    ['asObject read', () => (c.asObject() as any).k],
    ['asObject write', () => { (c.asObject() as any).k = 1; }],
  ];
}

const INDEX_ONLY_MISSING = new Set(['touch', 'expire', 'evict', 'evictTag', 'stats']);

describe('after close()', () => {
  test.each(cacheCalls(null).map(([n]) => n))('Cache.%s throws CLOSED', (name) => {
    const dir = freshPath();
    const c = new Cache(dir);
    c.set('k', 1);
    c.close();
    const call = cacheCalls(c).find(([n]) => n === name)![1];
    expectThrowsCode(call, 'CLOSED');
  });

  test('Index, FanoutCache and FanoutIndex throw CLOSED for every operation', () => {
    const stores: Array<[string, any]> = [
      ['Index', new Index(freshPath())],
      ['FanoutCache', new FanoutCache(freshPath(), { shardCount: 2 })],
      ['FanoutIndex', new FanoutIndex(freshPath(), { shardCount: 2 })],
    ];
    for (const [kind, s] of stores) {
      s.set('k', 1);
      s.close();
      for (const [name, call] of cacheCalls(s)) {
        if (kind.endsWith('Index') && INDEX_ONLY_MISSING.has(name)) continue;
        if (kind.startsWith('Fanout') && name === 'transact') {
          expectThrowsCode(() => s.transact('k', () => 1), 'CLOSED');
          continue;
        }
        const e = thrown(call);
        if (e?.code !== 'CLOSED') throw new Error(`${kind}.${name} after close threw ${e?.name} ${e?.code}: ${e?.message}`);
        expectCode(e, 'CLOSED');
      }
    }
  });

  test('the CLOSED message is clear', () => {
    const c = new Cache(freshPath());
    c.close();
    const e = expectThrowsCode(() => c.get('k'), 'CLOSED');
    expect(e.message).toMatch(/close/i);
  });

  test('an async lock acquire after close rejects with CLOSED', async () => {
    const c = new Cache(freshPath());
    const lock = c.lock('L');
    c.close();
    expectCode(await rejected(lock.acquire()), 'CLOSED');
  });

  test('a lock, a memoized function and an object view made before close() fail after it', async () => {
    const c = new Cache(freshPath());
    const lock = c.lock('L');
    lock.acquireSync();
    const f = c.memoize(async function later() { return 1; });
    const o = c.asObject() as Record<string, unknown>;
    c.close();
    expectThrowsCode(() => lock.release(), 'CLOSED');
    expectThrowsCode(() => lock.locked(), 'CLOSED');
    // a sync throw or a rejection are both acceptable for the async wrapper
    expectCode(await rejected((async () => f())()), 'CLOSED');
    expectThrowsCode(() => o.k, 'CLOSED');
    expectThrowsCode(() => 'k' in o, 'CLOSED');
    expectThrowsCode(() => Object.keys(o), 'CLOSED');
  });

  test('an iterator interrupted by close() throws CLOSED on its next step', () => {
    const c = new Cache(freshPath());
    for (let i = 0; i < 10; i++) c.set(`k${i}`, i);
    const it = c.values();
    expect(it.next().value).toBe(0);
    c.close();
    expectThrowsCode(() => it.next(), 'CLOSED');
  });

  test('a failed call after close writes nothing: reopening shows the old contents', () => {
    const dir = freshPath();
    const c = new Cache(dir);
    c.set('k', 'before');
    c.close();
    thrown(() => c.set('k', 'after'));
    thrown(() => c.clear());
    const d = track(new Cache(dir));
    expect(d.get('k')).toBe('before');
  });
});

describe('close', () => {
  test('close() twice is a no-op', () => {
    for (const s of [
      new Cache(freshPath()), new Index(freshPath()),
      new FanoutCache(freshPath(), { shardCount: 2 }), new FanoutIndex(freshPath(), { shardCount: 2 }),
    ] as any[]) {
      s.set('k', 1);
      expect(s.close()).toBeUndefined();
      expect(() => s.close()).not.toThrow();
      expect(() => s.close()).not.toThrow();
    }
  });

  test('Symbol.dispose closes the store', () => {
    const dir = freshPath();
    const c = new Cache(dir);
    c.set('k', 1);
    expect(typeof (c as any)[Symbol.dispose]).toBe('function');
    (c as any)[Symbol.dispose]();
    expectThrowsCode(() => c.get('k'), 'CLOSED');
    expect(() => (c as any)[Symbol.dispose]()).not.toThrow();
    for (const s of [new Index(freshPath()), new FanoutCache(freshPath(), { shardCount: 2 }), new FanoutIndex(freshPath(), { shardCount: 2 })] as any[]) {
      s[Symbol.dispose]();
      expectThrowsCode(() => s.get('k'), 'CLOSED');
    }
    const d = track(new Cache(dir));
    expect(d.get('k')).toBe(1);
  });

  test('a `using` declaration closes the store at the end of the block', () => {
    const dir = freshPath();
    let escaped: Cache | undefined;
    {
      using c = new Cache(dir);
      c.set('k', 'scoped');
      escaped = c;
    }
    expectThrowsCode(() => escaped!.get('k'), 'CLOSED');
    const d = track(new Cache(dir));
    expect(d.get('k')).toBe('scoped');
  });

  test('close() releases every file descriptor of the store', () => {
    const dir = freshPath();
    const openFiles = (): string[] =>
      fs.readdirSync('/proc/self/fd').flatMap((fd) => {
        try {
          const target = fs.readlinkSync(path.join('/proc/self/fd', fd));
          return target.startsWith(dir) ? [target] : [];
        } catch {
          return [];
        }
      });
    const c = new Cache(dir);
    c.set('k', 'v'.repeat(20000));
    c.get('k');
    expect(openFiles().length).toBeGreaterThan(0);
    c.close();
    expect(openFiles()).toEqual([]);
    const f = new FanoutCache(path.join(dir, 'fan'), { shardCount: 3 });
    f.set('k', 1);
    f.close();
    expect(openFiles()).toEqual([]);
  });

  test('reopening an existing store writes nothing', () => {
    const dir = freshPath();
    const c = new Cache(dir, { maxSize: 1000000 });
    for (let i = 0; i < 50; i++) c.set(`k${i}`, i);
    c.close();
    const db = path.join(dir, 'sciqlop-cache.db');
    const wal = `${db}-wal`;
    const walSize = (): number => (fs.existsSync(wal) ? fs.statSync(wal).size : 0);
    const before = fs.readFileSync(db);
    const walBefore = walSize();
    const readers = [new Cache(dir), new Cache(dir, { maxSize: 1000000 }), new Cache(dir)];
    expect(readers[0]!.get('k1')).toBe(1);
    expect(walSize()).toBe(walBefore);
    expect(Buffer.compare(fs.readFileSync(db), before)).toBe(0);
    for (const r of readers) r.close();
  });

  test('many open/close cycles do not leak (the same directory, 200 times)', () => {
    const dir = freshPath();
    for (let i = 0; i < 200; i++) {
      const c = new Cache(dir);
      c.set(`k${i}`, i);
      c.close();
    }
    const d = track(new Cache(dir));
    expect(d.size).toBe(200);
  });

  test('a store closed with entries in the trash leaves a consistent store for the next opener', () => {
    const dir = freshPath();
    const c = new Cache(dir);
    for (let i = 0; i < 5; i++) c.set('k', `${i}`.repeat(20000));
    c.delete('k');
    c.close();
    const d = track(new Cache(dir));
    expect(d.has('k')).toBe(false);
    expect(d.check().ok).toBe(true);
    expect(fs.existsSync(path.join(dir, 'sciqlop-cache.db'))).toBe(true);
  });
});

describe('process exit', () => {
  test('a process that opens and closes stores exits by itself', async () => {
    const dir = freshPath();
    const [child] = await runTogether(1, 'openClose', dir, 20);
    expect(resultOf(child!)).toEqual({ ok: true });
    const c = track(new Cache(dir));
    expect(c.size).toBe(20);
  });

  test('a process that never calls close() exits by itself and its writes are kept', async () => {
    const dir = freshPath();
    const children = await runTogether(2, 'noClose', dir, 100);
    for (const child of children) expect(resultOf(child)).toEqual({ wrote: 100 });
    const c = track(new Cache(dir));
    expect(c.size).toBe(101);
    expect(c.get('big')).toBe('b'.repeat(20000));
    expect(c.check().ok).toBe(true);
  });
});
