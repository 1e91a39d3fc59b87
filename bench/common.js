'use strict';
/**
 * Shared by the Node benchmark's coordinator (run.js) and its trials (trial.js): the
 * deterministic key sequences (mirrored in diskcache_trial.py so every peer does the same
 * operations on the same keys) and the statistics.
 */

/** xorshift32; the same generator is written out in diskcache_trial.py. */
function makeRng(seed) {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

/** `count` indices drawn uniformly, with replacement, from [0, size). */
function randomIndices(count, size, seed) {
  const rng = makeRng(seed);
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) out[i] = rng() % size;
  return out;
}

const keyOf = (i) => `key-${i}`;

const VALUE_BYTES = 256;

/**
 * Every write in a trial stores a value that differs from the one it replaces: SQLite skips
 * rewriting a row whose new record is byte-identical to the old one (no page is dirtied,
 * nothing reaches the WAL), which would flatter a peer whose rows hold nothing but the value.
 * A value is `base` with `stamp` in its first 8 bytes (little-endian); stamps never repeat
 * within a trial (diskcache_trial.py does the same).
 */
function stampedValues(base, firstStamp, count) {
  const out = new Array(count);
  for (let i = 0; i < count; i++) {
    const v = Buffer.from(base);
    v.writeUInt32LE((firstStamp + i) >>> 0, 0);
    v.writeUInt32LE(Math.floor((firstStamp + i) / 2 ** 32), 4);
    out[i] = v;
  }
  return out;
}

/** Nearest-rank percentile of an ascending-sorted array. */
function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** Summary of latencies in nanoseconds, reported in microseconds. */
function summarize(samplesNs) {
  const sorted = Float64Array.from(samplesNs).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  const us = (ns) => ns / 1000;
  return {
    n: sorted.length,
    min: us(sorted[0]),
    p25: us(percentile(sorted, 25)),
    p75: us(percentile(sorted, 75)),
    p90: us(percentile(sorted, 90)),
    max: us(sorted[sorted.length - 1]),
    p50: us(percentile(sorted, 50)),
    p99: us(percentile(sorted, 99)),
    p999: us(percentile(sorted, 99.9)),
    mean: us(sum / sorted.length),
  };
}

/** The version of an installed package, even one whose `exports` hide its package.json. */
function versionOf(name) {
  const fs = require('node:fs');
  const path = require('node:path');
  for (const dir of require.resolve.paths(name) ?? []) {
    const file = path.join(dir, name, 'package.json');
    if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8')).version;
  }
  throw new Error(`${name} is not installed`);
}

module.exports = { versionOf, makeRng, randomIndices, keyOf, VALUE_BYTES, stampedValues, percentile, summarize };
