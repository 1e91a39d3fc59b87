// Expiration: sub-second TTLs, touch (including touch(key, null)), expire(),
// expired entries behaving as absent everywhere, and the background thread.
import { BytesSerializer, Cache } from '../lib';
import { bytes, freshPath, sleep, track } from './helpers';

describe('expiry', () => {
  test('a 0.3 s TTL is alive at once and gone after 0.6 s', async () => {
    const c = track(new Cache(freshPath()));
    c.set('k', 'v', { expire: 0.3 });
    c.set('forever', 'v');
    c.set('undef', 'v', { expire: undefined });
    c.set('nul', 'v', { expire: null as any });
    expect(c.has('k')).toBe(true);
    expect(c.get('k')).toBe('v');
    await sleep(600);
    expect(c.has('k')).toBe(false);
    expect(c.get('k')).toBeUndefined();
    expect(c.get('k', 'd')).toBe('d');
    expect(c.get('forever')).toBe('v');
    expect(c.get('undef')).toBe('v');
    expect(c.get('nul')).toBe('v');
  });

  test('fractional TTLs are honoured below one second', async () => {
    const c = track(new Cache(freshPath()));
    c.set('short', 1, { expire: 0.15 });
    c.set('long', 1, { expire: 0.9 });
    await sleep(450);
    expect(c.has('short')).toBe(false);
    expect(c.has('long')).toBe(true);
  });

  test('an expired entry behaves as absent everywhere', async () => {
    const c = track(new Cache(freshPath()));
    for (const k of ['get', 'has', 'del', 'add', 'pop', 'touch', 'iter']) c.set(k, k, { expire: 0.2 });
    c.set('live', 'live');
    await sleep(450);
    expect(c.get('get')).toBeUndefined();
    expect(c.has('has')).toBe(false);
    expect(c.delete('del')).toBe(false);
    expect(c.add('add', 'new')).toBe(true);
    expect(c.get('add')).toBe('new');
    expect(c.pop('pop', 'dflt')).toBe('dflt');
    expect(c.touch('touch', 10)).toBe(false);
    expect(c.has('touch')).toBe(false);
    expect([...c.keys()]).toEqual(['add', 'live']);
    expect(c.size).toBe(2);
    expect([...c.values()]).toEqual(['new', 'live']);
  });

  test('set replaces the whole entry: no expire given means no expiry', async () => {
    const c = track(new Cache(freshPath()));
    c.set('k', 1, { expire: 0.2 });
    c.set('k', 2);
    await sleep(400);
    expect(c.get('k')).toBe(2);
  });

  test('add with expire', async () => {
    const c = track(new Cache(freshPath()));
    expect(c.add('k', 1, { expire: 0.2 })).toBe(true);
    expect(c.add('k', 2, { expire: 0.2 })).toBe(false);
    await sleep(400);
    expect(c.add('k', 3)).toBe(true);
    expect(c.get('k')).toBe(3);
  });

  test('a file-backed value expires too', async () => {
    const c = track(new Cache(freshPath(), { serializer: new BytesSerializer() }));
    c.set('big', bytes(20000), { expire: 0.2 });
    expect((c.get('big') as Buffer).length).toBe(20000);
    await sleep(400);
    expect(c.get('big')).toBeUndefined();
  });

  test('expiry survives close and reopen', async () => {
    const dir = freshPath();
    const c = new Cache(dir);
    c.set('k', 1, { expire: 0.3 });
    c.set('long', 1, { expire: 3600 });
    c.close();
    const d = track(new Cache(dir));
    expect(d.has('k')).toBe(true);
    await sleep(500);
    expect(d.has('k')).toBe(false);
    expect(d.has('long')).toBe(true);
  });
});

describe('touch', () => {
  test('touch sets an expiry on an existing key and returns true', async () => {
    const c = track(new Cache(freshPath()));
    c.set('k', 1);
    expect(c.touch('k', 0.3)).toBe(true);
    expect(c.has('k')).toBe(true);
    await sleep(600);
    expect(c.has('k')).toBe(false);
  });

  test('touch of a missing key returns false and creates nothing', () => {
    const c = track(new Cache(freshPath()));
    expect(c.touch('nope', 10)).toBe(false);
    expect(c.has('nope')).toBe(false);
    expect(c.size).toBe(0);
  });

  test('touch extends a TTL', async () => {
    const c = track(new Cache(freshPath()));
    c.set('k', 1, { expire: 0.3 });
    expect(c.touch('k', 5)).toBe(true);
    await sleep(600);
    expect(c.get('k')).toBe(1);
  });

  test('touch(key, null) and touch(key, undefined) remove the expiry', async () => {
    const c = track(new Cache(freshPath()));
    c.set('a', 1, { expire: 0.3 });
    c.set('b', 2, { expire: 0.3 });
    expect(c.touch('a', null)).toBe(true);
    expect(c.touch('b', undefined)).toBe(true);
    await sleep(600);
    expect(c.get('a')).toBe(1);
    expect(c.get('b')).toBe(2);
  });

  test('touch keeps the value and the tag', () => {
    const c = track(new Cache(freshPath()));
    c.set('k', { v: 1 }, { tag: 't' });
    c.touch('k', 100);
    expect(c.get('k')).toEqual({ v: 1 });
    expect(c.evictTag('t')).toBe(1);
  });
});

describe('expire()', () => {
  test('removes the expired entries now and returns their count', async () => {
    const c = track(new Cache(freshPath(), { serializer: new BytesSerializer() }));
    c.set('a', bytes(10), { expire: 0.15 });
    c.set('b', bytes(20000), { expire: 0.15 });
    c.set('c', bytes(30), { expire: 0.15 });
    c.set('live', bytes(40));
    c.set('later', bytes(50), { expire: 60 });
    expect(c.expire()).toBe(0);
    await sleep(300);
    const removed = c.expire();
    expect(removed).toBe(3);
    expect(c.expire()).toBe(0);
    expect(c.valueBytes()).toBe(90);
    expect([...c.keys()]).toEqual(['later', 'live']);
  });

  test('the background thread removes expired entries by itself', async () => {
    const c = track(new Cache(freshPath(), { serializer: new BytesSerializer() }));
    c.set('a', bytes(1000), { expire: 0.1 });
    c.set('b', bytes(20000), { expire: 0.1 });
    c.set('live', bytes(7));
    expect(c.valueBytes()).toBe(21007);
    const deadline = Date.now() + 4000;
    while (c.valueBytes() !== 7 && Date.now() < deadline) await sleep(100);
    expect(c.valueBytes()).toBe(7);
    expect(c.expire()).toBe(0);
  });
});
