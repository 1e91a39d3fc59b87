// The *Async operations: same results as the sync ones on every store type, call order
// between sync and async calls (a sync call waits for the async ones issued before it),
// transact() holding async work back, rejections (never throws) with a stack starting at
// the caller's line, getManyAsync/setManyAsync, stats.
import { BytesSerializer, Cache, FanoutCache, FanoutIndex, Index, JsonSerializer } from '../lib';
import { expectCode, freshPath, rejected, storeKinds, track } from './helpers';


describe.each(storeKinds)('%s', (_name, make) => {
  test('each operation gives what its sync counterpart gives', async () => {
    const s = track(make(freshPath()));
    expect(await s.setAsync('a', { n: 1 })).toBeUndefined();
    expect(await s.getAsync('a')).toEqual({ n: 1 });
    expect(await s.getAsync('missing')).toBeUndefined();
    expect(await s.getAsync('missing', 'dflt')).toBe('dflt');
    expect(await s.hasAsync('a')).toBe(true);
    expect(await s.hasAsync('missing')).toBe(false);
    expect(await s.addAsync('a', 2)).toBe(false);
    expect(await s.addAsync('b', 2)).toBe(true);
    expect(await s.popAsync('b')).toBe(2);
    expect(await s.popAsync('b')).toBeUndefined();
    expect(await s.popAsync('b', null)).toBeNull();
    expect(await s.deleteAsync('a')).toBe(true);
    expect(await s.deleteAsync('a')).toBe(false);
    expect(await s.incrAsync('n')).toBe(1);
    expect(await s.incrAsync('n', 41)).toBe(42);
    expect(await s.decrAsync('n', 2)).toBe(40);
    expect(await s.incrAsync('fresh', 5, 10)).toBe(15);
    expect(s.get('n')).toBe(40);
    // a stored undefined is a hit, like get()
    await s.setAsync('u', undefined);
    expect(await s.getAsync('u', 'dflt')).toBeUndefined();
    // large values go through value files
    const big = Buffer.alloc(3 << 20, 7);
    await s.setAsync('big', big);
    expect(Buffer.compare((await s.getAsync('big')) as Buffer, big)).toBe(0);
    expect(s.check().ok).toBe(true);
  });

  test('a sync call sees every async call made before it, without awaiting', async () => {
    const s = track(make(freshPath()));
    const pending: Array<Promise<unknown>> = [];
    for (let i = 0; i < 500; i++) pending.push(s.setAsync(`k${i}`, i));
    expect(s.get('k499')).toBe(499); // waits for the writes issued before it
    expect(s.size).toBe(500);
    pending.push(s.deleteAsync('k0'));
    expect(s.has('k0')).toBe(false);
    pending.push(s.incrAsync('c'), s.incrAsync('c'));
    expect(s.get('c')).toBe(2);
    s.set('k1', 'sync');
    const read = s.getAsync('k1'); // an async read after a sync write sees it
    pending.push(s.setAsync('k1', 'async'));
    expect(await read).toBe('sync');
    expect(s.get('k1')).toBe('async');
    await Promise.all(pending);
  });

  test('async operations on one key take effect in call order', async () => {
    const s = track(make(freshPath()));
    const results = await Promise.all([
      s.getAsync('k'),
      s.setAsync('k', 1),
      s.getAsync('k'),
      s.incrAsync('k', 10),
      s.addAsync('k', 99),
      s.setAsync('k', 5),
      s.incrAsync('k'),
      s.popAsync('k'),
      s.hasAsync('k'),
      s.addAsync('k', 7),
      s.getAsync('k'),
      s.deleteAsync('k'),
      s.getAsync('k', 'gone'),
    ]);
    expect(results).toEqual([undefined, undefined, 1, 11, false, undefined, 6, 6, false, true, 7, true, 'gone']);
  });

  test('transact(): async calls made inside wait for it and are not part of it', async () => {
    const s = track(make(freshPath()));
    const key = 'x';
    let inner!: Promise<void>;
    const run = (fn: () => void): void => {
      if (s instanceof FanoutCache || s instanceof FanoutIndex) s.transact(key, fn);
      else s.transact(fn);
    };
    run(() => {
      s.set(key, 'in transaction');
      inner = s.setAsync(key, 'after the transaction');
      expect(s.get(key)).toBe('in transaction'); // no deadlock, not applied yet
    });
    await inner;
    expect(s.get(key)).toBe('after the transaction');

    // rolled back: the async write still happens, after the rollback
    expect(() =>
      run(() => {
        s.set(key, 'rolled back');
        inner = s.setAsync('y', 'kept');
        throw new Error('boom');
      }),
    ).toThrow('boom');
    await inner;
    expect(s.get(key)).toBe('after the transaction');
    expect(s.get('y')).toBe('kept');
  });

  test('getManyAsync and setManyAsync', async () => {
    const s = track(make(freshPath()));
    const entries = Array.from({ length: 300 }, (_, i): [string, unknown] => [`m${i}`, { i }]);
    expect(await s.setManyAsync(entries)).toBeUndefined();
    expect(s.size).toBe(300);
    const keys = ['m0', 'nope', 'm299', 'm150'];
    const values = await s.getManyAsync(keys);
    expect(values).toEqual([{ i: 0 }, undefined, { i: 299 }, { i: 150 }]);
    expect(values.length).toBe(4);
    expect(1 in values).toBe(true); // dense: undefined, not a hole
    await s.setManyAsync(new Map([['m0', 'again']]));
    expect(await s.getManyAsync([])).toEqual([]);
    await s.setManyAsync([]);
    expect(s.get('m0')).toBe('again');
    // a bad entry anywhere: rejected, nothing written
    const bad = [['z1', 1], [42, 2]] as unknown as Array<[string, unknown]>;
    expect((await rejected(s.setManyAsync(bad))).name).toBe('TypeError');
    expect(s.has('z1')).toBe(false);
  });

  test('bad arguments reject, never throw, and write nothing', async () => {
    const s = track(make(freshPath()));
    const calls: Array<() => Promise<unknown>> = [
      () => s.getAsync(5 as any),
      () => s.setAsync('\ud800', 1),
      () => s.setAsync('k', 1, { nope: 1 } as any),
      () => s.hasAsync(null as any),
      () => s.deleteAsync({} as any),
      () => s.popAsync(undefined as any),
      () => s.addAsync(1 as any, 1),
      () => s.incrAsync('k', 1.5),
      () => s.incrAsync('k', 1, 'x' as any),
      () => s.getManyAsync('abc' as any),
      () => s.getManyAsync(['ok', 3] as any),
      () => s.setManyAsync(5 as any),
    ];
    for (const call of calls) {
      let p!: Promise<unknown>;
      expect(() => (p = call())).not.toThrow();
      const e = await rejected(p);
      expect(['TypeError', 'RangeError']).toContain(e.name);
    }
    expect(s.size).toBe(0);
  });

  test('a failed operation rejects with a SciqlopCacheError whose stack starts at the caller', async () => {
    const s = track(make(freshPath()));
    s.set('text', 'not a number');
    // the first call of a run: the stack captured at the call
    const e = await rejected(s.incrAsync('text'));
    expectCode(e, 'NOT_A_NUMBER');
    expect(e.stack.split('\n')[1]).toContain('40.async-ordering.test.ts');
    expect(s.get('text')).toBe('not a number');
    // a later call of the same run: V8's async stack, from the line that awaits it
    const later = await rejected(Promise.all([s.getAsync('a'), s.setAsync('b', 1), s.incrAsync('text')]));
    expectCode(later, 'NOT_A_NUMBER');
    const frames: string[] = later.stack.split('\n').slice(1);
    expect(frames[0]).toMatch(/at async Promise.all \(index 2\)/);
    expect(frames[1]).toMatch(/at rejected .*helpers/); // what awaits Promise.all here
    expect(frames.join('\n')).toContain('40.async-ordering.test.ts');
    expect(frames.join('\n')).not.toMatch(/[\\/](lib|dist)[\\/]/);
    // bad arguments: reported during the call, whichever call of the run
    const args = await Promise.all([rejected(s.getAsync(12 as any)), rejected(s.getAsync(13 as any))]);
    for (const arg of args) expect(arg.stack.split('\n')[1]).toContain('40.async-ordering.test.ts');
  });

  test('after close(), every async call rejects with CLOSED', async () => {
    const s = make(freshPath());
    await s.setAsync('k', 1);
    s.close();
    for (const p of [s.getAsync('k'), s.setAsync('k', 2), s.hasAsync('k'), s.incrAsync('n'), s.getManyAsync(['k'])]) {
      const e = await rejected(p);
      expectCode(e, 'CLOSED');
      expect(e.stack.split('\n')[1]).toContain('40.async-ordering.test.ts');
    }
  });
});

describe('Cache options and stats', () => {
  test('setAsync/addAsync/setManyAsync take expire and tag', async () => {
    const c = track(new Cache(freshPath()));
    await c.setAsync('e', 1, { expire: 0.2, tag: 't' });
    await c.addAsync('f', 2, { tag: 't' });
    await c.setManyAsync([['g', 3], ['h', 4]], { tag: 'u', expire: 60 });
    expect(c.evictTag('u')).toBe(2);
    expect(await c.hasAsync('e')).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    expect(await c.hasAsync('e')).toBe(false);
    expect(await c.getAsync('e', 'expired')).toBe('expired');
    expect(await c.addAsync('e', 5)).toBe(true); // an expired entry is absent
    expect(c.evictTag('t')).toBe(1);
    expect((await rejected(c.setAsync('k', 1, { expire: -1 }))).name).toBe('RangeError');
  });

  test('incrAsync keeps the tag and expiry of a live entry', async () => {
    const c = track(new Cache(freshPath()));
    await c.setAsync('n', 1, { tag: 'counters', expire: 60 });
    expect(await c.incrAsync('n')).toBe(2);
    expect(c.evictTag('counters')).toBe(1);
  });

  test('getAsync and popAsync count in stats like get and pop, hasAsync does not', async () => {
    const c = track(new Cache(freshPath()));
    c.resetStats();
    await c.setAsync('a', 1);
    await c.getAsync('a');
    await c.getAsync('b');
    await c.popAsync('a');
    await c.hasAsync('a');
    expect(c.stats()).toEqual({ hits: 2, misses: 1 });
  });

  test('an Index rejects expire and tag', async () => {
    const i = track(new Index(freshPath()));
    expect((await rejected(i.setAsync('k', 1, { expire: 1 } as any))).name).toBe('TypeError');
    expect((await rejected(i.setManyAsync([['k', 1]], { tag: 't' } as any))).name).toBe('TypeError');
  });

  test('serializer failures reject with the serializer error, nothing written', async () => {
    const b = track(new Cache(freshPath(), { serializer: new BytesSerializer() }));
    expect((await rejected(b.setAsync('k', 'not bytes' as any))).name).toBe('TypeError');
    const j = track(new Cache(freshPath(), { serializer: new JsonSerializer() }));
    const cyclic: any = {};
    cyclic.self = cyclic;
    expect((await rejected(j.setAsync('k', cyclic))).name).toBe('TypeError');
    expect(j.size + b.size).toBe(0);
  });
});
