#!/usr/bin/env node
'use strict';
/**
 * The asynchronous API's benchmark (issue 5): batched writes and event-loop health.
 *
 *   npm run bench:async                 # 5 rounds, about a minute
 *   node bench/async.js --rounds 3 --n 100000 --seconds 3 --check
 *
 * 1. Throughput of 100,000 writes of 256-byte values to a fresh store, keys `key<i>`:
 *    - `sync`:  100,000 sequential `cache.set` (each its own transaction);
 *    - `async`: 100,000 un-awaited `cache.setAsync`, then `await Promise.all` (the timer
 *      stops when every promise has resolved, i.e. everything is committed);
 *    - `lmdb`:  100,000 un-awaited `db.put` (lmdb-js defaults: each batch committed and
 *      synced), then `await Promise.all`.
 *    Both sides store raw bytes (BytesSerializer; lmdb `encoding: 'binary'`, no compression).
 *    Targets: async >= 5x sync, async >= lmdb.
 * 2. Event-loop delay while 1 MiB values are written and read in a loop with the async API
 *    (await setAsync, then await getAsync of another key, over 8 keys), measured with
 *    `perf_hooks.monitorEventLoopDelay` (1 ms resolution, so 1 ms is the floor). Target:
 *    p99 < 5 ms. The same loop with the sync API, and an idle process (the machine's own
 *    scheduling noise), are shown for comparison.
 *
 * Every trial runs in its own child process on a fresh directory under bench/tmp/; the
 * trials of a round run one after the other in a rotating order, and the medians over the
 * rounds are reported. Flags: --rounds N (5), --n N (100000), --seconds S (3), --check
 * (exit 1 when a target is missed), --keep (keep the stores).
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const TMP = path.join(__dirname, 'tmp');
const VALUE_BYTES = 256;
const BIG_BYTES = 1 << 20;

function flag(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = process.argv[i + 1];
  return v === undefined || v.startsWith('--') ? true : v;
}

/** Deterministic bytes (xorshift32), the same in every trial. */
function bytes(size, seed) {
  const b = Buffer.allocUnsafe(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}

// ---- trials (child processes) ----------------------------------------------------------

const trials = {
  async sync({ dir, n }) {
    const { Cache, BytesSerializer } = require(ROOT);
    const cache = new Cache(dir, { serializer: new BytesSerializer() });
    const value = bytes(VALUE_BYTES, 1);
    const keys = Array.from({ length: n }, (_, i) => `key${i}`);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) cache.set(keys[i], value);
    const ms = performance.now() - t0;
    if (cache.size !== n) throw new Error(`expected ${n} entries, found ${cache.size}`);
    cache.close();
    return { ms };
  },

  async async({ dir, n }) {
    const { Cache, BytesSerializer } = require(ROOT);
    const cache = new Cache(dir, { serializer: new BytesSerializer() });
    const value = bytes(VALUE_BYTES, 1);
    const keys = Array.from({ length: n }, (_, i) => `key${i}`);
    const t0 = performance.now();
    const pending = new Array(n);
    for (let i = 0; i < n; i++) pending[i] = cache.setAsync(keys[i], value);
    const queuedMs = performance.now() - t0;
    await Promise.all(pending);
    const ms = performance.now() - t0;
    if (cache.size !== n) throw new Error(`expected ${n} entries, found ${cache.size}`);
    cache.close();
    return { ms, queuedMs };
  },

  async lmdb({ dir, n }) {
    const { open } = require('lmdb');
    const db = open({ path: dir, encoding: 'binary', compression: false });
    const value = bytes(VALUE_BYTES, 1);
    const keys = Array.from({ length: n }, (_, i) => `key${i}`);
    const t0 = performance.now();
    const pending = new Array(n);
    for (let i = 0; i < n; i++) pending[i] = db.put(keys[i], value);
    const queuedMs = performance.now() - t0;
    await Promise.all(pending);
    const ms = performance.now() - t0;
    if (db.getCount() !== n) throw new Error(`expected ${n} entries, found ${db.getCount()}`);
    await db.close();
    return { ms, queuedMs };
  },

  /** Event-loop delay while a loop writes and reads 1 MiB values (async or sync API), or while idle. */
  async loop({ dir, seconds, api }) {
    const { monitorEventLoopDelay } = require('node:perf_hooks');
    const { Cache, BytesSerializer } = require(ROOT);
    const cache = new Cache(dir, { serializer: new BytesSerializer() });
    const values = Array.from({ length: 8 }, (_, i) => bytes(BIG_BYTES, i + 1));
    const deadline = performance.now() + seconds * 1000;
    const histogram = monitorEventLoopDelay({ resolution: 1 });
    let ops = 0;
    const asyncLoop = async () => {
      for (let i = 0; performance.now() < deadline; i++) {
        await cache.setAsync(`big${i % 8}`, values[i % 8]);
        const back = await cache.getAsync(`big${(i + 3) % 8}`);
        if (back !== undefined && back.length !== BIG_BYTES) throw new Error('short read');
        ops += 2;
      }
    };
    // The sync API in the same shape: each step is a macrotask, so the loop turns in between.
    const syncLoop = () =>
      new Promise((resolve) => {
        let i = 0;
        const step = () => {
          if (performance.now() >= deadline) return resolve();
          cache.set(`big${i % 8}`, values[i % 8]);
          cache.get(`big${(i + 3) % 8}`);
          ops += 2;
          i++;
          setImmediate(step);
        };
        setImmediate(step);
      });
    histogram.enable();
    const t0 = performance.now();
    const idle = () => new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    await (api === 'sync' ? syncLoop() : api === 'idle' ? idle() : asyncLoop());
    const elapsed = (performance.now() - t0) / 1000;
    histogram.disable();
    cache.close();
    const ms = (ns) => ns / 1e6;
    return {
      p50: ms(histogram.percentile(50)),
      p99: ms(histogram.percentile(99)),
      max: ms(histogram.max),
      mibPerSec: (ops * BIG_BYTES) / (1 << 20) / elapsed,
    };
  },
};

function runTrialInThisProcess() {
  const name = flag('trial');
  const options = JSON.parse(flag('options'));
  trials[name](options).then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
    (error) => {
      process.stderr.write(`${error && error.stack}\n`);
      process.exit(1);
    },
  );
}

// ---- coordinator -----------------------------------------------------------------------

let trialCount = 0;
function trial(name, options) {
  const dir = path.join(TMP, `async-${process.pid}-${trialCount++}-${name}`);
  fs.rmSync(dir, { recursive: true, force: true });
  const r = spawnSync(process.execPath, [__filename, '--trial', name, '--options', JSON.stringify({ ...options, dir })], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (!flag('keep', false)) fs.rmSync(dir, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`trial ${name} failed with status ${r.status}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function fmt(n, digits = 0) {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function main() {
  const rounds = Number(flag('rounds', 5));
  const n = Number(flag('n', 100_000));
  const seconds = Number(flag('seconds', 3));
  fs.mkdirSync(TMP, { recursive: true });
  const names = ['sync', 'async', 'lmdb'];
  const samples = { sync: [], async: [], lmdb: [], asyncLoop: [], syncLoop: [], idleLoop: [] };
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(round + k) % names.length];
      const r = trial(name, { n });
      samples[name].push(r);
      process.stderr.write(`round ${round + 1}/${rounds} ${name}: ${fmt(r.ms)} ms\n`);
    }
    const loop = trial('loop', { seconds, api: 'async' });
    samples.asyncLoop.push(loop);
    process.stderr.write(`round ${round + 1}/${rounds} async loop: p99 ${fmt(loop.p99, 2)} ms\n`);
  }
  samples.syncLoop.push(trial('loop', { seconds, api: 'sync' }));
  samples.idleLoop.push(trial('loop', { seconds, api: 'idle' }));

  const ms = (name) => median(samples[name].map((r) => r.ms));
  const opsPerSec = (name) => (n / ms(name)) * 1000;
  const vsSync = ms('sync') / ms('async');
  const vsLmdb = ms('lmdb') / ms('async');
  const loopStat = (list, key) => median(list.map((r) => r[key]));
  const p99 = loopStat(samples.asyncLoop, 'p99');
  const results = [
    { target: `setAsync throughput >= 5x sync set`, value: `${fmt(vsSync, 2)}x`, pass: vsSync >= 5 },
    { target: `setAsync throughput >= lmdb put`, value: `${fmt(vsLmdb, 2)}x`, pass: vsLmdb >= 1 },
    { target: `event-loop p99 < 5 ms (1 MiB async reads and writes)`, value: `${fmt(p99, 2)} ms`, pass: p99 < 5 },
  ];

  const lines = [];
  const os = require('node:os');
  lines.push(
    `Node ${process.versions.node}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), load average ` +
      `${os.loadavg().map((l) => l.toFixed(1)).join(' ')} at the end of the run.`,
  );
  lines.push('');
  lines.push(`${fmt(n)} writes of ${VALUE_BYTES}-byte values, median of ${rounds} rounds (each trial a fresh process and store):`);
  lines.push('');
  lines.push('| peer | total (ms) | writes/s | queued in (ms) |');
  lines.push('| :-- | --: | --: | --: |');
  lines.push(`| sciqlop-cache \`set\` (sync, sequential) | ${fmt(ms('sync'))} | ${fmt(opsPerSec('sync'))} | |`);
  lines.push(
    `| sciqlop-cache \`setAsync\` (un-awaited, then \`Promise.all\`) | ${fmt(ms('async'))} | ${fmt(opsPerSec('async'))} | ${fmt(median(samples.async.map((r) => r.queuedMs)))} |`,
  );
  lines.push(
    `| lmdb \`put\` (un-awaited, then \`Promise.all\`) | ${fmt(ms('lmdb'))} | ${fmt(opsPerSec('lmdb'))} | ${fmt(median(samples.lmdb.map((r) => r.queuedMs)))} |`,
  );
  lines.push('');
  lines.push(
    `Event-loop delay while a loop writes and reads 1 MiB values for ${seconds} s (median of ${rounds} rounds for async, ` +
      `one run for sync and for an idle process, which shows the machine's own noise):`,
  );
  lines.push('');
  lines.push('| API | p50 (ms) | p99 (ms) | max (ms) | MiB/s moved |');
  lines.push('| :-- | --: | --: | --: | --: |');
  const loops = [
    ['async (`setAsync` + `getAsync`)', samples.asyncLoop],
    ['sync (`set` + `get`), for comparison', samples.syncLoop],
    ['idle process, for comparison', samples.idleLoop],
  ];
  for (const [label, list] of loops) {
    lines.push(
      `| ${label} | ${fmt(loopStat(list, 'p50'), 2)} | ${fmt(loopStat(list, 'p99'), 2)} | ${fmt(loopStat(list, 'max'), 2)} | ${fmt(loopStat(list, 'mibPerSec'))} |`,
    );
  }
  lines.push('');
  lines.push('| target | measured | |');
  lines.push('| :-- | --: | :-- |');
  for (const r of results) lines.push(`| ${r.target} | ${r.value} | ${r.pass ? 'PASS' : 'FAIL'} |`);
  process.stdout.write(`${lines.join('\n')}\n`);
  if (flag('check', false) && results.some((r) => !r.pass)) process.exitCode = 1;
}

if (flag('trial', false)) runTrialInThisProcess();
else main();
