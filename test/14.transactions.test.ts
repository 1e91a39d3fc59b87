// transact(fn): commit on return, roll back on throw, reentrancy (a nested
// call joins the outer one), promise-returning functions rejected.
import { BytesSerializer, Cache, Index } from '../lib';
import { bytes, freshPath, thrown, track } from './helpers';

describe('transact', () => {
  test('commits on return and passes the return value through', () => {
    const c = track(new Cache(freshPath()));
    const r = c.transact(() => {
      c.set('a', 1);
      c.set('b', 2);
      return { done: true };
    });
    expect(r).toEqual({ done: true });
    expect(c.get('a')).toBe(1);
    expect(c.get('b')).toBe(2);
    expect(c.transact(() => undefined)).toBeUndefined();
    expect(c.transact(() => 7)).toBe(7);
  });

  test('rolls back on throw and rethrows the same error', () => {
    const c = track(new Cache(freshPath()));
    c.set('kept', 'before');
    const boom = new Error('boom');
    const e = thrown(() =>
      c.transact(() => {
        c.set('a', 1);
        c.set('kept', 'changed');
        c.delete('kept');
        c.incr('n');
        throw boom;
      }),
    );
    expect(e).toBe(boom);
    expect(c.has('a')).toBe(false);
    expect(c.has('n')).toBe(false);
    expect(c.get('kept')).toBe('before');
    expect(c.size).toBe(1);
  });

  test('reads inside a transaction see its own writes', () => {
    const c = track(new Cache(freshPath()));
    c.transact(() => {
      c.set('a', 1);
      expect(c.get('a')).toBe(1);
      expect(c.has('a')).toBe(true);
      expect(c.incr('a')).toBe(2);
      expect([...c.keys()]).toEqual(['a']);
    });
    expect(c.get('a')).toBe(2);
  });

  test('a nested transact joins the outer one and returns its value', () => {
    const c = track(new Cache(freshPath()));
    const r = c.transact(() => {
      c.set('outer', 1);
      const inner = c.transact(() => {
        c.set('inner', 2);
        return c.transact(() => 'deep');
      });
      expect(c.get('inner')).toBe(2);
      return inner + '!';
    });
    expect(r).toBe('deep!');
    expect(c.get('outer')).toBe(1);
    expect(c.get('inner')).toBe(2);
  });

  test('an outer rollback discards the work of a completed inner transaction', () => {
    const c = track(new Cache(freshPath()));
    thrown(() =>
      c.transact(() => {
        c.transact(() => {
          c.set('inner', 1);
          c.set('inner-big', 'x'.repeat(20000));
        });
        c.set('outer', 1);
        throw new Error('outer fails');
      }),
    );
    expect(c.has('inner')).toBe(false);
    expect(c.has('inner-big')).toBe(false);
    expect(c.has('outer')).toBe(false);
    expect(c.size).toBe(0);
    expect(c.check().ok).toBe(true);
  });

  test('a function returning a Promise is a TypeError and is rolled back', async () => {
    const c = track(new Cache(freshPath()));
    const e = thrown(() =>
      c.transact((() => {
        c.set('p', 1);
        return Promise.resolve(1);
      }) as any),
    );
    expect(e.name).toBe('TypeError');
    expect(c.has('p')).toBe(false);

    const asyncFn = async (): Promise<number> => 1;
    const e2 = thrown(() =>
      c.transact((() => {
        c.set('q', 1);
        return asyncFn();
      }) as any),
    );
    expect(e2.name).toBe('TypeError');
    expect(c.has('q')).toBe(false);

    const e3 = thrown(() =>
      c.transact((() => {
        c.set('r', 1);
        return { then: (ok: (v: number) => void) => ok(1) };
      }) as any),
    );
    expect(e3.name).toBe('TypeError');
    expect(c.has('r')).toBe(false);
    expect(c.size).toBe(0);
  });

  test('the store is usable after a rollback, and after a nested promise error', () => {
    const c = track(new Cache(freshPath()));
    thrown(() => c.transact(() => { c.set('x', 1); throw new Error('x'); }));
    c.transact(() => c.set('y', 2));
    expect(c.get('y')).toBe(2);
    thrown(() => c.transact(() => {
      c.set('z', 1);
      c.transact((() => Promise.resolve()) as any);
    }));
    expect(c.has('z')).toBe(false);
    c.set('w', 1);
    expect(c.get('w')).toBe(1);
  });

  test('a file-backed value written in a rolled-back transaction leaves nothing behind', () => {
    const c = track(new Cache(freshPath(), { serializer: new BytesSerializer() }));
    c.set('old', bytes(30000, 1));
    thrown(() => c.transact(() => {
      c.set('new', bytes(30000, 2));
      c.set('old', bytes(30000, 3));
      throw new Error('no');
    }));
    expect(c.has('new')).toBe(false);
    expect(Buffer.compare(c.get('old') as Buffer, bytes(30000, 1))).toBe(0);
    expect(c.valueBytes()).toBe(30000);
    const report = c.check();
    expect(report.ok).toBe(true);
    expect(report.countersConsistent).toBe(true);
  });

  test('valueBytes and size follow a rollback', () => {
    const c = track(new Cache(freshPath(), { serializer: new BytesSerializer() }));
    c.set('a', bytes(100));
    thrown(() => c.transact(() => {
      c.set('b', bytes(200));
      c.delete('a');
      throw new Error('no');
    }));
    expect(c.valueBytes()).toBe(100);
    expect(c.size).toBe(1);
    expect(c.check().countersConsistent).toBe(true);
  });

  test('many writes in one transaction', () => {
    const c = track(new Cache(freshPath()));
    c.transact(() => {
      for (let i = 0; i < 2000; i++) c.set(`k${i}`, i);
    });
    expect(c.size).toBe(2000);
    expect(c.get('k1999')).toBe(1999);
  });

  test('Index.transact behaves the same', () => {
    const i = track(new Index(freshPath()));
    expect(i.transact(() => { i.set('a', 1); return 'r'; })).toBe('r');
    thrown(() => i.transact(() => {
      i.transact(() => i.set('b', 1));
      throw new Error('no');
    }));
    expect(i.has('a')).toBe(true);
    expect(i.has('b')).toBe(false);
    expect(thrown(() => i.transact((() => Promise.resolve()) as any)).name).toBe('TypeError');
  });

  test('a non-function argument is a TypeError', () => {
    const c = track(new Cache(freshPath()));
    const e = thrown(() => c.transact('nope' as any));
    expect(e.name).toBe('TypeError');
  });
});
