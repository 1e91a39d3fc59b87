// Many asynchronous operations in flight: on one store (checked against a sequential
// model), on several stores at once, and from worker threads on one directory (exact incr
// totals); a worker that ends with operations in flight; the event loop stays free while
// large values are written and read.
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { BytesSerializer, Cache, FanoutCache, Index } from '../lib';
import { difference, freshPath, track } from './helpers';

jest.setTimeout(120000);

const WORKER = path.resolve(__dirname, 'helpers', 'async-worker.js');

function runWorker(workerData: Record<string, unknown>): Promise<any> {
  return new Promise((resolve, reject) => {
    const w = new Worker(WORKER, { workerData });
    let message: any;
    w.on('message', (m) => (message = m));
    w.once('error', reject);
    w.once('exit', (code) => {
      if (code !== 0) reject(new Error(`worker exited with ${code}`));
      else if (message?.error) reject(new Error(message.error));
      else resolve(message);
    });
  });
}

/** A tiny deterministic generator, so a failing sequence can be replayed. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

describe('in flight on one store', () => {
  test.each([
    ['Cache', (d: string) => new Cache(d)],
    ['FanoutCache', (d: string) => new FanoutCache(d, { shardCount: 4 })],
  ])('20,000 mixed operations on a %s, un-awaited, match a sequential model', async (_n, make) => {
    const s = track(make(freshPath()));
    const model = new Map<string, unknown>();
    const expected: unknown[] = [];
    const promises: Array<Promise<unknown>> = [];
    const random = rng(7);
    for (let i = 0; i < 20000; i++) {
      const key = `k${Math.floor(random() * 300)}`;
      const r = random();
      if (r < 0.35) {
        const value = i % 97 === 0 ? Buffer.alloc(9000 + i, i % 256) : { i };
        promises.push(s.setAsync(key, value));
        model.set(key, value);
        expected.push(undefined);
      } else if (r < 0.6) {
        promises.push(s.getAsync(key));
        expected.push(model.get(key));
      } else if (r < 0.7) {
        promises.push(s.deleteAsync(key));
        expected.push(model.delete(key));
      } else if (r < 0.8) {
        const had = model.has(key);
        promises.push(s.addAsync(key, { added: i }));
        if (!had) model.set(key, { added: i });
        expected.push(!had);
      } else if (r < 0.9) {
        promises.push(s.popAsync(key, 'none'));
        expected.push(model.has(key) ? model.get(key) : 'none');
        model.delete(key);
      } else {
        promises.push(s.hasAsync(key));
        expected.push(model.has(key));
      }
      if (i % 5000 === 4999) await Promise.resolve(); // several turns, several commits
    }
    // difference() rather than toEqual: jest's deep equality is slow on 20,000 results
    const results = await Promise.all(promises);
    expect(results.length).toBe(expected.length);
    const differences = results.map((r, i) => difference(r, expected[i], `[${i}]`)).filter((d) => d !== null);
    expect(differences).toEqual([]);
    expect(s.size).toBe(model.size);
    for (const [k, v] of model) expect(difference(s.get(k), v)).toBeNull();
    expect(s.check().ok).toBe(true);
  });

  test('2,000 un-awaited incrAsync resolve to 1..2000 in call order', async () => {
    const s = track(new Index(freshPath()));
    const results = await Promise.all(Array.from({ length: 2000 }, () => s.incrAsync('n')));
    expect(results).toEqual(Array.from({ length: 2000 }, (_, i) => i + 1));
    expect(s.get('n')).toBe(2000);
  });

  test('ten stores busy at once', async () => {
    const stores = Array.from({ length: 10 }, () => track(new Cache(freshPath(), { serializer: new BytesSerializer() })));
    await Promise.all(
      stores.map((s, n) => Promise.all(Array.from({ length: 500 }, (_, i) => s.setAsync(`k${i}`, Buffer.alloc(100, n))))),
    );
    for (const [n, s] of stores.entries()) {
      expect(s.size).toBe(500);
      expect(((await s.getAsync('k499')) as Buffer)[0]).toBe(n);
    }
  });

  test('the event loop keeps turning while large values are written and read', async () => {
    const s = track(new Cache(freshPath(), { serializer: new BytesSerializer() }));
    const value = Buffer.alloc(8 << 20, 5);
    let worst = 0;
    let last = performance.now();
    let running = true;
    const tick = (): void => {
      const now = performance.now();
      worst = Math.max(worst, now - last);
      last = now;
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    for (let i = 0; i < 6; i++) {
      await s.setAsync(`big${i % 2}`, value);
      expect(((await s.getAsync(`big${i % 2}`)) as Buffer).length).toBe(value.length);
    }
    running = false;
    // generous: an 8 MiB synchronous write alone takes longer than this on a busy machine
    expect(worst).toBeLessThan(250);
  });
});

describe('two store objects on one directory', () => {
  test('incrAsync waiting for its JavaScript step holds no lock a sync write of the other would wait for', async () => {
    const dir = freshPath();
    const a = track(new Cache(dir));
    const b = track(new Cache(dir));
    void a.setAsync('y', 1);
    const counted = a.incrAsync('n');
    const spin = Date.now();
    while (Date.now() - spin < 100); // same turn: a's worker reaches the step and waits for it
    const t0 = Date.now();
    b.set('z', 1); // would wait for a's write lock if a's worker kept it during the step
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(await counted).toBe(1);
    expect(b.get('y')).toBe(1);
  });
});

describe('worker threads', () => {
  test('4 workers × 500 un-awaited incrAsync on one directory end at exactly 2000', async () => {
    const dir = freshPath();
    const main = track(new Cache(dir));
    const done = await Promise.all([0, 1, 2, 3].map((id) => runWorker({ dir, id, count: 500, scenario: 'incr' })));
    for (const d of done) expect(d.done).toBe(true);
    expect(main.get('shared')).toBe(2000);
    expect(Math.max(...done.map((d) => d.max))).toBe(2000);
  });

  test('4 workers with mixed async writes and reads on a FanoutCache', async () => {
    const dir = freshPath();
    const main = track(new FanoutCache(dir, { shardCount: 4 }));
    const done = await Promise.all([0, 1, 2, 3].map((id) => runWorker({ dir, id, count: 300, scenario: 'mixed', type: 'FanoutCache' })));
    for (const d of done) expect(d.ok).toBe(true);
    expect(main.size).toBe(4 * 350);
  });

  test('a worker that ends with writes in flight exits cleanly and leaves a sound store', async () => {
    const dir = freshPath();
    const done = await runWorker({ dir, id: 9, count: 2000, scenario: 'abandon' });
    expect(done.done).toBe(true);
    const main = track(new Cache(dir));
    expect(main.check().ok).toBe(true);
    // what was queued when the worker's environment went away was written
    expect(main.size).toBe(2000);
  });
});
