// lock(): acquire/acquireSync/release/locked, timeouts, expiry, withLock;
// memoize(): sync and async functions, in-flight sharing, errors not cached,
// cacheKey, name/typed/version/expire/tag options, stats.
import { Cache, FanoutCache } from '../lib';
import { expectArgError, expectCode, freshPath, rejected, sleep, thrown, track } from './helpers';

describe('lock', () => {
  test('acquire, locked, release, release again', async () => {
    const c = track(new Cache(freshPath()));
    const lock = c.lock('L');
    expect(lock.locked()).toBe(false);
    expect(await lock.acquire()).toBe(lock);
    expect(lock.locked()).toBe(true);
    expect(c.has('L')).toBe(true);
    expect(c.lock('L').locked()).toBe(true);
    expect(lock.release()).toBe(true);
    expect(lock.locked()).toBe(false);
    expect(c.has('L')).toBe(false);
    expect(lock.release()).toBe(false);
  });

  test('acquireSync', () => {
    const c = track(new Cache(freshPath()));
    const lock = c.lock('S');
    lock.acquireSync();
    expect(lock.locked()).toBe(true);
    expect(c.has('S')).toBe(true);
    expect(lock.release()).toBe(true);
    expect(lock.locked()).toBe(false);
  });

  test('a held lock times out with LOCK_TIMEOUT (timeout 0 is one try)', async () => {
    const c = track(new Cache(freshPath()));
    const holder = c.lock('L');
    await holder.acquire();
    const other = c.lock('L');
    expectCode(await rejected(other.acquire({ timeout: 0 })), 'LOCK_TIMEOUT');
    expectCode(thrown(() => other.acquireSync({ timeout: 0 })), 'LOCK_TIMEOUT');

    let t0 = Date.now();
    expectCode(await rejected(other.acquire({ timeout: 0.3 })), 'LOCK_TIMEOUT');
    let waited = Date.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(250);
    expect(waited).toBeLessThan(3000);

    t0 = Date.now();
    expectCode(thrown(() => other.acquireSync({ timeout: 0.2 })), 'LOCK_TIMEOUT');
    waited = Date.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(150);
    expect(waited).toBeLessThan(3000);

    expect(other.locked()).toBe(true);
    expect(other.release()).toBe(false);
    expect(holder.locked()).toBe(true);
    expect(holder.release()).toBe(true);
    await other.acquire({ timeout: 0 });
    expect(other.release()).toBe(true);
  });

  test('a waiting acquire succeeds once the holder releases', async () => {
    const c = track(new Cache(freshPath()));
    const holder = c.lock('L');
    holder.acquireSync();
    setTimeout(() => holder.release(), 150);
    const waiter = c.lock('L');
    const t0 = Date.now();
    await waiter.acquire({ timeout: 5 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(100);
    expect(waiter.locked()).toBe(true);
    expect(waiter.release()).toBe(true);
  });

  test('a lock held by another instance on the same directory', async () => {
    const dir = freshPath();
    const a = track(new Cache(dir));
    const b = track(new Cache(dir));
    const la = a.lock('shared');
    await la.acquire();
    expect(b.lock('shared').locked()).toBe(true);
    expectCode(await rejected(b.lock('shared').acquire({ timeout: 0 })), 'LOCK_TIMEOUT');
    la.release();
    const lb = await b.lock('shared').acquire({ timeout: 0 });
    expect(a.lock('shared').locked()).toBe(true);
    lb.release();
  });

  test('a lock with an expiry is lost after it; release then returns false', async () => {
    const c = track(new Cache(freshPath()));
    const first = c.lock('E', { expire: 0.2 });
    await first.acquire();
    await sleep(400);
    expect(first.locked()).toBe(false);
    const second = c.lock('E');
    await second.acquire({ timeout: 0 });
    expect(first.release()).toBe(false);
    expect(second.locked()).toBe(true);
    expect(second.release()).toBe(true);
  });

  test('a lock without expiry does not expire; a tagged lock goes with evictTag', async () => {
    const c = track(new Cache(freshPath()));
    const l = c.lock('T', { tag: 'locks' });
    l.acquireSync();
    await sleep(200);
    expect(l.locked()).toBe(true);
    expect(c.evictTag('locks')).toBe(1);
    expect(l.locked()).toBe(false);
    expect(l.release()).toBe(false);
  });

  test('withLock holds the lock during fn, returns its result, releases on throw', async () => {
    const c = track(new Cache(freshPath()));
    const r = await c.withLock('W', async () => {
      expect(c.has('W')).toBe(true);
      await sleep(10);
      return 'result';
    });
    expect(r).toBe('result');
    expect(c.has('W')).toBe(false);

    expect(await c.withLock('W', () => 5)).toBe(5);
    expect(c.has('W')).toBe(false);

    const boom = new Error('boom');
    expect(await rejected(c.withLock('W', async () => { throw boom; }))).toBe(boom);
    expect(c.has('W')).toBe(false);
    expect(await rejected(c.withLock('W', () => { throw boom; }))).toBe(boom);
    expect(c.has('W')).toBe(false);
  });

  test('withLock serializes concurrent holders', async () => {
    const c = track(new Cache(freshPath()));
    let inside = 0;
    let maxInside = 0;
    const order: number[] = [];
    await Promise.all([0, 1, 2, 3].map((i) => c.withLock('W', async () => {
      inside++;
      maxInside = Math.max(maxInside, inside);
      await sleep(30);
      order.push(i);
      inside--;
    }, { timeout: 10 })));
    expect(maxInside).toBe(1);
    expect(order.sort()).toEqual([0, 1, 2, 3]);
    expect(c.has('W')).toBe(false);
  });

  test('withLock times out with LOCK_TIMEOUT without calling fn', async () => {
    const c = track(new Cache(freshPath()));
    const holder = c.lock('W');
    holder.acquireSync();
    let called = false;
    expectCode(await rejected(c.withLock('W', () => { called = true; }, { timeout: 0 })), 'LOCK_TIMEOUT');
    expect(called).toBe(false);
    expect(holder.locked()).toBe(true);
    holder.release();
  });

  test('lock options are validated', () => {
    const c = track(new Cache(freshPath()));
    expectArgError(() => c.lock('L', { expire: -1 }), 'RangeError', 'expire');
    expectArgError(() => c.lock('L', { bogus: 1 } as any), 'TypeError', 'bogus');
    expectArgError(() => c.lock(1 as any), 'TypeError', 'key');
    expect(c.has('L')).toBe(false);
  });

  test('locks work on a FanoutCache', async () => {
    const fc = track(new FanoutCache(freshPath(), { shardCount: 3 }));
    const l = await fc.lock('F').acquire();
    expect(fc.has('F')).toBe(true);
    expectCode(thrown(() => fc.lock('F').acquireSync({ timeout: 0 })), 'LOCK_TIMEOUT');
    expect(l.release()).toBe(true);
  });
});

describe('memoize', () => {
  test('a sync function is computed once per arguments, with stats', () => {
    const c = track(new Cache(freshPath()));
    let calls = 0;
    const square = c.memoize(function square(x: number) {
      calls++;
      return x * x;
    });
    c.resetStats();
    expect(square(3)).toBe(9);
    expect(square(3)).toBe(9);
    expect(square(3)).toBe(9);
    expect(calls).toBe(1);
    expect(square(4)).toBe(16);
    expect(calls).toBe(2);
    expect(c.stats()).toEqual({ hits: 2, misses: 2 });
  });

  test('cacheKey is name plus a hash of the arguments, and the entry lives under it', () => {
    const c = track(new Cache(freshPath()));
    const f = c.memoize(function add(a: number, b: number) {
      return a + b;
    });
    const k = f.cacheKey(1, 2);
    expect(k.startsWith('add:')).toBe(true);
    expect(k.length).toBeGreaterThan('add:'.length + 15);
    expect(f.cacheKey(1, 2)).toBe(k);
    expect(f.cacheKey(2, 1)).not.toBe(k);
    expect((f.cacheKey as (...a: unknown[]) => string)(1, '2')).not.toBe(k);
    expect(c.has(k)).toBe(false);
    expect(f(1, 2)).toBe(3);
    expect(c.has(k)).toBe(true);
    expect(c.get(k)).toBe(3);
    c.set(k, 100);
    expect(f(1, 2)).toBe(100);
  });

  test('the name option; an anonymous function without a name is a TypeError', () => {
    const c = track(new Cache(freshPath()));
    const named = c.memoize((x: number) => x + 1, { name: 'inc' });
    expect(named.cacheKey(1).startsWith('inc:')).toBe(true);
    expect(named(1)).toBe(2);
    const e = thrown(() => c.memoize((x: number) => x));
    expect(e.name).toBe('TypeError');
    expect(e.message).toContain('name');
    const notFn = thrown(() => c.memoize('nope' as any));
    expect(notFn.name).toBe('TypeError');
    expect(notFn.message).toMatch(/fn|function/);
    expectArgError(() => c.memoize(function f() { return 1; }, { nmae: 'x' } as any), 'TypeError', 'nmae');
    expect(c.size).toBe(1);
  });

  test('typed and version change the key', () => {
    const c = track(new Cache(freshPath()));
    const fn = (x: unknown): unknown => x;
    const plain = c.memoize(fn, { name: 'n' });
    const typed = c.memoize(fn, { name: 'n', typed: true });
    const v1 = c.memoize(fn, { name: 'n', version: 1 });
    const v2 = c.memoize(fn, { name: 'n', version: 2 });
    const keys = [plain.cacheKey(1), typed.cacheKey(1), v1.cacheKey(1), v2.cacheKey(1)];
    expect(new Set(keys).size).toBe(4);
    expect(typed.cacheKey(1)).toBe(c.memoize(fn, { name: 'n', typed: true }).cacheKey(1));
    expect(v1.cacheKey(1)).toBe(c.memoize(fn, { name: 'n', version: 1 }).cacheKey(1));
    expect(typed(1)).toBe(1);
    expect(c.has(typed.cacheKey(1))).toBe(true);
    expect(c.has(plain.cacheKey(1))).toBe(false);
  });

  test('the expire option', async () => {
    const c = track(new Cache(freshPath()));
    let calls = 0;
    const f = c.memoize(function now() { return ++calls; }, { expire: 0.2 });
    expect(f()).toBe(1);
    expect(f()).toBe(1);
    await sleep(400);
    expect(f()).toBe(2);
  });

  test('the tag option', () => {
    const c = track(new Cache(freshPath()));
    let calls = 0;
    const f = c.memoize(function g(x: number) { calls++; return x; }, { tag: 'memo' });
    f(1);
    f(2);
    f(1);
    expect(calls).toBe(2);
    expect(c.evictTag('memo')).toBe(2);
    f(1);
    expect(calls).toBe(3);
  });

  test('thrown errors are not cached', () => {
    const c = track(new Cache(freshPath()));
    let calls = 0;
    const f = c.memoize(function flaky() {
      calls++;
      if (calls === 1) throw new Error('first fails');
      return 'ok';
    });
    expect(thrown(() => f()).message).toBe('first fails');
    expect(c.size).toBe(0);
    expect(f()).toBe('ok');
    expect(f()).toBe('ok');
    expect(calls).toBe(2);
  });

  test('undefined results are cached too', () => {
    const c = track(new Cache(freshPath()));
    let calls = 0;
    const f = c.memoize(function nothing() { calls++; return undefined; });
    expect(f()).toBeUndefined();
    expect(f()).toBeUndefined();
    expect(calls).toBe(1);
  });

  test('memoized values persist across reopen', () => {
    const dir = freshPath();
    const c = new Cache(dir);
    let calls = 0;
    const make = (store: Cache) => store.memoize(function persisted(x: number) { calls++; return { x }; });
    expect(make(c)(1)).toEqual({ x: 1 });
    c.close();
    const d = track(new Cache(dir));
    expect(make(d)(1)).toEqual({ x: 1 });
    expect(calls).toBe(1);
  });

  test('an async function: 10 concurrent calls share one computation', async () => {
    const c = track(new Cache(freshPath()));
    let calls = 0;
    const slow = c.memoize(async function slow(x: number) {
      calls++;
      await sleep(50);
      return { x, at: calls };
    });
    c.resetStats();
    const results = await Promise.all(Array.from({ length: 10 }, () => slow(7)));
    expect(calls).toBe(1);
    for (const r of results) expect(r).toEqual({ x: 7, at: 1 });
    const hit = slow(7);
    expect(typeof (hit as Promise<unknown>).then).toBe('function');
    expect(await hit).toEqual({ x: 7, at: 1 });
    expect(calls).toBe(1);
    expect(c.get(slow.cacheKey(7))).toEqual({ x: 7, at: 1 });
    expect(c.stats().hits).toBeGreaterThanOrEqual(1);
    // different arguments are different computations
    await Promise.all([slow(1), slow(2)]);
    expect(calls).toBe(3);
  });

  test('an async rejection is not cached, and shared by concurrent callers', async () => {
    const c = track(new Cache(freshPath()));
    let calls = 0;
    const f = c.memoize(async function failing() {
      calls++;
      await sleep(20);
      if (calls === 1) throw new Error('nope');
      return 'ok';
    });
    const errs = await Promise.all([rejected(f()), rejected(f()), rejected(f())]);
    expect(calls).toBe(1);
    for (const e of errs) expect(e.message).toBe('nope');
    expect(c.size).toBe(0);
    expect(await f()).toBe('ok');
    expect(calls).toBe(2);
    expect(await f()).toBe('ok');
    expect(calls).toBe(2);
  });

  test('a memoized function on a FanoutCache', async () => {
    const fc = track(new FanoutCache(freshPath(), { shardCount: 2 }));
    let calls = 0;
    const f = fc.memoize(async function fan(x: number) { calls++; return x * 2; });
    expect(await f(2)).toBe(4);
    expect(await f(2)).toBe(4);
    expect(calls).toBe(1);
    expect(fc.stats()).toEqual({ hits: 1, misses: 1 });
  });
});
