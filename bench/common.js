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
    p50: us(percentile(sorted, 50)),
    p99: us(percentile(sorted, 99)),
    p999: us(percentile(sorted, 99.9)),
    mean: us(sum / sorted.length),
  };
}

module.exports = { makeRng, randomIndices, keyOf, percentile, summarize };
