'use strict';
// Contention actor: a process that runs `threads` worker threads, each doing random
// set/get/has/delete/add/pop (and their async forms) on a few hundred hot keys with
// versioned values, incr on shared counters, and add races, all on one store directory
// shared with the other actor processes. Every call is logged with its start and end on
// the machine-wide monotonic clock (process.hrtime, CLOCK_MONOTONIC) and its result; the
// parent checks the logs of all actors together (contention.test.ts).
//
//   node contention-actor.js <json config> <log file>
//   config: { dir, kind, seed, process, threads, hot, counters, races, durationMs, startAt, base }
const fs = require('node:fs');
const path = require('node:path');
const { Worker, isMainThread, parentPort, workerData } = require('node:worker_threads');

if (isMainThread) {
  const cfg = JSON.parse(process.argv[2]);
  const logFile = process.argv[3];
  const logs = [];
  let pending = cfg.threads;
  for (let t = 0; t < cfg.threads; t++) {
    const w = new Worker(__filename, { workerData: { ...cfg, actor: cfg.process * cfg.threads + t } });
    w.on('message', (m) => logs.push(m));
    w.on('error', (e) => {
      process.stderr.write(`worker ${t}: ${e && e.stack}\n`);
      process.exitCode = 2;
    });
    w.on('exit', () => {
      if (--pending === 0) {
        fs.writeFileSync(logFile, JSON.stringify(logs));
        process.stdout.write('done\n');
      }
    });
  }
} else {
  const { Cache, FanoutCache } = require(path.resolve(__dirname, '..', '..', '..'));
  const { makeValue, inspect, rng } = require('./values');
  const cfg = workerData;
  const r = rng(cfg.seed + cfg.actor * 7919);
  const base = BigInt(cfg.base);
  const now = () => Number(process.hrtime.bigint() - base);
  const store = cfg.kind === 'fanout' ? new FanoutCache(cfg.dir, { shardCount: 4 }) : new Cache(cfg.dir);
  const ops = [];
  const errors = [];
  let seq = 0;
  const version = () => cfg.actor * 10_000_000 + ++seq;
  const size = () => {
    const d = r();
    if (d < 0.12) return 8300 + r.int(60000); // file-backed
    if (d < 0.15) return 8150 + r.int(100); // around the inline threshold
    return r.int(r.chance(0.2) ? 6000 : 200);
  };
  const read = (value) => {
    if (value === undefined) return null;
    const i = inspect(value);
    return i.ok ? { k: i.k, v: i.v } : { bad: i.why };
  };

  async function one() {
    const k = `k${r.int(cfg.hot)}`;
    const d = r.int(100);
    let op;
    let v;
    let result;
    const t0 = now();
    let n;
    if (d < 30) {
      op = 'set';
      v = version();
      store.set(k, makeValue(k, v, (n = size())));
      result = null;
    } else if (d < 36) {
      op = 'set';
      v = version();
      await store.setAsync(k, makeValue(k, v, (n = size())));
      result = null;
    } else if (d < 60) {
      op = 'get';
      result = read(store.get(k));
    } else if (d < 65) {
      op = 'get';
      result = read(await store.getAsync(k));
    } else if (d < 70) {
      op = 'has';
      result = store.has(k);
    } else if (d < 77) {
      op = 'delete';
      result = store.delete(k);
    } else if (d < 85) {
      op = 'add';
      v = version();
      result = store.add(k, makeValue(k, v, (n = size())));
    } else if (d < 91) {
      op = 'pop';
      result = read(store.pop(k));
    } else {
      const c = `ctr${r.int(cfg.counters)}`;
      const t = now();
      const n = store.incr(c, 1);
      ops.push({ op: 'incr', k: c, t0: t, t1: now(), r: n });
      return;
    }
    ops.push({ op, k, v, n, t0, t1: now(), r: result });
  }

  (async () => {
    while (Date.now() < cfg.startAt) {
      // spin: every actor starts at the same instant
    }
    // The add races first, all actors on the same keys in the same order.
    const races = [];
    for (let i = 0; i < cfg.races; i++) races.push(store.add(`race-${i}`, cfg.actor));
    const deadline = Date.now() + cfg.durationMs;
    while (Date.now() < deadline) {
      try {
        await one();
      } catch (e) {
        errors.push(`${e && e.name} ${e && e.code}: ${e && e.message}`);
        if (errors.length > 20) break;
      }
    }
    store.close();
    parentPort.postMessage({ actor: cfg.actor, ops, races, errors });
  })();
}
