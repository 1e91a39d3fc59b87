// Damage: a file where the directory should be, a garbage or truncated
// database, deleted, truncated and orphaned value files (check / check(true)),
// and symbolic links that clear() and check(true) must not follow.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BytesSerializer, Cache, FanoutCache, Index } from '../lib';
import { age, bytes, expectCode, freshPath, thrown, tmpDir, track, valueFiles } from './helpers';

const CLEAN = {
  ok: true, orphanedFiles: 0, danglingRows: 0, sizeMismatches: 0, countersConsistent: true, sqliteIntegrityOk: true,
};

describe('what is at the path', () => {
  test('a regular file at the directory path is NOT_A_DIRECTORY', () => {
    const file = path.join(tmpDir(), 'file');
    fs.writeFileSync(file, 'not a directory');
    for (const Ctor of [Cache, Index, FanoutCache] as any[]) {
      expectCode(thrown(() => track(new Ctor(file))), 'NOT_A_DIRECTORY');
    }
    expect(fs.readFileSync(file, 'utf8')).toBe('not a directory');
  });

  test('a path under a regular file is a SciqlopCacheError', () => {
    const file = path.join(tmpDir(), 'file');
    fs.writeFileSync(file, 'x');
    const e = thrown(() => track(new Cache(path.join(file, 'sub'))));
    expect(e.name).toBe('SciqlopCacheError');
    expect(typeof e.code).toBe('string');
  });

  test('a garbage sciqlop-cache.db is a SciqlopCacheError (CORRUPT), not a crash', () => {
    const dir = tmpDir();
    const garbage = bytes(64 * 1024, 42);
    fs.writeFileSync(path.join(dir, 'sciqlop-cache.db'), garbage);
    const e = thrown(() => track(new Cache(dir)).get('k'));
    expectCode(e, 'CORRUPT');
    const i = thrown(() => track(new Index(dir)).get('k'));
    expect(i.name).toBe('SciqlopCacheError');
    // the file was not replaced or repaired behind the user's back
    expect(Buffer.compare(fs.readFileSync(path.join(dir, 'sciqlop-cache.db')), garbage)).toBe(0);
  });

  test('a text file as sciqlop-cache.db is a SciqlopCacheError', () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'sciqlop-cache.db'), 'hello, I am not a database\n'.repeat(200));
    const e = thrown(() => track(new Cache(dir)).set('k', 1));
    expect(e.name).toBe('SciqlopCacheError');
  });

  test('a truncated database is a SciqlopCacheError, not a crash', () => {
    const dir = freshPath();
    const c = new Cache(dir);
    for (let i = 0; i < 2000; i++) c.set(`key-${i}`, 'v'.repeat(100));
    c.close();
    const db = path.join(dir, 'sciqlop-cache.db');
    for (const f of ['-wal', '-shm']) fs.rmSync(db + f, { force: true });
    const size = fs.statSync(db).size;
    expect(size).toBeGreaterThan(100000);
    fs.truncateSync(db, 4096 + 1000);
    const e = thrown(() => {
      const d = track(new Cache(dir));
      for (let i = 0; i < 2000; i++) d.get(`key-${i}`);
      d.check();
      [...d.keys()];
    });
    expect(e.name).toBe('SciqlopCacheError');
  });

  test('a database with a zeroed header is a SciqlopCacheError', () => {
    const dir = freshPath();
    const c = new Cache(dir);
    c.set('k', 1);
    c.close();
    const db = path.join(dir, 'sciqlop-cache.db');
    for (const f of ['-wal', '-shm']) fs.rmSync(db + f, { force: true });
    const fd = fs.openSync(db, 'r+');
    fs.writeSync(fd, Buffer.alloc(100), 0, 100, 0);
    fs.closeSync(fd);
    expect(thrown(() => track(new Cache(dir)).get('k')).name).toBe('SciqlopCacheError');
  });

  test('an empty sciqlop-cache.db is a new database', () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'sciqlop-cache.db'), '');
    const c = track(new Cache(dir));
    c.set('k', 1);
    expect(c.get('k')).toBe(1);
    expect(c.check()).toEqual(CLEAN);
  });

  test('the process survives after a corrupt open and can open other stores', () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'sciqlop-cache.db'), bytes(10000, 9));
    thrown(() => track(new Cache(dir)).get('k'));
    const ok = track(new Cache(freshPath()));
    ok.set('k', 1);
    expect(ok.get('k')).toBe(1);
  });
});

describe('check()', () => {
  function store(): { dir: string; c: Cache<any> } {
    const dir = freshPath();
    const c = track(new Cache(dir, { serializer: new BytesSerializer() })) as Cache<any>;
    c.set('small', bytes(100, 1));
    c.set('big', bytes(30000, 2));
    c.set('big2', bytes(20000, 3));
    return { dir, c };
  }

  test('a healthy store reports every field clean', () => {
    const { c } = store();
    expect(c.check()).toEqual(CLEAN);
    expect(c.check(true)).toEqual(CLEAN);
    expect(c.check(false)).toEqual(CLEAN);
  });

  test('a deleted value file is a dangling row; check(true) reports then fixes it', () => {
    const { dir, c } = store();
    const files = valueFiles(dir);
    expect(files).toHaveLength(2);
    const victim = files.find((f) => fs.statSync(path.join(dir, f)).size === 30000)!;
    fs.unlinkSync(path.join(dir, victim));
    const found = c.check();
    expect(found.ok).toBe(false);
    expect(found.danglingRows).toBe(1);
    expect(found.sqliteIntegrityOk).toBe(true);
    const fixed = c.check(true);
    expect(fixed.ok).toBe(false);
    expect(fixed.danglingRows).toBe(1);
    expect(c.check()).toEqual(CLEAN);
    expect(c.has('big')).toBe(false);
    expect(c.get('big')).toBeUndefined();
    expect(Buffer.compare(c.get('big2') as Buffer, bytes(20000, 3))).toBe(0);
    expect(c.valueBytes()).toBe(20100);
  });

  test('a get of a value whose file vanished is a miss, not an error', () => {
    const { dir, c } = store();
    for (const f of valueFiles(dir)) fs.unlinkSync(path.join(dir, f));
    expect(c.get('big')).toBeUndefined();
    expect(c.get('big2', 'd')).toBe('d');
    expect(Buffer.compare(c.get('small') as Buffer, bytes(100, 1))).toBe(0);
  });

  test('a truncated value file is a size mismatch, read as a miss', () => {
    const { dir, c } = store();
    const victim = valueFiles(dir).find((f) => fs.statSync(path.join(dir, f)).size === 30000)!;
    fs.truncateSync(path.join(dir, victim), 1000);
    const found = c.check();
    expect(found.ok).toBe(false);
    expect(found.sizeMismatches).toBe(1);
    expect(c.get('big')).toBeUndefined();
    c.check(true);
    expect(c.check()).toEqual(CLEAN);
    expect(c.has('big')).toBe(false);
  });

  test('a value file grown behind the store is never returned', () => {
    const { dir, c } = store();
    const victim = valueFiles(dir).find((f) => fs.statSync(path.join(dir, f)).size === 20000)!;
    fs.appendFileSync(path.join(dir, victim), 'extra');
    expect(c.get('big2')).toBeUndefined();
  });

  test('an orphan file older than 60 s is reported and removed; a young one is left alone', () => {
    const { dir, c } = store();
    fs.mkdirSync(path.join(dir, 'ab', 'cd'), { recursive: true });
    const old = path.join(dir, 'ab', 'cd', 'abcd0000-1111-2222-3333-444455556666-1');
    const young = path.join(dir, 'ab', 'cd', 'abcd9999-1111-2222-3333-444455556666-1');
    fs.writeFileSync(old, bytes(9000));
    fs.writeFileSync(young, bytes(9000));
    age(old, 120);
    const found = c.check();
    expect(found.orphanedFiles).toBe(1);
    expect(found.ok).toBe(false);
    expect(fs.existsSync(old)).toBe(true);
    expect(c.check(true).orphanedFiles).toBe(1);
    expect(fs.existsSync(old)).toBe(false);
    expect(fs.existsSync(young)).toBe(true);
    expect(c.check()).toEqual(CLEAN);
    expect(valueFiles(dir)).toHaveLength(3);
  });

  test('clear() does not follow a symbolic link out of the store', () => {
    const { dir, c } = store();
    const outside = tmpDir();
    const precious = path.join(outside, 'precious');
    fs.writeFileSync(precious, 'keep me');
    fs.mkdirSync(path.join(dir, 'ef'), { recursive: true });
    fs.symlinkSync(outside, path.join(dir, 'ef', '01'));
    fs.symlinkSync(precious, path.join(dir, 'ef', 'link-to-file'));
    c.clear();
    expect(fs.readFileSync(precious, 'utf8')).toBe('keep me');
    expect(c.size).toBe(0);
  });

  test('check(true) does not follow a symbolic link out of the store', () => {
    const { dir, c } = store();
    const outside = tmpDir();
    fs.mkdirSync(path.join(outside, 'cd'));
    const precious = path.join(outside, 'cd', 'abcd0000-1111-2222-3333-444455556666-1');
    fs.writeFileSync(precious, 'keep me');
    age(precious, 3600);
    // a first-level folder name that the store does not use yet
    const free = ['ab', 'ac', 'ad', 'ae'].find((n) => !fs.existsSync(path.join(dir, n)))!;
    fs.symlinkSync(outside, path.join(dir, free));
    c.check(true);
    expect(fs.readFileSync(precious, 'utf8')).toBe('keep me');
    expect(Buffer.compare(c.get('big') as Buffer, bytes(30000, 2))).toBe(0);
  });

  test('a value file reached through a symbolic link out of the store is never followed', () => {
    const { dir, c } = store();
    const file = valueFiles(dir).find((f) => fs.statSync(path.join(dir, f)).size === 30000)!;
    const file2 = valueFiles(dir).find((f) => fs.statSync(path.join(dir, f)).size === 20000)!;
    const [a, b] = file.split('/');
    // A thread reuses its value folder for many files, so big2 may sit in the same one.
    const sameFolder = path.dirname(file2) === path.dirname(file);
    const outside = tmpDir();
    // move the value's folder out of the store and leave a symbolic link in its place
    fs.cpSync(path.join(dir, a!, b!), path.join(outside, b!), { recursive: true });
    fs.rmSync(path.join(dir, a!, b!), { recursive: true });
    fs.symlinkSync(path.join(outside, b!), path.join(dir, a!, b!));
    const outsideFile = path.join(outside, b!, path.basename(file));
    expect(fs.statSync(outsideFile).size).toBe(30000);

    expect(c.get('big')).toBeUndefined();
    c.check(true);
    expect(fs.existsSync(outsideFile)).toBe(true);
    expect(c.has('big')).toBe(false);
    if (sameFolder) expect(c.get('big2')).toBeUndefined();
    else expect(Buffer.compare(c.get('big2') as Buffer, bytes(20000, 3))).toBe(0);
  });

  test('an Index and a FanoutCache report check() fields too', () => {
    const i = track(new Index(freshPath()));
    i.set('k', 'v'.repeat(20000));
    expect(i.check()).toEqual(CLEAN);
    const f = track(new FanoutCache(freshPath(), { shardCount: 2 }));
    f.set('k', 'v'.repeat(20000));
    expect(f.check(true)).toEqual(CLEAN);
  });
});
