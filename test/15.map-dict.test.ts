// Map compatibility (size, keys/values/entries/forEach/iterator in byte order,
// snapshots) and the asObject() Proxy view.
import { Cache, Index } from '../lib';
import { byteOrder, freshPath, track } from './helpers';

const KEYS = ['b', 'a', 'é', 'Z', 'aa', '', '😀', '\uffff', 'a b', '10', '9', 'zz'];

describe('Map compatibility', () => {
  test('size counts live entries', () => {
    const c = track(new Cache(freshPath()));
    expect(c.size).toBe(0);
    c.set('a', 1).set('b', 2).set('a', 3);
    expect(c.size).toBe(2);
    c.delete('a');
    expect(c.size).toBe(1);
    c.clear();
    expect(c.size).toBe(0);
  });

  test('keys, values, entries and the iterator are in UTF-8 byte order', () => {
    const c = track(new Cache(freshPath()));
    KEYS.forEach((k) => c.set(k, `v:${k}`));
    const order = byteOrder(KEYS);
    // byte order is not UTF-16 order: U+FFFF sorts before an astral character
    expect(order.indexOf('\uffff')).toBeLessThan(order.indexOf('😀'));
    expect([...c.keys()]).toEqual(order);
    expect([...c.values()]).toEqual(order.map((k) => `v:${k}`));
    expect([...c.entries()]).toEqual(order.map((k) => [k, `v:${k}`]));
    expect([...c]).toEqual(order.map((k) => [k, `v:${k}`]));
    expect(Array.from(c.keys())).toEqual(order);
    const m = new Map(c);
    expect([...m.keys()]).toEqual(order);
    const seen: Array<[string, unknown]> = [];
    for (const [k, v] of c) seen.push([k, v]);
    expect(seen).toEqual(order.map((k) => [k, `v:${k}`]));
  });

  test('forEach calls back with (value, key, store) and honours thisArg', () => {
    const c = track(new Cache(freshPath()));
    c.set('b', 2);
    c.set('a', 1);
    const calls: unknown[] = [];
    const self = { tag: 'this' };
    c.forEach(function (this: unknown, value: unknown, key: string, store: unknown) {
      calls.push([value, key, store === c, this === self]);
    }, self);
    expect(calls).toEqual([
      [1, 'a', true, true],
      [2, 'b', true, true],
    ]);
  });

  test('iteration works on a snapshot of keys taken at the start', () => {
    const c = track(new Cache(freshPath()));
    for (const k of ['a', 'b', 'c', 'd']) c.set(k, k);
    const seen: Array<[string, unknown]> = [];
    for (const [k, v] of c.entries()) {
      seen.push([k, v]);
      if (k === 'a') {
        c.delete('c');
        c.set('e', 'e');
        c.set('b', 'B');
      }
    }
    expect(seen).toEqual([['a', 'a'], ['b', 'B'], ['d', 'd']]);

    const vals: unknown[] = [];
    for (const v of c.values()) {
      vals.push(v);
      if (v === 'a') c.delete('b');
    }
    expect(vals).toEqual(['a', 'd', 'e']);

    const keys: string[] = [];
    for (const k of c.keys()) {
      keys.push(k);
      if (k === 'a') c.set('aa', 1);
    }
    expect(keys).toEqual(['a', 'd', 'e']);
  });

  test('iteration does not count in stats', () => {
    const c = track(new Cache(freshPath()));
    c.set('a', 1).set('b', 2);
    c.resetStats();
    [...c.entries()];
    [...c.values()];
    c.forEach(() => undefined);
    [...c];
    expect(c.stats()).toEqual({ hits: 0, misses: 0 });
  });

  test('an iterator can be abandoned early', () => {
    const c = track(new Cache(freshPath()));
    for (let i = 0; i < 100; i++) c.set(`k${String(i).padStart(3, '0')}`, i);
    for (const [k] of c) {
      if (k === 'k005') break;
    }
    const it = c.keys();
    expect(it.next()).toEqual({ value: 'k000', done: false });
    expect(c.size).toBe(100);
  });

  test('the iterator of an empty store is done at once', () => {
    const c = track(new Cache(freshPath()));
    expect([...c]).toEqual([]);
    expect(c.keys().next().done).toBe(true);
  });

  test('Index is Map-compatible too', () => {
    const i = track(new Index(freshPath()));
    KEYS.forEach((k, n) => i.set(k, n));
    expect(i.size).toBe(KEYS.length);
    expect([...i.keys()]).toEqual(byteOrder(KEYS));
    expect(new Map(i).get('é')).toBe(KEYS.indexOf('é'));
  });
});

describe('asObject()', () => {
  test('reads, writes, deletes, in and Object.keys go to the store', () => {
    const c = track(new Cache(freshPath()));
    const o = c.asObject() as Record<string, any>;
    o.a = 1;
    o['b c'] = { x: [1] };
    expect(c.get('a')).toBe(1);
    expect(c.get('b c')).toEqual({ x: [1] });
    c.set('d', 'from store');
    expect(o.d).toBe('from store');
    expect(o.missing).toBeUndefined();
    expect('a' in o).toBe(true);
    expect('missing' in o).toBe(false);
    expect(Object.keys(o)).toEqual(['a', 'b c', 'd']);
    expect(delete o.a).toBe(true);
    expect(c.has('a')).toBe(false);
    expect('a' in o).toBe(false);
    expect(Object.keys(o)).toEqual(['b c', 'd']);
  });

  test('__proto__, constructor and other Object.prototype names are ordinary keys', () => {
    const c = track(new Cache(freshPath()));
    const o: any = c.asObject();
    expect('constructor' in o).toBe(false);
    expect('toString' in o).toBe(false);
    expect('__proto__' in o).toBe(false);
    expect(o.constructor).toBeUndefined();
    expect(o.hasOwnProperty).toBeUndefined();
    o['__proto__'] = 5;
    o.constructor = 'ctor';
    o.toString = 'str';
    o.hasOwnProperty = { own: true };
    expect(c.get('__proto__')).toBe(5);
    expect(c.get('constructor')).toBe('ctor');
    expect(c.get('toString')).toBe('str');
    expect(c.get('hasOwnProperty')).toEqual({ own: true });
    expect(o['__proto__']).toBe(5);
    expect(o.constructor).toBe('ctor');
    expect('__proto__' in o).toBe(true);
    expect(Object.keys(o)).toEqual(['__proto__', 'constructor', 'hasOwnProperty', 'toString']);
    expect(delete o['__proto__']).toBe(true);
    expect(c.has('__proto__')).toBe(false);
    // Object.prototype was not touched
    expect(({} as any).constructor).toBe(Object);
  });

  test('the empty key and Unicode keys', () => {
    const c = track(new Cache(freshPath()));
    const o = c.asObject() as Record<string, any>;
    o[''] = 'empty';
    o['😀'] = 'smile';
    expect(c.get('')).toBe('empty');
    expect(o['😀']).toBe('smile');
    expect(Object.keys(o)).toEqual(['', '😀']);
  });

  test('an Index has an asObject() view too', () => {
    const i = track(new Index(freshPath()));
    const o = i.asObject() as Record<string, any>;
    o.k = 1;
    expect(i.get('k')).toBe(1);
    expect('k' in o).toBe(true);
  });
});
