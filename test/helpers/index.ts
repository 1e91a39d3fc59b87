/**
 * Shared test helpers: temporary directories that are removed after the file,
 * stores that are closed after the file, error assertions by `name` and `code`
 * (jest gives each test file its own realm, so `instanceof` is not reliable),
 * and small utilities to look at a store's value files.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Cache, FanoutCache, FanoutIndex, Index } from '../../lib';

export { expectSame, difference } from './deep-equal';

/** The package root: `require(ROOT)` loads the compiled package (dist/index.js). */
export const ROOT = path.resolve(__dirname, '..', '..');

/** Every store type, for `describe.each(storeKinds)`: [name, open(directory)]. */
export type AnyStore = Cache | Index | FanoutCache | FanoutIndex;
export const storeKinds: Array<[string, (dir: string) => AnyStore]> = [
  ['Cache', (d) => new Cache(d)],
  ['Index', (d) => new Index(d)],
  ['FanoutCache', (d) => new FanoutCache(d, { shardCount: 3 })],
  ['FanoutIndex', (d) => new FanoutIndex(d, { shardCount: 3 })],
];

const roots: string[] = [];
const stores: Array<{ close(): void }> = [];

afterAll(() => {
  for (const s of stores.splice(0)) {
    try {
      s.close();
    } catch {
      // already closed or never fully opened
    }
  }
  for (const r of roots.splice(0)) fs.rmSync(r, { recursive: true, force: true });
});

/** A fresh, existing, empty temporary directory, removed after the test file. */
export function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'sqc-test-'));
  roots.push(d);
  return d;
}

/** A path inside a fresh temporary directory that does not exist yet. */
export function freshPath(name = 'store'): string {
  return path.join(tmpDir(), name);
}

/** Registers a store to be closed after the test file, and returns it. */
export function track<T extends { close(): void }>(store: T): T {
  stores.push(store);
  return store;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `cond` every 100 ms until it is true or `ms` have passed; returns its last result. */
export async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}

/** Runs `fn` and returns what it threw; fails when it does not throw. */
export function thrown(fn: () => unknown): any {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected the call to throw, but it returned normally');
}

/** Awaits `p` and returns its rejection reason; fails when it resolves. */
export async function rejected(p: Promise<unknown> | unknown): Promise<any> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected the promise to reject, but it resolved');
}

/** Asserts a SciqlopCacheError with the given code. */
export function expectCode(err: any, code: string): void {
  expect(err).toBeDefined();
  expect({ name: err?.name, code: err?.code }).toEqual({ name: 'SciqlopCacheError', code });
  expect(typeof err.message).toBe('string');
}

/** Asserts `fn` throws a SciqlopCacheError with the given code. */
export function expectThrowsCode(fn: () => unknown, code: string): any {
  const e = thrown(fn);
  expectCode(e, code);
  return e;
}

/**
 * Asserts `fn` throws an error named `name` (TypeError, RangeError) whose
 * message mentions `argName`.
 */
export function expectArgError(fn: () => unknown, name: 'TypeError' | 'RangeError', argName: string): any {
  const e = thrown(fn);
  expect(e?.name).toBe(name);
  expect(String(e?.message)).toContain(argName);
  return e;
}

/** Relative paths of every regular file under the two-level value tree `ab/cd/`. */
export function valueFiles(dir: string): string[] {
  const out: string[] = [];
  const hex2 = /^[0-9a-f]{2}$/;
  for (const a of safeReaddir(dir)) {
    if (!hex2.test(a)) continue;
    const pa = path.join(dir, a);
    if (!fs.lstatSync(pa).isDirectory()) continue;
    for (const b of safeReaddir(pa)) {
      if (!hex2.test(b)) continue;
      const pb = path.join(pa, b);
      if (!fs.lstatSync(pb).isDirectory()) continue;
      for (const f of safeReaddir(pb)) {
        if (fs.lstatSync(path.join(pb, f)).isFile()) out.push(`${a}/${b}/${f}`);
      }
    }
  }
  return out.sort();
}

function safeReaddir(d: string): string[] {
  try {
    return fs.readdirSync(d);
  } catch {
    return [];
  }
}

/** Deterministic pseudo-random bytes, so a failing size test can be replayed. */
export function bytes(size: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(size);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}

/** Keys sorted by their UTF-8 bytes, the iteration order of a store. */
export function byteOrder(keys: Iterable<string>): string[] {
  return [...keys].sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
}

/** Sets a file's access and modification times `seconds` into the past. */
export function age(file: string, seconds: number): void {
  const t = new Date(Date.now() - seconds * 1000);
  fs.utimesSync(file, t, t);
}
