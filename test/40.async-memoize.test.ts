// memoize(): async functions go through getAsync/setAsync; `lock` lets only one caller
// (across memoized wrappers, and across processes) compute a missing result while the
// others wait for it, with a timeout; a failed computation lets the next one try.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { Cache, Index } from '../lib';
import { expectArgError, expectCode, freshPath, rejected, sleep, thrown, track } from './helpers';

jest.setTimeout(120000);

const CHILD = path.resolve(__dirname, 'helpers', 'async-child.js');

describe('memoize on the async path', () => {
  test('an async function is looked up and stored with getAsync/setAsync', async () => {
    const c = track(new Cache(freshPath()));
    const getAsync = jest.spyOn(c, 'getAsync');
    const setAsync = jest.spyOn(c, 'setAsync');
    let calls = 0;
    const f = c.memoize(async function double(x: number) {
      calls++;
      return x * 2;
    });
    expect(await f(4)).toBe(8);
    expect(c.has(f.cacheKey(4))).toBe(true); // stored when the call resolved
    expect(await f(4)).toBe(8);
    expect(calls).toBe(1);
    expect(getAsync).toHaveBeenCalledTimes(2);
    expect(setAsync).toHaveBeenCalledTimes(1);
    expect(c.stats()).toEqual({ hits: 1, misses: 1 });
  });

  test('a function found to return promises switches to the async path', async () => {
    const c = track(new Cache(freshPath()));
    const f = c.memoize(function later(x: number) {
      return Promise.resolve(x + 1);
    });
    expect(await f(1)).toBe(2);
    expect(await f(1)).toBe(2);
    expect(c.get(f.cacheKey(1))).toBe(2);
  });
});

describe('memoize(fn, { lock })', () => {
  test('two wrappers of one function: one computation, both get its result', async () => {
    const c = track(new Cache(freshPath()));
    let calls = 0;
    const compute = async function shared(x: number): Promise<{ x: number }> {
      calls++;
      await sleep(200);
      return { x };
    };
    const a = c.memoize(compute, { lock: true });
    const b = c.memoize(compute, { lock: true });
    const [ra, rb] = await Promise.all([a(1), b(1)]);
    expect(ra).toEqual({ x: 1 });
    expect(rb).toEqual({ x: 1 });
    expect(calls).toBe(1);
    expect(c.has(`${a.cacheKey(1)}:lock`)).toBe(false); // released
  });

  test('a sync function with a lock', () => {
    const c = track(new Index(freshPath()));
    let calls = 0;
    const f = c.memoize(function square(x: number) {
      calls++;
      return x * x;
    }, { lock: { timeout: 1 } });
    expect(f(3)).toBe(9);
    expect(f(3)).toBe(9);
    expect(calls).toBe(1);
  });

  test('a failed computation releases the lock and the next caller computes', async () => {
    const c = track(new Cache(freshPath()));
    let calls = 0;
    const compute = async function flaky(): Promise<string> {
      calls++;
      await sleep(100);
      if (calls === 1) throw new Error('first fails');
      return 'ok';
    };
    const a = c.memoize(compute, { lock: true });
    const b = c.memoize(compute, { lock: true });
    const [ea, rb] = await Promise.all([rejected(a()), b()]);
    expect(ea.message).toBe('first fails');
    expect(rb).toBe('ok');
    expect(calls).toBe(2);
  });

  test('a waiter gives up after lock.timeout with LOCK_TIMEOUT', async () => {
    const c = track(new Cache(freshPath()));
    const compute = async function slow(): Promise<number> {
      await sleep(600);
      return 1;
    };
    const holder = c.memoize(compute, { lock: true });
    const impatient = c.memoize(compute, { lock: { timeout: 0.1 } });
    const first = holder();
    await sleep(50);
    expectCode(await rejected(impatient()), 'LOCK_TIMEOUT');
    expect(await first).toBe(1);
    expect(await impatient()).toBe(1); // now a hit
  });

  test('lock option validation', () => {
    const c = track(new Cache(freshPath()));
    const i = track(new Index(freshPath()));
    const fn = function f(): number {
      return 1;
    };
    expectArgError(() => c.memoize(fn, { lock: 'yes' as any }), 'TypeError', 'lock');
    expectArgError(() => c.memoize(fn, { lock: { nope: 1 } as any }), 'TypeError', 'nope');
    expectArgError(() => c.memoize(fn, { lock: { timeout: -1 } }), 'RangeError', 'timeout');
    expect(() => c.memoize(fn, { lock: { expire: 30, timeout: 5 } })).not.toThrow();
    expect(thrown(() => i.memoize(fn, { lock: { expire: 30 } })).name).toBe('TypeError');
    expect(() => i.memoize(fn, { lock: { timeout: 5 } })).not.toThrow();
  });

  test('four processes: only one computes, all get its result', async () => {
    const dir = freshPath();
    track(new Cache(dir)).set('calls', 0);
    const results = await runTogether(4, dir);
    const values = results.map((r) => r.value);
    for (const v of values) expect(v).toEqual(values[0]);
    expect(values[0].x).toBe(21);
    const c = track(new Cache(dir));
    expect(c.get('calls')).toBe(1);
  });

  test('processes that time out waiting reject with LOCK_TIMEOUT', async () => {
    const dir = freshPath();
    track(new Cache(dir)).set('calls', 0);
    const results = await runTogether(3, dir, '0.1');
    const values = results.filter((r) => r.value);
    const errors = results.filter((r) => r.error);
    expect(values.length).toBe(1);
    expect(errors.length).toBe(2);
    for (const e of errors) expect(e.error.code).toBe('LOCK_TIMEOUT');
    expect(track(new Cache(dir)).get('calls')).toBe(1);
  });
});

/** Starts `n` children of the memoLock scenario, lets them go at once, returns their results. */
async function runTogether(n: number, dir: string, timeout?: string): Promise<any[]> {
  const children = Array.from({ length: n }, () => {
    const args = [CHILD, 'memoLock', dir, ...(timeout === undefined ? [] : [timeout])];
    const proc = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const lines: any[] = [];
    let err = '';
    let partial = '';
    let onReady!: () => void;
    const ready = new Promise<void>((r) => (onReady = r));
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (chunk: string) => {
      partial += chunk;
      const parts = partial.split('\n');
      partial = parts.pop()!;
      for (const p of parts) {
        const line = JSON.parse(p);
        if (line.ready) onReady();
        else lines.push(line);
      }
    });
    proc.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((resolve) =>
      proc.on('exit', (code) => {
        onReady();
        resolve(code);
      }),
    );
    return { proc, lines, ready, exited, err: () => err };
  });
  await Promise.all(children.map((c) => c.ready));
  for (const c of children) c.proc.stdin.end('go\n');
  const codes = await Promise.all(children.map((c) => c.exited));
  children.forEach((c, i) => {
    if (codes[i] !== 0 || c.lines.length === 0) throw new Error(`child failed (${codes[i]}): ${c.err()}`);
  });
  return children.map((c) => c.lines[c.lines.length - 1]);
}
