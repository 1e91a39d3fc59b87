/**
 * Child processes and worker threads running the compiled package (dist/):
 * ts-jest does not transform them, so their scripts are plain JavaScript.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';

export const CHILD = path.resolve(__dirname, '..', 'fixtures', 'child.js');

export interface Child {
  proc: ChildProcess;
  lines: string[];
  ready: Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
  go(): void;
  /** Resolves once stdout has at least `n` lines after "ready". */
  waitLines(n: number): Promise<void>;
}

/** Spawns `node child.js scenario dir count` and collects its output lines. */
export function startChild(scenario: string, dir: string, count = 0): Child {
  const proc = spawn(process.execPath, [CHILD, scenario, dir, String(count)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let err = '';
  let partial = '';
  const waiters: Array<() => void> = [];
  let readyResolve!: () => void;
  const ready = new Promise<void>((r) => (readyResolve = r));
  proc.stdout!.setEncoding('utf8');
  proc.stdout!.on('data', (chunk: string) => {
    partial += chunk;
    const parts = partial.split('\n');
    partial = parts.pop()!;
    for (const p of parts) {
      if (p === 'ready') readyResolve();
      else lines.push(p);
    }
    for (const w of waiters.splice(0)) w();
  });
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (c: string) => (err += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => {
      readyResolve();
      for (const w of waiters.splice(0)) w();
      resolve({ code, signal });
    }),
  );
  return {
    proc,
    lines,
    ready,
    exited,
    stderr: () => err,
    go: () => proc.stdin!.end('go\n'),
    waitLines(n: number): Promise<void> {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (lines.length >= n) resolve();
          else if (proc.exitCode !== null || proc.signalCode !== null) reject(new Error(`child exited early: ${err}`));
          else waiters.push(check);
        };
        check();
      });
    },
  };
}

/** The JSON result line a child printed last. */
export function resultOf(child: Child): any {
  const last = child.lines[child.lines.length - 1];
  if (last === undefined) throw new Error(`child printed nothing; stderr: ${child.stderr()}`);
  return JSON.parse(last);
}

/** Runs `n` children of one scenario, starting their work at the same instant. */
export async function runTogether(n: number, scenario: string, dir: string, count: number): Promise<Child[]> {
  const children = Array.from({ length: n }, () => startChild(scenario, dir, count));
  await Promise.all(children.map((c) => c.ready));
  for (const c of children) c.go();
  const exits = await Promise.all(children.map((c) => c.exited));
  exits.forEach((e, i) => {
    if (e.code !== 0) throw new Error(`child ${i} exited with ${e.code ?? e.signal}: ${children[i]!.stderr()} ${children[i]!.lines.join('\n')}`);
  });
  return children;
}
