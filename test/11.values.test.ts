// Value round-trips: every kind the V8 serializer supports, a stored
// `undefined` versus a default, and values around the 8 KiB blob/file limit.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BytesSerializer, Cache, Index, V8Serializer } from '../lib';
import { bytes, expectSame, freshPath, track, valueFiles } from './helpers';

function cyclic(): unknown {
  const o: Record<string, unknown> = { name: 'root', list: [] as unknown[] };
  (o.list as unknown[]).push(o, { parent: o });
  o.self = o;
  const m = new Map<string, unknown>();
  m.set('me', m);
  o.map = m;
  return o;
}

const V8_VALUES: Array<[string, () => unknown]> = [
  ['string', () => 'hello'],
  ['empty string', () => ''],
  ['unicode string', () => 'é日本😀\u0000'],
  ['integer', () => 42],
  ['float', () => 3.25],
  ['negative zero', () => -0],
  ['NaN', () => NaN],
  ['Infinity', () => -Infinity],
  ['true', () => true],
  ['false', () => false],
  ['null', () => null],
  ['BigInt', () => 123456789012345678901234567890n],
  ['negative BigInt', () => -(2n ** 70n)],
  ['array', () => [1, 'two', null, [3]]],
  ['sparse array', () => [1, , 3]], // eslint-disable-line no-sparse-arrays
  ['nested object', () => ({ a: { b: { c: [1, { d: 'e' }] } }, n: null, u: undefined })],
  ['Map', () => new Map<unknown, unknown>([[1, 'one'], ['two', { x: 2 }], [{ k: 1 }, [3]]])],
  ['Set', () => new Set<unknown>([1, 'a', { b: 2 }])],
  ['Date', () => new Date('2024-03-09T12:34:56.789Z')],
  ['invalid Date', () => new Date(NaN)],
  ['RegExp', () => /ab+c/giu],
  ['boxed values', () => [Object(1), Object('s'), Object(true), Object(5n)]],
  ['Int8Array', () => new Int8Array([-128, 0, 127])],
  ['Uint8Array', () => new Uint8Array([0, 1, 255])],
  ['Uint8ClampedArray', () => new Uint8ClampedArray([0, 128, 255])],
  ['Int16Array', () => new Int16Array([-32768, 32767])],
  ['Uint16Array', () => new Uint16Array([0, 65535])],
  ['Int32Array', () => new Int32Array([-(2 ** 31), 2 ** 31 - 1])],
  ['Uint32Array', () => new Uint32Array([0, 2 ** 32 - 1])],
  ['Float32Array', () => new Float32Array([1.5, -0.25])],
  ['Float64Array', () => new Float64Array([Math.PI, -Infinity, NaN])],
  ['BigInt64Array', () => new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n])],
  ['BigUint64Array', () => new BigUint64Array([0n, 2n ** 64n - 1n])],
  ['typed array view with an offset', () => new Uint16Array(new ArrayBuffer(16), 4, 3).fill(7)],
  ['DataView', () => new DataView(new Uint8Array([1, 2, 3, 4]).buffer)],
  ['ArrayBuffer', () => new Uint8Array([9, 8, 7]).buffer],
  ['Buffer', () => Buffer.from('buffer bytes')],
  ['Error', () => new RangeError('boom')],
  ['object with a cycle', cyclic],
  ['shared references', () => {
    const shared = { s: 1 };
    return { a: shared, b: shared };
  }],
];

describe('V8Serializer round-trips', () => {
  test.each(V8_VALUES)('%s', (_name, make) => {
    const dir = freshPath();
    const c = track(new Cache(dir));
    const v = make();
    c.set('k', v);
    expectSame(c.get('k'), v);
    c.close();
    const d = track(new Cache(dir));
    expectSame(d.get('k'), v);
  });

  test('cycles and shared references keep their identity', () => {
    const c = track(new Cache(freshPath()));
    c.set('k', cyclic());
    const got = c.get('k') as any;
    expect(got.self).toBe(got);
    expect(got.list[0]).toBe(got);
    expect(got.list[1].parent).toBe(got);
    expect(got.map.get('me')).toBe(got.map);
    const shared = { s: 1 };
    c.set('s', { a: shared, b: shared });
    const s = c.get('s') as any;
    expect(s.a).toBe(s.b);
  });

  test('a Buffer comes back as a Buffer, a Uint8Array as a Uint8Array', () => {
    const c = track(new Cache(freshPath()));
    c.set('b', Buffer.from('x'));
    c.set('u', new Uint8Array([1]));
    expect(Buffer.isBuffer(c.get('b'))).toBe(true);
    expect(Buffer.isBuffer(c.get('u'))).toBe(false);
    expect(Object.prototype.toString.call(c.get('u'))).toBe('[object Uint8Array]');
  });

  test('every value kind at once, and in an Index, and file-backed', () => {
    const dir = freshPath();
    const all = Object.fromEntries(V8_VALUES.map(([n, make]) => [n, make()]));
    const big = { all, padding: 'p'.repeat(20000) };
    const c = track(new Cache(dir));
    c.set('all', all);
    c.set('big', big);
    expect(valueFiles(dir)).toHaveLength(1);
    expectSame(c.get('all'), all);
    expectSame(c.get('big'), big);
    const i = track(new Index(freshPath()));
    i.set('all', all);
    expectSame(i.get('all'), all);
  });

  test('values V8 cannot clone are rejected and nothing is written', () => {
    const c = track(new Cache(freshPath()));
    for (const bad of [() => 1, Symbol('s'), { f() {} }]) {
      expect(() => c.set('k', bad)).toThrow();
      expect(c.has('k')).toBe(false);
    }
    expect(c.size).toBe(0);
  });

  test('the default serializer is the V8 serializer', () => {
    const dir = freshPath();
    const c = new Cache(dir);
    c.set('k', 1);
    c.close();
    const d = track(new Cache(dir, { serializer: new V8Serializer() }));
    expect(d.get('k')).toBe(1);
  });
});

describe('undefined stored versus missing', () => {
  test('a stored undefined is present and ignores the default', () => {
    const c = track(new Cache(freshPath()));
    c.set('u', undefined);
    expect(c.has('u')).toBe(true);
    expect(c.get('u')).toBeUndefined();
    expect(c.get('u', 'default')).toBeUndefined();
    expect(c.get('missing', 'default')).toBe('default');
    expect(c.size).toBe(1);
    expect([...c.keys()]).toEqual(['u']);
    expect([...c.entries()]).toEqual([['u', undefined]]);
    expect(c.add('u', 1)).toBe(false);
    expect(c.delete('u')).toBe(true);
    expect(c.get('u', 'default')).toBe('default');
  });

  test('null is a value like any other', () => {
    const c = track(new Cache(freshPath()));
    c.set('n', null);
    expect(c.get('n', 'default')).toBeNull();
    expect(c.has('n')).toBe(true);
  });
});

describe('sizes around the 8 KiB limit', () => {
  const SIZES = [0, 1, 8191, 8192, 8193, 65536, 1024 * 1024];

  test.each(SIZES)('%i bytes round-trip exactly (BytesSerializer)', (size) => {
    const dir = freshPath();
    const c = track(new Cache(dir, { serializer: new BytesSerializer() }));
    const v = bytes(size, size + 1);
    c.set('k', v);
    const got = c.get('k') as Buffer;
    expect(Buffer.isBuffer(got)).toBe(true);
    expect(got.length).toBe(size);
    expect(Buffer.compare(got, v)).toBe(0);
    expect(c.valueBytes()).toBe(size);

    const files = valueFiles(dir);
    if (size > 8192) {
      expect(files).toHaveLength(1);
      expect(files[0]).toMatch(/^[0-9a-f]{2}\/[0-9a-f]{2}\/[^/]+$/);
      const onDisk = fs.readFileSync(path.join(dir, files[0]!));
      expect(Buffer.compare(onDisk, v)).toBe(0);
    } else {
      expect(files).toEqual([]);
    }

    c.close();
    const d = track(new Cache(dir, { serializer: new BytesSerializer() }));
    expect(Buffer.compare(d.get('k') as Buffer, v)).toBe(0);
    expect(d.check().ok).toBe(true);
  });

  test('8193-byte value file is named ab/cd/<uuid>-<pid>', () => {
    const dir = freshPath();
    const c = track(new Cache(dir, { serializer: new BytesSerializer() }));
    c.set('k', bytes(8193));
    const [f] = valueFiles(dir);
    const m = /^([0-9a-f]{2})\/([0-9a-f]{2})\/([0-9a-f-]+)-(\d+)$/.exec(f ?? '');
    expect(m).not.toBeNull();
    expect(m![3]!.replace(/-/g, '').slice(0, 4)).toBe(m![1]! + m![2]!);
    expect(Number(m![4])).toBe(process.pid);
  });

  test('1 MiB V8 values (a string and a typed array) round-trip', () => {
    const dir = freshPath();
    const c = track(new Cache(dir));
    const s = 'αβγ'.repeat(350000);
    const f = new Float64Array(131072).map((_, i) => i / 3);
    c.set('s', s);
    c.set('f', f);
    expect(c.get('s')).toBe(s);
    expectSame(c.get('f'), f);
    expect(valueFiles(dir)).toHaveLength(2);
  });

  test('replacing a file-backed value with a small one, and the reverse', () => {
    const dir = freshPath();
    const c = track(new Cache(dir, { serializer: new BytesSerializer() }));
    const big = bytes(50000, 5);
    const small = bytes(100, 6);
    c.set('k', big);
    c.set('k', small);
    expect(Buffer.compare(c.get('k') as Buffer, small)).toBe(0);
    expect(c.valueBytes()).toBe(100);
    c.set('k', big);
    expect(Buffer.compare(c.get('k') as Buffer, big)).toBe(0);
    c.set('k', bytes(30000, 7));
    expect(Buffer.compare(c.get('k') as Buffer, bytes(30000, 7))).toBe(0);
    expect(c.valueBytes()).toBe(30000);
    expect(c.check().ok).toBe(true);
  });

  test('a returned Buffer is a copy the caller may modify', () => {
    const c = track(new Cache(freshPath(), { serializer: new BytesSerializer() }));
    const v = bytes(20000);
    c.set('k', v);
    const a = c.get('k') as Buffer;
    a.fill(0);
    expect(Buffer.compare(c.get('k') as Buffer, v)).toBe(0);
    v.fill(1);
    expect(Buffer.compare(c.get('k') as Buffer, bytes(20000))).toBe(0);
  });
});
