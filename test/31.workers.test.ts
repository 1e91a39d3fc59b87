// Worker threads on one directory: concurrent writers, exact incr totals, a
// worker terminated in the middle of a write loop, a worker that never closes.
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { BytesSerializer, Cache } from '../lib';
import { freshPath, track } from './helpers';

jest.setTimeout(120000);

const WORKER = path.resolve(__dirname, 'helpers', 'worker.js');

function valueOf(id: number, i: number): Buffer {
  const size = i % 25 === 0 ? 10000 + i : 20 + (i % 40);
  return Buffer.alloc(size, (id * 31 + i) % 256);
}

function start(workerData: Record<string, unknown>): Worker {
  return new Worker(WORKER, { workerData });
}

/** Resolves with the worker's exit code; rejects on an uncaught error in it. */
function finished(w: Worker): Promise<number> {
  return new Promise((resolve, reject) => {
    w.once('error', reject);
    w.once('exit', resolve);
  });
}

describe('worker threads', () => {
  test('4 workers writing into one directory: every write is there', async () => {
    const dir = freshPath();
    const main = track(new Cache(dir, { serializer: new BytesSerializer() }));
    const count = 200;
    const workers = [0, 1, 2, 3].map((id) => start({ dir, id, count, scenario: 'write' }));
    const codes = await Promise.all(workers.map(finished));
    expect(codes).toEqual([0, 0, 0, 0]);
    expect(main.size).toBe(4 * count);
    for (let id = 0; id < 4; id++) {
      for (let i = 0; i < count; i++) {
        const got = main.get(`w${id}-${i}`) as Buffer;
        expect(got !== undefined && Buffer.compare(got, valueOf(id, i)) === 0).toBe(true);
      }
    }
    expect(main.check().ok).toBe(true);
  });

  test('4 workers doing 300 incr each on one key end at exactly 1200', async () => {
    const dir = freshPath();
    const main = track(new Cache(dir));
    main.set('shared', 0);
    const workers = [0, 1, 2, 3].map((id) => start({ dir, id, count: 300, scenario: 'incr' }));
    expect(await Promise.all(workers.map(finished))).toEqual([0, 0, 0, 0]);
    expect(main.get('shared')).toBe(1200);
  });

  test('a worker terminated in the middle of a write loop: no crash, the store opens, check() is clean', async () => {
    const dir = freshPath();
    for (const progress of [100, 600, 1500]) {
      const w = start({ dir, id: 1, scenario: 'loop' });
      await new Promise<void>((resolve, reject) => {
        w.on('message', (m: { written?: number }) => {
          if ((m.written ?? 0) >= progress) resolve();
        });
        w.once('error', reject);
        w.once('exit', (code) => reject(new Error(`worker exited by itself with ${code}`)));
      });
      await w.terminate();
      const c = new Cache(dir, { serializer: new BytesSerializer() });
      try {
        const report = c.check();
        expect(report).toEqual({
          ok: true, orphanedFiles: 0, danglingRows: 0, sizeMismatches: 0, countersConsistent: true, sqliteIntegrityOk: true,
        });
        expect(c.size).toBeGreaterThan(0);
        for (const [k, v] of c.entries()) {
          expect(k.startsWith('loop-') || k === 'after').toBe(true);
          expect(Buffer.isBuffer(v)).toBe(true);
        }
        c.set('after', Buffer.from('ok'));
        expect(c.get('after')).toEqual(Buffer.from('ok'));
      } finally {
        c.close();
      }
    }
  });

  test('a reader never sees a partial or missing value while a worker replaces it', async () => {
    const dir = freshPath();
    const main = track(new Cache(dir, { serializer: new BytesSerializer() }));
    main.set('hot', Buffer.alloc(9000, 0));
    const w = start({ dir, id: 0, count: 1500, scenario: 'overwrite' });
    const exit = finished(w);
    let reads = 0;
    let misses = 0;
    const deadline = Date.now() + 60000;
    while (!main.has('done') && Date.now() < deadline) {
      const v = main.get('hot') as Buffer | undefined;
      reads++;
      if (v === undefined) {
        misses++; // only possible in the instant between the worker's delete and set
        continue;
      }
      const fill = v[0]!;
      expect(v.length).toBe(9000 + fill * 10);
      if (v.some((b) => b !== fill)) throw new Error(`read a mixed value (fill ${fill}) after ${reads} reads`);
    }
    expect(await exit).toBe(0);
    expect(main.has('done')).toBe(true);
    expect(reads).toBeGreaterThan(10);
    expect(misses).toBeLessThan(reads);
    expect(main.check().ok).toBe(true);
  });

  test('a worker that exits without close() leaves a healthy store', async () => {
    const dir = freshPath();
    const w = start({ dir, id: 2, count: 100, scenario: 'noClose' });
    expect(await finished(w)).toBe(0);
    const c = track(new Cache(dir));
    expect(c.size).toBe(100);
    expect(c.get('nc2-99')).toBe(99);
    expect(c.check().ok).toBe(true);
  });

  test('the main thread keeps working while workers write', async () => {
    const dir = freshPath();
    const main = track(new Cache(dir, { serializer: new BytesSerializer() }));
    const workers = [0, 1].map((id) => start({ dir, id, count: 150, scenario: 'write' }));
    const done = Promise.all(workers.map(finished));
    for (let i = 0; i < 100; i++) main.set(`main-${i}`, Buffer.from([i]));
    await done;
    expect(main.size).toBe(400);
    expect(main.get('main-99')).toEqual(Buffer.from([99]));
  });
});
