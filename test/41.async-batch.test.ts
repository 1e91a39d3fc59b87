// setAsync batches (lib/async.ts): consecutive setAsync calls with small values are gathered
// in JavaScript and handed to the worker as one operation, with one promise for the whole
// batch. These tests pin what must not change because of it: call order with every other
// call (sync or async), all-or-none batches, a failing call rejected alone, close() with a
// batch still being gathered, keys of every shape, and the stores of every kind.
import { Cache, type Serializer } from '../lib';
import { expectCode, freshPath, rejected, storeKinds, track } from './helpers';


describe.each(storeKinds)('%s', (_name, make) => {
  test('a sync get right after many un-awaited setAsync of one turn sees the last value', async () => {
    const s = track(make(freshPath()));
    const pending: Array<Promise<void>> = [];
    for (let i = 0; i < 20000; i++) pending.push(s.setAsync(`k${i % 1000}`, i));
    expect(s.get('k999')).toBe(19999); // the batch still being gathered is handed over first
    expect(s.get('k0')).toBe(19000);
    expect(s.size).toBe(1000);
    pending.push(s.setAsync('k0', 'again'));
    expect(s.has('k0')).toBe(true);
    expect(s.get('k0')).toBe('again');
    await Promise.all(pending);
    expect(s.check().ok).toBe(true);
  });

  test('several batches in flight, interleaved with other operations, settle in call order', async () => {
    const s = track(make(freshPath()));
    const log: string[] = [];
    const pending: Array<Promise<unknown>> = [];
    // 3 batches of many entries each (each handed over when full), then a read, a delete,
    // more writes, a large value (its own operation), and a read of everything
    for (let i = 0; i < 12000; i++) pending.push(s.setAsync(`a${i}`, i).then(() => void log.push('a')));
    pending.push(s.getAsync('a11999').then((v) => void log.push(`get ${v}`)));
    pending.push(s.deleteAsync('a0').then((v) => void log.push(`delete ${v}`)));
    for (let i = 0; i < 100; i++) pending.push(s.setAsync(`b${i}`, i).then(() => void log.push('b')));
    pending.push(s.setAsync('big', Buffer.alloc(100000, 1)).then(() => void log.push('big')));
    pending.push(s.setAsync('b0', 'last').then(() => void log.push('b0')));
    pending.push(s.getManyAsync(['a1', 'b0', 'a0']).then((v) => void log.push(`many ${JSON.stringify(v)}`)));
    await Promise.all(pending);
    const collapsed = log.filter((e, i) => i === 0 || e !== log[i - 1]);
    expect(collapsed).toEqual(['a', 'get 11999', 'delete true', 'b', 'big', 'b0', 'many [1,"last",null]']);
    expect(s.size).toBe(12000 - 1 + 100 + 1);
    // and again in a new turn: nothing left over
    await Promise.all(Array.from({ length: 10 }, (_, i) => s.setAsync(`c${i}`, i)));
    expect(await s.getAsync('c9')).toBe(9);
  });

  test('a value that fails to serialize rejects only that call and writes nothing for it', async () => {
    const s = track(make(freshPath()));
    const pending: Array<Promise<void>> = [];
    for (let i = 0; i < 50; i++) pending.push(s.setAsync(`k${i}`, i));
    const bad = s.setAsync('bad', () => 1); // functions cannot be cloned by the v8 serializer
    const badKey = s.setAsync(42 as unknown as string, 1);
    for (let i = 50; i < 100; i++) pending.push(s.setAsync(`k${i}`, i));
    const e = await rejected(bad);
    expect(e).toBeInstanceOf(Error);
    expect((await rejected(badKey)).name).toBe('TypeError');
    await Promise.all(pending);
    expect(s.has('bad')).toBe(false);
    expect(s.size).toBe(100);
    expect(s.get('k99')).toBe(99);
  });

  test('close() with a batch still being gathered writes it, then rejects later calls', async () => {
    const dir = freshPath();
    const s = make(dir);
    const pending = Array.from({ length: 3000 }, (_, i) => s.setAsync(`k${i}`, i));
    s.close(); // same turn: the batch is still in JavaScript
    await Promise.all(pending);
    expectCode(await rejected(s.setAsync('late', 1)), 'CLOSED');
    const again = track(make(dir));
    expect(again.size).toBe(3000);
    expect(again.get('k2999')).toBe(2999);
  });

  test('keys of every shape: empty, non-ASCII, astral, long, very long', async () => {
    const s = track(make(freshPath()));
    const keys = ['', 'é', 'ключ', '😀 emoji', 'a'.repeat(63) + 'é', 'x'.repeat(65), 'ü'.repeat(70000), 'k'.repeat(1 << 16)];
    const pending = keys.map((k, i) => s.setAsync(k, i));
    await Promise.all(pending);
    for (const [i, k] of keys.entries()) expect(s.get(k)).toBe(i);
    expect(s.size).toBe(keys.length);
    expect((await rejected(s.setAsync('\ud800', 1))).name).toBe('TypeError');
  });
});

describe('Cache options in batches', () => {
  test('calls with different options are batched apart and keep their own options', async () => {
    const c = track(new Cache(freshPath()));
    const pending = [
      c.setAsync('plain', 1),
      c.setAsync('tagged1', 2, { tag: 't' }),
      c.setAsync('tagged2', 3, { tag: 't' }),
      c.setAsync('short', 4, { expire: 0.05 }),
      c.setAsync('plain2', 5),
    ];
    await Promise.all(pending);
    expect(c.evictTag('t')).toBe(2);
    await new Promise((r) => setTimeout(r, 120));
    expect(c.has('short')).toBe(false);
    expect(c.get('plain')).toBe(1);
    expect(c.get('plain2')).toBe(5);
  });

  test('bad options reject that call only', async () => {
    const c = track(new Cache(freshPath()));
    const ok = c.setAsync('a', 1);
    const bad = c.setAsync('b', 1, { expire: -1 });
    const ok2 = c.setAsync('c', 1);
    expect((await rejected(bad)).name).toBe('RangeError');
    await Promise.all([ok, ok2]);
    expect(c.has('b')).toBe(false);
    expect(c.size).toBe(2);
  });
});

describe('batches and transactions', () => {
  test('a batch gathered before transact() takes effect before it; one made inside waits for it', async () => {
    const c = track(new Cache(freshPath()));
    const before = Array.from({ length: 100 }, (_, i) => c.setAsync(`k${i}`, i));
    let inside!: Promise<void>;
    c.transact(() => {
      expect(c.get('k99')).toBe(99);
      inside = c.setAsync('k0', 'inside');
      expect(c.get('k0')).toBe(0); // not part of the transaction
    });
    await Promise.all([...before, inside]);
    expect(c.get('k0')).toBe('inside');
  });

  test('close() inside transact() with a batch being gathered rejects it with CLOSED', async () => {
    const c = new Cache(freshPath());
    let held!: Promise<void>;
    expect(() =>
      c.transact(() => {
        held = c.setAsync('held', 1);
        c.close();
      }),
    ).toThrow();
    expectCode(await rejected(held), 'CLOSED');
  });
});

describe('values that are not batched', () => {
  test('a serializer returning a non-Uint8Array view takes the one-call path', async () => {
    const view: Serializer<number> = {
      name: 'view',
      serialize: (v) => new DataView(new Uint8Array([v]).buffer) as unknown as Uint8Array,
      deserialize: (b) => b[0]!,
    };
    const c = track(new Cache(freshPath(), { serializer: view }));
    const pending = [c.setAsync('a', 1), c.setAsync('b', 2), c.setAsync('c', 3)];
    await Promise.all(pending);
    expect([c.get('a'), c.get('b'), c.get('c')]).toEqual([1, 2, 3]);
  });
});
