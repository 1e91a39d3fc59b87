'use strict';
// Fault scenarios run in a child process, so that a crash (SIGBUS, SIGSEGV, abort) shows up
// as a failed exit instead of taking jest down. Each prints one JSON result line last.
//
//   node fault-child.js <scenario> <json args>
const fs = require('node:fs');
const path = require('node:path');
const { Worker, isMainThread, parentPort, workerData } = require('node:worker_threads');
const { Cache, BytesSerializer } = require(path.resolve(__dirname, '..', '..', '..'));
const { makeValue, inspect } = require('./values');

const errorOf = (e) => ({ name: e && e.name, code: e && e.code, errno: e && e.errno, message: String(e && e.message) });

/** Runs `fn`, returning { ok: value } or { error }. */
function attempt(fn) {
  try {
    const v = fn();
    return { ok: v === undefined ? null : typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v) ? 'object' : v };
  } catch (e) {
    return { error: errorOf(e) };
  }
}

/** The deterministic value of key number i in the fill scenarios. */
function fillValue(i, sizes) {
  const size = sizes[i % sizes.length];
  const b = Buffer.alloc(size, i % 251);
  b.writeUInt32LE(i, 0);
  return b;
}

/** A worker thread that reads keys `k0..k(n-1)` in a loop and checks every byte it gets. */
function readerLoop() {
  const { dir, n, ms } = workerData;
  const stats = { ok: 0, miss: 0, wrong: 0, errors: {}, samples: [] };
  let store;
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      store ??= new Cache(dir);
      for (let i = 0; i < n && Date.now() < end; i++) {
        const v = store.get(`k${i}`);
        if (v === undefined) stats.miss++;
        else {
          const r = inspect(v);
          if (r.ok && r.k === `k${i}`) stats.ok++;
          else {
            stats.wrong++;
            if (stats.samples.length < 5) stats.samples.push(r.why || `${r.k} under k${i}`);
          }
        }
      }
    } catch (e) {
      const key = `${e && e.name}:${e && e.code}`;
      stats.errors[key] = (stats.errors[key] || 0) + 1;
    }
  }
  try {
    store?.close();
  } catch (e) {
    stats.errors[`close:${e && e.code}`] = 1;
  }
  parentPort.postMessage(stats);
}

function startReader(dir, n, ms) {
  const w = new Worker(__filename, { workerData: { reader: true, dir, n, ms } });
  return new Promise((resolve, reject) => {
    let stats;
    w.on('message', (m) => (stats = m));
    w.on('error', reject);
    w.on('exit', () => resolve(stats));
  });
}

const scenarios = {
  /**
   * Writes values of the given sizes until a write fails (disk full, file size limit), then
   * reads back everything acknowledged and tries more calls.
   */
  fill({ dir, sizes, max = 100000 }) {
    const c = new Cache(dir, { serializer: new BytesSerializer() });
    let acked = 0;
    let failure;
    for (let i = 0; i < max; i++) {
      try {
        c.set(`k${i}`, fillValue(i, sizes));
        acked++;
      } catch (e) {
        failure = errorOf(e);
        break;
      }
    }
    let bad = 0;
    for (let i = 0; i < acked; i++) {
      const v = c.get(`k${i}`);
      if (!v || Buffer.compare(v, fillValue(i, sizes)) !== 0) bad++;
    }
    const after = {
      setSmall: attempt(() => c.set('after-small', Buffer.alloc(10, 1))),
      setLarge: attempt(() => c.set('after-large', Buffer.alloc(300000, 2))),
      get: attempt(() => c.get('k0') !== undefined),
      has: attempt(() => c.has('k0')),
      delete: attempt(() => c.delete(`k${acked - 1}`)),
      tx: attempt(() => c.transact(() => c.set('after-tx', Buffer.alloc(10, 3)))),
      check: attempt(() => c.check().sqliteIntegrityOk),
    };
    let badAfter = 0;
    for (let i = 0; i < acked - 1; i++) {
      const v = c.get(`k${i}`);
      if (!v || Buffer.compare(v, fillValue(i, sizes)) !== 0) badAfter++;
    }
    const close = attempt(() => c.close());
    return { acked, failure, bad, badAfter, after, close };
  },

  /** Every operation on a store that may not be writable: each works or throws a clear error. */
  readonly({ dir, asNobody }) {
    if (asNobody) {
      process.setgid(65534);
      process.setuid(65534);
    }
    const results = {};
    let c;
    results.open = attempt(() => {
      c = new Cache(dir);
    });
    if (c) {
      results.get = attempt(() => JSON.stringify(c.get('small')));
      results.getLarge = attempt(() => (c.get('large') ?? '').length);
      results.keys = attempt(() => [...c.keys()].length);
      results.set = attempt(() => c.set('new', 1));
      results.setLarge = attempt(() => c.set('new-large', 'x'.repeat(20000)));
      results.delete = attempt(() => c.delete('small'));
      results.incr = attempt(() => c.incr('n'));
      results.clear = attempt(() => c.clear());
      results.check = attempt(() => c.check(true).ok);
      results.close = attempt(() => c.close());
    }
    return results;
  },

  /**
   * Damages the database file of an open store (truncated and restored over and over,
   * overwritten with garbage, deleted, replaced) while a worker thread reads from it.
   */
  async dbFault({ dir, fault, ms, n }) {
    const db = path.join(dir, 'sciqlop-cache.db');
    const original = fs.readFileSync(db);
    const reader = startReader(dir, n, ms);
    const c = new Cache(dir);
    const ops = { set: {}, get: {} };
    const count = (bucket, r) => {
      const key = r.error ? `${r.error.name}:${r.error.code}` : 'ok';
      bucket[key] = (bucket[key] || 0) + 1;
    };
    const end = Date.now() + ms;
    let cycles = 0;
    let wrong = 0;
    const garbage = Buffer.alloc(original.length);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7919 + 13) & 0xff;
    if (fault === 'delete') for (const f of ['', '-wal', '-shm']) fs.rmSync(db + f, { force: true });
    if (fault === 'replace') {
      fs.writeFileSync(`${db}.new`, garbage);
      fs.renameSync(`${db}.new`, db);
    }
    while (Date.now() < end) {
      if (fault === 'truncate') {
        fs.truncateSync(db, [0, 100, 4096, 8192, original.length >> 1][cycles % 5]);
        await new Promise((r) => setImmediate(r));
        for (let i = 0; i < 5; i++) {
          const k = `k${(cycles * 5 + i) % n}`;
          count(ops.get, attempt(() => {
            const v = c.get(k);
            if (v !== undefined && !(inspect(v).ok && inspect(v).k === k)) wrong++;
          }));
        }
        const fd = fs.openSync(db, 'r+');
        fs.writeSync(fd, original, 0, original.length, 0);
        fs.closeSync(fd);
      } else if (fault === 'garbage') {
        const fd = fs.openSync(db, 'r+');
        const at = 4096 * (1 + (cycles % Math.max(1, (original.length >> 12) - 1)));
        fs.writeSync(fd, garbage, 0, Math.min(4096, Math.max(0, original.length - at)), at);
        fs.closeSync(fd);
      }
      cycles++;
      for (let i = 0; i < 20; i++) {
        const k = `k${(cycles * 20 + i) % n}`;
        const r = attempt(() => {
          const v = c.get(k);
          if (v !== undefined && !(inspect(v).ok && inspect(v).k === k)) wrong++;
        });
        count(ops.get, r);
      }
      count(ops.set, attempt(() => c.set(`w${cycles % 50}`, cycles)));
      await new Promise((r) => setImmediate(r));
    }
    const readerStats = await reader;
    const closeResult = attempt(() => c.close());
    // Whatever is at the path now: opening it is a store or a clear error, never a crash.
    let reopen;
    try {
      const d = new Cache(dir);
      reopen = { get: attempt(() => (d.get('k1') === undefined ? 'miss' : inspect(d.get('k1')).ok)), set: attempt(() => d.set('after', 1)) };
      reopen.check = attempt(() => d.check(true).ok);
      d.close();
    } catch (e) {
      reopen = { error: errorOf(e) };
    }
    return { cycles, wrong, ops, reader: readerStats, close: closeResult, reopen };
  },

  /** Removes the whole store directory while the store is open and a worker reads from it. */
  async dirRemoved({ dir, n }) {
    const reader = startReader(dir, n, 3000);
    const c = new Cache(dir);
    await new Promise((r) => setTimeout(r, 300));
    fs.rmSync(dir, { recursive: true, force: true });
    const results = {};
    let wrong = 0;
    results.get = attempt(() => {
      for (let i = 0; i < n; i++) {
        const v = c.get(`k${i}`);
        if (v !== undefined && !(inspect(v).ok && inspect(v).k === `k${i}`)) wrong++;
      }
    });
    results.set = attempt(() => c.set('x', 1));
    results.setLarge = attempt(() => c.set('xl', makeValue('xl', 1, 50000)));
    results.add = attempt(() => c.add('y', 1));
    results.delete = attempt(() => c.delete('k1'));
    results.pop = attempt(() => c.pop('k2'));
    results.incr = attempt(() => c.incr('n'));
    results.touch = attempt(() => c.touch('k3', 10));
    results.tx = attempt(() => c.transact(() => c.set('t', 1)));
    results.clear = attempt(() => c.clear());
    results.check = attempt(() => c.check(true).ok);
    results.expire = attempt(() => c.expire());
    results.volume = attempt(() => typeof c.volume());
    await new Promise((r) => setTimeout(r, 2500)); // background rounds on the removed store
    const readerStats = await reader;
    results.close = attempt(() => c.close());
    return { wrong, results, reader: readerStats };
  },

  /** Reads file-backed values in a loop while the parent damages their files; reports what it saw. */
  async tamperReader({ dir, n, ms }) {
    process.stdout.write('ready\n');
    const stats = await startReader(dir, n, ms);
    return stats;
  },
};

if (!isMainThread) {
  if (workerData.reader) readerLoop();
} else {
  const [scenario, json] = process.argv.slice(2);
  Promise.resolve(scenarios[scenario](JSON.parse(json || '{}'))).then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
    (e) => {
      process.stdout.write(`${JSON.stringify({ crashed: errorOf(e), stack: e && e.stack })}\n`);
      process.exitCode = 1;
    },
  );
}
