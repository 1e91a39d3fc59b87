/**
 * The crash oracle's model: what the store must contain after the operations the writer
 * acknowledged (helpers/crash-writer.js), plus the one operation that may have been in
 * flight when it was killed, which must have happened entirely or not at all.
 *
 * Expiry makes some states time-dependent: an entry set with `expire: e` between t0 and
 * t1 expires somewhere in [t0 + e, t1 + e]; inside that window it may be present or gone.
 */
export interface Window {
  lo: number;
  hi: number;
}
export interface ValueEntry {
  kind: 'value';
  v: number;
  n: number;
  tag?: string | undefined;
  exp: Window | null;
}
export interface CounterEntry {
  kind: 'counter';
  num: number;
}
export type Entry = ValueEntry | CounterEntry | undefined;
export type State = Map<string, Entry>;

/** What a read returned, as the writer and the verifier report it. */
export type Observed = null | { k: string; v: number; n: number } | { num: number } | { bad: string };

export interface Op {
  op: string;
  s: number;
  t0: number;
  k?: string;
  v?: number;
  n?: number;
  tag?: string;
  e?: number | null;
  d?: number;
  keys?: string[];
  fail?: boolean;
  ops?: Op[];
}
export interface Ack {
  s: number;
  t1: number;
  r: any;
}

/** Clock slack (ms) between Date.now() and the engine's fractional seconds. */
const SLACK = 5;

export type Status = 'absent' | 'live' | 'expired' | 'maybe';

/** The status of an entry for a call that ran within [t0, t1]. */
export function status(e: Entry, t0: number, t1: number): Status {
  if (e === undefined) return 'absent';
  if (e.kind === 'counter' || e.exp === null) return 'live';
  if (t1 < e.exp.lo) return 'live';
  if (t0 > e.exp.hi) return 'expired';
  return 'maybe';
}

function window(e: number | null | undefined, t0: number, t1: number): Window | null {
  if (e === undefined || e === null) return null;
  return { lo: t0 + e * 1000 - SLACK, hi: t1 + e * 1000 + SLACK };
}

function describeEntry(e: Entry): string {
  if (e === undefined) return 'absent';
  if (e.kind === 'counter') return `counter ${e.num}`;
  return `v${e.v} (${e.n} B${e.tag ? `, tag ${e.tag}` : ''}${e.exp ? `, expires in [${e.exp.lo}, ${e.exp.hi}]` : ''})`;
}

export function describeObserved(o: Observed): string {
  if (o === null) return 'a miss';
  if ('bad' in o) return `a damaged value (${o.bad})`;
  if ('num' in o) return `counter ${o.num}`;
  return `${o.k}@v${o.v} (${o.n} B)`;
}

/** Does an observation at [t0, t1] agree with the entry? */
export function matches(key: string, e: Entry, o: Observed, t0: number, t1: number): boolean {
  if (o !== null && 'bad' in o) return false;
  const st = status(e, t0, t1);
  if (o === null) return st === 'absent' || st === 'expired' || st === 'maybe';
  if (e === undefined || st === 'expired') return false;
  if ('num' in o) return e.kind === 'counter' && e.num === o.num;
  return e.kind === 'value' && o.k === key && o.v === e.v && o.n === e.n;
}

/**
 * Applies one operation to `state`. With `ack`, its results are checked against the state
 * (a failure is pushed to `violations`) and decide the outcome; without (the operation in
 * flight at the kill), the outcome is the one where the call completed, ending at `tEnd`.
 */
export function apply(state: State, op: Op, ack: Ack | undefined, tEnd: number, violations: string[]): void {
  const t0 = op.t0;
  const t1 = ack ? ack.t1 : tEnd;
  const known = ack !== undefined;
  const where = `op #${op.s} ${op.op}${op.k !== undefined ? ` ${op.k}` : ''}`;
  const fail = (msg: string): void => {
    violations.push(`${where}: ${msg}`);
  };
  const get = (k: string): Entry => state.get(k);
  const setValue = (k: string, v: number, n: number, tag: string | undefined, e: number | null | undefined): void => {
    state.set(k, { kind: 'value', v, n, tag, exp: window(e, t0, t1) });
  };

  /** Checks a read result; returns nothing. */
  const checkRead = (k: string, r: Observed): void => {
    if (!matches(k, get(k), r, t0, t1)) fail(`read ${describeObserved(r)} but the store held ${describeEntry(get(k))}`);
  };
  const present = (k: string): boolean => {
    const st = status(get(k), t0, t1);
    return st === 'live' || st === 'maybe';
  };
  const absent = (k: string): boolean => {
    const st = status(get(k), t0, t1);
    return st !== 'live';
  };

  /** Runs the items of a transaction body; `results` is the ack's array (or undefined). */
  const runItems = (items: Op[], results: any[] | undefined): void => {
    let i = 0;
    const next = (): any => (results ? results[i++] : undefined);
    for (const it of items) {
      switch (it.op) {
        case 'set':
          setValue(it.k!, it.v!, it.n!, it.tag, it.e);
          break;
        case 'delete': {
          const r = next();
          if (known && r === true && !present(it.k!)) fail(`delete(${it.k}) in a transaction returned true on ${describeEntry(get(it.k!))}`);
          if (known && r === false && !absent(it.k!)) fail(`delete(${it.k}) in a transaction returned false on ${describeEntry(get(it.k!))}`);
          state.set(it.k!, undefined);
          break;
        }
        case 'incr':
          incr(it.k!, it.d!, next());
          break;
        case 'tx': {
          const r = next();
          if (it.fail) {
            if (known && r !== 'rolledback') fail(`a failing nested transaction reported ${JSON.stringify(r)}`);
            break;
          }
          if (known && !Array.isArray(r)) fail(`a nested transaction reported ${JSON.stringify(r)}`);
          runItems(it.ops!, known ? (r as any[]) : undefined);
          break;
        }
        default:
          throw new Error(`unknown transaction item ${it.op}`);
      }
    }
  };

  const incr = (k: string, d: number, r: any): void => {
    const e = get(k);
    if (e !== undefined && e.kind !== 'counter') {
      fail(`incr on a non-counter ${describeEntry(e)}`);
      return;
    }
    const result = (e?.num ?? 0) + d;
    if (known && r !== result) fail(`incr(${k}, ${d}) returned ${r}, expected ${result}`);
    state.set(k, { kind: 'counter', num: result });
  };

  switch (op.op) {
    case 'set':
    case 'setAsync':
      setValue(op.k!, op.v!, op.n!, op.tag, op.e);
      break;
    case 'setMany':
      op.keys!.forEach((k, i) => setValue(k, op.v! + i, op.n!, op.tag, op.e));
      break;
    case 'get':
      if (known) checkRead(op.k!, ack.r as Observed);
      break;
    case 'pop':
      if (known) checkRead(op.k!, ack.r as Observed);
      state.set(op.k!, undefined);
      break;
    case 'delete':
      if (known && ack.r === true && !present(op.k!)) fail(`returned true on ${describeEntry(get(op.k!))}`);
      if (known && ack.r === false && !absent(op.k!)) fail(`returned false on ${describeEntry(get(op.k!))}`);
      state.set(op.k!, undefined);
      break;
    case 'add': {
      let stored: boolean;
      if (known) {
        stored = ack.r === true;
        if (stored && !absent(op.k!)) fail(`add stored over ${describeEntry(get(op.k!))}`);
        if (!stored && !present(op.k!)) fail(`add refused although the store held ${describeEntry(get(op.k!))}`);
      } else {
        stored = absent(op.k!);
      }
      if (stored) setValue(op.k!, op.v!, op.n!, op.tag, op.e);
      break;
    }
    case 'touch': {
      const e = get(op.k!);
      let touched: boolean;
      if (known) {
        touched = ack.r === true;
        if (touched && !present(op.k!)) fail(`touch returned true on ${describeEntry(e)}`);
        if (!touched && !absent(op.k!)) fail(`touch returned false on ${describeEntry(e)}`);
      } else {
        touched = present(op.k!);
      }
      if (touched && e?.kind === 'value') state.set(op.k!, { ...e, exp: window(op.e, t0, t1) });
      else if (known && !touched) state.set(op.k!, undefined); // absent or expired for good
      break;
    }
    case 'incr':
      incr(op.k!, op.d!, known ? ack.r : undefined);
      break;
    case 'evictTag': {
      let live = 0;
      let all = 0;
      for (const [k, e] of state) {
        if (e?.kind === 'value' && e.tag === op.tag) {
          all++;
          if (status(e, t0, t1) === 'live') live++;
          state.set(k, undefined);
        }
      }
      // The count may include expired rows not swept yet, which the model no longer tracks.
      if (known && !(ack.r >= live)) fail(`evictTag(${op.tag}) removed ${ack.r}, expected at least ${live} (of ${all})`);
      break;
    }
    case 'tx':
      if (op.fail) {
        if (known && ack.r !== 'rolledback') fail(`a failing transaction reported ${JSON.stringify(ack.r)}`);
        break;
      }
      if (known && !Array.isArray(ack.r)) fail(`a transaction reported ${JSON.stringify(ack.r)}`);
      runItems(op.ops!, known ? (ack.r as any[]) : undefined);
      break;
    case 'expire':
      break;
    case 'check':
      if (known) {
        const r = ack.r;
        if (r.danglingRows !== 0 || r.sizeMismatches !== 0 || !r.countersConsistent || !r.sqliteIntegrityOk) {
          fail(`check(true) in the writer found ${JSON.stringify(r)}`);
        }
      }
      break;
    case 'clear':
      for (const k of state.keys()) state.set(k, undefined);
      break;
    default:
      throw new Error(`unknown op ${op.op}`);
  }
}

/** Every key an operation may change. */
export function keysOf(op: Op, state: State): string[] {
  const out = new Set<string>();
  const walk = (items: Op[]): void => {
    for (const it of items) {
      if (it.op === 'tx') walk(it.ops!);
      else if (it.k !== undefined) out.add(it.k);
    }
  };
  if (op.k !== undefined) out.add(op.k);
  if (op.keys) for (const k of op.keys) out.add(k);
  if (op.ops) walk(op.ops);
  if (op.op === 'evictTag' || op.op === 'clear') for (const k of state.keys()) out.add(k);
  return [...out];
}

/** When two branches both match an observation, the entry that covers both. */
export function merge(a: Entry, b: Entry, o: Observed): Entry {
  if (o === null) return undefined;
  if (a?.kind === 'value' && b?.kind === 'value' && a.v === b.v) {
    if (a.exp === null || b.exp === null) return { ...a, exp: a.exp ?? b.exp };
    return { ...a, exp: { lo: Math.min(a.exp.lo, b.exp.lo), hi: Math.max(a.exp.hi, b.exp.hi) } };
  }
  return a;
}

/** FNV-1a 64 of the key's UTF-8 bytes modulo `shards`: a fanout key's shard (SPEC §2). */
export function shardOf(key: string, shards: number): number {
  let h = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(key, 'utf8')) {
    h ^= BigInt(byte);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return Number(h % BigInt(shards));
}
