#!/usr/bin/env node
'use strict';
/**
 * The Node API benchmark (issue 3): this package's `Cache` against better-sqlite3 used as a
 * minimal hand-written cache and against Python's diskcache, measured in one run.
 *
 *   npm run bench                      # full: 1,000 / 100,000 / 1,000,000 entries
 *   npm run bench -- --quick           # 1,000 / 100,000 entries, fewer ops: under 2 minutes
 *
 * Flags: --quick, --sizes 1000,100000, --ops N, --rounds N, --peers a,b,c, --readme (also
 * write bench/README.md after a quick run), --no-readme, --check (exit 1 when a target is
 * missed), --keep (keep the stores under bench/tmp/).
 *
 * Every trial (one peer, one workload, one entry count) runs in its own child process
 * (trial.js, or diskcache_trial.py under /usr/bin/python3) on a fresh directory under
 * bench/tmp/; the peers are interleaved, and their order rotates from round to round. The
 * samples of all rounds are pooled before the medians and p99 are taken.
 */
const { spawnSync, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { summarize } = require('./common');

const ROOT = path.resolve(__dirname, '..');
const PYTHON = '/usr/bin/python3';
const README = path.join(__dirname, 'README.md');
const SECTION = '## Node API benchmark';

// ---- configuration ---------------------------------------------------------------------

const FULL = { sizes: [1_000, 100_000, 1_000_000], ops: 20_000, warmup: 2_000, rounds: 3, minBatches: 30 };
const QUICK = { sizes: [1_000, 100_000], ops: 10_000, warmup: 1_000, rounds: 2, minBatches: 10 };

function parseArgs(argv) {
  const a = { quick: false, readme: undefined, check: false, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const f = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${f} needs a value`);
      return argv[++i];
    };
    if (f === '--quick') a.quick = true;
    else if (f === '--readme') a.readme = true;
    else if (f === '--no-readme') a.readme = false;
    else if (f === '--check') a.check = true;
    else if (f === '--keep') a.keep = true;
    else if (f === '--sizes') a.sizes = next().split(',').map(Number);
    else if (f === '--ops') a.ops = Number(next());
    else if (f === '--rounds') a.rounds = Number(next());
    else if (f === '--peers') a.peers = next().split(',');
    else throw new Error(`unknown flag ${f} (see the header of bench/run.js)`);
  }
  const base = a.quick ? QUICK : FULL;
  return {
    ...base,
    ...Object.fromEntries(Object.entries({ sizes: a.sizes, ops: a.ops, rounds: a.rounds }).filter(([, v]) => v !== undefined)),
    quick: a.quick,
    mode: a.sizes || a.ops || a.rounds || a.peers ? 'custom' : a.quick ? 'quick' : 'full',
    readme: a.readme ?? !a.quick,
    check: a.check,
    keep: a.keep,
    peers: a.peers ?? ['sciqlop-cache', 'better-sqlite3', 'diskcache'],
    batches: [1, 10, 100, 1000],
    batchStoreSize: 10_000,
  };
}

const OURS = 'sciqlop-cache';
/** Targets of issue 3: ratios of medians, checked at every entry count. */
const TARGETS = [
  { op: 'set', batch: 1, peer: 'diskcache', kind: 'faster', x: 3 },
  { op: 'get', batch: 1, peer: 'diskcache', kind: 'faster', x: 1.5 },
  { op: 'set', batch: 1000, peer: 'diskcache', kind: 'faster', x: 8 },
  { op: 'set', batch: 1, peer: 'better-sqlite3', kind: 'within', x: 1.1 },
  { op: 'get', batch: 1, peer: 'better-sqlite3', kind: 'within', x: 1.0 },
];

// ---- peers -----------------------------------------------------------------------------

/** Name → { describe, command(spec) } for every peer that can run here; prints why one cannot. */
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
        command: (spec) => [PYTHON, [path.join(__dirname, 'diskcache_trial.py'), JSON.stringify(spec)]],
      });
    } else {
      const file = path.join(__dirname, 'peers', `${name}.js`);
      if (!fs.existsSync(file)) throw new Error(`no peer ${name} (bench/peers/${name}.js)`);
      peers.set(name, {
        describe: require(file).describe(),
        command: (spec) => [process.execPath, [path.join(__dirname, 'trial.js'), JSON.stringify(spec)]],
      });
    }
  }
  return peers;
}

// ---- running ---------------------------------------------------------------------------

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(7)}s`;

function runTrial(peers, tmpRoot, spec, keep) {
  const dir = path.join(tmpRoot, `${spec.peer}-${spec.workload}-${spec.size}-r${spec.round}`);
  fs.mkdirSync(dir, { recursive: true });
  const [cmd, args] = peers.get(spec.peer).command({ ...spec, dir });
  const t0 = Date.now();
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'inherit'] });
  if (!keep) fs.rmSync(dir, { recursive: true, force: true });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`trial ${JSON.stringify(spec)} failed (exit ${r.status ?? r.signal})`);
  const out = JSON.parse(r.stdout);
  console.error(`[${elapsed()}] ${spec.workload} ${spec.size.toLocaleString('en-US')} entries, round ${spec.round + 1}: ${spec.peer} (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
  return out;
}

function runAll(cfg, peers) {
  const tmpRoot = path.join(__dirname, 'tmp', `node-bench-${process.pid}`);
  fs.mkdirSync(tmpRoot, { recursive: true });
  const cleanup = () => cfg.keep || fs.rmSync(tmpRoot, { recursive: true, force: true });
  process.on('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  const names = [...peers.keys()];
  const workloads = [
    ...cfg.sizes.map((size) => ({ workload: 'scaling', size })),
    { workload: 'batch', size: cfg.batchStoreSize },
  ];
  const samples = new Map(); // "workload|size|peer|op|batch" → number[] (ns)
  const fills = new Map(); // "workload|size|peer" → ns per set
  let turn = 0;
  try {
    for (let round = 0; round < cfg.rounds; round++) {
      for (const w of workloads) {
        const order = names.map((_, i) => names[(i + turn) % names.length]);
        turn++;
        for (const peer of order) {
          const spec = {
            peer,
            round,
            ...w,
            ops: cfg.ops,
            warmup: cfg.warmup,
            batches: cfg.batches,
            minBatches: cfg.minBatches,
            seed: 1000 * (round + 1),
          };
          const out = runTrial(peers, tmpRoot, spec, cfg.keep);
          const fk = `${w.workload}|${w.size}|${peer}`;
          fills.set(fk, [...(fills.get(fk) ?? []), out.fillNsPerOp]);
          for (const s of out.series) {
            const k = `${w.workload}|${w.size}|${peer}|${s.op}|${s.batch}`;
            const list = samples.get(k) ?? [];
            for (const v of s.samples) list.push(v);
            samples.set(k, list);
          }
        }
      }
    }
  } finally {
    cleanup();
  }
  return { samples, fills };
}

// ---- reporting -------------------------------------------------------------------------

function aggregate(cfg, peers, { samples, fills }) {
  const rows = [];
  for (const [k, list] of samples) {
    const [workload, size, peer, op, batch] = k.split('|');
    rows.push({ workload, entries: Number(size), peer, op, batch: Number(batch), ...summarize(list) });
  }
  for (const [k, list] of fills) {
    const [workload, size, peer] = k.split('|');
    const mean = list.reduce((a, b) => a + b, 0) / list.length / 1000;
    rows.push({ workload: `${workload}-fill`, entries: Number(size), peer, op: 'set', batch: 1000, n: list.length, p50: NaN, p99: NaN, p999: NaN, mean });
  }
  return rows;
}

const find = (rows, peer, op, batch, entries) =>
  rows.find((r) => r.peer === peer && r.op === op && r.batch === batch && r.entries === entries && !r.workload.endsWith('-fill'));
const fmt = (us) => (Number.isFinite(us) ? (us >= 100 ? us.toFixed(0) : us >= 10 ? us.toFixed(1) : us.toFixed(2)) : '–');
const num = (n) => n.toLocaleString('en-US');

function resultsTable(cfg, names, rows) {
  const lines = [
    `| operation | entries | ${names.map((n) => `${n} p50 | p99`).join(' | ')} |`,
    `| :-- | --: | ${names.map(() => '--: | --:').join(' | ')} |`,
  ];
  const line = (label, entries, op, batch) => {
    const cells = names.map((n) => {
      const r = find(rows, n, op, batch, entries);
      return r ? `${fmt(r.p50)} | ${fmt(r.p99)}` : '– | –';
    });
    lines.push(`| ${label} | ${num(entries)} | ${cells.join(' | ')} |`);
  };
  for (const op of ['set', 'get', 'delete']) {
    for (const size of cfg.sizes) line(op === 'get' ? 'get (hit, random)' : op, size, op, 1);
  }
  for (const b of cfg.batches) line(`set, batch of ${num(b)}, per set`, cfg.batchStoreSize, 'set', b);
  return lines.join('\n');
}

function targetResults(cfg, peers, rows) {
  const results = [];
  for (const t of TARGETS) {
    const sizes = t.batch === 1 ? cfg.sizes : [cfg.batchStoreSize];
    for (const entries of sizes) {
      const ours = find(rows, OURS, t.op, t.batch, entries);
      const theirs = find(rows, t.peer, t.op, t.batch, entries);
      const label = `${t.op}${t.batch > 1 ? `, batch of ${num(t.batch)}` : ''} vs ${t.peer}`;
      if (!ours || !theirs) {
        results.push({ label, entries, ours, theirs, text: '–', need: '', status: 'SKIP' });
        continue;
      }
      let text, pass, need;
      if (t.kind === 'faster') {
        const r = theirs.p50 / ours.p50;
        text = `${r.toFixed(2)}x faster`;
        need = `≥ ${t.x}x faster`;
        pass = r >= t.x;
      } else {
        const r = ours.p50 / theirs.p50;
        text = `${r.toFixed(2)}x its time`;
        need = t.x === 1 ? '≤ 1.00x (no slower)' : `≤ ${t.x.toFixed(2)}x`;
        pass = r <= t.x;
      }
      results.push({ label, entries, ours, theirs, text, need, status: pass ? 'PASS' : 'FAIL' });
    }
  }
  return results;
}

function targetTable(results) {
  const lines = [
    `| target (medians) | entries | ${OURS} | peer | ratio | needed | |`,
    '| :-- | --: | --: | --: | --: | :-- | :-- |',
  ];
  for (const r of results) {
    lines.push(
      `| ${r.label} | ${num(r.entries)} | ${r.ours ? `${fmt(r.ours.p50)} µs` : '–'} | ${r.theirs ? `${fmt(r.theirs.p50)} µs` : '–'} | ${r.text} | ${r.need} | ${r.status === 'PASS' ? 'PASS' : `**${r.status}**`} |`,
    );
  }
  return lines.join('\n');
}

function fillLine(cfg, names, rows) {
  return names
    .map((n) => {
      const r = rows.find((x) => x.peer === n && x.workload === 'scaling-fill' && x.entries === Math.max(...cfg.sizes));
      return r ? `${n} ${fmt(r.mean)} µs` : null;
    })
    .filter(Boolean)
    .join(', ');
}

function writeCsv(cfg, rows, stamp) {
  const dir = path.join(__dirname, 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `node-api-${cfg.mode}-${stamp}.csv`);
  const header = 'workload,entries,peer,op,batch,value_bytes,n,p50_us,p99_us,p999_us,mean_us,ops_per_s';
  const body = rows
    .sort((a, b) => a.workload.localeCompare(b.workload) || a.op.localeCompare(b.op) || a.entries - b.entries || a.batch - b.batch || a.peer.localeCompare(b.peer))
    .map((r) =>
      [r.workload, r.entries, r.peer, r.op, r.batch, 256, r.n, r.p50, r.p99, r.p999, r.mean, 1e6 / r.mean]
        .map((v) => (typeof v === 'number' ? (Number.isFinite(v) ? +v.toFixed(3) : '') : v))
        .join(','),
    );
  fs.writeFileSync(file, [header, ...body].join('\n') + '\n');
  return path.relative(ROOT, file);
}

function machine() {
  let nproc;
  try {
    nproc = execFileSync('nproc', { encoding: 'utf8' }).trim();
  } catch {
    nproc = String(os.availableParallelism?.() ?? os.cpus().length);
  }
  let fsType = '?';
  for (const [cmd, args] of [
    ['findmnt', ['-n', '-o', 'FSTYPE', '-T', path.join(__dirname, 'tmp')]],
    ['stat', ['-f', '-c', '%T', path.join(__dirname, 'tmp')]],
  ]) {
    try {
      fsType = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
      break;
    } catch {}
  }
  let commit = '?';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'lib', 'binding', 'native', 'CMakeLists.txt'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    if (dirty.trim()) commit += ' with uncommitted changes to lib/, binding/ or native/';
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
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    fsType,
    load: os.loadavg().map((l) => l.toFixed(2)).join(' '),
  };
}

function readmeSection(cfg, m, peers, command, date, csv, table, targets, fills) {
  const names = [...peers.keys()];
  return `${SECTION}

\`\`\`sh
npm run bench              # full: 1,000 / 100,000 / 1,000,000 entries, 4 to 6 minutes
npm run bench -- --quick   # 1,000 / 100,000 entries, fewer operations: under 2 minutes
\`\`\`

\`bench/run.js\` measures, in one run, this package's public API (\`Cache\` with
\`BytesSerializer\`, loaded from \`dist/\`; batches in \`cache.transact(fn)\`) against two peers:
\`better-sqlite3@12\` used as a minimal hand-written cache (\`bench/peers/better-sqlite3.js\`:
\`cache(key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID\`, WAL, \`synchronous=NORMAL\`, prepared
\`INSERT OR REPLACE\` / \`SELECT value\` with \`.pluck()\` / \`DELETE\`, \`db.transaction()\` for
batches) and Python's \`diskcache.Cache\` with its defaults (\`bench/diskcache_trial.py\`, run under
\`/usr/bin/python3\`; skipped with a message when \`import diskcache\` fails there, e.g. without the
Debian package \`python3-diskcache\`).

Method: each trial (one peer, one entry count) runs in its own child process on a fresh
directory under \`bench/tmp/\` (gitignored, same filesystem for every peer). The store is filled
untimed to N entries of 256-byte values in transactions of 1,000 sets; then a warm-up of each
operation (not counted); then ${num(cfg.ops)} timed calls of each operation${cfg.quick ? '' : ` (${num(QUICK.ops)} with \`--quick\`)`},
each timed alone (\`process.hrtime.bigint()\`, \`time.perf_counter_ns()\` in Python) on keys drawn
at random with the same seeds for every peer: **set** overwrites an existing key, **get** is a
hit in random order, **delete** removes a present key (which is written back, untimed, so the
size stays N). **Batches**: on a store of ${num(cfg.batchStoreSize)} entries, transactions of 1, 10, 100 and 1,000
sets of random existing keys, each transaction timed and divided by its size. Every write stores
a value that differs from the one it replaces (a counter in its first 8 bytes): SQLite skips
rewriting a byte-identical row, which would flatter the peer whose rows hold only the value. Peers are
interleaved trial by trial, their order rotating, for ${cfg.rounds} rounds${cfg.quick ? '' : ` (${QUICK.rounds} with \`--quick\`)`}; the samples of all
rounds are pooled, then the median (p50) and p99 are taken. Every run writes all numbers
(with p99.9, mean and ops/s) to \`bench/results/node-api-{full,quick,custom}-<date>.csv\`; a full run
(or \`--readme\`) rewrites this section. Flags: \`--sizes\`, \`--ops\`, \`--rounds\`, \`--peers\`,
\`--check\` (exit 1 when a target is missed), \`--keep\`.

Targets (issue 3), on medians at every entry count: set at least 3x faster than diskcache, get
at least 1.5x, sets in batches of 1,000 at least 8x per set; set within 1.1x of the hand-written
better-sqlite3 cache and get no slower than it.

\`node bench/layers.js [entries]\` (a diagnostic, not part of the run) shows where a sciqlop-cache
operation spends its time: in one process it times the public API, the addon called directly,
better-sqlite3 running the engine's own SQL on the engine's schema (with its triggers), and the
minimal table above.

### Results

- Date: ${date}
- Machine: ${m.cpu}, \`nproc\` = ${m.nproc}, ${m.os}, stores on ${m.fsType}; load average at start ${m.load}
- Node ${m.node}; ${names.map((n) => peers.get(n).describe).join('; ')}
- Source: commit ${m.commit}; addon \`build/Release/sciqlop-cache.node\` built ${m.addon}
- Command: \`${command}\`
- CSV: \`${csv}\`

Latency per operation in µs (256-byte values):

${table}

Fill (untimed, transactions of 1,000 sets, ${num(Math.max(...cfg.sizes))} entries), mean per set: ${fills}.

${targets}
`;
}

function updateReadme(section) {
  let text = fs.existsSync(README) ? fs.readFileSync(README, 'utf8') : '# Benchmarks\n';
  const start = text.indexOf(`\n${SECTION}\n`);
  if (start < 0) {
    text = text.replace(/\n*$/, '\n\n') + section;
  } else {
    const rest = text.slice(start + 1 + SECTION.length);
    const next = rest.search(/\n## /);
    const end = next < 0 ? text.length : start + 1 + SECTION.length + next + 1;
    text = text.slice(0, start + 1) + section + (next < 0 ? '' : '\n' + text.slice(end));
  }
  fs.writeFileSync(README, text);
}

// ---- main ------------------------------------------------------------------------------

function main() {
  const cfg = parseArgs(process.argv.slice(2));
  const command = ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' ');
  const m = machine();
  const peers = availablePeers(cfg.peers);
  const names = [...peers.keys()];
  console.error(`${command}: ${names.join(', ')}; entries ${cfg.sizes.map(num).join(' / ')}; ${num(cfg.ops)} ops per measurement; ${cfg.rounds} rounds`);
  for (const n of names) console.error(`  ${peers.get(n).describe}`);
  console.error(`  ${m.cpu}, nproc ${m.nproc}, Node ${m.node}, load ${m.load}`);

  const raw = runAll(cfg, peers);
  const rows = aggregate(cfg, peers, raw);
  const date = new Date();
  const stamp = date.toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  const csv = writeCsv(cfg, rows, stamp);
  const table = resultsTable(cfg, names, rows);
  const results = targetResults(cfg, peers, rows);
  const targets = targetTable(results);
  const fills = fillLine(cfg, names, rows);

  console.log(`\nLatency per operation in µs (256-byte values; p50 = median):\n\n${table}\n`);
  console.log(`Fill, mean per set (transactions of 1,000): ${fills}\n`);
  console.log(`Targets:\n\n${targets}\n`);
  const failed = results.filter((r) => r.status === 'FAIL').length;
  const skipped = results.filter((r) => r.status === 'SKIP').length;
  console.log(`${results.length - failed - skipped} PASS, ${failed} FAIL, ${skipped} SKIP. CSV: ${csv} (${elapsed().trim()})`);
  if (cfg.readme) {
    updateReadme(readmeSection(cfg, m, peers, command, date.toISOString().slice(0, 10), csv, table, targets, fills));
    console.log(`Wrote the "${SECTION}" section of ${path.relative(ROOT, README)}.`);
  }
  if (cfg.check && failed) process.exitCode = 1;
}

main();
