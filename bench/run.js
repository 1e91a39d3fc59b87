#!/usr/bin/env node
'use strict';
/**
 * The Node benchmark (issues 3 and 6): this package's `Cache` against the libraries a user
 * would otherwise pick, measured side by side in one run.
 *
 *   npm run bench          # full (long): 100 .. 1,000,000 entries, 3 rounds, charts, READMEs
 *   npm run bench:quick    # the same workloads, smaller: under 2 minutes
 *   npm run bench:check    # the quick run, then the targets; exit 1 when one is missed
 *
 * Flags: --quick, --check, --sizes 1000,100000, --ops N, --rounds N, --peers a,b,c,
 * --workloads scaling,value-size,batch,lru,async,writers, --readme / --no-readme (write
 * bench/README.md and the README's Performance section; default: full runs only),
 * --charts / --no-charts (render bench/charts/; default: full runs only; other runs render
 * into bench/tmp/charts/), --keep (keep the stores under bench/tmp/).
 *
 * Every trial (one peer, one workload, one size) runs in its own child process (trial.js, or
 * diskcache_trial.py under /usr/bin/python3) on a fresh directory under bench/tmp/; the peers
 * are interleaved, and their order rotates from workload to workload and round to round. The
 * samples of all rounds are pooled before the percentiles are taken.
 */
const { spawn, spawnSync, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { summarize, VALUE_BYTES } = require('./common');
const { comparisonSize } = require('./charts');

const ROOT = path.resolve(__dirname, '..');
const PYTHON = '/usr/bin/python3';
const README = path.join(__dirname, 'README.md');
const MAIN_README = path.join(ROOT, 'README.md');
const SECTION = '## Node API benchmark';
const PERF_SECTION = '## Performance';
const CHARTS_DIR = path.join(__dirname, 'charts');
const OURS = 'sciqlop-cache';
const MiB = 1 << 20;

// ---- configuration ---------------------------------------------------------------------

const FULL = {
  sizes: [100, 1_000, 10_000, 100_000, 1_000_000],
  ops: 20_000,
  warmup: 2_000,
  rounds: 3,
  valueSizes: [64, 256, 1024, 4096, 16384, 65536, 262144, MiB],
  /** Timed bytes per value-size phase (fewer calls for large values, at least minValueOps). */
  valueOpsBytes: 64 * MiB,
  minValueOps: 64,
  /** Entries of the value-size stores: as many as fit in this many bytes, at most 1,000. */
  valueStoreBytes: 64 * MiB,
  batches: [1, 10, 100, 1000],
  batchStoreSize: 10_000,
  minBatches: 30,
  lruSize: 100_000,
  asyncSize: 10_000,
  concurrency: 32,
  writersSize: 10_000,
  writerOps: 10_000,
};
const QUICK = {
  ...FULL,
  sizes: [1_000, 10_000, 100_000],
  ops: 5_000,
  warmup: 500,
  rounds: 2,
  valueSizes: [64, 4096, 65536, MiB],
  valueOpsBytes: 4 * MiB,
  minValueOps: 32,
  valueStoreBytes: 4 * MiB,
  minBatches: 10,
  lruSize: 10_000,
  writerOps: 3_000,
  /**
   * The targets' workloads get two rounds, the others one (and so do the capped peers,
   * see LIMITS, in every workload), to stay under 2 minutes.
   */
  singleRound: ['value-size', 'lru', 'async', 'writers'],
};

/**
 * Peers whose every call writes or reads files of their own are capped: entry counts beyond
 * `entries` and more than `ops` timed calls per phase would take minutes per trial (measured
 * here: cacache ~0.8 ms per set, node-persist and keyv ~0.1 ms).
 */
const LIMITS = {
  cacache: { entries: { full: 10_000, quick: 1_000 }, ops: { full: 2_000, quick: 100 } },
  'node-persist': { entries: { full: 100_000, quick: 10_000 }, ops: { full: 5_000, quick: 300 } },
  'keyv-sqlite': { entries: { full: 1_000_000, quick: 10_000 }, ops: { full: 5_000, quick: 1_000 } },
};

const ALL_PEERS = ['sciqlop-cache', 'better-sqlite3', 'diskcache', 'lmdb', 'classic-level', 'keyv-sqlite', 'cacache', 'node-persist', 'map'];
const WORKLOADS = ['scaling', 'value-size', 'batch', 'lru', 'async', 'writers'];

function parseArgs(argv) {
  const a = { quick: false, check: false, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const f = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${f} needs a value`);
      return argv[++i];
    };
    if (f === '--quick') a.quick = true;
    else if (f === '--readme') a.readme = true;
    else if (f === '--no-readme') a.readme = false;
    else if (f === '--charts') a.charts = true;
    else if (f === '--no-charts') a.charts = false;
    else if (f === '--check') a.check = true;
    else if (f === '--keep') a.keep = true;
    else if (f === '--sizes') a.sizes = next().split(',').map(Number);
    else if (f === '--ops') a.ops = Number(next());
    else if (f === '--rounds') a.rounds = Number(next());
    else if (f === '--peers') a.peers = next().split(',');
    else if (f === '--workloads') a.workloads = next().split(',');
    else throw new Error(`unknown flag ${f} (see the header of bench/run.js)`);
  }
  for (const w of a.workloads ?? []) if (!WORKLOADS.includes(w)) throw new Error(`unknown workload ${w} (${WORKLOADS.join(', ')})`);
  const base = a.quick ? QUICK : FULL;
  const custom = Boolean(a.sizes || a.ops || a.rounds || a.peers || a.workloads);
  const mode = custom ? 'custom' : a.quick ? 'quick' : 'full';
  return {
    ...base,
    ...Object.fromEntries(Object.entries({ sizes: a.sizes, ops: a.ops, rounds: a.rounds }).filter(([, v]) => v !== undefined)),
    quick: a.quick,
    mode,
    readme: a.readme ?? mode === 'full',
    charts: a.charts ?? mode === 'full',
    check: a.check,
    keep: a.keep,
    peers: a.peers ?? ALL_PEERS,
    workloads: a.workloads ?? WORKLOADS,
  };
}

/** Targets of issues 3 and 6: ratios of medians measured in the same run. */
const TARGETS = [
  { op: 'set', batch: 1, peer: 'diskcache', kind: 'faster', x: 3 },
  { op: 'get', batch: 1, peer: 'diskcache', kind: 'faster', x: 1.5 },
  { op: 'set', batch: 1000, peer: 'diskcache', kind: 'faster', x: 8 },
  { op: 'set', batch: 1, peer: 'better-sqlite3', kind: 'within', x: 1.1 },
  { op: 'get', batch: 1, peer: 'better-sqlite3', kind: 'within', x: 1.0 },
];
/** Latency at the largest entry count over that at 1,000 (issue 6: 1,000,000 vs 1,000). */
const SCALING_TARGET = { ops: ['set', 'get', 'get-miss', 'delete'], from: 1_000, x: 1.3 };

// ---- peers -----------------------------------------------------------------------------

/** Name → { describe, sync, multiProcess, hasAsync, command(spec) } for every peer that runs here. */
function availablePeers(wanted) {
  const peers = new Map();
  for (const name of wanted) {
    if (name === 'diskcache') {
      const r = spawnSync(PYTHON, [path.join(__dirname, 'diskcache_trial.py'), '--version'], { encoding: 'utf8' });
      if (r.error || r.status !== 0) {
        const why = r.error
          ? `${PYTHON} is not available (${r.error.code ?? r.error.message})`
          : `\`import diskcache\` fails under ${PYTHON}: ${(r.stderr.trim().split('\n').pop() || `exit ${r.status}`)}`;
        console.error(`diskcache peer skipped: ${why}. Install it with \`apt-get install python3-diskcache\`; the targets against diskcache are reported as SKIP.`);
        continue;
      }
      peers.set(name, {
        describe: r.stdout.trim(),
        sync: true,
        multiProcess: true,
        hasAsync: false,
        command: (spec) => [PYTHON, [path.join(__dirname, 'diskcache_trial.py'), JSON.stringify(spec)]],
      });
      continue;
    }
    const file = path.join(__dirname, 'peers', `${name}.js`);
    if (!fs.existsSync(file)) throw new Error(`no peer ${name} (bench/peers/${name}.js)`);
    let peer;
    let describe;
    try {
      peer = require(file);
      describe = peer.describe();
    } catch (e) {
      console.error(`${name} peer skipped: it does not load here (${e.message.split('\n')[0]}); run \`npm install\`.`);
      continue;
    }
    peers.set(name, {
      describe,
      sync: peer.sync,
      multiProcess: peer.multiProcess,
      hasAsync: name === OURS ? asyncApiLanded() : !['better-sqlite3', 'map'].includes(name),
      command: (spec) => [process.execPath, [path.join(__dirname, 'trial.js'), JSON.stringify(spec)]],
    });
  }
  return peers;
}

/** Whether this build of the package has setAsync/getAsync (the async API of issue 5). */
function asyncApiLanded() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sciqlop-bench-probe-'));
  try {
    const { Cache } = require(ROOT);
    const cache = new Cache(dir);
    const has = typeof cache.setAsync === 'function' && typeof cache.getAsync === 'function';
    cache.close();
    return has;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const entriesCap = (cfg, peer) => LIMITS[peer]?.entries[cfg.quick ? 'quick' : 'full'] ?? Infinity;
const opsFor = (cfg, peer, ops) => Math.min(ops, LIMITS[peer]?.ops[cfg.quick ? 'quick' : 'full'] ?? Infinity);
const warmupFor = (cfg, peer) => Math.min(cfg.warmup, Math.ceil(opsFor(cfg, peer, cfg.ops) / 10));

/**
 * The round's workloads, each a list of entrants (one peer, maybe a variant of it) to be
 * interleaved; a spec's `size` is its entry count.
 */
function plan(cfg, peers) {
  const names = [...peers.keys()];
  const items = [];
  const want = (w) => cfg.workloads.includes(w);
  const entrant = (peer, spec, extra = {}) => ({ peer, variant: '', concurrency: 1, valueBytes: VALUE_BYTES, ...extra, spec: { peer, ...spec } });
  if (want('scaling')) {
    for (const size of cfg.sizes) {
      const list = names.filter((n) => size <= entriesCap(cfg, n));
      items.push({ workload: 'scaling', size, entrants: list.map((n) => entrant(n, { workload: 'scaling', size, ops: opsFor(cfg, n, cfg.ops), warmup: warmupFor(cfg, n) })) });
    }
  }
  if (want('value-size')) {
    for (const bytes of cfg.valueSizes) {
      const size = Math.max(16, Math.min(1000, Math.floor(cfg.valueStoreBytes / bytes)));
      const ops = Math.max(cfg.minValueOps, Math.min(cfg.ops, Math.floor(cfg.valueOpsBytes / bytes)));
      items.push({
        workload: 'value-size',
        size,
        entrants: names.map((n) => {
          const o = opsFor(cfg, n, ops);
          return entrant(n, { workload: 'value-size', size, valueBytes: bytes, phases: ['set', 'get'], ops: o, warmup: Math.max(8, Math.ceil(o / 10)) }, { valueBytes: bytes });
        }),
      });
    }
  }
  if (want('batch')) {
    items.push({
      workload: 'batch',
      size: cfg.batchStoreSize,
      entrants: names.map((n) =>
        entrant(n, {
          workload: 'batch',
          size: Math.min(cfg.batchStoreSize, entriesCap(cfg, n)),
          ops: opsFor(cfg, n, cfg.ops),
          batches: cfg.batches,
          minBatches: LIMITS[n] ? 2 : cfg.minBatches,
          warmBatches: LIMITS[n] ? 1 : undefined,
        }),
      ),
    });
  }
  if (want('lru') && peers.has(OURS)) {
    const size = cfg.lruSize;
    /** A limit never reached: every get records its access, nothing is evicted. */
    const variants = [['lru-off', {}], ['lru-on', { maxSize: 2 ** 40 }]];
    items.push({
      workload: 'lru',
      size,
      entrants: variants.map(([variant, peerOptions]) =>
        entrant(OURS, { workload: 'lru', size, ops: cfg.ops, warmup: cfg.warmup, peerOptions }, { variant }),
      ),
    });
  }
  if (want('async')) {
    const size = cfg.asyncSize;
    const list = names.filter((n) => peers.get(n).hasAsync);
    items.push({
      workload: 'async',
      size,
      entrants: list.map((n) => {
        const s = Math.min(size, entriesCap(cfg, n));
        const o = opsFor(cfg, n, cfg.ops);
        return entrant(n, { workload: 'async', size: s, ops: o, warmup: Math.ceil(o / 10), concurrency: cfg.concurrency }, { concurrency: cfg.concurrency });
      }),
    });
  }
  if (want('writers')) {
    const list = names.filter((n) => peers.get(n).multiProcess === true);
    for (const processes of [1, 2]) {
      items.push({
        workload: 'writers',
        size: cfg.writersSize,
        entrants: list.map((n) => {
          const s = Math.min(cfg.writersSize, entriesCap(cfg, n));
          const o = opsFor(cfg, n, cfg.writerOps);
          return entrant(n, { workload: 'writer', size: s, ops: o, warmup: Math.ceil(o / 10) }, { variant: `processes=${processes}`, concurrency: processes, processes });
        }),
      });
    }
  }
  return items;
}

// ---- running ---------------------------------------------------------------------------

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(7)}s`;

/** Runs one child with the peer's command; resolves to its parsed JSON output. */
function runChild(peers, spec) {
  const [cmd, args] = peers.get(spec.peer).command(spec);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    const chunks = [];
    child.stdout.on('data', (c) => chunks.push(c));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code !== 0) return reject(new Error(`trial ${JSON.stringify({ ...spec, dir: undefined })} failed (exit ${code ?? signal})`));
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch (e) {
        reject(new Error(`trial ${spec.peer} ${spec.workload}: bad output (${e.message})`));
      }
    });
  });
}

/** One entrant's trial: one child, or a fill then `processes` writers started together. */
async function runEntrant(peers, dir, e) {
  fs.mkdirSync(dir, { recursive: true });
  if (e.spec.workload !== 'writer') return [await runChild(peers, { ...e.spec, dir })];
  await runChild(peers, { ...e.spec, workload: 'fill', dir });
  const barrier = `${dir}.barrier`;
  fs.mkdirSync(barrier);
  try {
    const children = Array.from({ length: e.processes }, (_, w) => runChild(peers, { ...e.spec, dir, writer: w, barrier }));
    let failed = null;
    Promise.all(children).catch((err) => (failed = err));
    while (fs.readdirSync(barrier).length < e.processes && !failed) await new Promise((r) => setTimeout(r, 2));
    fs.writeFileSync(path.join(barrier, 'go.tmp'), String(Date.now() + 20));
    fs.renameSync(path.join(barrier, 'go.tmp'), path.join(barrier, 'go'));
    const outs = await Promise.all(children);
    const wallNs = (Math.max(...outs.map((o) => o.endMs)) - outs[0].startAt) * 1e6;
    return [{ ...outs[0], series: [{ op: 'set', batch: 1, wallNs, samples: outs.flatMap((o) => o.series[0].samples) }] }];
  } finally {
    fs.rmSync(barrier, { recursive: true, force: true });
  }
}

/**
 * runEntrant, tried a second time in a fresh directory if it fails. A peer whose trial fails
 * twice is left out of that measurement (returns null; the failure is listed at the end): a
 * third-party store's crash must not abort a 25-minute run. Ours failing is never skipped.
 */
async function runEntrantOrSkip(peers, dir, e, failures) {
  for (let attempt = 1; ; attempt++) {
    const where = attempt === 1 ? dir : `${dir}-retry`;
    try {
      return await runEntrant(peers, where, e);
    } catch (err) {
      fs.rmSync(where, { recursive: true, force: true });
      if (e.peer === OURS && attempt === 2) throw err;
      if (attempt === 2) {
        failures.push(`${e.peer} ${e.spec.workload}${e.variant ? ` ${e.variant}` : ''}, round ${e.spec.round + 1}: ${err.message}`);
        console.error(`  ${e.peer}: failed twice, left out of this measurement (${err.message})`);
        return null;
      }
      console.error(`  ${e.peer}: trial failed (${err.message}); trying again`);
    }
  }
}

async function runAll(cfg, peers, items, failures = []) {
  const tmpRoot = path.join(__dirname, 'tmp', `node-bench-${process.pid}`);
  fs.mkdirSync(tmpRoot, { recursive: true });
  const cleanup = () => cfg.keep || fs.rmSync(tmpRoot, { recursive: true, force: true });
  process.on('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  /** JSON row key → { key, samples: number[] (ns), wallNs, count, fills: number[] } */
  const acc = new Map();
  let turn = 0;
  let trial = 0;
  try {
    for (let round = 0; round < cfg.rounds; round++) {
      for (const item of items) {
        if (round > 0 && cfg.singleRound?.includes(item.workload)) continue;
        const n = item.entrants.length;
        const order = item.entrants.map((_, i) => item.entrants[(i + turn) % n]);
        turn++;
        for (const e of order) {
          if (round > 0 && cfg.singleRound && LIMITS[e.peer]) continue;
          const dir = path.join(tmpRoot, `t${trial++}-${e.peer}`);
          const spec = { ...e.spec, round, seed: 1000 * (round + 1) };
          const t0 = Date.now();
          const outs = (await runEntrantOrSkip(peers, dir, { ...e, spec }, failures)) ?? [];
          if (!cfg.keep) fs.rmSync(dir, { recursive: true, force: true });
          for (const out of outs) {
            for (const s of out.series) {
              const key = { workload: item.workload, entries: spec.size, peer: e.peer, variant: e.variant, op: s.op, batch: s.batch, valueBytes: e.valueBytes, concurrency: e.concurrency };
              const k = JSON.stringify(key);
              const a = acc.get(k) ?? { key, samples: [], wallNs: 0, count: 0, fills: [] };
              for (const v of s.samples) a.samples.push(v);
              if (s.wallNs) {
                a.wallNs += s.wallNs;
                a.count += s.samples.length;
              }
              if (out.fillNsPerOp !== undefined) a.fills.push(out.fillNsPerOp);
              acc.set(k, a);
            }
          }
          const label = `${item.workload}${e.variant ? ` ${e.variant}` : ''} ${item.workload === 'value-size' ? `${bytesLabel(e.valueBytes)} values` : `${num(spec.size)} entries`}`;
          console.error(`[${elapsed()}] ${label}, round ${round + 1}: ${e.peer} (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
        }
      }
    }
  } finally {
    cleanup();
  }
  return acc;
}

// ---- results ---------------------------------------------------------------------------

function aggregate(acc) {
  const rows = [];
  for (const a of acc.values()) {
    const s = summarize(a.samples);
    const opsPerS = a.wallNs ? a.count / (a.wallNs / 1e9) : 1e6 / s.mean;
    const fill = a.fills.length ? a.fills.reduce((x, y) => x + y, 0) / a.fills.length / 1000 : NaN;
    rows.push({ ...a.key, ...s, opsPerS, mbPerS: (opsPerS * a.key.valueBytes) / 1e6, fillUs: fill });
  }
  const order = (r) => [WORKLOADS.indexOf(r.workload), r.op, r.variant, r.entries, r.valueBytes, r.batch, ALL_PEERS.indexOf(r.peer)];
  return rows.sort((x, y) => {
    const a = order(x);
    const b = order(y);
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
    return 0;
  });
}

const find = (rows, q) => rows.find((r) => Object.entries(q).every(([k, v]) => r[k] === v));
const fmt = (us) => (Number.isFinite(us) ? (us >= 100 ? us.toFixed(0) : us >= 10 ? us.toFixed(1) : us.toFixed(2)) : '–');
const num = (n) => n.toLocaleString('en-US');
const rate = (x) => (!Number.isFinite(x) ? '–' : x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e4 ? `${(x / 1e3).toFixed(0)}k` : x >= 1e3 ? `${(x / 1e3).toFixed(1)}k` : x.toFixed(0));
const bytesLabel = (b) => (b >= MiB ? `${b / MiB} MiB` : b >= 1024 ? `${b / 1024} KiB` : `${b} B`);
const OP_LABEL = { set: 'set', get: 'get (hit, random)', 'get-miss': 'get (miss)', delete: 'delete' };

const CSV_COLUMNS = [
  ['workload', 'workload'], ['entries', 'entries'], ['peer', 'peer'], ['variant', 'variant'], ['op', 'op'], ['batch', 'batch'],
  ['value_bytes', 'valueBytes'], ['concurrency', 'concurrency'], ['n', 'n'], ['p50_us', 'p50'], ['p99_us', 'p99'], ['p999_us', 'p999'],
  ['mean_us', 'mean'], ['ops_per_s', 'opsPerS'], ['mb_per_s', 'mbPerS'], ['min_us', 'min'], ['p25_us', 'p25'], ['p75_us', 'p75'],
  ['p90_us', 'p90'], ['max_us', 'max'], ['fill_us_per_set', 'fillUs'],
];

function writeCsv(cfg, rows, stamp, meta) {
  const dir = path.join(__dirname, 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `node-api-${cfg.mode}-${stamp}.csv`);
  const cell = (v) => (typeof v === 'number' ? (Number.isFinite(v) ? String(+v.toFixed(3)) : '') : String(v));
  const body = rows.map((r) => CSV_COLUMNS.map(([, k]) => cell(r[k])).join(','));
  fs.writeFileSync(file, [CSV_COLUMNS.map(([c]) => c).join(','), ...body].join('\n') + '\n');
  fs.writeFileSync(file.replace(/\.csv$/, '.json'), JSON.stringify(meta, null, 2) + '\n');
  return path.relative(ROOT, file);
}

/** Markdown table: one line per (label, query), p50 and p99 per peer. */
function latencyTable(rows, names, lines, firstHeader) {
  const used = names.filter((n) => lines.some(([, q]) => find(rows, { ...q, peer: n })));
  const out = [
    `| ${firstHeader} | ${used.map((n) => `${n} p50 | p99`).join(' | ')} |`,
    `| :-- | ${used.map(() => '--: | --:').join(' | ')} |`,
  ];
  for (const [label, q] of lines) {
    const cells = used.map((n) => {
      const r = find(rows, { ...q, peer: n });
      return r ? `${fmt(r.p50)} | ${fmt(r.p99)}` : '– | –';
    });
    out.push(`| ${label} | ${cells.join(' | ')} |`);
  }
  return out.join('\n');
}

function tables(cfg, names, rows) {
  const t = {};
  const scaling = [];
  for (const op of ['set', 'get', 'get-miss', 'delete']) {
    for (const size of cfg.sizes) scaling.push([`${OP_LABEL[op]}, ${num(size)}`, { workload: 'scaling', op, entries: size, batch: 1 }]);
  }
  t.scaling = latencyTable(rows, names, scaling, 'operation, entries');
  t.valueSize = (() => {
    const lines = [];
    const used = names.filter((n) => rows.some((r) => r.workload === 'value-size' && r.peer === n));
    lines.push(`| value size | op | ${used.map((n) => `${n} p50 µs | MB/s`).join(' | ')} |`, `| --: | :-- | ${used.map(() => '--: | --:').join(' | ')} |`);
    for (const bytes of cfg.valueSizes) {
      for (const op of ['set', 'get']) {
        const cells = used.map((n) => {
          const r = find(rows, { workload: 'value-size', op, valueBytes: bytes, peer: n });
          return r ? `${fmt(r.p50)} | ${fmt(r.mbPerS)}` : '– | –';
        });
        if (cells.some((c) => c !== '– | –')) lines.push(`| ${bytesLabel(bytes)} | ${op} | ${cells.join(' | ')} |`);
      }
    }
    return lines.join('\n');
  })();
  t.batch = latencyTable(rows, names, cfg.batches.map((b) => [`${num(b)} per batch`, { workload: 'batch', op: 'set', batch: b }]), 'sets per transaction (per set)');
  t.lru = (() => {
    const ops = ['set', 'get', 'get-miss', 'delete'];
    const lines = [`| sciqlop-cache, 256 B values | ${ops.map((o) => `${OP_LABEL[o]} p50 | p99`).join(' | ')} |`, `| :-- | ${ops.map(() => '--: | --:').join(' | ')} |`];
    const label = { 'lru-off': 'no maxSize', 'lru-on': 'maxSize 1 TiB (accesses recorded, nothing evicted)' };
    const at = (variant, op) => find(rows, { workload: 'lru', variant, op });
    for (const v of ['lru-off', 'lru-on']) {
      if (ops.some((o) => at(v, o))) lines.push(`| ${label[v]} | ${ops.map((o) => `${fmt(at(v, o)?.p50)} | ${fmt(at(v, o)?.p99)}`).join(' | ')} |`);
    }
    if (lines.length < 4) return '';
    const ratio = (o) => (at('lru-on', o) && at('lru-off', o) ? `${(at('lru-on', o).p50 / at('lru-off', o).p50).toFixed(2)}x` : '–');
    lines.push(`| on / off | ${ops.map((o) => `${ratio(o)} | `).join(' | ')} |`);
    return lines.join('\n');
  })();
  t.async = (() => {
    const lines = [`| peer (${cfg.concurrency} calls in flight) | set ops/s | set p50 µs | set p99 µs | get ops/s | get p50 µs | get p99 µs |`, '| :-- | --: | --: | --: | --: | --: | --: |'];
    for (const n of names) {
      const s = find(rows, { workload: 'async', op: 'set-async', peer: n });
      const g = find(rows, { workload: 'async', op: 'get-async', peer: n });
      if (s || g) lines.push(`| ${n} | ${rate(s?.opsPerS)} | ${fmt(s?.p50)} | ${fmt(s?.p99)} | ${rate(g?.opsPerS)} | ${fmt(g?.p50)} | ${fmt(g?.p99)} |`);
    }
    return lines.length > 2 ? lines.join('\n') : '';
  })();
  t.writers = (() => {
    const lines = ['| peer | 1 process: sets/s | p50 µs | p99 µs | 2 processes: sets/s (total) | p50 µs | p99 µs |', '| :-- | --: | --: | --: | --: | --: | --: |'];
    for (const n of names) {
      const one = find(rows, { workload: 'writers', variant: 'processes=1', peer: n });
      const two = find(rows, { workload: 'writers', variant: 'processes=2', peer: n });
      if (one || two) lines.push(`| ${n} | ${rate(one?.opsPerS)} | ${fmt(one?.p50)} | ${fmt(one?.p99)} | ${rate(two?.opsPerS)} | ${fmt(two?.p50)} | ${fmt(two?.p99)} |`);
    }
    return lines.length > 2 ? lines.join('\n') : '';
  })();
  return t;
}

function comparisonTable(rows, names) {
  const size = comparisonSize(rows);
  if (!size) return { size, table: '' };
  const lines = [`| peer | set | get (hit) | get (miss) | delete | sets in batches of 1,000 |`, '| :-- | --: | --: | --: | --: | --: |'];
  for (const n of names) {
    const c = (q) => rate(find(rows, { workload: 'scaling', entries: size, peer: n, batch: 1, ...q })?.opsPerS);
    const b = rate(find(rows, { workload: 'batch', peer: n, op: 'set', batch: 1000 })?.opsPerS);
    lines.push(`| ${n} | ${c({ op: 'set' })} | ${c({ op: 'get' })} | ${c({ op: 'get-miss' })} | ${c({ op: 'delete' })} | ${b} |`);
  }
  return { size, table: lines.join('\n') };
}

function targetResults(cfg, rows) {
  const results = [];
  const scalingSizes = [...new Set(rows.filter((r) => r.workload === 'scaling' && r.peer === OURS).map((r) => r.entries))].sort((a, b) => a - b);
  const batchSize = rows.find((r) => r.workload === 'batch' && r.peer === OURS)?.entries ?? cfg.batchStoreSize;
  for (const t of TARGETS) {
    const sizes = t.batch === 1 ? scalingSizes.filter((s) => s >= 1_000) : [batchSize];
    for (const entries of sizes) {
      const workload = t.batch === 1 ? 'scaling' : 'batch';
      const ours = find(rows, { workload, peer: OURS, op: t.op, batch: t.batch, entries });
      const theirs = find(rows, { workload, peer: t.peer, op: t.op, batch: t.batch, entries });
      const label = `${t.op}${t.batch > 1 ? `, batch of ${num(t.batch)}` : ''} vs ${t.peer}`;
      if (!ours || !theirs) {
        const p50 = (row) => (row ? `${fmt(row.p50)} µs` : '–');
        results.push({ label, entries, ours: p50(ours), theirs: p50(theirs), text: '–', need: '', status: 'SKIP' });
        continue;
      }
      let text, pass, need;
      /** Two decimals, or three when two would round onto the limit and hide which side it is. */
      const x = (r) => r.toFixed(+r.toFixed(2) === t.x ? 3 : 2);
      if (t.kind === 'faster') {
        const r = theirs.p50 / ours.p50;
        text = `${x(r)}x faster`;
        need = `≥ ${t.x}x faster`;
        pass = r >= t.x;
      } else {
        const r = ours.p50 / theirs.p50;
        text = `${x(r)}x its time`;
        need = t.x === 1 ? '≤ 1.00x (no slower)' : `≤ ${t.x.toFixed(2)}x`;
        pass = r <= t.x;
      }
      results.push({ label, entries, ours: `${fmt(ours.p50)} µs`, theirs: `${fmt(theirs.p50)} µs`, text, need, status: pass ? 'PASS' : 'FAIL' });
    }
  }
  const largest = scalingSizes[scalingSizes.length - 1];
  for (const op of SCALING_TARGET.ops) {
    const label = `${OP_LABEL[op]}: p50 at ${num(largest ?? 0)} / at ${num(SCALING_TARGET.from)}`;
    const at = (peer, entries) => find(rows, { workload: 'scaling', peer, op, batch: 1, entries });
    const lo = at(OURS, SCALING_TARGET.from);
    const hi = at(OURS, largest);
    if (!lo || !hi || largest === SCALING_TARGET.from) {
      results.push({ label, entries: largest, text: '–', need: '', status: 'SKIP' });
      continue;
    }
    const r = hi.p50 / lo.p50;
    const b = [at('better-sqlite3', SCALING_TARGET.from), at('better-sqlite3', largest)];
    results.push({
      label,
      entries: largest,
      ours: `${fmt(hi.p50)} / ${fmt(lo.p50)} µs`,
      theirs: b[0] && b[1] ? `better-sqlite3: ${(b[1].p50 / b[0].p50).toFixed(2)}x` : '',
      text: `${r.toFixed(2)}x`,
      need: `≤ ${SCALING_TARGET.x}x`,
      status: r <= SCALING_TARGET.x ? 'PASS' : 'FAIL',
    });
  }
  return results;
}

function targetTable(results) {
  const lines = [`| target (medians) | entries | ${OURS} | peer | ratio | needed | |`, '| :-- | --: | --: | --: | --: | :-- | :-- |'];
  for (const r of results) {
    lines.push(`| ${r.label} | ${num(r.entries ?? 0)} | ${r.ours ?? '–'} | ${r.theirs ?? '–'} | ${r.text} | ${r.need} | ${r.status === 'PASS' ? 'PASS' : `**${r.status}**`} |`);
  }
  return lines.join('\n');
}

// ---- machine and READMEs -----------------------------------------------------------------

function machine() {
  const sh = (cmd, args) => execFileSync(cmd, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  let nproc;
  try {
    nproc = sh('nproc', []);
  } catch {
    nproc = String(os.availableParallelism?.() ?? os.cpus().length);
  }
  let fsType = '?';
  for (const [cmd, args] of [['findmnt', ['-n', '-o', 'FSTYPE', '-T', path.join(__dirname, 'tmp')]], ['stat', ['-f', '-c', '%T', path.join(__dirname, 'tmp')]]]) {
    try {
      fsType = sh(cmd, args);
      break;
    } catch {}
  }
  let commit = '?';
  try {
    commit = sh('git', ['rev-parse', '--short', 'HEAD']);
    if (sh('git', ['status', '--porcelain', '--', 'lib', 'binding', 'native', 'CMakeLists.txt'])) commit += ' with uncommitted changes to lib/, binding/ or native/';
  } catch {}
  let addon = '?';
  try {
    addon = fs.statSync(path.join(ROOT, 'build', 'Release', 'sciqlop-cache.node')).mtime.toISOString().replace(/\.\d+Z$/, 'Z');
  } catch {}
  return {
    commit,
    addon,
    nproc,
    cpu: os.cpus()[0]?.model ?? '?',
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    fsType,
    loadStart: loadavg(),
  };
}

const loadavg = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

/**
 * Replaces section `heading` (up to the next "## ") of `file`, or inserts it before `before`.
 * A "### Reading the results" subsection of the old section is hand-written: it is kept.
 */
function replaceSection(file, heading, body, before) {
  let text = fs.readFileSync(file, 'utf8');
  const start = text.indexOf(`\n${heading}\n`);
  if (start < 0) {
    const at = before ? text.indexOf(`\n${before}\n`) : -1;
    text = at < 0 ? text.replace(/\n*$/, '\n\n') + body : text.slice(0, at + 1) + body + '\n' + text.slice(at + 1);
  } else {
    const from = start + 1 + heading.length;
    const next = text.slice(from).search(/\n## /);
    const old = text.slice(from, next < 0 ? text.length : from + next + 1);
    const notes = old.indexOf('\n### Reading the results\n');
    const kept = notes < 0 ? '' : '\n' + old.slice(notes + 1).replace(/\n*$/, '\n');
    text = text.slice(0, start + 1) + body + kept + (next < 0 ? '' : '\n' + text.slice(from + next + 1));
  }
  fs.writeFileSync(file, text);
}

function resultsHeader(m, peers, r) {
  return `- Date: ${r.date}
- Machine: ${m.cpu}, \`nproc\` = ${m.nproc}, ${m.memGiB} GiB, ${m.os}, stores on ${m.fsType}; load average (1, 5, 15 min) ${m.loadStart} at the start, ${m.loadEnd} at the end (the machine was shared with other builds and tests)
- Node ${m.node}; ${[...peers.values()].map((p) => p.describe).join('; ')}
- Source: commit ${m.commit}; addon \`build/Release/sciqlop-cache.node\` built ${m.addon}
- Command: \`${r.command}\` (${r.minutes} minutes)
- CSV: \`${r.csv}\`${r.failures?.length ? `\n- Left out (a peer's trial failed twice): ${r.failures.join('; ')}` : ''}`;
}

function benchReadmeSection(cfg, m, peers, r) {
  const caps = Object.entries(LIMITS).map(([p, l]) => `${p} at most ${num(l.entries.full)} entries (${num(l.entries.quick)} quick) and ${num(l.ops.full)} timed calls per phase (${num(l.ops.quick)})`).join('; ');
  return `${SECTION}

\`\`\`sh
npm run bench          # full: ${num(FULL.sizes[0])} to ${num(FULL.sizes.at(-1))} entries, ${FULL.rounds} rounds, all workloads${cfg.mode === 'full' ? `: ${r.minutes} minutes here` : ''}
npm run bench:quick    # the same workloads, smaller (${num(QUICK.sizes[0])} to ${num(QUICK.sizes.at(-1))} entries, ${QUICK.rounds} rounds): under 2 minutes
npm run bench:check    # the quick run, then the targets below; exit 1 when one is missed
\`\`\`

\`bench/run.js\` measures, in one run, this package's public API (\`Cache\` with
\`BytesSerializer\`, loaded from \`dist/\`; batches in \`cache.transact(fn)\`) against, each in
\`bench/peers/\` (the header of each file says how it is used and why):

- \`better-sqlite3@12\` as a minimal hand-written cache: \`cache(key TEXT PRIMARY KEY, value BLOB)
  WITHOUT ROWID\`, WAL, \`synchronous=NORMAL\`, prepared statements, \`db.transaction()\` for batches;
- Python's \`diskcache.Cache\` with its defaults (\`bench/diskcache_trial.py\` under \`/usr/bin/python3\`;
  skipped with a message when \`import diskcache\` fails there, e.g. without the Debian package
  \`python3-diskcache\`);
- \`lmdb\` (synchronous \`get\`/\`putSync\`/\`transactionSync\`; \`noSync\`, the durability of WAL with
  \`synchronous=NORMAL\`), \`classic-level\` (LevelDB), \`keyv\` with \`@keyv/sqlite\` (switched to WAL
  with \`synchronous=NORMAL\`), \`cacache\` and \`node-persist\` (one file per entry), with their
  other defaults; the asynchronous ones are awaited call by call. node-persist writes through a
  queue: with several writes in flight, the ones behind the first wait for its 1-second timer
  (its p99 in the async and batch rows);
- a plain in-memory \`Map\`, the floor: the cost of a call that persists nothing.

Method: each trial (one peer, one workload, one size) runs in its own child process on a fresh
directory under \`bench/tmp/\` (gitignored, the same filesystem for every peer). The store is
filled untimed, then every operation is warmed up (not counted), then each call is timed alone
(\`process.hrtime.bigint()\`, \`time.perf_counter_ns()\` in Python) on keys drawn at random with the
same seeds for every peer. Every write stores a value that differs from the one it replaces (a
counter in its first 8 bytes): SQLite skips rewriting a byte-identical row. Peers are
interleaved trial by trial, their order rotating, for ${FULL.rounds} rounds (quick: ${QUICK.rounds} for scaling
and batch, which the targets use, 1 for the rest);
the samples of all rounds are pooled before the percentiles are taken. Every run writes all
numbers (p50, p99, p99.9, mean, ops/s from the mean, or from the wall time when calls overlap,
MB/s, quartiles for the distribution chart) to
\`bench/results/node-api-{full,quick,custom}-<date>.csv\` and the machine, versions and load
average to the \`.json\` beside it; \`node bench/charts.js <csv> [dir]\` renders the charts from a CSV.

Workloads (full run; quick in parentheses):

- **scaling**: ${FULL.sizes.map(num).join(', ')} entries (${QUICK.sizes.map(num).join(', ')}) of 256 B: set (overwrite of a random
  key), get hit in random order, get miss, delete (of a present key, written back untimed);
  ${num(FULL.ops)} calls each (${num(QUICK.ops)}).
- **value size**: ${FULL.valueSizes.map(bytesLabel).join(', ')} (${QUICK.valueSizes.map(bytesLabel).join(', ')}): set and get on a store of up
  to 1,000 entries (${bytesLabel(FULL.valueStoreBytes)} of values at most); ${bytesLabel(FULL.valueOpsBytes)} of timed values per
  phase, at least ${FULL.minValueOps} calls; MB/s = value bytes / mean time.
- **batch**: 1, 10, 100 and 1,000 sets per transaction (per \`batch()\` for classic-level,
  \`setMany()\` for keyv, \`Promise.all\` for cacache and node-persist) on ${num(FULL.batchStoreSize)} entries, per set.
- **LRU**: sciqlop-cache without \`maxSize\` and with a limit never reached (1 TiB: every access
  is recorded for the LRU order, nothing is evicted), ${num(FULL.lruSize)} entries (${num(QUICK.lruSize)}), the
  scaling workload's four operations.
- **async**: ${FULL.concurrency} calls in flight on the peer's asynchronous API, ${num(FULL.asyncSize)} entries:
  sciqlop-cache \`setAsync\`/\`getAsync\` (skipped with a message on a build without them), lmdb
  \`put\` (it has no asynchronous get), classic-level, keyv, cacache, node-persist.
- **two writers**: ${num(FULL.writersSize)} entries filled untimed, then one or two processes each
  timing ${num(FULL.writerOps)} sets (${num(QUICK.writerOps)}) of random keys from the same instant; sets/s is all the
  sets over the time until the last one. Not run for classic-level (LevelDB locks its directory:
  a second process cannot open it) and the Map (one process).

Caps (these peers take 40 µs to 1 ms per set here, so their full-size trials would take
minutes each): ${caps}.

Targets (issues 3 and 6), medians of the same run: set at least 3x faster than diskcache, get
at least 1.5x, sets in batches of 1,000 at least 8x per set; set within 1.1x of the
hand-written better-sqlite3 cache and get no slower than it (at every entry count from 1,000);
latency at the largest entry count (1,000,000; 100,000 quick) within 1.3x of that at 1,000
(set, get hit, get miss and delete; better-sqlite3's own ratio is shown beside).

\`npm run bench:async\` (\`bench/async.js\`, issue 5) complements the async row: batched writes
against lmdb and the event loop's delay under 1 MiB reads and writes.

\`node bench/layers.js [entries]\` (a diagnostic, not part of the run) shows where a sciqlop-cache
operation spends its time: the public API, the addon called directly, better-sqlite3 running the
engine's own SQL on the engine's schema (with its triggers), and the minimal table above.

### Results

${resultsHeader(m, peers, r)}

Latency per operation in µs, 256-byte values:

${r.tables.scaling}

Value size (p50 in µs, MB/s from the mean):

${r.tables.valueSize}

Batched sets, µs per set:

${r.tables.batch}
${r.tables.lru ? `\nLRU bookkeeping and eviction (µs):\n\n${r.tables.lru}\n` : ''}${r.tables.async ? `\nAsynchronous API, ${cfg.concurrency} calls in flight (${num(cfg.asyncSize)} entries):\n\n${r.tables.async}\n` : ''}${r.tables.writers ? `\nOne or two processes writing one store (${num(cfg.writersSize)} entries, sets of random keys):\n\n${r.tables.writers}\n` : ''}
Targets:

${r.targetTable}
`;
}

function perfSection(m, peers, r) {
  const chart = (name, alt) => `![${alt}](bench/charts/${name}.png)`;
  return `${PERF_SECTION}

Measured side by side in one run against the libraries a Node user would otherwise pick (each
trial in its own process, peers interleaved, on the same filesystem); the method, every table
and the caps on the slowest peers are in [bench/README.md](bench/README.md#node-api-benchmark).
Reproduce with:

\`\`\`sh
${r.command}
\`\`\`

${resultsHeader(m, peers, r)}

Operations per second at ${num(r.comparison.size)} entries of 256 B (one call at a time, from the mean time per call; the last column per set, in transactions of 1,000):

${r.comparison.table}

${chart('peers', 'Operations per second by peer')}

${chart('scaling', 'Median latency from 100 to 1,000,000 entries')}

${chart('distribution', 'Latency distribution per entry count')}

${chart('value-size', 'Latency against value size')}

${chart('batch', 'Cost per set against batch size')}

Targets (\`npm run bench:check\` checks them on a quick run):

${r.targetTable}
`;
}

// ---- main ------------------------------------------------------------------------------

async function main() {
  const cfg = parseArgs(process.argv.slice(2));
  const script = { full: 'npm run bench', quick: 'npm run bench:quick' }[cfg.mode];
  const command = cfg.check && cfg.mode === 'quick' ? 'npm run bench:check' : script ?? `node bench/run.js ${process.argv.slice(2).join(' ')}`;
  const m = machine();
  const peers = availablePeers(cfg.peers);
  const names = [...peers.keys()];
  if (cfg.workloads.includes('async') && peers.has(OURS) && !peers.get(OURS).hasAsync) {
    console.error('sciqlop-cache async row skipped: this build has no setAsync/getAsync.');
  }
  const items = plan(cfg, peers);
  const once = (i, e) => cfg.singleRound && (cfg.singleRound.includes(i.workload) || LIMITS[e.peer]);
  const trials = items.reduce((s, i) => s + i.entrants.reduce((t, e) => t + (once(i, e) ? 1 : cfg.rounds), 0), 0);
  console.error(`${command}: ${names.join(', ')}; ${cfg.workloads.join(', ')}; ${trials} trials in ${cfg.rounds} rounds`);
  for (const n of names) console.error(`  ${peers.get(n).describe}`);
  console.error(`  ${m.cpu}, nproc ${m.nproc}, Node ${m.node}, load ${m.loadStart}`);

  const failures = [];
  const acc = await runAll(cfg, peers, items, failures);
  m.loadEnd = loadavg();
  const rows = aggregate(acc);
  const date = new Date();
  const stamp = date.toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  const meta = { date: date.toISOString(), seconds: Math.round((Date.now() - started) / 1000), command, config: cfg, machine: m, peers: Object.fromEntries([...peers].map(([n, p]) => [n, p.describe])) };
  const csv = writeCsv(cfg, rows, stamp, meta);
  const results = targetResults(cfg, rows);
  const r = {
    date: date.toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
    command,
    csv,
    minutes: Math.max(1, Math.round((Date.now() - started) / 60000)),
    tables: tables(cfg, names, rows),
    comparison: comparisonTable(rows, names),
    targetTable: targetTable(results),
    failures,
  };

  console.log(`\nLatency per operation in µs (256-byte values; p50 = median):\n\n${r.tables.scaling}\n`);
  console.log(`Value size:\n\n${r.tables.valueSize}\n\nBatches (µs per set):\n\n${r.tables.batch}\n`);
  for (const [title, t] of [['LRU', r.tables.lru], ['Async', r.tables.async], ['Writers', r.tables.writers]]) if (t) console.log(`${title}:\n\n${t}\n`);
  console.log(`Operations per second at ${num(r.comparison.size ?? 0)} entries:\n\n${r.comparison.table}\n`);
  console.log(`Targets:\n\n${r.targetTable}\n`);
  const failed = results.filter((x) => x.status === 'FAIL').length;
  const skipped = results.filter((x) => x.status === 'SKIP').length;
  console.log(`${results.length - failed - skipped} PASS, ${failed} FAIL, ${skipped} SKIP. CSV: ${csv}. Load average ${m.loadStart} at the start, ${m.loadEnd} at the end (${elapsed().trim()}).`);
  if (failures.length) console.log(`Trials left out (a peer failed twice):\n${failures.map((f) => `- ${f}`).join('\n')}`);

  const chartsDir = cfg.charts ? CHARTS_DIR : path.join(__dirname, 'tmp', 'charts');
  try {
    const files = await require('./charts').renderCharts(path.join(ROOT, csv), chartsDir);
    console.log(`Charts: ${files.map((f) => path.relative(ROOT, f)).join(', ')}`);
  } catch (e) {
    console.error(`charts not rendered: ${e.stack ?? e}`);
    if (cfg.charts) process.exitCode = 1;
  }
  if (cfg.readme) {
    replaceSection(README, SECTION, benchReadmeSection(cfg, m, peers, r));
    replaceSection(MAIN_README, PERF_SECTION, perfSection(m, peers, r), '## How it works');
    console.log(`Wrote the "${SECTION}" section of bench/README.md and the "${PERF_SECTION}" section of README.md.`);
  }
  if (cfg.check && failed) process.exitCode = 1;
}

module.exports = { replaceSection, benchReadmeSection, perfSection, tables, comparisonTable, targetResults, targetTable, aggregate };

if (require.main === module) {
  main().catch((e) => {
    console.error(e.stack ?? e);
    process.exit(1);
  });
}
