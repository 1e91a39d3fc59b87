// Contention with ground truth (issue 7, part 2): 4 processes x 2 worker threads on one
// directory doing random set/get/has/delete/add/pop (sync and async) on 200 hot keys with
// versioned values, incr on shared counters and add races. Every call is logged with its
// interval on the machine-wide monotonic clock; afterwards every read is checked against
// what could legally be there (a value some call wrote to that key, not superseded by a
// write that certainly completed before the read began), counters must account for every
// increment exactly, and each add race must have exactly one winner. Then many processes
// (and threads) open one new directory at the same instant.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Cache, FanoutCache, Index } from '../../lib';
import { freshPath, tmpDir } from '../helpers';
import { BUDGET, HELPERS, scale, seed } from './config';
import { CLEAN, run } from './proc';

jest.setTimeout(scale(90_000, 400_000));

const ACTOR = path.join(HELPERS, 'contention-actor.js');
const OPENER = path.join(HELPERS, 'open-race.js');

interface Logged {
  op: 'set' | 'get' | 'has' | 'delete' | 'add' | 'pop' | 'incr';
  k: string;
  v?: number;
  t0: number;
  t1: number;
  r: any;
  actor?: number;
}
interface ActorLog {
  actor: number;
  ops: Logged[];
  races: boolean[];
  errors: string[];
}

/** A call that changed a key: a write (with the version it wrote) or a removal. */
interface Mutation {
  t0: number;
  t1: number;
  write: boolean;
  v?: number;
  self?: Logged;
}

/** Index of the first element of `xs` (sorted by t1) whose t1 is >= `t`. */
function lowerBound(xs: Mutation[], t: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid]!.t1 < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * One key's mutations sorted by end, with the two latest starts among each prefix: what a
 * necessary condition of linearizability needs. An observation at [o.t0, o.t1] of a state
 * made by one of `candidates` is legal if a candidate began before the observation ended
 * and no other mutation lies entirely between that candidate and the observation.
 */
class KeyHistory {
  readonly muts: Mutation[];
  readonly first: number[] = [];
  readonly firstOf: Array<Mutation | undefined> = [];
  readonly second: number[] = [];
  readonly maxDuration: number;

  constructor(muts: Mutation[]) {
    this.muts = [...muts].sort((a, b) => a.t1 - b.t1);
    let first = -Infinity;
    let second = -Infinity;
    let firstOf: Mutation | undefined;
    let maxDuration = 0;
    for (const m of this.muts) {
      if (m.t0 > first) {
        second = first;
        first = m.t0;
        firstOf = m;
      } else if (m.t0 > second) second = m.t0;
      this.first.push(first);
      this.firstOf.push(firstOf);
      this.second.push(second);
      if (Number.isFinite(m.t0)) maxDuration = Math.max(maxDuration, m.t1 - m.t0);
    }
    this.maxDuration = maxDuration;
  }

  /** `candidates` must be sorted by t1. */
  legal(o: Logged, candidates: Mutation[]): boolean {
    // The mutations that completed before o began (o itself never did).
    const i = lowerBound(this.muts, o.t0) - 1;
    const first = i >= 0 ? this.first[i]! : -Infinity;
    const second = i >= 0 ? this.second[i]! : -Infinity;
    const firstOf = i >= 0 ? this.firstOf[i] : undefined;
    for (let j = lowerBound(candidates, second); j < candidates.length; j++) {
      const c = candidates[j]!;
      if (c.t1 > o.t1 + this.maxDuration) break; // began after o ended
      if (c.t0 < o.t1 && c.t1 >= (c === firstOf ? second : first)) return true;
    }
    return false;
  }
}

function checkHistory(logs: ActorLog[]): { violations: string[]; reads: number; keys: number } {
  const byKey = new Map<string, Logged[]>();
  for (const l of logs) {
    for (const op of l.ops) {
      if (op.op === 'incr') continue;
      op.actor = l.actor;
      let list = byKey.get(op.k);
      if (!list) byKey.set(op.k, (list = []));
      list.push(op);
    }
  }
  const violations: string[] = [];
  let reads = 0;
  for (const [k, ops] of byKey) {
    const initial: Mutation = { t0: -Infinity, t1: -Infinity, write: false };
    const muts: Mutation[] = [initial];
    const byVersion = new Map<number, Mutation>();
    for (const o of ops) {
      const wrote = o.op === 'set' || (o.op === 'add' && o.r === true);
      const removed = (o.op === 'delete' && o.r === true) || (o.op === 'pop' && o.r !== null);
      if (wrote) {
        const m = { t0: o.t0, t1: o.t1, write: true, v: o.v!, self: o };
        muts.push(m);
        byVersion.set(o.v!, m);
      } else if (removed) muts.push({ t0: o.t0, t1: o.t1, write: false, self: o });
    }
    const history = new KeyHistory(muts);
    const writes = history.muts.filter((m) => m.write);
    const removals = history.muts.filter((m) => !m.write);
    const bad = (o: Logged, what: string): void => {
      violations.push(`${k}: actor ${o.actor} ${o.op} at [${o.t0}, ${o.t1}] ${what}`);
    };
    for (const o of ops) {
      let seen: 'value' | 'absent' | 'present' | undefined;
      let version: number | undefined;
      switch (o.op) {
        case 'get':
        case 'pop':
          if (o.r === null) seen = 'absent';
          else if (o.r.bad !== undefined) bad(o, `read a damaged value: ${o.r.bad}`);
          else if (o.r.k !== k) bad(o, `read the value of another key (${o.r.k})`);
          else {
            seen = 'value';
            version = o.r.v;
          }
          break;
        case 'has':
        case 'delete':
          seen = o.r ? 'present' : 'absent';
          break;
        case 'add':
          seen = o.r ? 'absent' : 'present';
          break;
        default:
          break;
      }
      if (seen === undefined) continue;
      reads++;
      if (seen === 'value') {
        const w = byVersion.get(version!);
        if (!w) bad(o, `read v${version}, which no call wrote to this key`);
        else if (!history.legal(o, [w])) bad(o, `read v${version} (written at [${w.t0}, ${w.t1}]) although a later write or removal had completed`);
      } else if (seen === 'absent') {
        if (!history.legal(o, removals)) bad(o, `saw the key absent although a write had completed after every removal`);
      } else if (!history.legal(o, writes)) bad(o, `saw the key present although a removal had completed after every write`);
    }
  }
  return { violations, reads, keys: byKey.size };
}

async function contention(kind: 'cache' | 'fanout', processes: number, threads: number, durationMs: number, races: number): Promise<void> {
  const dir = freshPath(kind);
  const logDir = tmpDir();
  const s = seed();
  const hot = 200;
  const counters = 8;
  // Create the store first so the actors measure contention, not creation.
  (kind === 'fanout' ? new FanoutCache(dir, { shardCount: 4 }) : new Cache(dir)).close();
  const base = process.hrtime.bigint().toString();
  const startAt = Date.now() + 1500;
  const procs = Array.from({ length: processes }, (_, p) =>
    run(ACTOR, [
      JSON.stringify({ dir, kind, seed: s, process: p, threads, hot, counters, races, durationMs, startAt, base }),
      path.join(logDir, `actor-${p}.json`),
    ]),
  );
  const exits = await Promise.all(procs.map((p) => p.exited));
  exits.forEach((e, i) => {
    if (e.code !== 0) throw new Error(`actor process ${i} exited with ${e.code ?? e.signal}: ${procs[i]!.stderr()}`);
  });
  const logs: ActorLog[] = procs.flatMap((_, p) => JSON.parse(fs.readFileSync(path.join(logDir, `actor-${p}.json`), 'utf8')));
  expect(logs).toHaveLength(processes * threads);
  const errors = logs.flatMap((l) => l.errors.map((e) => `actor ${l.actor}: ${e}`));
  expect(errors).toEqual([]);

  const { violations, reads, keys } = checkHistory(logs);
  if (violations.length) {
    // Keep the history of the keys concerned, sorted by start, for the post-mortem.
    const bad = new Set(violations.map((v) => v.split(':')[0]));
    const history = logs.flatMap((l) => l.ops.filter((o) => bad.has(o.k)).map((o) => ({ ...o, actor: l.actor })));
    history.sort((a, b) => a.t0 - b.t0);
    const file = path.join(os.tmpdir(), `sqc-contention-${s}.json`);
    fs.writeFileSync(file, history.map((o) => JSON.stringify(o)).join('\n'));
    throw new Error(`seed ${s}: ${violations.length} illegal reads (history in ${file}):\n${violations.slice(0, 20).join('\n')}`);
  }
  const total = logs.reduce((n, l) => n + l.ops.length, 0);

  const store = kind === 'fanout' ? new FanoutCache(dir) : new Cache(dir);
  try {
    // Counters: every increment counted once; the results of all actors are exactly 1..N.
    for (let c = 0; c < counters; c++) {
      const results = logs.flatMap((l) => l.ops.filter((o) => o.op === 'incr' && o.k === `ctr${c}`).map((o) => o.r as number));
      results.sort((a, b) => a - b);
      expect({ counter: c, value: store.get(`ctr${c}`) ?? 0 }).toEqual({ counter: c, value: results.length });
      expect(results).toEqual(results.map((_, i) => i + 1));
    }
    // Each add race: exactly one winner, whose value is stored.
    for (let i = 0; i < races; i++) {
      const winners = logs.filter((l) => l.races[i]).map((l) => l.actor);
      expect({ race: i, winners: winners.length }).toEqual({ race: i, winners: 1 });
      expect(store.get(`race-${i}`)).toBe(winners[0]);
    }
    // The final state of each hot key is legal too: a last read after everyone stopped.
    const final: ActorLog = { actor: -1, ops: [], races: [], errors: [] };
    const t = Number(process.hrtime.bigint() - BigInt(base));
    for (let i = 0; i < 200; i++) {
      const k = `k${i}`;
      const value = store.get(k) as any;
      const r = value === undefined ? null : { k: value.k, v: value.v };
      final.ops.push({ op: 'get', k, t0: t, t1: t + 1, r });
    }
    const last = checkHistory([...logs, final]);
    expect(last.violations).toEqual([]);
    expect(store.check()).toEqual(CLEAN);
  } finally {
    store.close();
  }
  console.log(`contention (${kind}, ${processes}x${threads}): ${total} calls, ${reads} observations checked on ${keys} keys, seed ${s}`);
  expect(reads).toBeGreaterThan(1000);
}

describe('contention with ground truth', () => {
  test('4 processes x 2 worker threads on one Cache', async () => {
    await contention('cache', 4, 2, scale(6000, 60000 * BUDGET), scale(40, 400));
  });

  if (scale(false, true)) {
    test('4 processes x 2 worker threads on one FanoutCache', async () => {
      await contention('fanout', 4, 2, 30000 * BUDGET, 200);
    });
  }
});

describe('opening one new directory at the same instant', () => {
  async function openRace(kind: string, processes: number, threads: number, mixed = false): Promise<void> {
    const dir = path.join(tmpDir(), 'a', 'b', 'new-store'); // parents missing too
    const startAt = Date.now() + 1200;
    const procs = Array.from({ length: processes }, (_, p) =>
      run(OPENER, [JSON.stringify({ dir, kind, startAt, process: p, threads, mixed })]),
    );
    const exits = await Promise.all(procs.map((p) => p.exited));
    let results = procs.flatMap((p, i) => {
      if (exits[i]!.code !== 0) throw new Error(`opener ${i} exited with ${exits[i]!.code}: ${p.stderr()}`);
      return JSON.parse(p.lines[p.lines.length - 1]!) as Array<{ id: string; serializer?: string; code?: string; error?: string }>;
    });
    expect(results).toHaveLength(processes * threads);
    if (mixed) {
      // One serializer won; every opener asking for the other one was refused.
      const winners = new Set(results.filter((r) => !r.error).map((r) => r.serializer));
      expect(winners.size).toBe(1);
      expect(results.filter((r) => r.error && r.code !== 'SERIALIZER_MISMATCH')).toEqual([]);
      results = results.filter((r) => !r.error);
    }
    expect(results.filter((r) => r.error)).toEqual([]);
    const store = kind === 'fanout' ? new FanoutCache(dir) : kind === 'index' ? new Index(dir) : new Cache(dir);
    try {
      if (mixed) expect(store.serializer.name).toBe(results[0]!.serializer);
      for (const r of results) expect(store.get(`opened-${r.id}`)).toBe(r.id);
      expect(store.size).toBe(results.length);
      expect(store.check()).toEqual(CLEAN);
      if (kind === 'fanout') expect(JSON.parse(fs.readFileSync(path.join(dir, 'fanout.json'), 'utf8'))).toEqual({ shardCount: 3, hash: 'fnv1a64' });
    } finally {
      store.close();
    }
    expect(fs.readdirSync(kind === 'fanout' ? dir : path.dirname(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  }

  const rounds = scale(1, 5);
  const n = Math.min(scale(8, 16), Math.max(8, os.cpus().length * 4));
  test(`${n} processes open a new Cache`, async () => {
    for (let i = 0; i < rounds; i++) await openRace('cache', n, 1);
  });
  test(`${n / 2} processes x 2 threads open a new FanoutCache`, async () => {
    for (let i = 0; i < rounds; i++) await openRace('fanout', n / 2, 2);
  });
  test(`4 processes x 3 threads open a new Index`, async () => {
    for (let i = 0; i < rounds; i++) await openRace('index', 4, 3);
  });
  test(`${n} processes open a new Cache with two different serializers: exactly one is recorded`, async () => {
    for (let i = 0; i < rounds; i++) await openRace('cache', n, 1, true);
  });
  test(`${n / 2} processes x 2 threads open a new FanoutCache with two serializers`, async () => {
    for (let i = 0; i < rounds; i++) await openRace('fanout', n / 2, 2, true);
  });
});
