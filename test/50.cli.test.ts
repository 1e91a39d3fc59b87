// The command line, run as users run it: `node dist/cli.js ...` in a child process (the
// compiled package, so `npm test` builds dist/ first).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BytesSerializer, Cache, FanoutCache, Index, JsonSerializer, type Serializer } from '../lib';
import { age, freshPath, ROOT, sleep, tmpDir, track } from './helpers';

const CLI = path.join(ROOT, 'dist', 'cli.js');
const FIXTURES = path.join(__dirname, 'fixtures', 'diskcache');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function cli(...args: string[]): Run {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A failure: exit code 1 and exactly one line on stderr, without a stack trace. */
function expectOneLineError(run: Run, pattern: RegExp): void {
  expect(run.status).toBe(1);
  expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(run.stderr).toMatch(pattern);
  expect(run.stderr).not.toMatch(/\n\s+at /);
}

beforeAll(() => {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: build it with \`npx tsc -p tsconfig.build.json\``);
});

describe('the package', () => {
  test('bin sciqlop-cache is dist/cli.js, which starts with a node shebang', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.bin).toEqual({ 'sciqlop-cache': 'dist/cli.js' });
    expect(fs.readFileSync(CLI, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  test('--help lists every command, and each command has its own --help', () => {
    const help = cli('--help');
    expect(help.status).toBe(0);
    for (const command of ['stats', 'check', 'keys', 'get', 'delete', 'expire', 'evict-tag', 'clear', 'migrate']) {
      expect(help.stdout).toContain(command);
      const own = cli(command, '--help');
      expect(own.status).toBe(0);
      expect(own.stdout).toContain(`Usage: sciqlop-cache ${command}`);
    }
    expect(cli('--version').stdout.trim()).toBe(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
  });

  test('an unknown command or option is a one-line error', () => {
    expect(cli('frobnicate').status).not.toBe(0);
    const bad = cli('keys', tmpDir(), '--limit', 'many');
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/--limit/);
  });
});

describe('inspecting a Cache', () => {
  let dir: string;
  beforeAll(() => {
    dir = freshPath();
    const cache = new Cache(dir);
    cache.set('plain', { a: 1, list: [1, 'two'], when: new Date(0) });
    cache.set('blob', Buffer.from('hello'));
    cache.set('map', new Map([[1, 2]]));
    cache.set('tagged/1', 1, { tag: 'blue' });
    cache.set('tagged/2', 2, { tag: 'blue' });
    cache.set('short', 'lived', { expire: 0.05 });
    cache.close();
  });

  test('stats as a table and as JSON', () => {
    const table = cli('stats', dir);
    expect(table.status).toBe(0);
    expect(table.stdout).toMatch(/type\s+Cache/);
    expect(table.stdout).toMatch(/serializer\s+v8/);
    expect(table.stdout).toMatch(/WAL size/);
    const json = JSON.parse(cli('stats', dir, '--json').stdout);
    expect(json).toEqual({
      type: 'Cache',
      directory: dir,
      count: expect.any(Number),
      valueBytes: expect.any(Number),
      volume: expect.any(Number),
      walSize: expect.any(Number),
      serializer: 'v8',
      maxSize: 0,
      hits: 0,
      misses: 0,
    });
    expect(json.volume).toBeGreaterThan(0);
  });

  test('keys, by tag, limited, as JSON', () => {
    expect(cli('keys', dir, '--tag', 'blue').stdout).toBe('tagged/1\ntagged/2\n');
    expect(JSON.parse(cli('keys', dir, '--json', '--limit', '2').stdout)).toEqual(['blob', 'map']);
    expect(cli('keys', dir).stdout.split('\n')).toEqual(expect.arrayContaining(['blob', 'map', 'plain', 'tagged/1']));
    expect(cli('keys', dir, '--tag', 'none').stdout).toBe('');
  });

  test('get: JSON when JSON can say it, hex for bytes and for what JSON cannot say, or a file', () => {
    const plain = cli('get', dir, 'plain');
    expect(plain.status).toBe(0);
    expect(JSON.parse(plain.stdout)).toEqual({ a: 1, list: [1, 'two'], when: '1970-01-01T00:00:00.000Z' });
    expect(cli('get', dir, 'blob').stdout).toBe('68656c6c6f\n');
    expect(cli('get', dir, 'map').stdout.trim()).toMatch(/^[0-9a-f]+$/); // the stored v8 bytes
    const file = path.join(tmpDir(), 'out.bin');
    expect(cli('get', dir, 'blob', '--out', file).status).toBe(0);
    expect(fs.readFileSync(file, 'utf8')).toBe('hello');
    expectOneLineError(cli('get', dir, 'absent'), /No entry "absent"/);
  });

  test('check: ok exits 0; an orphaned file exits 1; --fix repairs it', () => {
    const ok = cli('check', dir, '--json');
    expect(ok.status).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, orphanedFiles: 0 });
    const orphan = path.join(dir, 'ab', 'cd', 'orphan');
    fs.mkdirSync(path.dirname(orphan), { recursive: true });
    fs.writeFileSync(orphan, 'x');
    age(orphan, 3600);
    const bad = cli('check', dir);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(/orphaned files\s+1/);
    const fixed = cli('check', dir, '--fix', '--json');
    expect(fixed.status).toBe(0);
    expect(JSON.parse(fixed.stdout)).toMatchObject({ ok: false, orphanedFiles: 1, fixed: true });
    expect(fs.existsSync(orphan)).toBe(false);
    expect(cli('check', dir).status).toBe(0);
  });

  test('looking at a store writes nothing into it', () => {
    const before = fs.readFileSync(path.join(dir, 'sciqlop-cache.db'));
    for (const args of [['stats', dir], ['keys', dir], ['get', dir, 'plain'], ['check', dir]]) expect(cli(...args).status).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'sciqlop-cache.db')).equals(before)).toBe(true);
  });

  test('delete, expire, evict-tag, clear --yes', async () => {
    const d = freshPath();
    const cache = new Cache(d);
    for (const k of ['a', 'b', 'c']) cache.set(k, k);
    cache.set('t1', 1, { tag: 'red' });
    cache.set('t2', 2, { tag: 'red' });
    cache.set('gone', 1, { expire: 0.01 });
    cache.close();
    await sleep(50);
    expect(cli('delete', d, 'a').stdout).toBe('Deleted "a".\n');
    expectOneLineError(cli('delete', d, 'a'), /No entry "a"/);
    expect(cli('expire', d).stdout).toMatch(/^Removed [01] expired entr(y|ies)\.\n$/);
    expect(cli('keys', d).stdout).not.toContain('gone');
    expect(cli('evict-tag', d, 'red').stdout).toBe('Removed 2 entries tagged "red".\n');
    expectOneLineError(cli('clear', d), /--yes/);
    expect(cli('keys', d).stdout).toBe('b\nc\n');
    expect(cli('clear', d, '--yes').stdout).toBe('Removed 2 entries.\n');
    expect(cli('keys', d).stdout).toBe('');
  });
});

describe('other stores', () => {
  test('a fanout is detected by its fanout.json', () => {
    const d = freshPath();
    const fc = new FanoutCache(d, { shardCount: 3 });
    for (let i = 0; i < 10; i++) fc.set(`k${i}`, i, { tag: i % 2 ? 'odd' : 'even' });
    fc.close();
    expect(JSON.parse(cli('stats', d, '--json').stdout)).toMatchObject({ type: 'FanoutCache', count: 10, shardCount: 3 });
    expect(cli('keys', d, '--tag', 'odd').stdout).toBe('k1\nk3\nk5\nk7\nk9\n');
    expect(cli('get', d, 'k4').stdout).toBe('4\n');
  });

  test('an Index has no tags or expiry: a clear error', () => {
    const d = freshPath();
    const index = new Index(d, { serializer: new JsonSerializer() });
    index.set('x', [1, 2]);
    index.close();
    expect(JSON.parse(cli('stats', d, '--json').stdout)).toMatchObject({ type: 'Index', serializer: 'json', maxSize: null });
    expect(JSON.parse(cli('get', d, 'x').stdout)).toEqual([1, 2]);
    expectOneLineError(cli('keys', d, '--tag', 't'), /Index, which has no tags/);
    expectOneLineError(cli('expire', d), /Index, which has no expiry/);
  });

  test('a store whose serializer is not built in is inspected as it is, and keeps its serializer', () => {
    const d = freshPath();
    const custom: Serializer<string> = {
      name: 'custom-text',
      serialize: (v) => Buffer.from(`<${v}>`),
      deserialize: (b) => Buffer.from(b).toString().slice(1, -1),
    };
    const cache = new Cache(d, { serializer: custom });
    cache.set('k', 'v');
    cache.close();
    expect(JSON.parse(cli('stats', d, '--json').stdout)).toMatchObject({ serializer: 'custom-text', count: 1 });
    expect(cli('get', d, 'k').stdout).toBe(`${Buffer.from('<v>').toString('hex')}\n`);
    const reopened = track(new Cache(d, { serializer: custom }));
    expect(reopened.get('k')).toBe('v');
    reopened.close();
  });

  test('a BytesSerializer store prints values as hex', () => {
    const d = freshPath();
    const cache = new Cache(d, { serializer: new BytesSerializer() });
    cache.set('k', Buffer.from([0, 255]));
    cache.close();
    expect(cli('get', d, 'k').stdout).toBe('00ff\n');
  });
});

describe('errors', () => {
  test('a directory that does not exist is refused, not created', () => {
    const d = freshPath('missing');
    expectOneLineError(cli('stats', d), /does not exist/);
    expect(fs.existsSync(d)).toBe(false);
  });

  test('a directory that is not a store is refused, and left alone', () => {
    const d = tmpDir();
    expectOneLineError(cli('keys', d), /not a sciqlop-cache store/);
    expect(fs.readdirSync(d)).toEqual([]);
  });

  test('a corrupt database: one line with its code; the stack only with --debug', () => {
    const d = tmpDir();
    fs.writeFileSync(path.join(d, 'sciqlop-cache.db'), Buffer.alloc(4096, 'x'));
    expectOneLineError(cli('stats', d), /CORRUPT/);
    const debug = cli('stats', d, '--debug');
    expect(debug.status).toBe(1);
    expect(debug.stderr).toMatch(/CORRUPT/);
    expect(debug.stderr).toMatch(/\n\s+at /);
    expect(cli('--debug', 'stats', d).stderr).toMatch(/\n\s+at /);
  });
});

describe('migrate', () => {
  function copyOf(name: string): string {
    const dir = path.join(tmpDir(), name);
    fs.cpSync(path.join(FIXTURES, name), dir, { recursive: true });
    return dir;
  }

  test('prints the JSON summary; entries that cannot be decoded are reported by key and exit 1', () => {
    const dst = freshPath();
    const run = cli('migrate', copyOf('cache'), dst);
    expect(run.status).toBe(1);
    const summary = JSON.parse(run.stdout);
    expect(summary).toEqual({ migrated: 18, skipped: 1, errors: 3, elapsedSecs: expect.any(Number) });
    expect(run.stderr).toContain('"bad/unportable"');
    expect(run.stderr).toContain('__main__.Unportable');
    expect(cli('get', dst, "(1, 'a')").stdout).toBe('"tuple key"\n');
    expect(cli('keys', dst, '--tag', 'blue').stdout).toBe('tagged/1\ntagged/2\n');
  });

  test('--type index, --shards, --json, --drop', () => {
    const index = freshPath();
    const run = cli('migrate', copyOf('index'), index, '--type', 'index', '--json');
    expect(run.status).toBe(0);
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toMatchObject({ migrated: 3, skipped: 0, errors: 0 });
    expect(JSON.parse(cli('stats', index, '--json').stdout)).toMatchObject({ type: 'Index', count: 3 });

    const fanout = freshPath();
    const src = copyOf('fanout');
    expect(cli('migrate', src, fanout, '--shards', '4', '--drop').status).toBe(0);
    expect(JSON.parse(cli('stats', fanout, '--json').stdout)).toMatchObject({ type: 'FanoutCache', count: 8, shardCount: 4 });
    // Everything was dropped from the source: a second run finds nothing.
    expect(JSON.parse(cli('migrate', src, freshPath()).stdout)).toMatchObject({ migrated: 0, skipped: 0, errors: 0 });
  });

  test('a source that is not a diskcache directory is a one-line error', () => {
    expectOneLineError(cli('migrate', tmpDir(), freshPath()), /not a diskcache directory/);
    expectOneLineError(cli('migrate', copyOf('index'), freshPath(), '--type', 'nope'), /nope/);
  });
});
