// Crash oracle (issue 7, part 1): a writer child (helpers/crash-writer.js) runs random
// operations (small and large values, overwrites, deletes, pops, adds, tags, expiry,
// touch, counters, transactions with nested and failing levels, async writes, setMany,
// evictTag, clear, check) and acknowledges each one over a pipe only after the call
// returned. The parent SIGKILLs it at a random moment, then checks the store against a
// model of every acknowledged operation (oracle.ts): each write reads back exactly, or is
// legitimately expired or replaced; the operation in flight happened entirely or not at
// all; the WAL was recovered; check() is clean after check(true) with orphans aged past
// the 60 s rule; no value file on disk is partial; no orphan survives check(true).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Cache, FanoutCache } from '../../lib';
import { freshPath } from '../helpers';
import { HELPERS, scale, seed } from './config';
import { Ack, apply, describeObserved, Entry, keysOf, matches, merge, Observed, Op, shardOf, State } from './oracle';
import { ageValueFiles, CLEAN, run, sleep, storeDirs, valueTreeFiles, walBytes } from './proc';

const values = require('./helpers/values.js') as {
  inspect(v: unknown): { ok: boolean; k?: string; v?: number; size?: number; why?: string };
  inspectFileBytes(b: Buffer): { ok: boolean; why?: string };
  rng(seed: number): (() => number) & { int(n: number): number; chance(p: number): boolean };
};

const WRITER = path.join(HELPERS, 'crash-writer.js');
const HOT = 40;
const COUNTERS = 4;

jest.setTimeout(scale(60_000, 300_000));

interface Config {
  kind: 'cache' | 'fanout';
  shards: number;
  durability: 'process' | 'power';
  rounds: number;
  uniqueBudget: number;
}

function observe(value: unknown): Observed {
  if (value === undefined) return null;
  if (typeof value === 'number') return { num: value };
  const i = values.inspect(value);
  return i.ok ? { k: i.k!, v: i.v!, n: i.size! } : { bad: i.why! };
}

interface Totals {
  acked: number;
  inFlightApplied: number;
  inFlightNot: number;
  inFlightEither: number;
  walRecovered: number;
  orphansRemoved: number;
  earlyKills: number;
}

async function torture(cfg: Config): Promise<Totals> {
  const s = seed();
  const r = values.rng(s);
  const dir = freshPath(cfg.kind);
  const state: State = new Map();
  const totals: Totals = { acked: 0, inFlightApplied: 0, inFlightNot: 0, inFlightEither: 0, walRecovered: 0, orphansRemoved: 0, earlyKills: 0 };
  const open = (): Cache | FanoutCache =>
    cfg.kind === 'fanout' ? new FanoutCache(dir, { shardCount: cfg.shards }) : new Cache(dir);
  const group = (k: string): number => (cfg.kind === 'fanout' ? shardOf(k, cfg.shards) : 0);

  for (let round = 0; round < cfg.rounds; round++) {
    const context = `seed ${s}, round ${round}`;
    const writerConfig = {
      dir,
      seed: (r() * 2 ** 31) >>> 0,
      base: (round + 1) * 1_000_000,
      uniqueBudget: cfg.uniqueBudget,
      kind: cfg.kind,
      shards: cfg.shards,
      durability: cfg.durability,
    };
    const child = run(WRITER, [JSON.stringify(writerConfig)]);
    // Every 8th round dies at a random moment from its start (possibly while opening or
    // creating the store); the others once the store is open, after a random run time.
    if (round % 8 === 0) {
      totals.earlyKills++;
      await sleep(r.int(150));
    } else {
      const ready = await child.waitLine((l) => l.startsWith('R '), 30000);
      if (!ready) throw new Error(`${context}: the writer never became ready: ${child.stderr()}`);
      await sleep(5 + r.int(scale(300, 400)));
    }
    child.proc.kill('SIGKILL');
    const exit = await child.exited;
    const tKill = Date.now();
    const failure = child.lines.find((l) => l.startsWith('E '));
    if (failure) throw new Error(`${context}: an operation of the writer failed: ${failure}\n${child.stderr()}`);
    if (exit.signal !== 'SIGKILL') throw new Error(`${context}: the writer exited with ${exit.code}: ${child.stderr()}`);

    // Fold the acknowledged operations into the model; keep the one in flight aside.
    const violations: string[] = [];
    let inFlight: Op | undefined;
    for (const line of child.lines) {
      if (line.startsWith('B ')) {
        if (inFlight) throw new Error(`${context}: op #${inFlight.s} was never acknowledged but another began`);
        inFlight = JSON.parse(line.slice(2)) as Op;
      } else if (line.startsWith('A ')) {
        const ack = JSON.parse(line.slice(2)) as Ack;
        if (!inFlight || inFlight.s !== ack.s) throw new Error(`${context}: acknowledgement of an unknown op ${line}`);
        apply(state, inFlight, ack, ack.t1, violations);
        inFlight = undefined;
        totals.acked++;
      }
    }
    const log = (): string => {
      const file = path.join(os.tmpdir(), `sqc-crash-${s}-${round}.log`);
      fs.writeFileSync(file, child.lines.join('\n'));
      return `(the writer's log: ${file})`;
    };
    if (violations.length) throw new Error(`${context}: the writer's own results disagree with the model ${log()}:\n${violations.slice(0, 10).join('\n')}`);
    const after: State = new Map(state);
    if (inFlight) apply(after, inFlight, undefined, tKill, []);

    const walBefore = walBytes(dir);
    if (walBefore > 0) totals.walRecovered++;
    if (!fs.existsSync(dir)) continue; // killed before it created anything

    // Read every key the model knows of, plus the hot and counter key spaces.
    const universe = new Set<string>([...state.keys(), ...after.keys()]);
    for (let i = 0; i < HOT; i++) universe.add(`h${i}`);
    for (let i = 0; i < COUNTERS; i++) universe.add(`c${i}`);
    const store = open();
    try {
      const seen = new Map<string, { o: Observed; t0: number; t1: number }>();
      for (const k of universe) {
        const t0 = Date.now();
        const o = observe(store.get(k));
        seen.set(k, { o, t0, t1: Date.now() });
      }
      const touched = new Set(inFlight ? keysOf(inFlight, state) : []);
      const bad: string[] = [];
      for (const [k, { o, t0, t1 }] of seen) {
        if (touched.has(k)) continue;
        if (!matches(k, state.get(k), o, t0, t1)) bad.push(`${k}: read ${describeObserved(o)}, acknowledged ${JSON.stringify(state.get(k))}`);
      }
      // The operation in flight: per atomic unit (the store, or a fanout's shard), all of it or none.
      const groups = new Map<number, string[]>();
      for (const k of touched) groups.set(group(k), [...(groups.get(group(k)) ?? []), k]);
      let applied = 0;
      let notApplied = 0;
      for (const keys of groups.values()) {
        const matchA = keys.every((k) => matches(k, state.get(k), seen.get(k)!.o, seen.get(k)!.t0, seen.get(k)!.t1));
        const matchB = keys.every((k) => matches(k, after.get(k), seen.get(k)!.o, seen.get(k)!.t0, seen.get(k)!.t1));
        if (!matchA && !matchB) {
          for (const k of keys) {
            bad.push(
              `${k} (in flight: ${JSON.stringify(inFlight)}): read ${describeObserved(seen.get(k)!.o)}, ` +
                `before ${JSON.stringify(state.get(k))}, after ${JSON.stringify(after.get(k))}`,
            );
          }
          continue;
        }
        for (const k of keys) {
          const o = seen.get(k)!.o;
          const e: Entry = matchA && matchB ? merge(state.get(k), after.get(k), o) : matchA ? state.get(k) : after.get(k);
          state.set(k, e);
        }
        if (matchA && matchB) totals.inFlightEither++;
        else if (matchB) applied++;
        else notApplied++;
      }
      if (applied) totals.inFlightApplied++;
      if (notApplied) totals.inFlightNot++;
      // No key the model does not know of.
      for (const k of store.keys()) if (!universe.has(k)) bad.push(`unknown key ${k} in the store`);
      if (bad.length) throw new Error(`${context}: ${bad.length} keys lost or wrong ${log()}:\n${bad.slice(0, 15).join('\n')}`);

      // Forget what has certainly expired.
      const now = Date.now();
      for (const [k, e] of state) if (e?.kind === 'value' && e.exp && now > e.exp.hi) state.set(k, undefined);

      // Integrity: nothing dangling or mis-sized even before repairs; orphans (a value file
      // written by the killed call, a temporary file) only, and gone after check(true).
      const before = store.check();
      expect({ context, ...before, ok: true, orphanedFiles: 0 }).toEqual({ context, ...CLEAN });
      ageValueFiles(dir);
      const fixed = store.check(true);
      totals.orphansRemoved += fixed.orphanedFiles;
      expect({ context, ...fixed, orphanedFiles: 0, ok: true }).toEqual({ context, ...CLEAN });
      ageValueFiles(dir);
      expect({ context, ...store.check() }).toEqual({ context, ...CLEAN });
      // Every file left on disk is a complete value (referenced, or in the trash).
      for (const f of valueTreeFiles(dir)) {
        expect({ context, f, tmp: f.endsWith('.tmp') }).toEqual({ context, f, tmp: false });
        let bytes: Buffer;
        try {
          bytes = fs.readFileSync(f);
        } catch {
          continue; // a trashed file drained meanwhile
        }
        const i = values.inspectFileBytes(bytes);
        if (!i.ok) throw new Error(`${context}: partial value file ${f}: ${i.why}`);
      }
    } finally {
      store.close();
    }
    // The last close checkpoints the WAL into the database and removes it.
    expect({ context, wal: walBytes(dir) }).toEqual({ context, wal: 0 });
    if (round === cfg.rounds - 1 || round % 10 === 9) {
      // Everything is in the database file itself now: read it all again.
      const again = open();
      try {
        for (const k of universe) {
          const t0 = Date.now();
          const o = observe(again.get(k));
          if (!matches(k, state.get(k), o, t0, Date.now())) {
            throw new Error(`${context}: after checkpoint, ${k} reads ${describeObserved(o)}, expected ${JSON.stringify(state.get(k))}`);
          }
        }
      } finally {
        again.close();
      }
    }
  }
  for (const d of storeDirs(dir)) expect(fs.existsSync(path.join(d, 'sciqlop-cache.db'))).toBe(true);
  return totals;
}

describe('crash oracle: SIGKILL at random moments', () => {
  test(`Cache: ${scale(10, 100)} kills, nothing acknowledged is lost`, async () => {
    const totals = await torture({ kind: 'cache', shards: 1, durability: 'process', rounds: scale(10, 100), uniqueBudget: scale(120, 60) });
    console.log(`crash oracle (Cache): ${JSON.stringify(totals)}`);
    expect(totals.acked).toBeGreaterThan(scale(100, 5000));
  });

  if (scale(false, true)) {
    test('FanoutCache (4 shards, durability power): 40 kills', async () => {
      const totals = await torture({ kind: 'fanout', shards: 4, durability: 'power', rounds: 40, uniqueBudget: 60 });
      console.log(`crash oracle (FanoutCache): ${JSON.stringify(totals)}`);
      expect(totals.acked).toBeGreaterThan(300);
    });
  }
});
