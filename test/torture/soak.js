#!/usr/bin/env node
'use strict';
// Soak: a mixed load at a fixed rate on a size-limited Cache, with a second process doing
// the same on the same directory, reporting every 10 s the memory (RSS), open file
// descriptors, WAL size, disk volume, entries and p50/p99 latency. At the end it compares
// the first and the last third of the run: none of them may keep growing.
//
//   npm run soak -- --minutes 10 [--rate 1000] [--max-size 67108864] [--procs 2]
//                   [--dir DIR] [--report soak.json] [--interval 10]
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { Cache } = require(path.resolve(__dirname, '..', '..'));
const { rng } = require('./helpers/values');

function parseArgs(argv) {
  const o = { minutes: 10, rate: 1000, maxSize: 64 << 20, procs: 2, dir: '', report: '', interval: 10, child: false, seed: 1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => argv[++i];
    if (a === '--minutes') o.minutes = Number(next());
    else if (a === '--rate') o.rate = Number(next());
    else if (a === '--max-size') o.maxSize = Number(next());
    else if (a === '--procs') o.procs = Number(next());
    else if (a === '--dir') o.dir = next();
    else if (a === '--report') o.report = next();
    else if (a === '--interval') o.interval = Number(next());
    else if (a === '--seed') o.seed = Number(next());
    else if (a === '--child') o.child = true;
    else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

const KEYS = 50000;
const payloads = new Map();
/** A reusable payload of `size` bytes (generating fresh bytes would measure the generator). */
function payload(size) {
  let b = payloads.get(size);
  if (!b) {
    b = Buffer.alloc(size, size & 0xff);
    payloads.set(size, b);
  }
  return b;
}

/** One random operation; returns a promise for the async ones. */
function operation(store, r) {
  // Skewed key choice: a hot tenth of the keys gets most of the traffic.
  const k = r() < 0.7 ? r.int(KEYS / 10) : r.int(KEYS);
  const key = `key-${k}`;
  const d = r.int(1000);
  // Sizes on a grid, so that the soak reuses a bounded set of payload buffers.
  const size = () => {
    const s = r();
    return s < 0.7 ? 16 * r.int(125) : s < 0.95 ? 2000 + 64 * r.int(94) : 20000 + 8192 * r.int(60);
  };
  if (d < 420) return void store.get(key);
  if (d < 640) {
    const opts = r() < 0.2 ? { expire: 1 + r() * 30, tag: `t${r.int(5)}` } : undefined;
    return void store.set(key, { k, at: Date.now(), b: payload(size()) }, opts);
  }
  if (d < 680) return store.getAsync(key);
  if (d < 710) return store.setAsync(key, { k, b: payload(size()) });
  if (d < 760) return void store.delete(key);
  if (d < 810) return void store.incr(`counter-${r.int(100)}`);
  if (d < 840) return void store.pop(key);
  if (d < 860) return void store.add(key, { k, b: payload(size()) });
  if (d < 920) return void store.has(key);
  if (d < 960) {
    return void store.transact(() => {
      store.set(key, { k, b: payload(size()) });
      store.set(`key-${r.int(KEYS)}`, { k, b: payload(size()) });
    });
  }
  if (d < 970) return void store.touch(key, 5 + r() * 60);
  if (d < 972) return void store.evictTag(`t${r.int(5)}`);
  if (d < 973) return void store.expire();
  return void store.get(`key-${r.int(KEYS)}`);
}

function percentile(sorted, p) {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function openFds() {
  try {
    return fs.readdirSync('/proc/self/fd').length;
  } catch {
    return -1;
  }
}

function fileSize(f) {
  try {
    return fs.statSync(f).size;
  } catch {
    return 0;
  }
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const ownDir = !o.dir;
  const dir = o.dir || fs.mkdtempSync(path.join(os.tmpdir(), 'sqc-soak-'));
  const store = new Cache(path.join(dir, 'store'), { maxSize: o.maxSize });
  const r = rng(o.seed + (o.child ? 1000 : 0));
  const endAt = Date.now() + o.minutes * 60000;
  const helpers = [];
  if (!o.child) {
    for (let p = 1; p < o.procs; p++) {
      const h = spawn(process.execPath, [__filename, '--child', '--dir', dir, '--minutes', String(o.minutes + 1), '--rate', String(o.rate / 2), '--max-size', String(o.maxSize), '--seed', String(o.seed + p)], { stdio: ['ignore', 'ignore', 'inherit'] });
      helpers.push(h);
    }
  }
  const wal = path.join(dir, 'store', 'sciqlop-cache.db-wal');
  const samples = [];
  let latencies = [];
  let done = 0;
  let errors = 0;
  let intervalStart = Date.now();
  const tickMs = 10;
  let credit = 0;
  let lastTick = Date.now();
  const started = Date.now();
  if (!o.child) {
    console.log(`soak: ${o.minutes} min at ${o.rate} ops/s, maxSize ${o.maxSize} B, ${o.procs} process(es), ${dir}`);
    console.log('  t(s)   ops/s   rss(MB)  heap(MB)  fds  wal(MB)  volume(MB)  values(MB)  entries   p50(ms)  p99(ms)  max(ms)');
  }
  while (Date.now() < endAt) {
    const tickStart = Date.now();
    // Credit by elapsed time, so that slow ticks do not lower the rate.
    credit = Math.min(credit + ((tickStart - lastTick) * o.rate) / 1000, o.rate);
    lastTick = tickStart;
    const pending = [];
    while (credit >= 1) {
      credit -= 1;
      const t0 = process.hrtime.bigint();
      try {
        const p = operation(store, r);
        if (p) {
          pending.push(
            p.then(
              () => latencies.push(Number(process.hrtime.bigint() - t0) / 1e6),
              () => errors++,
            ),
          );
        } else latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      } catch (e) {
        errors++;
        if (errors < 5) console.error(`soak: ${e && e.code} ${e && e.message}`);
      }
      done++;
    }
    if (pending.length) await Promise.all(pending);
    if (!o.child && Date.now() - intervalStart >= o.interval * 1000) {
      const now = Date.now();
      latencies.sort((a, b) => a - b);
      const mem = process.memoryUsage();
      const s = {
        t: Math.round((now - started) / 1000),
        opsPerSec: Math.round(done / ((now - intervalStart) / 1000)),
        rssMB: mem.rss / 2 ** 20,
        heapMB: mem.heapUsed / 2 ** 20,
        fds: openFds(),
        walMB: fileSize(wal) / 2 ** 20,
        volumeMB: store.volume() / 2 ** 20,
        valuesMB: store.valueBytes() / 2 ** 20,
        entries: store.size,
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        max: latencies[latencies.length - 1] || 0,
        errors,
      };
      samples.push(s);
      const f = (x, w, d = 1) => x.toFixed(d).padStart(w);
      console.log(
        `${f(s.t, 6, 0)} ${f(s.opsPerSec, 7, 0)} ${f(s.rssMB, 9)} ${f(s.heapMB, 9)} ${f(s.fds, 4, 0)} ${f(s.walMB, 8)} ${f(s.volumeMB, 11)} ${f(s.valuesMB, 11)} ${f(s.entries, 8, 0)} ${f(s.p50, 9, 3)} ${f(s.p99, 8, 3)} ${f(s.max, 8, 1)}`,
      );
      latencies = [];
      done = 0;
      intervalStart = now;
    }
    const wait = tickMs - (Date.now() - tickStart);
    if (wait > 0) await new Promise((res) => setTimeout(res, wait));
  }
  const report = store.check();
  store.close();
  for (const h of helpers) h.kill('SIGTERM');
  if (o.child) return;
  await Promise.all(helpers.map((h) => new Promise((res) => (h.exitCode !== null ? res() : h.on('exit', res)))));

  // Verdict: the last third against the first third.
  const third = Math.max(1, Math.floor(samples.length / 3));
  const first = samples.slice(0, third);
  const last = samples.slice(-third);
  const mean = (xs, k) => xs.reduce((a, s) => a + s[k], 0) / xs.length;
  const max = (xs, k) => Math.max(...xs.map((s) => s[k]));
  const checks = [
    ['rss', mean(last, 'rssMB'), mean(first, 'rssMB') * 1.25 + 32, 'MB (mean)'],
    ['open fds', max(last, 'fds'), max(first, 'fds') + 2, '(max)'],
    ['wal', max(last, 'walMB'), Math.max(max(first, 'walMB') * 1.5, 24), 'MB (max)'],
    ['volume', mean(last, 'volumeMB'), mean(first, 'volumeMB') * 1.3 + 16, 'MB (mean)'],
    ['value bytes', max(last, 'valuesMB'), (o.maxSize / 2 ** 20) * 1.1 + 8, 'MB (max, limit + one round of writes)'],
    ['p99 latency', mean(last, 'p99'), mean(first, 'p99') * 2 + 5, 'ms (mean of p99s)'],
  ];
  console.log(`\nfirst third: ${first.length} samples, last third: ${last.length} samples`);
  let ok = samples.length >= 3;
  for (const [name, got, bound, unit] of checks) {
    const pass = got <= bound;
    ok &&= pass;
    console.log(`  ${pass ? 'ok  ' : 'FAIL'} ${name}: ${got.toFixed(2)} <= ${bound.toFixed(2)} ${unit}`);
  }
  const totalErrors = samples.length ? samples[samples.length - 1].errors : errors;
  console.log(`  ${totalErrors === 0 ? 'ok  ' : 'FAIL'} errors: ${totalErrors}`);
  console.log(`  ${report.ok ? 'ok  ' : 'FAIL'} check(): ${JSON.stringify(report)}`);
  ok &&= totalErrors === 0 && report.ok;
  if (o.report) fs.writeFileSync(o.report, JSON.stringify({ options: o, samples, checks, check: report, ok }, null, 1));
  if (ownDir) fs.rmSync(dir, { recursive: true, force: true });
  console.log(ok ? 'soak: nothing grows without bound' : 'soak: FAILED');
  process.exitCode = ok ? 0 : 1;
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 2;
});
