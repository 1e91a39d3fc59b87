// Faults (issue 7, part 3): disk full (a 2 MiB tmpfs when this process may mount one, and
// RLIMIT_FSIZE in a child everywhere) during small and large writes; a read-only directory
// (read-only bind mount, and a directory the child cannot write as `nobody`); the database
// file truncated, overwritten, deleted or replaced while open and read by another thread;
// value files deleted, truncated, grown or swapped behind the store's back while another
// process reads them; the whole directory removed while a store is open. Each scenario runs
// in a child (helpers/fault-child.js) so that a crash is a failed exit, not a lost jest.
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BytesSerializer, Cache } from '../../lib';
import { freshPath, tmpDir } from '../helpers';
import { HELPERS, scale } from './config';
import { ageValueFiles, canMount, CLEAN, run, sleep, valueTreeFiles } from './proc';

const values = require('./helpers/values.js') as {
  makeValue(k: string, v: number, n: number): unknown;
  inspect(v: unknown): { ok: boolean; k?: string; why?: string };
};

jest.setTimeout(scale(60_000, 180_000));

const CHILD = path.join(HELPERS, 'fault-child.js');
const IS_ROOT = process.getuid?.() === 0;
const MOUNT = canMount();

interface Attempt {
  ok?: unknown;
  error?: { name: string; code: string; errno?: number; message: string };
}

async function child(scenario: string, args: object, wrap?: (argv: string[]) => { raw: string; args: string[] }): Promise<any> {
  const argv = [CHILD, scenario, JSON.stringify(args)];
  const p = wrap ? run('', wrap(argv).args, { raw: wrap(argv).raw }) : run(CHILD, argv.slice(1));
  const exit = await p.exited;
  const last = p.lines.filter((l) => l.startsWith('{')).pop();
  if (exit.code !== 0 || last === undefined) {
    throw new Error(`fault child ${scenario} ended with ${exit.signal ?? exit.code}: ${p.stderr()}\n${p.lines.join('\n')}`);
  }
  return JSON.parse(last);
}

/** Every failed attempt is a SciqlopCacheError with a code (never a crash, never a plain Error). */
function expectClear(results: Record<string, Attempt>, context: string): void {
  for (const [op, r] of Object.entries(results)) {
    if (r.error) expect({ context, op, name: r.error.name, coded: typeof r.error.code === 'string' && r.error.code.length > 0 }).toEqual({ context, op, name: 'SciqlopCacheError', coded: true });
  }
}

const mounts: string[] = [];
afterAll(() => {
  for (const m of mounts.splice(0)) spawnSync('umount', ['-l', m], { stdio: 'ignore' });
});

function mountTmpfs(size: string): string {
  const m = tmpDir();
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', m], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mount failed: ${r.stderr}`);
  mounts.push(m);
  return m;
}

function unmount(m: string): void {
  spawnSync('umount', [m], { stdio: 'ignore' });
  const i = mounts.indexOf(m);
  if (i >= 0) mounts.splice(i, 1);
}

function fillValue(i: number, sizes: number[]): Buffer {
  const b = Buffer.alloc(sizes[i % sizes.length]!, i % 251);
  b.writeUInt32LE(i, 0);
  return b;
}

/** After the fault is gone: every acknowledged write is there, writes work, check() is clean. */
function verifyAfterFill(dir: string, result: any, sizes: number[], context: string): void {
  const c = new Cache(dir, { serializer: new BytesSerializer() });
  try {
    const lost: number[] = [];
    for (let i = 0; i < result.acked - 1; i++) {
      const v = c.get(`k${i}`) as Buffer | undefined;
      if (!v || Buffer.compare(v, fillValue(i, sizes)) !== 0) lost.push(i);
    }
    expect({ context, lost }).toEqual({ context, lost: [] });
    c.set('later-small', Buffer.alloc(100, 7));
    c.set('later-large', Buffer.alloc(100000, 8));
    expect((c.get('later-large') as Buffer).length).toBe(100000);
    ageValueFiles(dir);
    c.check(true);
    expect({ context, ...c.check() }).toEqual({ context, ...CLEAN });
    expect(valueTreeFiles(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  } finally {
    c.close();
  }
}

describe('disk full', () => {
  const cases: Array<[string, number[]]> = [
    ['small writes', [500, 520, 540, 3000]],
    ['large writes', [60000, 90000, 120000]],
    ['a value larger than the free space', [2000, 2000, 2000, 1900000]],
  ];

  (MOUNT ? test.each(cases) : test.skip.each(cases))('2 MiB tmpfs, %s: a clear error, every earlier entry intact', async (what, sizes) => {
    const m = mountTmpfs('2m');
    try {
      fs.writeFileSync(path.join(m, 'filler'), Buffer.alloc(300000, 1));
      const dir = path.join(m, 'store');
      const result = await child('fill', { dir, sizes });
      expect(result.failure).toBeDefined();
      expect(result.failure.name).toBe('SciqlopCacheError');
      expect(['SQLITE_FULL', 'ENOSPC']).toContain(result.failure.code);
      if (result.failure.code === 'ENOSPC') expect(result.failure.errno).toBe(28);
      expect({ bad: result.bad, badAfter: result.badAfter }).toEqual({ bad: 0, badAfter: 0 });
      expectClear(result.after, what);
      expect(result.after.get).toEqual({ ok: true }); // reads keep working on a full disk
      expect(result.close).toEqual({ ok: null });
      expect(valueTreeFiles(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
      fs.rmSync(path.join(m, 'filler'));
      verifyAfterFill(dir, result, sizes, what);
    } finally {
      unmount(m);
    }
  });

  test.each([
    ['small writes (the WAL hits the limit)', 768, [500, 520, 540, 3000]],
    ['large writes (a value file hits the limit)', 256, [60000, 90000, 120000, 300000]],
  ] as Array<[string, number, number[]]>)('RLIMIT_FSIZE, %s: a clear error, every earlier entry intact', async (what, kib, sizes) => {
    const dir = freshPath();
    // Node ignores SIGXFSZ, so a write past the limit fails with EFBIG instead of killing it.
    const result = await child('fill', { dir, sizes }, (argv) => ({
      raw: 'bash',
      args: ['-c', `ulimit -f ${kib} && exec "$0" "$@"`, process.execPath, ...argv],
    }));
    expect(result.failure).toBeDefined();
    expect(result.failure.name).toBe('SciqlopCacheError');
    expect(['SQLITE_FULL', 'SQLITE_IOERR', 'EFBIG']).toContain(result.failure.code);
    expect({ bad: result.bad, badAfter: result.badAfter }).toEqual({ bad: 0, badAfter: 0 });
    expectClear(result.after, what);
    expect(result.after.get).toEqual({ ok: true });
    verifyAfterFill(dir, result, sizes, what);
  });
});

describe('read-only directory', () => {
  function makeStore(dir: string): Buffer {
    const c = new Cache(dir);
    c.set('small', { a: 1 });
    c.set('large', 'L'.repeat(30000));
    c.close();
    return fs.readFileSync(path.join(dir, 'sciqlop-cache.db'));
  }

  function expectUnchanged(dir: string, before: Buffer): void {
    expect(crypto.createHash('sha256').update(fs.readFileSync(path.join(dir, 'sciqlop-cache.db'))).digest('hex')).toBe(
      crypto.createHash('sha256').update(before).digest('hex'),
    );
    const c = new Cache(dir);
    try {
      expect(c.get('small')).toEqual({ a: 1 });
      expect(c.get('large')).toBe('L'.repeat(30000));
      expect(c.has('new')).toBe(false);
    } finally {
      c.close();
    }
  }

  function expectRefused(r: Record<string, Attempt>, context: string): void {
    expectClear(r, context);
    // Nothing can be written: each write fails (or the open already did).
    for (const op of ['set', 'setLarge', 'delete', 'incr', 'clear']) if (r[op]) expect({ context, op, failed: !!r[op]!.error }).toEqual({ context, op, failed: true });
  }

  (MOUNT ? test : test.skip)('a read-only bind mount of an existing store, and a new store under it', async () => {
    const src = freshPath();
    const before = makeStore(src);
    const ro = tmpDir();
    expect(spawnSync('mount', ['--bind', src, ro]).status).toBe(0);
    mounts.push(ro);
    expect(spawnSync('mount', ['-o', 'remount,bind,ro', ro]).status).toBe(0);
    try {
      const r = await child('readonly', { dir: ro });
      expectRefused(r, 'existing store');
      if (r.open.error) expect(['SQLITE_CANTOPEN', 'SQLITE_READONLY', 'EROFS']).toContain(r.open.error.code);
      const fresh = await child('readonly', { dir: path.join(ro, 'new') });
      expect(fresh.open.error?.code).toBe('EROFS');
    } finally {
      unmount(ro);
    }
    expectUnchanged(src, before);
  });

  // As root the child drops to `nobody`, who must be able to load the package.
  const nobodyCanLoad =
    !IS_ROOT ||
    spawnSync(process.execPath, ['-e', `process.setgid(65534); process.setuid(65534); require(${JSON.stringify(path.resolve(HELPERS, '..', '..', '..'))})`]).status === 0;
  (nobodyCanLoad ? test : test.skip)(`a directory its user may not write${IS_ROOT ? ' (the child runs as nobody: root bypasses permissions)' : ''}`, async () => {
    const root = tmpDir();
    const dir = path.join(root, 'store');
    const before = makeStore(dir);
    fs.chmodSync(root, 0o755);
    const lock = (mode: number, fileMode: number): void => {
      for (const f of [dir, ...fs.readdirSync(dir, { recursive: true }).map((f) => path.join(dir, String(f)))]) {
        fs.chmodSync(f, fs.statSync(f).isDirectory() ? mode : fileMode);
      }
    };
    lock(0o555, 0o444);
    try {
      const r = await child('readonly', { dir, asNobody: IS_ROOT });
      expectRefused(r, 'read-only directory');
      if (r.open.error) expect(['SQLITE_READONLY', 'SQLITE_CANTOPEN', 'EACCES']).toContain(r.open.error.code);
      const fresh = await child('readonly', { dir: path.join(dir, 'new'), asNobody: IS_ROOT });
      expect(fresh.open.error?.code).toBe('EACCES');
    } finally {
      lock(0o755, 0o644);
    }
    expectUnchanged(dir, before);
  });
});

describe('the database file damaged while open', () => {
  const N = 200;
  function makeStore(): string {
    const dir = freshPath();
    const c = new Cache(dir);
    for (let i = 0; i < N; i++) c.set(`k${i}`, values.makeValue(`k${i}`, i, i % 10 === 0 ? 12000 : 200 + i));
    c.close(); // checkpointed: the pages are in the database file itself
    return dir;
  }

  test.each(['truncate', 'garbage', 'delete', 'replace'])('%s while a thread reads: no crash, no wrong value, clear errors', async (fault) => {
    const dir = makeStore();
    const r = await child('dbFault', { dir, fault, ms: scale(1500, 8000), n: N });
    expect({ wrong: r.wrong, readerWrong: r.reader.wrong, samples: r.reader.samples }).toEqual({ wrong: 0, readerWrong: 0, samples: [] });
    expect(r.cycles).toBeGreaterThan(5);
    const codes = [...Object.keys(r.ops.get), ...Object.keys(r.ops.set), ...Object.keys(r.reader.errors)];
    for (const c of codes) expect(c === 'ok' || /^SciqlopCacheError:[A-Z_]+$/.test(c)).toBe(true);
    if (fault === 'delete' || fault === 'replace') {
      // Writes into a file nobody will open again are refused, not silently lost.
      expect(Object.keys(r.ops.set)).toEqual(['SciqlopCacheError:SQLITE_READONLY']);
    }
    if (fault === 'truncate' || fault === 'garbage') expect(Object.keys(r.ops.get).some((k) => k !== 'ok')).toBe(true); // the damage was seen
    expect(r.close).toEqual({ ok: null });
    if (r.reopen.error) expect(r.reopen.error.name).toBe('SciqlopCacheError');
    else expectClear(r.reopen, 'reopen');
  });
});

describe('value files damaged behind the store', () => {
  test('deleted, truncated, grown, swapped for another size, a symbolic link or a FIFO while another process reads: a miss, never wrong bytes', async () => {
    const dir = freshPath();
    const n = 60;
    const c = new Cache(dir);
    for (let i = 0; i < n; i++) c.set(`k${i}`, values.makeValue(`k${i}`, i, i % 6 === 0 ? 500 : 9000 + i * 997));
    c.close();
    const ms = scale(3000, 15000);
    const reader = run(CHILD, ['tamperReader', JSON.stringify({ dir, n, ms })]);
    expect(await reader.waitLine((l) => l === 'ready')).toBe(true);
    const end = Date.now() + ms - 300;
    const actions: Record<string, number> = {};
    let x = 12345;
    const rand = (k: number): number => {
      x = (x * 1103515245 + 12345) >>> 0;
      return (x >>> 16) % k;
    };
    const writer = new Cache(dir);
    let version = n;
    while (Date.now() < end) {
      // Replace some values, so that there is always something to damage.
      for (let j = rand(4); j > 0; j--) {
        const i = 1 + rand(n - 1);
        if (i % 6 !== 0) writer.set(`k${i}`, values.makeValue(`k${i}`, ++version, 9000 + rand(40000)));
      }
      const files = valueTreeFiles(dir).filter((f) => fs.lstatSync(f, { throwIfNoEntry: false })?.isFile());
      if (files.length < 2) continue;
      const f = files[rand(files.length)]!;
      const other = files.find((o) => o !== f && fs.statSync(o).size !== fs.statSync(f).size);
      const action = ['unlink', 'truncate', 'shrink1', 'grow', 'swap', 'symlink', 'fifo'][rand(7)]!;
      try {
        if (action === 'unlink') fs.unlinkSync(f);
        else if (action === 'truncate') fs.truncateSync(f, rand(fs.statSync(f).size));
        else if (action === 'shrink1') fs.truncateSync(f, fs.statSync(f).size - 1);
        else if (action === 'grow') fs.appendFileSync(f, Buffer.from('x'));
        else if (action === 'swap' && other) fs.copyFileSync(other, f);
        else if (action === 'fifo') {
          // a FIFO must not block the reader's open (it is not a regular file: a miss)
          fs.unlinkSync(f);
          if (spawnSync('mkfifo', [f]).status !== 0) continue;
        } else if (action === 'symlink' && other) {
          fs.unlinkSync(f);
          fs.symlinkSync(other, f);
        }
        actions[action] = (actions[action] ?? 0) + 1;
      } catch {
        // the file went away meanwhile (the reader dropped its row and the trash drained)
      }
      await sleep(rand(20));
    }
    writer.close();
    const exit = await reader.exited;
    expect(exit.code).toBe(0);
    const stats = JSON.parse(reader.lines[reader.lines.length - 1]!);
    expect({ wrong: stats.wrong, samples: stats.samples }).toEqual({ wrong: 0, samples: [] });
    expect(stats.ok).toBeGreaterThan(0);
    for (const k of Object.keys(stats.errors)) expect(k).toMatch(/^SciqlopCacheError:/);
    expect(Object.keys(actions).sort()).toEqual(['fifo', 'grow', 'shrink1', 'swap', 'symlink', 'truncate', 'unlink']);

    const d = new Cache(dir);
    try {
      for (let i = 0; i < n; i++) {
        const v = d.get(`k${i}`);
        if (v !== undefined) expect(values.inspect(v)).toMatchObject({ ok: true, k: `k${i}` });
        if (i % 6 === 0) expect(v).toBeDefined(); // inline values were never touched
      }
      ageValueFiles(dir);
      d.check(true);
      expect(d.check()).toEqual(CLEAN);
    } finally {
      d.close();
    }
  });
});

describe('the directory removed while a store is open', () => {
  test('no crash, no wrong value, writes refused with a clear error, a new store at the path is sound', async () => {
    const dir = freshPath();
    const n = 100;
    const c = new Cache(dir);
    for (let i = 0; i < n; i++) c.set(`k${i}`, values.makeValue(`k${i}`, i, i % 5 === 0 ? 20000 : 100));
    c.close();
    const r = await child('dirRemoved', { dir, n });
    expect(r.wrong).toBe(0);
    expect(r.reader.wrong).toBe(0);
    expectClear(r.results, 'removed directory');
    for (const op of ['set', 'setLarge', 'add', 'delete', 'incr', 'tx', 'clear']) {
      expect({ op, code: r.results[op].error?.code }).toEqual({ op, code: 'SQLITE_READONLY' });
    }
    expect(r.results.close).toEqual({ ok: null });
    const d = new Cache(dir);
    try {
      expect(d.has('k1')).toBe(false);
      d.set('fresh', values.makeValue('fresh', 1, 30000));
      expect(values.inspect(d.get('fresh')).ok).toBe(true);
      ageValueFiles(dir);
      d.check(true);
      expect(d.check()).toEqual(CLEAN);
    } finally {
      d.close();
    }
  });
});
