// Failures on the worker thread and the lifecycle of asynchronous work: a full disk
// (RLIMIT_FSIZE in a child process) and a read-only directory reject the operations that
// hit them, with a clear error whose stack starts at the caller, while their neighbours in
// the same batch and everything acknowledged before stay committed; close() during
// in-flight work settles it all first; a process that never awaits or closes still writes
// everything and exits by itself.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BytesSerializer, Cache, FanoutCache } from '../lib';
import { expectCode, freshPath, rejected, tmpDir, track } from './helpers';

jest.setTimeout(120000);

const CHILD = path.resolve(__dirname, 'helpers', 'async-child.js');

/** A directory any user may write in (for a child running as another user). */
function sharedDir(): string {
  const d = tmpDir();
  fs.chmodSync(d, 0o777);
  return d;
}

function runChild(args: string[], options: { shell?: string; uid?: number; gid?: number } = {}): any {
  const r = options.shell
    ? spawnSync('bash', ['-c', options.shell, 'child', ...args], { encoding: 'utf8', timeout: 90000 })
    : spawnSync(process.execPath, [CHILD, ...args], {
        encoding: 'utf8',
        timeout: 90000,
        ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.gid! }),
      });
  if (r.status !== 0) throw new Error(`child failed (${r.status} ${r.signal}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

describe('failures on the worker thread', () => {
  test('a full disk (RLIMIT_FSIZE) rejects the writes it stops, and loses nothing acknowledged', () => {
    const dir = path.join(sharedDir(), 'store');
    const limitKiB = 2048;
    const result = runChild([dir, String(limitKiB)], {
      shell: `ulimit -f ${limitKiB}; exec "${process.execPath}" "${CHILD}" fsize "$1" "$2"`,
    });
    const failures: any[] = result.failures;
    // the value larger than the limit, alone and in the middle of a batch: EFBIG
    expect(failures.length).toBeGreaterThanOrEqual(3);
    expect(failures[0]).toMatchObject({ name: 'SciqlopCacheError', code: 'EFBIG' });
    expect(failures[1]).toMatchObject({ name: 'SciqlopCacheError', code: 'EFBIG' });
    expect(failures[0].message).toMatch(/File too large/);
    for (const f of failures) {
      expect(f.name).toBe('SciqlopCacheError');
      expect(typeof f.code).toBe('string');
      expect(f.message.length).toBeGreaterThan(0);
      // the stack starts at the child's line that called setAsync, or, for the later calls of
      // a loop, that awaits it (V8's async stack trace, through Promise.allSettled)
      const frames = f.stack.split('\n').slice(1, 3).join('\n');
      expect(frames).toContain('async-child.js');
      expect(frames).not.toMatch(/dist|lib[\\/]/);
    }
    // the rest of the batch with the oversized value committed
    const acknowledged: string[] = result.acknowledged;
    for (let i = 0; i < 20; i++) expect(acknowledged.includes(`mixed-${i}`)).toBe(i !== 10);
    // then the database itself reached the limit
    expect(failures.length).toBeGreaterThan(2);
    expect(acknowledged.some((k) => k.startsWith('fill-'))).toBe(true);

    // Without the limit, every acknowledged write is there, intact.
    const c = track(new Cache(dir, { serializer: new BytesSerializer() }));
    for (const key of acknowledged) {
      const value = c.get(key) as Buffer | undefined;
      expect(value).toBeDefined();
      const [kind, a, b] = key.split('-');
      const i = Number(a);
      if (kind === 'small') expect(value!.equals(Buffer.alloc(100, i % 256))).toBe(true);
      if (kind === 'mixed') expect(value!.equals(Buffer.alloc(50, i))).toBe(true);
      if (kind === 'fill') expect(value!.equals(Buffer.alloc(4000, (i + Number(b)) % 256))).toBe(true);
    }
    expect(c.has('too-big')).toBe(false);
    expect(c.check().ok).toBe(true);
  });

  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  (root ? test : test.skip)('a read-only directory rejects the write that needs a new file, not its neighbours', () => {
    // Run as an unprivileged user: root ignores permissions.
    const dir = path.join(sharedDir(), 'store');
    const result = runChild(['readonly', dir], { uid: 65534, gid: 65534 });
    expect(result.read).toBe('committed');
    const [small, big, small2] = result.outcomes;
    expect(small).toEqual({ ok: true });
    expect(small2).toEqual({ ok: true });
    expect(big.ok).toBe(false);
    expect(big.error).toMatchObject({ name: 'SciqlopCacheError', code: 'EACCES' });
    expect(big.error.stack.split('\n').slice(1, 3).join('\n')).toContain('async-child.js');

    const c = track(new Cache(dir, { serializer: new BytesSerializer() }));
    expect((c.get('before') as Buffer).toString()).toBe('committed');
    expect((c.get('before-big') as Buffer).equals(Buffer.alloc(20000, 3))).toBe(true);
    expect((c.get('small-after') as Buffer).toString()).toBe('ok');
    expect(c.has('big-after')).toBe(false);
    expect(c.check().ok).toBe(true);
  });
});

describe('close() during in-flight work', () => {
  test('close() waits for every pending operation and settles it; later calls reject CLOSED', async () => {
    const dir = freshPath();
    const c = new FanoutCache(dir, { shardCount: 2 });
    const writes = Array.from({ length: 2000 }, (_, i) => c.setAsync(`k${i}`, i));
    const counters = Array.from({ length: 50 }, () => c.incrAsync('n'));
    const read = c.getAsync('k1999');
    const big = c.setAsync('big', Buffer.alloc(2 << 20, 1));
    c.close();
    await Promise.all(writes);
    expect(await Promise.all(counters)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(await read).toBe(1999);
    await big;
    expectCode(await rejected(c.setAsync('late', 1)), 'CLOSED');
    expectCode(await rejected(c.getAsync('k1')), 'CLOSED');

    const again = track(new FanoutCache(dir));
    expect(again.size).toBe(2002);
    expect(again.get('n')).toBe(50);
    expect(again.check().ok).toBe(true);
  });

  test('close() inside transact(): operations it held back reject with CLOSED', async () => {
    const c = new Cache(freshPath());
    let held!: Promise<void>;
    expect(() =>
      c.transact(() => {
        c.set('in', 1);
        held = c.setAsync('held', 1);
        c.close();
      }),
    ).toThrow();
    expectCode(await rejected(held), 'CLOSED');
  });

  test('close() twice, and with nothing pending, is a no-op', async () => {
    const c = new Cache(freshPath());
    await c.setAsync('k', 1);
    c.close();
    c.close();
  });
});

describe('process lifetime', () => {
  test('un-awaited writes of a process that never closes are all written before it exits', async () => {
    const dir = freshPath();
    const child = spawn(process.execPath, [CHILD, 'noAwait', dir, '3000'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 60000);
      child.on('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    expect({ code, err }).toEqual({ code: 0, err: '' });
    expect(fs.existsSync(path.join(dir, 'sciqlop-cache.db-wal'))).toBe(false); // closed at exit
    const c = track(new Cache(dir));
    expect(c.size).toBe(3000);
    expect(c.get('k2999')).toBe(2999);
  });
});
