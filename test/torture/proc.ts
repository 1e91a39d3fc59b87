/** Child processes and file-tree helpers shared by the torture tests. */
import { ChildProcess, spawn, SpawnOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface Proc {
  proc: ChildProcess;
  /** Complete stdout lines so far. */
  lines: string[];
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves when a line satisfies `pred` (true) or the process exits first (false). */
  waitLine(pred: (line: string) => boolean, timeoutMs?: number): Promise<boolean>;
}

/** Runs `node script ...args` (or `command` with `args` when `raw`), collecting stdout lines. */
export function run(script: string, args: string[], options: SpawnOptions & { raw?: string } = {}): Proc {
  const { raw, ...spawnOptions } = options;
  const proc = raw
    ? spawn(raw, args, { stdio: ['ignore', 'pipe', 'pipe'], ...spawnOptions })
    : spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...spawnOptions });
  const lines: string[] = [];
  let partial = '';
  let err = '';
  const waiters = new Set<() => void>();
  const wake = (): void => {
    for (const w of [...waiters]) w();
  };
  proc.stdout!.setEncoding('utf8');
  proc.stdout!.on('data', (chunk: string) => {
    partial += chunk;
    const parts = partial.split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
    wake();
  });
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (c: string) => {
    if (err.length < 200000) err += c;
  });
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    // 'close' comes after stdout is drained, so `lines` is complete by then.
    proc.on('close', (code, signal) => {
      done = true;
      wake();
      resolve({ code, signal });
    });
  });
  return {
    proc,
    lines,
    stderr: () => err,
    exited,
    waitLine(pred, timeoutMs = 60000) {
      return new Promise((resolve) => {
        let from = 0;
        const timer = setTimeout(() => finish(false), timeoutMs);
        const finish = (v: boolean): void => {
          clearTimeout(timer);
          waiters.delete(check);
          resolve(v);
        };
        const check = (): void => {
          for (; from < lines.length; from++) if (pred(lines[from]!)) return finish(true);
          if (done) finish(false);
        };
        waiters.add(check);
        check();
      });
    },
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Store directories of a store: itself, or a fanout's shard folders. */
export function storeDirs(dir: string): string[] {
  if (!fs.existsSync(path.join(dir, 'fanout.json'))) return [dir];
  return fs
    .readdirSync(dir)
    .filter((n) => /^\d{2,}$/.test(n))
    .map((n) => path.join(dir, n));
}

/** Absolute paths of every file under the value tree(s) `ab/cd/` of a store or fanout. */
export function valueTreeFiles(dir: string): string[] {
  const out: string[] = [];
  const hex2 = /^[0-9a-f]{2}$/;
  const ls = (d: string): string[] => {
    try {
      return fs.readdirSync(d);
    } catch {
      return [];
    }
  };
  for (const root of storeDirs(dir)) {
    for (const a of ls(root)) {
      if (!hex2.test(a)) continue;
      for (const b of ls(path.join(root, a))) {
        if (!hex2.test(b)) continue;
        for (const f of ls(path.join(root, a, b))) out.push(path.join(root, a, b, f));
      }
    }
  }
  return out;
}

/** Moves the modification time of every value-tree file `seconds` into the past. */
export function ageValueFiles(dir: string, seconds = 120): number {
  const t = new Date(Date.now() - seconds * 1000);
  const files = valueTreeFiles(dir);
  for (const f of files) {
    try {
      fs.utimesSync(f, t, t);
    } catch {
      // unlinked meanwhile (trash drained by the background thread)
    }
  }
  return files.length;
}

/** Total bytes of the WAL files of a store or fanout. */
export function walBytes(dir: string): number {
  let total = 0;
  for (const d of storeDirs(dir)) {
    try {
      total += fs.statSync(path.join(d, 'sciqlop-cache.db-wal')).size;
    } catch {
      // no WAL
    }
  }
  return total;
}

export const CLEAN = {
  ok: true,
  orphanedFiles: 0,
  danglingRows: 0,
  sizeMismatches: 0,
  countersConsistent: true,
  sqliteIntegrityOk: true,
};

/** Whether this process may mount filesystems (root with CAP_SYS_ADMIN, as in a container run as root). */
export function canMount(): boolean {
  return mountProbe();
}

let mountable: boolean | undefined;
function mountProbe(): boolean {
  if (mountable !== undefined) return mountable;
  mountable = false;
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return mountable;
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'sqc-mount-probe-'));
  try {
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'ignore' });
    if (r.status === 0) {
      mountable = true;
      spawnSync('umount', [dir], { stdio: 'ignore' });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return mountable;
}
