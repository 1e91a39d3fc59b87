'use strict';
// Crash-oracle writer: runs random operations on a store forever, until the parent kills
// it with SIGKILL. Each operation is announced on stdout before the call ("B" line) and
// acknowledged after the call returned ("A" line, with the call's result). Lines are
// written with one synchronous write(2) each (shorter than PIPE_BUF, so never torn), so
// the parent knows every operation that completed, and the one that may have been in
// flight when the process died.
//
//   node crash-writer.js <json config>
//   config: { dir, seed, base, uniqueBudget, kind: 'cache' | 'fanout', shards, durability }
const fs = require('node:fs');
const path = require('node:path');
const { Cache, FanoutCache } = require(path.resolve(__dirname, '..', '..', '..'));
const { makeValue, inspect, rng, randomSize } = require('./values');

const cfg = JSON.parse(process.argv[2]);
const r = rng(cfg.seed);
const HOT = 40;
const COUNTERS = 4;
const TAGS = ['t0', 't1', 't2'];

function emit(line) {
  const b = Buffer.from(`${line}\n`);
  let off = 0;
  while (off < b.length) {
    try {
      off += fs.writeSync(1, b, off, b.length - off);
    } catch (e) {
      if (e.code !== 'EAGAIN') throw e;
    }
  }
}

const store =
  cfg.kind === 'fanout'
    ? new FanoutCache(cfg.dir, { shardCount: cfg.shards, durability: cfg.durability })
    : new Cache(cfg.dir, { durability: cfg.durability });
emit(`R ${JSON.stringify({ pid: process.pid })}`);

let version = cfg.base;
let uniques = 0;
const hot = () => `h${r.int(HOT)}`;

function setOptions() {
  const o = {};
  if (r.chance(0.4)) o.tag = r.pick(TAGS);
  if (r.chance(0.25)) o.e = r.chance(0.6) ? 0.2 + r() * 2.5 : 3600;
  return o;
}
const opts = (p) => {
  const o = {};
  if (p.tag !== undefined) o.tag = p.tag;
  if (p.e !== undefined) o.expire = p.e;
  return o;
};

/** A random operation for a transaction body (no reads: their results are in the ack). */
function txItem(depth) {
  const d = r();
  if (d < 0.55) return { op: 'set', k: hot(), v: ++version, n: randomSize(r, 0.25), ...setOptions() };
  if (d < 0.7) return { op: 'delete', k: hot() };
  if (d < 0.85) return { op: 'incr', k: `c${r.int(COUNTERS)}`, d: r.int(11) - 3 };
  if (depth === 0) return { op: 'tx', fail: r.chance(0.3), ops: Array.from({ length: 1 + r.int(3) }, () => txItem(1)) };
  return { op: 'delete', k: hot() };
}

class Rollback extends Error {}

/** The first key of a transaction body (a fanout runs the transaction on its shard). */
function keyOf(items) {
  for (const it of items) {
    const k = it.op === 'tx' ? keyOf(it.ops) : it.k;
    if (k !== undefined) return k;
  }
  return 'h0';
}

function pin(items, k) {
  for (const it of items) {
    if (it.op === 'tx') pin(it.ops, k);
    else if (it.op === 'incr') Object.assign(it, { op: 'delete', k, d: undefined });
    else it.k = k;
  }
}

function runItem(it, results) {
  switch (it.op) {
    case 'set':
      store.set(it.k, makeValue(it.k, it.v, it.n), opts(it));
      return;
    case 'delete':
      results.push(store.delete(it.k));
      return;
    case 'incr':
      results.push(store.incr(it.k, it.d));
      return;
    case 'tx': {
      const inner = [];
      try {
        transact(keyOf(it.ops), () => {
          for (const sub of it.ops) runItem(sub, inner);
          if (it.fail) throw new Rollback();
        });
        results.push(inner);
      } catch (e) {
        if (!(e instanceof Rollback)) throw e;
        results.push('rolledback');
      }
      return;
    }
    default:
      throw new Error(`unknown item ${it.op}`);
  }
}

const transact = (key, fn) => (cfg.kind === 'fanout' ? store.transact(key, fn) : store.transact(fn));

function read(value) {
  if (value === undefined) return null;
  if (typeof value === 'number') return { num: value };
  const i = inspect(value);
  return i.ok ? { k: i.k, v: i.v, n: i.size } : { bad: i.why };
}

function nextOp() {
  const d = r.int(1000);
  if (d < 60 && uniques < cfg.uniqueBudget) {
    uniques++;
    const v = ++version;
    return { op: 'set', k: `u${v}`, v, n: Math.min(randomSize(r, 0.15), 60000), ...(r.chance(0.3) ? { tag: r.pick(TAGS) } : {}) };
  }
  if (d < 330) return { op: 'set', k: hot(), v: ++version, n: randomSize(r), ...setOptions() };
  if (d < 400) return { op: 'setAsync', k: hot(), v: ++version, n: randomSize(r), ...setOptions() };
  if (d < 430) {
    const keys = [...new Set(Array.from({ length: 2 + r.int(3) }, hot))];
    const v = ++version;
    version += keys.length;
    return { op: 'setMany', keys, v, n: randomSize(r, 0.2), ...setOptions() };
  }
  if (d < 500) return { op: 'delete', k: r.chance(0.9) ? hot() : `c${r.int(COUNTERS)}` };
  if (d < 560) return { op: 'pop', k: hot() };
  if (d < 640) return { op: 'add', k: hot(), v: ++version, n: randomSize(r), ...setOptions() };
  if (d < 690) return { op: 'touch', k: hot(), e: r.chance(0.3) ? null : r.chance(0.5) ? 0.2 + r() * 2 : 3600 };
  if (d < 780) return { op: 'incr', k: `c${r.int(COUNTERS)}`, d: r.int(11) - 3 };
  if (d < 800) return { op: 'evictTag', tag: r.pick(TAGS) };
  if (d < 900) {
    const ops = Array.from({ length: 1 + r.int(4) }, () => txItem(0));
    // A fanout's transaction covers one shard: pin every item to one key (counters live on
    // other shards, so their increments become deletes of that key).
    if (cfg.kind === 'fanout') pin(ops, hot());
    return { op: 'tx', fail: r.chance(0.2), ops };
  }
  if (d < 985) return { op: 'get', k: hot() };
  if (d < 992) return { op: 'expire' };
  if (d < 998) return { op: 'check' };
  return { op: 'clear' };
}

async function run(op) {
  switch (op.op) {
    case 'set':
      store.set(op.k, makeValue(op.k, op.v, op.n), opts(op));
      return null;
    case 'setAsync':
      await store.setAsync(op.k, makeValue(op.k, op.v, op.n), opts(op));
      return null;
    case 'setMany':
      await store.setManyAsync(
        op.keys.map((k, i) => [k, makeValue(k, op.v + i, op.n)]),
        opts(op),
      );
      return null;
    case 'delete':
      return store.delete(op.k);
    case 'pop':
      return read(store.pop(op.k));
    case 'get':
      return read(store.get(op.k));
    case 'add':
      return store.add(op.k, makeValue(op.k, op.v, op.n), opts(op));
    case 'touch':
      return store.touch(op.k, op.e);
    case 'incr':
      return store.incr(op.k, op.d);
    case 'evictTag':
      return store.evictTag(op.tag);
    case 'tx': {
      const results = [];
      try {
        transact(keyOf(op.ops), () => {
          for (const it of op.ops) runItem(it, results);
          if (op.fail) throw new Rollback();
        });
      } catch (e) {
        if (!(e instanceof Rollback)) throw e;
        return 'rolledback';
      }
      return results;
    }
    case 'expire':
      return store.expire();
    case 'check':
      return store.check(true);
    case 'clear':
      store.clear();
      return null;
    default:
      throw new Error(`unknown op ${op.op}`);
  }
}

(async () => {
  for (let s = 0; ; s++) {
    const op = nextOp();
    op.s = s;
    op.t0 = Date.now();
    emit(`B ${JSON.stringify(op)}`);
    let result;
    try {
      result = await run(op);
    } catch (e) {
      emit(`E ${JSON.stringify({ s, name: e && e.name, code: e && e.code, message: String(e && e.message) })}`);
      process.exit(3);
    }
    emit(`A ${JSON.stringify({ s, t1: Date.now(), r: result })}`);
  }
})();
