'use strict';
/**
 * One trial of the Node benchmark, run by run.js in its own process:
 *
 *   node bench/trial.js '<json spec>'
 *
 * spec: { peer, workload, size, ops, warmup, seed, dir, valueBytes?, phases?, peerOptions?,
 *         batches?, minBatches?, warmBatches?, concurrency?, writer?, barrier? }
 *
 * workload:
 *   scaling | value-size | lru   fill `size` entries untimed, warm up untimed, then time each
 *                                call of every phase (set, get hit, get miss, delete)
 *   batch                        sets in transactions (or the peer's batch) of each size
 *   async                        `ops` calls of the peer's async API, `concurrency` in flight
 *   fill                         fill only (the store the two-writer trials share)
 *   writer                       one of the processes writing one store: timed sets from
 *                                one instant (the barrier directory spec.barrier)
 *
 * Every call is timed alone with process.hrtime.bigint(); a peer whose API is asynchronous
 * (peer.sync false) is awaited call by call. Keys and values (each write a distinct value, see
 * stampedValues) are prepared before the timed loops. Prints one JSON object on stdout:
 * latencies in nanoseconds. diskcache_trial.py is the same trial in Python, with the same key
 * sequences.
 */
const crypto = require('node:crypto');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { randomIndices, keyOf, VALUE_BYTES, stampedValues } = require('./common');

const FILL_BATCH = 1000;
/** Stamps of the values of each phase start here (the fill uses 0 .. size-1). */
const PHASE_STAMP = 1e8;

const spec = JSON.parse(process.argv[2]);
const peer = require(path.join(__dirname, 'peers', `${spec.peer}.js`));
const valueBytes = spec.valueBytes ?? VALUE_BYTES;
const hr = process.hrtime.bigint;
const base = crypto.randomBytes(valueBytes);
let phase = 0;
const nextValues = (count) => stampedValues(base, ++phase * PHASE_STAMP, count);

function keysFor(indices) {
  const keys = new Array(indices.length);
  for (let i = 0; i < indices.length; i++) keys[i] = keyOf(indices[i]);
  return keys;
}

/**
 * Times `op(i)` for i in [0, count) into out[i] (ns); `after(result, i)` runs untimed after each
 * call (checks, write-backs). Sync peers are called directly, async ones awaited one at a time.
 */
async function timeEach(count, op, after, out) {
  if (peer.sync) {
    for (let i = 0; i < count; i++) {
      const t0 = hr();
      const r = op(i);
      out[i] = Number(hr() - t0);
      after(r, i);
    }
  } else {
    for (let i = 0; i < count; i++) {
      const t0 = hr();
      const r = await op(i);
      out[i] = Number(hr() - t0);
      await after(r, i);
    }
  }
}

/** Untimed fill of keys 0..size-1 in transactions of FILL_BATCH; returns ns per set. */
async function fill(store, size) {
  const setMany = store.fillMany ?? store.setMany;
  const perBatch = Math.max(1, Math.min(FILL_BATCH, Math.floor((64 << 20) / valueBytes)));
  let ns = 0n;
  for (let start = 0; start < size; start += perBatch) {
    const n = Math.min(perBatch, size - start);
    const keys = new Array(n);
    for (let i = 0; i < n; i++) keys[i] = keyOf(start + i);
    const values = stampedValues(base, start, n);
    const t0 = hr();
    await setMany(keys, values, 0, n);
    ns += hr() - t0;
  }
  const last = await store.get(keyOf(size - 1));
  if (!last || !stampedValues(base, size - 1, 1)[0].equals(last)) {
    throw new Error(`${spec.peer}: get(${keyOf(size - 1)}) did not return the value written`);
  }
  return Number(ns) / size;
}

const PHASES = {
  async set(store, keys, out) {
    const values = nextValues(keys.length);
    await timeEach(keys.length, (i) => store.set(keys[i], values[i]), () => {}, out);
  },
  async get(store, keys, out) {
    let misses = 0;
    const after = (v) => {
      if (v === undefined || v.length !== valueBytes) misses++;
    };
    await timeEach(keys.length, (i) => store.get(keys[i]), after, out);
    if (misses) throw new Error(`${spec.peer}: ${misses} misses in the get (hit) phase`);
  },
  async miss(store, keys, out) {
    const missing = keys.map((k) => `missing-${k}`);
    let hits = 0;
    await timeEach(missing.length, (i) => store.get(missing[i]), (v) => v === undefined || hits++, out);
    if (hits) throw new Error(`${spec.peer}: ${hits} hits in the get (miss) phase`);
  },
  /** Deletes a present key (timed), then writes it back (untimed) so the size stays constant. */
  async delete(store, keys, out) {
    const values = nextValues(keys.length);
    let absent = 0;
    const after = (removed, i) => {
      if (removed === false) absent++; // undefined: the peer does not say
      return store.set(keys[i], values[i]);
    };
    await timeEach(keys.length, (i) => store.delete(keys[i]), after, out);
    if (absent) throw new Error(`${spec.peer}: ${absent} deletes found no entry`);
  },
};
const SEED_OFFSET = { set: 1, get: 2, delete: 3, miss: 4 };

async function perOperation(store) {
  const { size, ops, warmup, seed } = spec;
  const phases = spec.phases ?? ['set', 'get', 'miss', 'delete'];
  const result = { fillNsPerOp: await fill(store, size), series: [] };
  const warm = keysFor(randomIndices(warmup, size, seed + 100));
  const scratch = new Float64Array(warmup);
  for (const p of phases) await PHASES[p](store, warm, scratch);
  for (const p of phases) {
    const keys = keysFor(randomIndices(ops, size, seed + SEED_OFFSET[p]));
    const out = new Float64Array(ops);
    await PHASES[p](store, keys, out);
    result.series.push({ op: p === 'miss' ? 'get-miss' : p, batch: 1, samples: Array.from(out, Math.round) });
  }
  return result;
}

/** Sets in transactions of B (overwrites of random keys of the filled store); ns per set. */
async function batch(store) {
  const { size, ops, batches, minBatches, seed } = spec;
  const result = { fillNsPerOp: await fill(store, size), series: [] };
  for (const b of batches) {
    const count = Math.max(minBatches, Math.ceil(ops / b));
    const warmCount = spec.warmBatches ?? Math.max(2, Math.ceil(count / 10));
    const warm = keysFor(randomIndices(warmCount * b, size, seed + 200 + b));
    const warmValues = nextValues(warm.length);
    for (let j = 0; j < warmCount; j++) await store.setMany(warm, warmValues, j * b, b);
    const keys = keysFor(randomIndices(count * b, size, seed + 300 + b));
    const values = nextValues(keys.length);
    const samples = new Float64Array(count);
    await timeEach(count, (j) => store.setMany(keys, values, j * b, b), () => {}, samples);
    result.series.push({ op: 'set', batch: b, samples: Array.from(samples, (ns) => Math.round(ns / b)) });
  }
  return result;
}

/**
 * `count` calls of `op(i)` with `concurrency` of them in flight; per-call latency (issue to
 * settle) into out, returns the wall time in ns.
 */
async function inFlight(count, concurrency, op, out) {
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      const t0 = hr();
      await op(i);
      out[i] = Number(hr() - t0);
    }
  };
  const t0 = hr();
  await Promise.all(Array.from({ length: concurrency }, lane));
  return Number(hr() - t0);
}

async function asyncThroughput(store) {
  const { size, ops, warmup, seed, concurrency } = spec;
  const api = store.async;
  if (!api) throw new Error(`${spec.peer} has no async API`);
  const result = { fillNsPerOp: await fill(store, size), series: [] };
  for (const [op, s] of [['set', 1], ['get', 2]]) {
    if (!api[op]) continue;
    const call = op === 'set'
      ? (keys, values) => (i) => api.set(keys[i], values[i])
      : (keys) => async (i) => {
        const v = await api.get(keys[i]);
        if (v === undefined || v.length !== valueBytes) throw new Error(`${spec.peer}: async get missed ${keys[i]}`);
      };
    const warm = keysFor(randomIndices(warmup, size, seed + 100 + s));
    await inFlight(warmup, concurrency, call(warm, nextValues(warmup)), new Float64Array(warmup));
    const keys = keysFor(randomIndices(ops, size, seed + s));
    const out = new Float64Array(ops);
    const wallNs = await inFlight(ops, concurrency, call(keys, nextValues(ops)), out);
    result.series.push({ op: `${op}-async`, batch: 1, concurrency, wallNs, samples: Array.from(out, Math.round) });
  }
  return result;
}

const epochMs = () => performance.timeOrigin + performance.now();

/**
 * Start barrier of the writers (a directory beside the store): each writer, once warmed up,
 * creates ready-<w>; run.js then writes `go` holding the start instant (epoch ms).
 */
function awaitStart(barrier, w) {
  const fs = require('node:fs');
  fs.writeFileSync(path.join(barrier, `ready-${w}`), '');
  const go = path.join(barrier, 'go');
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  while (!fs.existsSync(go)) Atomics.wait(sleeper, 0, 0, 1);
  const startAt = Number(fs.readFileSync(go, 'utf8'));
  while (epochMs() < startAt - 2) Atomics.wait(sleeper, 0, 0, 1);
  while (epochMs() < startAt);
  return startAt;
}

/** One of the processes writing one (already filled) store, all starting at the same instant. */
async function writer(store) {
  const { size, ops, warmup, seed, writer: w } = spec;
  const warm = keysFor(randomIndices(warmup, size, seed + 500 + w));
  await PHASES.set(store, warm, new Float64Array(warmup));
  const keys = keysFor(randomIndices(ops, size, seed + 600 + w));
  const values = stampedValues(base, (++phase + 10 * (w + 1)) * PHASE_STAMP, ops);
  const startAt = awaitStart(spec.barrier, w);
  const out = new Float64Array(ops);
  await timeEach(ops, (i) => store.set(keys[i], values[i]), () => {}, out);
  return { startAt, endMs: epochMs(), series: [{ op: 'set', batch: 1, samples: Array.from(out, Math.round) }] };
}

async function main() {
  // A live handle, as any real application has: node-persist leaves writes queued behind an
  // unref()'d interval timer when several are in flight, and Node would exit under them.
  const keepAlive = setInterval(() => {}, 60_000);
  const store = await peer.open(spec.dir, spec.peerOptions);
  let result;
  try {
    if (spec.workload === 'batch') result = await batch(store);
    else if (spec.workload === 'async') result = await asyncThroughput(store);
    else if (spec.workload === 'fill') result = { fillNsPerOp: await fill(store, spec.size), series: [] };
    else if (spec.workload === 'writer') result = await writer(store);
    else result = await perOperation(store);
  } finally {
    await store.close();
    clearInterval(keepAlive);
  }
  process.stdout.write(JSON.stringify({ peer: peer.name, workload: spec.workload, size: spec.size, ...result }));
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
