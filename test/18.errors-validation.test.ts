// Argument validation: TypeError/RangeError naming the bad argument, unknown
// option names, and nothing written when a call is rejected.
import * as fs from 'node:fs';
import { BytesSerializer, Cache, FanoutCache, FanoutIndex, Index, SciqlopCacheError } from '../lib';
import { expectArgError, freshPath, thrown, track } from './helpers';

type AnyStore = any;

/** Everything observable about a store's contents, to compare before and after. */
function snapshot(s: AnyStore): unknown {
  return { entries: [...s.entries()], size: s.size, bytes: s.valueBytes() };
}

function seeded(): AnyStore {
  const c = track(new Cache(freshPath())) as AnyStore;
  c.set('existing', 'value', { tag: 'T' });
  c.set('n', 1);
  return c;
}

const BAD_KEYS: Array<[string, unknown]> = [
  ['number', 1],
  ['null', null],
  ['undefined', undefined],
  ['symbol', Symbol('k')],
  ['object', { toString: () => 'k' }],
  ['array', ['k']],
  ['Buffer', Buffer.from('k')],
  ['lone high surrogate', '\ud800'],
  ['lone low surrogate', 'a\udc00b'],
];

describe('keys', () => {
  test.each(BAD_KEYS)('a %s key is a TypeError naming key, nothing written', (_name, key) => {
    const c = seeded();
    const before = snapshot(c);
    const k = key as any;
    const calls: Array<() => unknown> = [
      () => c.set(k, 'v'),
      () => c.get(k),
      () => c.get(k, 'd'),
      () => c.has(k),
      () => c.delete(k),
      () => c.add(k, 'v'),
      () => c.pop(k),
      () => c.touch(k, 10),
      () => c.incr(k),
      () => c.decr(k),
      () => c.lock(k),
    ];
    for (const call of calls) expectArgError(call, 'TypeError', 'key');
    expect(snapshot(c)).toEqual(before);
  });

  test('well-formed surrogate pairs are fine', () => {
    const c = seeded();
    c.set('\ud83d\ude00', 1);
    expect(c.get('😀')).toBe(1);
  });
});

describe('expire', () => {
  const RANGE: unknown[] = [0, -1, -0.001, NaN, Infinity, -Infinity];
  const TYPE: unknown[] = ['10', true, {}, [1], 10n];

  test.each(RANGE)('expire %p is a RangeError naming expire, nothing written', (expire) => {
    const c = seeded();
    const before = snapshot(c);
    expectArgError(() => c.set('new', 'v', { expire }), 'RangeError', 'expire');
    expectArgError(() => c.set('existing', 'changed', { expire }), 'RangeError', 'expire');
    expectArgError(() => c.add('new', 'v', { expire }), 'RangeError', 'expire');
    expectArgError(() => c.touch('existing', expire), 'RangeError', 'expire');
    expect(snapshot(c)).toEqual(before);
    expect(c.has('new')).toBe(false);
  });

  test.each(TYPE)('expire %p is a TypeError naming expire, nothing written', (expire) => {
    const c = seeded();
    const before = snapshot(c);
    expectArgError(() => c.set('new', 'v', { expire }), 'TypeError', 'expire');
    expectArgError(() => c.add('new', 'v', { expire }), 'TypeError', 'expire');
    expectArgError(() => c.touch('existing', expire), 'TypeError', 'expire');
    expect(snapshot(c)).toEqual(before);
  });

  test('the touched entry keeps its expiry after a rejected touch', () => {
    const c = seeded();
    expectArgError(() => c.touch('existing', -5), 'RangeError', 'expire');
    expect(c.get('existing')).toBe('value');
    expect(c.evictTag('T')).toBe(1);
  });
});

describe('tags and options objects', () => {
  test('a non-string tag is a TypeError naming tag', () => {
    const c = seeded();
    const before = snapshot(c);
    for (const tag of [1, {}, Symbol('t'), ['t']]) {
      expectArgError(() => c.set('new', 'v', { tag }), 'TypeError', 'tag');
      expectArgError(() => c.add('new', 'v', { tag }), 'TypeError', 'tag');
      expectArgError(() => c.evictTag(tag), 'TypeError', 'tag');
    }
    expect(snapshot(c)).toEqual(before);
  });

  test('unknown option names are a TypeError naming them', () => {
    const c = seeded();
    const before = snapshot(c);
    expectArgError(() => c.set('new', 'v', { expires: 10 }), 'TypeError', 'expires');
    expectArgError(() => c.set('new', 'v', { ttl: 10, tag: 't' }), 'TypeError', 'ttl');
    expectArgError(() => c.add('new', 'v', { tags: 't' }), 'TypeError', 'tags');
    expect(snapshot(c)).toEqual(before);
  });

  test('an options argument that is not an object is a TypeError', () => {
    const c = seeded();
    const before = snapshot(c);
    for (const opts of [5, 'expire', true]) {
      expect(thrown(() => c.set('new', 'v', opts)).name).toBe('TypeError');
    }
    expect(snapshot(c)).toEqual(before);
  });
});

describe('incr / decr arguments', () => {
  test('a non-number delta or default is a TypeError; a non-integer a RangeError or TypeError', () => {
    const c = seeded();
    const before = snapshot(c);
    expectArgError(() => c.incr('n', '1'), 'TypeError', 'delta');
    expectArgError(() => c.incr('n', 1n), 'TypeError', 'delta');
    expect(thrown(() => c.incr('new', 1, '0')).name).toBe('TypeError');
    for (const bad of [0.5, NaN, Infinity, Number.MAX_SAFE_INTEGER + 2]) {
      const e = thrown(() => c.incr('n', bad));
      expect(['TypeError', 'RangeError']).toContain(e.name);
      expect(e.message).toContain('delta');
      expect(['TypeError', 'RangeError']).toContain(thrown(() => c.decr('n', bad)).name);
      expect(['TypeError', 'RangeError']).toContain(thrown(() => c.incr('new', 1, bad)).name);
    }
    expect(snapshot(c)).toEqual(before);
    expect(c.has('new')).toBe(false);
  });
});

describe('constructor options', () => {
  const make = (dir: string, opts: unknown): unknown => track(new Cache(dir, opts as any));

  test('a non-string directory is a TypeError naming directory', () => {
    for (const d of [1, null, undefined, {}, ['/tmp/x']]) {
      expectArgError(() => new Cache(d as any), 'TypeError', 'directory');
      expectArgError(() => new Index(d as any), 'TypeError', 'directory');
    }
  });

  test.each<[string, unknown, 'TypeError' | 'RangeError', string]>([
    ['negative maxSize', { maxSize: -1 }, 'RangeError', 'maxSize'],
    ['NaN maxSize', { maxSize: NaN }, 'RangeError', 'maxSize'],
    ['Infinity maxSize', { maxSize: Infinity }, 'RangeError', 'maxSize'],
    ['string maxSize', { maxSize: '10' }, 'TypeError', 'maxSize'],
    ['unknown durability', { durability: 'disk' }, 'RangeError', 'durability'],
    ['non-string durability', { durability: 1 }, 'TypeError', 'durability'],
    ['unknown option', { max_size: 10 }, 'TypeError', 'max_size'],
    ['shardCount on a Cache', { shardCount: 2 }, 'TypeError', 'shardCount'],
    ['bad serializer', { serializer: { name: 'x' } }, 'TypeError', 'serializer'],
  ])('%s', (_n, opts, name, arg) => {
    const dir = freshPath();
    expectArgError(() => make(dir, opts), name, arg);
    // nothing written: not even the directory
    expect(fs.existsSync(dir)).toBe(false);
  });

  test('options that is not an object is a TypeError', () => {
    const dir = freshPath();
    expect(thrown(() => make(dir, 5)).name).toBe('TypeError');
    expect(fs.existsSync(dir)).toBe(false);
  });

  test('valid durability values', () => {
    const p = track(new Cache(freshPath(), { durability: 'power' }));
    p.set('k', 'x'.repeat(20000));
    expect(p.get('k')).toBe('x'.repeat(20000));
    const q = track(new Cache(freshPath(), { durability: 'process' }));
    q.set('k', 1);
    expect(q.get('k')).toBe(1);
    const i = track(new Index(freshPath(), { durability: 'power' }));
    i.set('k', 1);
    expect(i.get('k')).toBe(1);
  });

  test('a rejected maxSize on reopen leaves the store untouched', () => {
    const dir = freshPath();
    const c = new Cache(dir, { maxSize: 1000, serializer: new BytesSerializer() });
    c.close();
    expectArgError(() => new Cache(dir, { maxSize: -5 }), 'RangeError', 'maxSize');
    const d = track(new Cache(dir, { serializer: new BytesSerializer() }));
    d.set('a', Buffer.alloc(800));
    d.set('b', Buffer.alloc(800));
    d.evict();
    expect(d.valueBytes()).toBeLessThanOrEqual(900);
  });

  test.each<[string, unknown, 'TypeError' | 'RangeError']>([
    ['shardCount 0', { shardCount: 0 }, 'RangeError'],
    ['shardCount -1', { shardCount: -1 }, 'RangeError'],
    ['shardCount NaN', { shardCount: NaN }, 'RangeError'],
    ['shardCount 1.5', { shardCount: 1.5 }, 'RangeError'],
    ['shardCount "2"', { shardCount: '2' }, 'TypeError'],
  ])('Fanout %s', (_n, opts, name) => {
    for (const Ctor of [FanoutCache, FanoutIndex] as any[]) {
      const dir = freshPath();
      const e = thrown(() => track(new Ctor(dir, opts)));
      if (name === 'RangeError' && _n === 'shardCount 1.5') expect(['RangeError', 'TypeError']).toContain(e.name);
      else expect(e.name).toBe(name);
      expect(e.message).toContain('shardCount');
      expect(fs.existsSync(dir)).toBe(false);
    }
  });

  test('Index and FanoutIndex reject maxSize (no eviction)', () => {
    for (const Ctor of [Index, FanoutIndex] as any[]) {
      const dir = freshPath();
      expectArgError(() => track(new Ctor(dir, { maxSize: 10 })), 'TypeError', 'maxSize');
      expect(fs.existsSync(dir)).toBe(false);
    }
  });
});

describe('FanoutIndex / Index per-call options', () => {
  test('expire and tag options are TypeErrors, nothing written', () => {
    for (const s of [track(new Index(freshPath())), track(new FanoutIndex(freshPath(), { shardCount: 2 }))] as AnyStore[]) {
      expectArgError(() => s.set('k', 1, { expire: 1 }), 'TypeError', 'expire');
      expectArgError(() => s.set('k', 1, { tag: 'x' }), 'TypeError', 'tag');
      expectArgError(() => s.add('k', 1, { expire: 1 }), 'TypeError', 'expire');
      expect(s.size).toBe(0);
    }
  });
});

describe('SciqlopCacheError', () => {
  test('an error from the store is an instance of the exported class', () => {
    const dir = freshPath();
    const c = new Cache(dir);
    c.close();
    const e = thrown(() => c.get('k'));
    expect(e).toBeInstanceOf(SciqlopCacheError);
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('SciqlopCacheError');
    expect(e.code).toBe('CLOSED');
  });
});
