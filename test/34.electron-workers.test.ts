// Electron readiness, tested without Electron (it cannot be downloaded here):
//  - values never live in external buffers (Electron's V8 memory cage aborts on them): 1 MiB
//    file-backed values come back as ordinary Buffers that own their memory, and the addon
//    does not even import the Node-API functions that make external buffers;
//  - the addon exports nothing but its Node-API entry points (no SQLite, no C++ symbols that
//    another library in an Electron process could bind to);
//  - worker threads, as utility processes and renderer-side workers use them: 20 workers
//    opening and closing stores at once, and workers terminated in the middle of opening,
//    writing, closing or a transaction.
// The packed-install test (scripts/test-packed-install.sh) checks that ELECTRON_RUN_AS_NODE=1
// PREBUILDS_ONLY=1 resolves the shipped prebuild.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { BytesSerializer, Cache, FanoutCache } from '../lib';
import { ROOT, freshPath, track } from './helpers';

jest.setTimeout(180000);

const WORKER = path.resolve(__dirname, 'helpers', 'electron-worker.js');
const MiB = 1024 * 1024;

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

/** Resolves when the worker posts a message for which `ready` is true. */
function progress(w: Worker, ready: (m: any) => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: unknown): void => {
      if (ready(m)) {
        w.off('message', onMessage);
        resolve();
      }
    };
    w.on('message', onMessage);
    w.once('error', reject);
    w.once('exit', (code) => reject(new Error(`worker exited by itself with ${code}`)));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The addon file this process loaded (build/Release or prebuilds/). */
function loadedAddon(): string {
  require('../lib'); // loads it, if no other test did in this realm
  const nodeGypBuild = require('node-gyp-build') as { resolve(dir: string): string };
  return nodeGypBuild.resolve(ROOT);
}

describe('no external buffers (Electron memory cage)', () => {
  test('1 MiB file-backed values come back as ordinary Buffers that own their memory', () => {
    const dir = freshPath();
    const cache = track(new Cache(dir, { serializer: new BytesSerializer() }));
    const values = Array.from({ length: 6 }, () => randomBytes(MiB));
    values.forEach((v, i) => cache.set(`big-${i}`, v));
    expect(fs.readdirSync(dir).filter((f) => /^[0-9a-f]{2}$/.test(f)).length).toBeGreaterThan(0); // value files
    values.forEach((expected, i) => {
      const got = cache.get(`big-${i}`) as Buffer;
      expect(Buffer.isBuffer(got)).toBe(true);
      expect(got.length).toBe(MiB);
      expect(got.equals(expected)).toBe(true);
      // Its own ArrayBuffer, exactly its size: not a window on memory owned elsewhere.
      expect(got.byteOffset).toBe(0);
      expect(got.buffer.byteLength).toBe(MiB);
      // Ordinary V8 memory can be transferred (detached from this Buffer, moved to the clone).
      const moved = structuredClone(got, { transfer: [got.buffer as ArrayBuffer] }) as Uint8Array;
      expect(got.length).toBe(0);
      expect(Buffer.from(moved.buffer, moved.byteOffset, moved.length).equals(expected)).toBe(true);
    });
    // Through the default serializer, and through pop, too.
    const objects = track(new Cache(freshPath()));
    objects.set('obj', { payload: values[0] });
    const obj = objects.pop('obj') as { payload: Uint8Array };
    expect(Buffer.from(obj.payload).equals(values[0]!)).toBe(true);
  });

  test('a worker reads 1 MiB values and transfers their memory to the main thread', async () => {
    const dir = freshPath();
    const cache = track(new Cache(dir, { serializer: new BytesSerializer() }));
    const values = new Map(Array.from({ length: 4 }, (_, i) => [`big-${i}`, randomBytes(MiB)] as const));
    for (const [k, v] of values) cache.set(k, v);
    const w = start({ scenario: 'bigValues', id: 0, shared: dir, keys: [...values.keys()] });
    const received = new Map<string, Uint8Array>();
    w.on('message', (m: { key?: string; bytes?: Uint8Array }) => {
      if (m.key && m.bytes) received.set(m.key, m.bytes);
    });
    expect(await finished(w)).toBe(0);
    expect([...received.keys()].sort()).toEqual([...values.keys()].sort());
    for (const [k, v] of values) expect(Buffer.from(received.get(k)!).equals(v)).toBe(true);
  });

  const linux = process.platform === 'linux' ? test : test.skip;

  linux('the addon does not import the external-buffer functions of Node-API', () => {
    const bytes = fs.readFileSync(loadedAddon());
    // Imported function names are strings in the dynamic string table (stripped or not).
    expect(bytes.includes('napi_create_buffer')).toBe(true); // the search can find names
    expect(bytes.includes('napi_create_external_buffer')).toBe(false);
    expect(bytes.includes('napi_create_external_arraybuffer')).toBe(false);
    expect(bytes.includes('node_api_create_external')).toBe(false);
  });

  linux('the addon exports only its Node-API entry points', () => {
    let out: string;
    try {
      out = execFileSync('nm', ['-D', '--defined-only', loadedAddon()], { encoding: 'utf8' });
    } catch (e) {
      throw new Error(`nm (binutils) is needed for this check: ${(e as Error).message}`);
    }
    const names = out
      .split('\n')
      .map((l) => l.trim().split(/\s+/)[2])
      .filter((n): n is string => !!n)
      .sort();
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) expect(name).toMatch(/^(napi_register_module_v\d+|node_api_module_get_api_version_v\d+)$/);
  });
});

describe('worker threads (Electron utility processes and workers)', () => {
  test('20 workers open and close a Cache, a FanoutCache and an Index at once, 8 times each', async () => {
    const shared = freshPath('shared');
    const fanout = freshPath('fanout');
    const rounds = 8;
    const workers = Array.from({ length: 20 }, (_, id) =>
      start({ scenario: 'openClose', id, rounds, shared, fanout, own: freshPath(`own-${id}`) }),
    );
    const codes = await Promise.all(workers.map(finished));
    expect(codes).toEqual(new Array(20).fill(0));

    const cache = track(new Cache(shared));
    expect(cache.get('opens')).toBe(20 * rounds);
    expect(cache.size).toBe(20 * rounds + 1);
    for (let id = 0; id < 20; id++) {
      for (let r = 0; r < rounds; r++) expect((cache.get(`w${id}-r${r}`) as { id: number }).id).toBe(id);
    }
    expect(cache.check().ok).toBe(true);
    const fc = track(new FanoutCache(fanout));
    expect(fc.size).toBe(20 * rounds);
    expect(fc.check().ok).toBe(true);
  });

  test('workers terminated at random moments of open/write/close loops leave a healthy store', async () => {
    const shared = freshPath();
    for (let wave = 0; wave < 3; wave++) {
      const workers = Array.from({ length: 8 }, (_, id) => start({ scenario: 'churn', id, shared }));
      // Some are stopped as soon as they run (often inside their first open), the others
      // after a random number of open/close rounds.
      await Promise.all(
        workers.map(async (w, i) => {
          if (i % 3 === 0) {
            await new Promise((r) => w.once('online', r));
            await sleep(i * 3);
          } else {
            const target = 10 + Math.floor(Math.random() * 40);
            await progress(w, (m) => (m?.rounds ?? 0) >= target);
          }
          expect(await w.terminate()).toBe(1);
        }),
      );
      const cache = new Cache(shared, { serializer: new BytesSerializer() });
      try {
        expect(cache.check()).toEqual({
          ok: true, orphanedFiles: 0, danglingRows: 0, sizeMismatches: 0, countersConsistent: true, sqliteIntegrityOk: true,
        });
        for (const [, v] of cache.entries()) expect(Buffer.isBuffer(v)).toBe(true);
        cache.set(`after-${wave}`, Buffer.from('ok'));
        expect(cache.get(`after-${wave}`)).toEqual(Buffer.from('ok'));
      } finally {
        cache.close();
      }
    }
  });

  test('a worker terminated inside a transaction: every batch is all there or not at all', async () => {
    const shared = freshPath();
    for (const target of [3, 20, 60]) {
      const w = start({ scenario: 'batches', id: target, shared });
      await progress(w, (m) => (m?.batch ?? -1) >= target);
      expect(await w.terminate()).toBe(1);
      const cache = new Cache(shared);
      try {
        const perBatch = new Map<string, number>();
        for (const key of cache.keys()) {
          const batch = key.slice(0, key.lastIndexOf('-'));
          perBatch.set(batch, (perBatch.get(batch) ?? 0) + 1);
        }
        expect(perBatch.size).toBeGreaterThan(target); // batches 0..target committed
        for (const [batch, count] of perBatch) expect([batch, count]).toEqual([batch, 50]);
        expect(cache.check().ok).toBe(true);
      } finally {
        cache.close();
      }
    }
  });
});
