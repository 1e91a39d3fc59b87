// The read pool of the synchronous reads (lib/read-pool.ts): values of at most 4 KiB are
// written by the addon into a shared ArrayBuffer and returned as Buffers over their slice.
// A slice handed out is never written again, whatever is read afterwards; larger values keep
// an ArrayBuffer of their own; keys of every shape still round-trip.
import { randomBytes } from 'node:crypto';
import { BytesSerializer, Cache, FanoutCache, Index, type Serializer } from '../lib';
import { freshPath, track } from './helpers';

const POOLED_MAX = 4096;

/** Distinct contents: the size and index in the first bytes, random bytes after. */
function valueOf(i: number, size: number): Buffer {
  const v = randomBytes(size);
  if (size >= 8) {
    v.writeUInt32LE(i, 0);
    v.writeUInt32LE(size, 4);
  }
  return v;
}

describe('read pool', () => {
  test('values read one after another keep their bytes: no slice is reused, across many pools', () => {
    const c = track(new Cache(freshPath(), { serializer: new BytesSerializer() }));
    // Sizes around the pool's alignment (8) and its limit, 0 included; well over 64 KiB in all.
    const sizes = [0, 1, 7, 8, 9, 255, 256, 257, 1000, 4095, 4096, 4097, 5000];
    const stored: Buffer[] = [];
    for (let i = 0; i < 600; i++) {
      const v = valueOf(i, sizes[i % sizes.length]!);
      stored.push(v);
      c.set(`k${i}`, v);
    }
    const read: Buffer[] = [];
    for (let round = 0; round < 3; round++) for (let i = 0; i < stored.length; i++) read.push(c.get(`k${i}`) as Buffer);
    read.forEach((got, j) => {
      const expected = stored[j % stored.length]!;
      expect(Buffer.isBuffer(got)).toBe(true);
      expect(got.length).toBe(expected.length);
      expect(got.equals(expected)).toBe(true);
      if (expected.length <= POOLED_MAX) expect(got.byteOffset % 8).toBe(0);
      else {
        // Larger values own their memory, exactly their size.
        expect(got.byteOffset).toBe(0);
        expect(got.buffer.byteLength).toBe(expected.length);
      }
    });
  });

  test('writing into a Buffer read changes neither the store nor the other Buffers read', () => {
    const c = track(new Cache(freshPath(), { serializer: new BytesSerializer() }));
    const a = valueOf(1, 100);
    const b = valueOf(2, 100);
    c.set('a', a);
    c.set('b', b);
    const ga = c.get('a') as Buffer;
    const gb = c.get('b') as Buffer;
    ga.fill(0xff);
    expect(gb.equals(b)).toBe(true);
    expect((c.get('a') as Buffer).equals(a)).toBe(true);
  });

  test('get, pop, peeks of iteration, asObject and memoize read through the pool correctly', () => {
    const c = track(new Cache(freshPath(), { serializer: new BytesSerializer() }));
    const values = Array.from({ length: 40 }, (_, i) => valueOf(i, 100 + i * 50));
    values.forEach((v, i) => c.set(`k${String(i).padStart(2, '0')}`, v));
    const held = [...c.values()] as Buffer[];
    const entries = [...c.entries()];
    const o = c.asObject();
    const viaObject = values.map((_, i) => o[`k${String(i).padStart(2, '0')}`] as unknown as Buffer);
    const popped = values.map((_, i) => c.pop(`k${String(i).padStart(2, '0')}`) as Buffer);
    values.forEach((v, i) => {
      expect(held[i]!.equals(v)).toBe(true);
      expect((entries[i]![1] as Buffer).equals(v)).toBe(true);
      expect(viaObject[i]!.equals(v)).toBe(true);
      expect(popped[i]!.equals(v)).toBe(true);
    });
    expect(c.size).toBe(0);
    let calls = 0;
    const f = c.memoize((n: number) => {
      calls++;
      return valueOf(n, 64 + n);
    }, { name: 'f' });
    const first = Array.from({ length: 20 }, (_, n) => f(n) as Buffer);
    const again = Array.from({ length: 20 }, (_, n) => f(n) as Buffer);
    expect(calls).toBe(20);
    first.forEach((v, n) => expect(again[n]!.equals(v)).toBe(true));
  });

  test('the default serializer, incr and an Index read through the pool too', () => {
    const c = track(new Cache(freshPath()));
    const objects = Array.from({ length: 300 }, (_, i) => ({ i, payload: valueOf(i, 200), text: 'é'.repeat(i) }));
    objects.forEach((v, i) => c.set(`o${i}`, v));
    const read = objects.map((_, i) => c.get(`o${i}`) as { i: number; payload: Uint8Array; text: string });
    read.forEach((got, i) => {
      expect(got.i).toBe(i);
      expect(Buffer.from(got.payload).equals(objects[i]!.payload)).toBe(true);
      expect(got.text).toBe(objects[i]!.text);
    });
    for (let i = 0; i < 50; i++) c.incr('n');
    expect(c.get('n')).toBe(50);
    const idx = track(new Index(freshPath(), { serializer: new BytesSerializer() }));
    const fan = track(new FanoutCache(freshPath(), { serializer: new BytesSerializer(), shardCount: 3 }));
    for (const s of [idx, fan]) {
      const vs = Array.from({ length: 200 }, (_, i) => valueOf(i, 300));
      vs.forEach((v, i) => s.set(`k${i}`, v));
      const got = vs.map((_, i) => s.get(`k${i}`) as Buffer);
      got.forEach((g, i) => expect(g.equals(vs[i]!)).toBe(true));
    }
  });

  test("transferring a pooled value's memory detaches none of the others", () => {
    const c = track(new Cache(freshPath(), { serializer: new BytesSerializer() }));
    const values = Array.from({ length: 10 }, (_, i) => valueOf(i, 128));
    values.forEach((v, i) => c.set(`k${i}`, v));
    const read = values.map((_, i) => c.get(`k${i}`) as Buffer);
    let moved: Uint8Array | undefined;
    try {
      // Node clones an untransferable ArrayBuffer instead (Node 20) or throws (later versions).
      moved = structuredClone(read[3]!, { transfer: [read[3]!.buffer as ArrayBuffer] });
    } catch (e) {
      expect((e as Error).name).toBe('DataCloneError');
    }
    if (moved) expect(Buffer.from(moved.buffer, moved.byteOffset, moved.byteLength).equals(values[3]!)).toBe(true);
    read.forEach((g, i) => expect(g.equals(values[i]!)).toBe(true));
    values.forEach((v, i) => expect((c.get(`k${i}`) as Buffer).equals(v)).toBe(true));
  });

  test('a read made by a serializer while a synchronous read waits for incrAsync does not share its slice', async () => {
    // The sync get on `a` waits for a's pending incrAsync, whose step runs a's serializer,
    // which reads from `b`: that inner read must not be given the slice the outer one fills.
    const inner: Buffer[] = [];
    let b: Cache | undefined;
    const json: Serializer = {
      name: 'json-reading',
      serialize(v: unknown): Uint8Array {
        if (b) inner.push(b.get('x') as Buffer);
        return Buffer.from(JSON.stringify(v));
      },
      deserialize: (bytes: Uint8Array): unknown => JSON.parse(Buffer.from(bytes).toString()),
    };
    const a = track(new Cache(freshPath(), { serializer: json }));
    const other = track(new Cache(freshPath(), { serializer: new BytesSerializer() }));
    b = other;
    const x = valueOf(7, 64);
    other.set('x', x);
    a.set('y', { long: 'y'.repeat(200) });
    const counted = a.incrAsync('n');
    const outer = a.get('y');
    expect(outer).toEqual({ long: 'y'.repeat(200) });
    expect(await counted).toBe(1);
    expect(inner.length).toBeGreaterThan(0);
    for (const got of inner) expect(got.equals(x)).toBe(true);
    // And the pool goes on working after it.
    const after = Array.from({ length: 5 }, () => other.get('x') as Buffer);
    after.forEach((g) => expect(g.equals(x)).toBe(true));
    for (const got of inner) expect(got.equals(x)).toBe(true);
  });

  test('keys around the 512-byte stack buffer of the key conversion round-trip (multi-byte characters at its edge)', () => {
    const c = track(new Cache(freshPath()));
    const keys: string[] = [];
    for (let n = 500; n <= 516; n++) {
      keys.push('k'.repeat(n));
      keys.push('k'.repeat(n - 2) + 'é'); // 2-byte character ending at n
      keys.push('k'.repeat(n - 3) + '日'); // 3-byte character
      keys.push('k'.repeat(n - 4) + '😀'); // 4-byte character (surrogate pair)
      keys.push('\u0000'.repeat(n));
    }
    keys.forEach((k, i) => c.set(k, i));
    keys.forEach((k, i) => expect(c.get(k)).toBe(i));
    expect(new Set(c.keys())).toEqual(new Set(keys));
  });
});
