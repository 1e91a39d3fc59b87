// Serializers: the four built-ins, custom serializer objects, the name kept in
// meta (mismatch on reopen names both, reopening without one uses the stored).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Unpackr } from 'msgpackr';
import {
  BytesSerializer, Cache, FanoutCache, Index, JsonSerializer, MsgpackSerializer, V8Serializer,
} from '../lib';
import { bytes, expectArgError, expectCode, expectSame, freshPath, thrown, track, valueFiles } from './helpers';

const upper = {
  name: 'upper',
  serialize: (v: unknown): Uint8Array => Buffer.from(String(v).toUpperCase(), 'utf8'),
  deserialize: (b: Uint8Array): unknown => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8'),
};

/** The bytes a store keeps for a file-backed value (its only value file). */
function storedBytes(dir: string): Buffer {
  const files = valueFiles(dir);
  expect(files).toHaveLength(1);
  return fs.readFileSync(path.join(dir, files[0]!));
}

describe('serializer names', () => {
  test('built-in names', () => {
    expect(new V8Serializer().name).toBe('v8');
    expect(new MsgpackSerializer().name).toBe('msgspec');
    expect(new JsonSerializer().name).toBe('json');
    expect(new BytesSerializer().name).toBe('bytes');
  });
});

describe('MsgpackSerializer', () => {
  test('round-trips plain data and binary', () => {
    const c = track(new Cache(freshPath(), { serializer: new MsgpackSerializer() }));
    const values: unknown[] = [
      1, -1, 2 ** 40, 1.5, 'str', '', true, false, null,
      [1, [2, [3]]], { a: 1, b: { c: 'd' }, e: [null, 'x'] },
      { unicode: 'é😀' },
    ];
    values.forEach((v, i) => c.set(`k${i}`, v));
    values.forEach((v, i) => expect(c.get(`k${i}`)).toEqual(v));
    c.set('bin', Buffer.from([1, 2, 3]));
    expect(Buffer.from(c.get('bin') as Uint8Array)).toEqual(Buffer.from([1, 2, 3]));
  });

  test('stores standard MessagePack without records (readable by any msgpack decoder)', () => {
    const dir = freshPath();
    const c = track(new Cache(dir, { serializer: new MsgpackSerializer() }));
    const v = { name: 'x'.repeat(9000), list: [1, 2, 3], nested: { a: true } };
    c.set('k', v);
    const raw = storedBytes(dir);
    // a plain MessagePack map (fixmap, map16 or map32), not a msgpackr record extension
    const first = raw[0]!;
    expect((first & 0xf0) === 0x80 || first === 0xde || first === 0xdf).toBe(true);
    expect(new Unpackr({ useRecords: false }).unpack(raw)).toEqual(v);
    expect(c.get('k')).toEqual(v);
  });
});

describe('JsonSerializer', () => {
  test('round-trips plain data and stores JSON text', () => {
    const dir = freshPath();
    const c = track(new Cache(dir, { serializer: new JsonSerializer() }));
    const v = { a: [1, 2.5, 'x', null, true], b: { c: 'é😀' }, pad: 'p'.repeat(9000) };
    c.set('k', v);
    expect(c.get('k')).toEqual(v);
    expect(JSON.parse(storedBytes(dir).toString('utf8'))).toEqual(v);
    c.set('s', 'text');
    c.set('n', 12);
    c.set('nul', null);
    expect(c.get('s')).toBe('text');
    expect(c.get('n')).toBe(12);
    expect(c.get('nul')).toBeNull();
  });

  test('a Date becomes its JSON string', () => {
    const c = track(new Cache(freshPath(), { serializer: new JsonSerializer() }));
    c.set('d', { when: new Date('2024-01-02T03:04:05.000Z') });
    expect(c.get('d')).toEqual({ when: '2024-01-02T03:04:05.000Z' });
  });
});

describe('BytesSerializer', () => {
  test('stores bytes as they are and returns Buffers', () => {
    const dir = freshPath();
    const c = track(new Cache(dir, { serializer: new BytesSerializer() }));
    const u = new Uint8Array([5, 6, 7]);
    c.set('u', u);
    const got = c.get('u');
    expect(Buffer.isBuffer(got)).toBe(true);
    expect([...(got as Buffer)]).toEqual([5, 6, 7]);
    const view = new Uint8Array(new Uint8Array([0, 1, 2, 3, 4, 5]).buffer, 2, 3);
    c.set('view', view);
    expect([...(c.get('view') as Buffer)]).toEqual([2, 3, 4]);
    const big = bytes(10000);
    c.set('big', big);
    expect(Buffer.compare(storedBytes(dir), big)).toBe(0);
    c.set('empty', Buffer.alloc(0));
    expect((c.get('empty') as Buffer).length).toBe(0);
    expect(c.has('empty')).toBe(true);
  });

  test('a non-byte value is a TypeError and nothing is written', () => {
    const c = track(new Cache(freshPath(), { serializer: new BytesSerializer() })) as Cache<any>;
    for (const bad of ['string', 42, { a: 1 }, [1, 2], null, undefined, true]) {
      const e = thrown(() => c.set('k', bad));
      expect(e.name).toBe('TypeError');
      expect(c.has('k')).toBe(false);
      expect(thrown(() => c.add('k', bad)).name).toBe('TypeError');
      expect(c.has('k')).toBe(false);
    }
    expect(c.size).toBe(0);
  });
});

describe('custom serializer objects', () => {
  test('a user object implementing the interface is used for both directions', () => {
    const dir = freshPath();
    const c = track(new Cache(dir, { serializer: upper }));
    c.set('k', 'hello '.repeat(2000));
    expect(c.get('k')).toBe('HELLO '.repeat(2000));
    expect(storedBytes(dir).toString('utf8')).toBe('HELLO '.repeat(2000));
    c.close();
    const same = track(new Cache(dir, { serializer: { ...upper } }));
    expect(same.get('k')).toBe('HELLO '.repeat(2000));
  });

  test('a throwing serialize propagates and writes nothing', () => {
    const boom = new Error('cannot serialize');
    const s = { name: 'boom', serialize: (): Uint8Array => { throw boom; }, deserialize: (): unknown => 1 };
    const c = track(new Cache(freshPath(), { serializer: s }));
    expect(thrown(() => c.set('k', 1))).toBe(boom);
    expect(c.has('k')).toBe(false);
    expect(c.size).toBe(0);
  });

  test('a serializer that is not one is a TypeError naming serializer', () => {
    for (const bad of [{}, { name: 'x' }, { name: 1, serialize() {}, deserialize() {} }, 'v8', 5]) {
      const p = freshPath();
      expectArgError(() => new Cache(p, { serializer: bad as any }), 'TypeError', 'serializer');
      expect(fs.existsSync(p)).toBe(false);
    }
  });
});

describe('the serializer name persisted in meta', () => {
  test('reopening with another serializer is SERIALIZER_MISMATCH naming both', () => {
    const dir = freshPath();
    new Cache(dir, { serializer: new JsonSerializer() }).close();
    const e = thrown(() => new Cache(dir, { serializer: new MsgpackSerializer() }));
    expectCode(e, 'SERIALIZER_MISMATCH');
    expect(e.message).toContain('json');
    expect(e.message).toContain('msgspec');

    const dflt = freshPath();
    new Cache(dflt).close();
    const e2 = thrown(() => new Cache(dflt, { serializer: upper }));
    expectCode(e2, 'SERIALIZER_MISMATCH');
    expect(e2.message).toContain('v8');
    expect(e2.message).toContain('upper');
  });

  test('a mismatching open writes nothing: the stored serializer still applies', () => {
    const dir = freshPath();
    const c = new Cache(dir, { serializer: new JsonSerializer() });
    c.set('k', { a: 1 });
    c.close();
    thrown(() => new Cache(dir, { serializer: new BytesSerializer() }));
    const d = track(new Cache(dir, { serializer: new JsonSerializer() }));
    expect(d.get('k')).toEqual({ a: 1 });
  });

  test('reopening without a serializer uses the stored one', () => {
    const dir = freshPath();
    const c = new Cache(dir, { serializer: new JsonSerializer() });
    c.set('k', { json: [1, 2] });
    c.close();
    const d = new Cache(dir);
    expect(d.get('k')).toEqual({ json: [1, 2] });
    d.set('j', { x: 'y'.repeat(9000) });
    d.close();
    const e = track(new Cache(dir, { serializer: new JsonSerializer() }));
    expect(e.get('j')).toEqual({ x: 'y'.repeat(9000) });
    expect(JSON.parse(storedBytes(dir).toString('utf8'))).toEqual({ x: 'y'.repeat(9000) });
  });

  test('reopening without a serializer a store written with Bytes or Msgpack', () => {
    const b = freshPath();
    const c = new Cache(b, { serializer: new BytesSerializer() });
    c.set('k', Buffer.from('raw'));
    c.close();
    const d = track(new Cache(b));
    expect(Buffer.from(d.get('k') as Uint8Array).toString()).toBe('raw');

    const m = freshPath();
    const e = new Cache(m, { serializer: new MsgpackSerializer() });
    e.set('k', { a: [1, 'b'] });
    e.close();
    const f = track(new Cache(m));
    expect(f.get('k')).toEqual({ a: [1, 'b'] });
  });

  test('a custom serializer name needs the caller to pass it again', () => {
    const dir = freshPath();
    const c = new Cache(dir, { serializer: upper });
    c.set('k', 'v');
    c.close();
    // the stored name is unknown to the library: opening or reading must fail, naming it
    const e = thrown(() => track(new Cache(dir)).get('k'));
    expect(e.name).toBe('SciqlopCacheError');
    expect(e.message).toContain('upper');
  });

  test('the rule applies to Index and FanoutCache as well', () => {
    const i = freshPath();
    new Index(i, { serializer: new JsonSerializer() }).close();
    expectCode(thrown(() => new Index(i, { serializer: new V8Serializer() })), 'SERIALIZER_MISMATCH');
    const j = track(new Index(i));
    j.set('k', { a: 1 });
    expect(j.get('k')).toEqual({ a: 1 });

    const f = freshPath();
    new FanoutCache(f, { serializer: new JsonSerializer(), shardCount: 2 }).close();
    expectCode(thrown(() => new FanoutCache(f, { serializer: new MsgpackSerializer() })), 'SERIALIZER_MISMATCH');
    const g = track(new FanoutCache(f));
    g.set('k', [1]);
    expect(g.get('k')).toEqual([1]);
  });

  test('the V8 serializer by default, explicitly and on reopen', () => {
    const dir = freshPath();
    const c = new Cache(dir);
    c.set('m', new Map([[1, new Set([2])]]));
    c.close();
    const d = track(new Cache(dir, { serializer: new V8Serializer() }));
    expectSame(d.get('m'), new Map([[1, new Set([2])]]));
  });
});
