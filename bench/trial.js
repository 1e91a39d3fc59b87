'use strict';
/**
 * One trial of the Node benchmark, run by run.js in its own process:
 *
 *   node bench/trial.js '<json spec>'
 *
 * spec: { peer, workload: 'scaling' | 'batch', size, ops, warmup, batches, minBatches, dir, seed }
 * Opens the peer in spec.dir (fresh, created by run.js), fills it untimed with transactions
 * of 1000 sets, warms up untimed, then times every operation on its own with
 * process.hrtime.bigint(). Keys and values (each write a distinct value, see stampedValues)
 * are prepared before the timed loops. Prints one JSON object on stdout: latencies in
 * nanoseconds. diskcache_trial.py is the same trial in Python, with the same key sequences.
 */
const crypto = require('node:crypto');
const path = require('node:path');
const { randomIndices, keyOf, VALUE_BYTES, stampedValues } = require('./common');

const FILL_BATCH = 1000;
/** Stamps of the values of each phase start here (the fill uses 0 .. size-1). */
const PHASE_STAMP = 1e8;

const spec = JSON.parse(process.argv[2]);
const peer = require(path.join(__dirname, 'peers', `${spec.peer}.js`));
const hr = process.hrtime.bigint;
const base = crypto.randomBytes(VALUE_BYTES);
let phase = 0;
const nextValues = (count) => stampedValues(base, ++phase * PHASE_STAMP, count);

function keysFor(indices) {
  const keys = new Array(indices.length);
  for (let i = 0; i < indices.length; i++) keys[i] = keyOf(indices[i]);
  return keys;
}

/** Untimed fill of keys 0..size-1 in transactions of FILL_BATCH; returns ns per set. */
function fill(store, size) {
  let ns = 0n;
  for (let start = 0; start < size; start += FILL_BATCH) {
    const n = Math.min(FILL_BATCH, size - start);
    const keys = new Array(n);
    for (let i = 0; i < n; i++) keys[i] = keyOf(start + i);
    const values = stampedValues(base, start, n);
    const t0 = hr();
    store.setMany(keys, values, 0, n);
    ns += hr() - t0;
  }
  const last = store.get(keyOf(size - 1));
  if (!last || !stampedValues(base, size - 1, 1)[0].equals(last)) {
    throw new Error(`${spec.peer}: get(${keyOf(size - 1)}) did not return the value written`);
  }
  return Number(ns) / size;
}

function timeSets(store, keys, out) {
  const values = nextValues(keys.length);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    const v = values[i];
    const t0 = hr();
    store.set(k, v);
    out[i] = Number(hr() - t0);
  }
}

function timeGets(store, keys, out) {
  let misses = 0;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    const t0 = hr();
    const v = store.get(k);
    out[i] = Number(hr() - t0);
    if (v === undefined || v.length !== VALUE_BYTES) misses++;
  }
  if (misses) throw new Error(`${spec.peer}: ${misses} misses in the get (hit) phase`);
}

/** Deletes a present key (timed), then writes it back (untimed) so the size stays constant. */
function timeDeletes(store, keys, out) {
  const values = nextValues(keys.length);
  let absent = 0;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    const t0 = hr();
    const removed = store.delete(k);
    out[i] = Number(hr() - t0);
    if (!removed) absent++;
    store.set(k, values[i]);
  }
  if (absent) throw new Error(`${spec.peer}: ${absent} deletes found no entry`);
}

function scaling(store) {
  const { size, ops, warmup, seed } = spec;
  const result = { fillNsPerOp: fill(store, size), series: [] };
  const warm = keysFor(randomIndices(warmup, size, seed + 100));
  const scratch = new Float64Array(warmup);
  timeSets(store, warm, scratch);
  timeGets(store, warm, scratch);
  timeDeletes(store, warm, scratch);
  for (const [op, fn, s] of [
    ['set', timeSets, 1],
    ['get', timeGets, 2],
    ['delete', timeDeletes, 3],
  ]) {
    const keys = keysFor(randomIndices(ops, size, seed + s));
    const out = new Float64Array(ops);
    fn(store, keys, out);
    result.series.push({ op, batch: 1, samples: Array.from(out, Math.round) });
  }
  return result;
}

/** Sets in transactions of B (overwrites of random keys of the filled store); ns per set. */
function batch(store) {
  const { size, ops, batches, minBatches, seed } = spec;
  const result = { fillNsPerOp: fill(store, size), series: [] };
  for (const b of batches) {
    const count = Math.max(minBatches, Math.ceil(ops / b));
    const warmCount = Math.max(2, Math.ceil(count / 10));
    const warm = keysFor(randomIndices(warmCount * b, size, seed + 200 + b));
    const warmValues = nextValues(warm.length);
    for (let j = 0; j < warmCount; j++) store.setMany(warm, warmValues, j * b, b);
    const keys = keysFor(randomIndices(count * b, size, seed + 300 + b));
    const values = nextValues(keys.length);
    const samples = new Array(count);
    for (let j = 0; j < count; j++) {
      const t0 = hr();
      store.setMany(keys, values, j * b, b);
      samples[j] = Math.round(Number(hr() - t0) / b);
    }
    result.series.push({ op: 'set', batch: b, samples });
  }
  return result;
}

const store = peer.open(spec.dir);
let result;
try {
  result = spec.workload === 'batch' ? batch(store) : scaling(store);
} finally {
  store.close();
}
process.stdout.write(JSON.stringify({ peer: peer.name, workload: spec.workload, size: spec.size, ...result }));
