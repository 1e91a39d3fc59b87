#!/usr/bin/env node
'use strict';
/**
 * Renders the benchmark's charts from one of its CSV files, with vega-lite compiled to vega and
 * vega's headless SVG renderer; each SVG is rasterized to PNG by resvg (for the README).
 * Nothing is drawn by hand: every mark comes from the CSV's rows.
 *
 *   node bench/charts.js bench/results/node-api-full-<date>.csv [out-dir]   # default bench/charts/
 *
 * Charts: scaling (median latency, 100 to 1,000,000 entries), distribution (quartiles, p99 and
 * p99.9 per entry count), value-size (latency and MB/s against value size), batch (cost per set
 * against sets per transaction) and peers (operations per second, every peer side by side).
 * The `.json` written beside the CSV (machine, date, command) becomes each chart's subtitle.
 */
const fs = require('node:fs');
const path = require('node:path');

const PEERS = ['sciqlop-cache', 'better-sqlite3', 'diskcache', 'lmdb', 'classic-level', 'keyv-sqlite', 'cacache', 'node-persist', 'map'];
const COLORS = ['#d62728', '#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#bcbd22', '#7f7f7f'];
const OPS = { set: 'set', get: 'get (hit)', 'get-miss': 'get (miss)', delete: 'delete' };
const FONT = 'DejaVu Sans';
const BYTES_LABEL = "datum.value >= 1048576 ? datum.value / 1048576 + ' MiB' : datum.value >= 1024 ? datum.value / 1024 + ' KiB' : datum.value + ' B'";

function readCsv(file) {
  const [header, ...lines] = fs.readFileSync(file, 'utf8').trim().split('\n');
  const cols = header.split(',');
  return lines.map((line) => {
    const cells = line.split(',');
    const row = {};
    cols.forEach((c, i) => {
      const v = cells[i];
      row[c] = v === '' ? null : /^-?[\d.]+(e[-+]?\d+)?$/i.test(v) ? Number(v) : v;
    });
    return row;
  });
}

const peerColor = { field: 'peer', type: 'nominal', title: 'peer', scale: { domain: PEERS, range: COLORS }, sort: PEERS };
const logScale = { type: 'log' };

function subtitleOf(meta) {
  if (!meta) return [];
  const m = meta.machine;
  return [
    `${meta.date.slice(0, 10)} · ${m.cpu}, ${m.nproc} cores, ${m.os.split(' ').slice(0, 1)} · Node ${m.node} · load ${m.loadStart.split(' ')[0]} → ${(m.loadEnd ?? '?').split(' ')[0]}`,
    `${meta.command}`,
  ];
}

function scalingSpec(rows, sub) {
  const data = rows.filter((r) => r.workload === 'scaling').map((r) => ({ ...r, opLabel: OPS[r.op] }));
  return {
    title: { text: 'Median latency per call against entry count (256 B values)', subtitle: sub },
    data: { values: data },
    facet: { column: { field: 'opLabel', title: null, sort: Object.values(OPS) } },
    spec: {
      width: 260,
      height: 260,
      layer: [{ mark: { type: 'line', point: true } }],
      encoding: {
        x: { field: 'entries', type: 'quantitative', scale: logScale, title: 'entries', axis: { format: '~s' } },
        y: { field: 'p50_us', type: 'quantitative', scale: logScale, title: 'p50 latency (µs, log)' },
        color: peerColor,
        tooltip: [{ field: 'peer' }, { field: 'p50_us' }],
      },
    },
  };
}

function distributionSpec(rows, sub) {
  const data = rows
    .filter((r) => r.workload === 'scaling' && (r.op === 'set' || r.op === 'get'))
    .map((r) => ({ ...r, opLabel: OPS[r.op], entriesLabel: `${r.entries.toLocaleString('en-US')} entries` }));
  const sizes = [...new Set(data.map((r) => r.entries))].sort((a, b) => a - b).map((n) => `${n.toLocaleString('en-US')} entries`);
  const y = (field, title) => ({ field, type: 'quantitative', scale: logScale, ...(title ? { title } : {}) });
  return {
    title: {
      text: 'Latency distribution per entry count (256 B values)',
      subtitle: ['box: 25th to 75th percentile, white tick: median, line: minimum to p99, dot: p99.9', ...sub],
    },
    data: { values: data },
    facet: {
      row: { field: 'opLabel', title: null, sort: ['set', 'get (hit)'] },
      column: { field: 'entriesLabel', title: null, sort: sizes },
    },
    spec: {
      width: { step: 16 },
      height: 230,
      encoding: { x: { field: 'peer', type: 'nominal', sort: PEERS, title: null, axis: { labelAngle: -60 } }, color: peerColor },
      layer: [
        { mark: { type: 'rule' }, encoding: { y: y('min_us', 'latency (µs, log)'), y2: { field: 'p99_us' } } },
        { mark: { type: 'bar', width: 10 }, encoding: { y: y('p25_us'), y2: { field: 'p75_us' } } },
        { mark: { type: 'tick', thickness: 1.5, size: 10 }, encoding: { y: y('p50_us'), color: { value: 'white' } } },
        { mark: { type: 'point', filled: true, size: 14 }, encoding: { y: y('p999_us') } },
      ],
    },
  };
}

function valueSizeSpec(rows, sub) {
  const data = rows.filter((r) => r.workload === 'value-size').map((r) => ({ ...r, mb_per_s: r.mb_per_s }));
  return {
    title: { text: 'Latency and throughput against value size', subtitle: sub },
    data: { values: data },
    transform: [
      { fold: ['p50_us', 'mb_per_s'], as: ['metric', 'value'] },
      { calculate: "datum.metric === 'p50_us' ? 'p50 latency (µs, log)' : 'MB/s (value bytes / mean time, log)'", as: 'metricLabel' },
    ],
    facet: {
      row: { field: 'metricLabel', title: null, sort: ['p50 latency (µs, log)'] },
      column: { field: 'op', title: null, sort: ['set', 'get'] },
    },
    spec: {
      width: 440,
      height: 240,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'value_bytes', type: 'quantitative', scale: { type: 'log', base: 2, domain: [48, 1_400_000] }, title: 'value size', axis: { values: [64, 256, 1024, 4096, 16384, 65536, 262144, 1048576], labelExpr: BYTES_LABEL, labelOverlap: false } },
        y: { field: 'value', type: 'quantitative', scale: logScale, title: null },
        color: peerColor,
      },
    },
    resolve: { scale: { y: 'independent' } },
  };
}

function batchSpec(rows, sub) {
  return {
    title: { text: 'Cost per set against sets per transaction (256 B values)', subtitle: sub },
    data: { values: rows.filter((r) => r.workload === 'batch') },
    width: 560,
    height: 340,
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'batch', type: 'quantitative', scale: logScale, title: 'sets per transaction or batch', axis: { values: [1, 10, 100, 1000] } },
      y: { field: 'p50_us', type: 'quantitative', scale: logScale, title: 'µs per set (median of the batch time / batch size, log)' },
      color: peerColor,
    },
  };
}

/**
 * The entry count of the peer comparison: 10,000 (every peer's cap in a full run) when the run
 * has it, else the largest at which the most peers were measured.
 */
function comparisonSize(rows) {
  const scaling = rows.filter((r) => r.workload === 'scaling');
  if (scaling.some((r) => r.entries === 10_000)) return 10_000;
  const count = (n) => new Set(scaling.filter((r) => r.entries === n).map((r) => r.peer)).size;
  const sizes = [...new Set(scaling.map((r) => r.entries))].sort((a, b) => a - b);
  const most = Math.max(...sizes.map(count));
  return sizes.filter((n) => count(n) === most).pop();
}

function peersSpec(rows, sub) {
  const size = comparisonSize(rows);
  const data = [];
  const add = (r, label) => r && r.ops_per_s && data.push({ peer: r.peer, label, ops_per_s: r.ops_per_s });
  const asyncLabel = (op, r) => `${op}, async, ${r.concurrency} in flight`;
  for (const r of rows) {
    if (r.workload === 'scaling' && r.entries === size) add(r, OPS[r.op]);
    else if (r.workload === 'batch' && r.batch === 1000) add(r, 'set, in batches of 1,000');
    else if (r.workload === 'async') add(r, asyncLabel(r.op.replace('-async', ''), r));
    else if (r.workload === 'writers' && r.variant === 'processes=2') add(r, 'set, 2 processes (total)');
  }
  const concurrency = rows.find((r) => r.workload === 'async')?.concurrency;
  const labels = [...Object.values(OPS), 'set, in batches of 1,000', 'set, 2 processes (total)'];
  if (concurrency) labels.push(asyncLabel('set', { concurrency }), asyncLabel('get', { concurrency }));
  const floor = 100;
  return {
    title: {
      text: `Operations per second by peer (${size?.toLocaleString('en-US')} entries of 256 B; batch, async and two-process rows on their own stores)`,
      subtitle: sub,
    },
    data: { values: data },
    columns: 4,
    facet: { field: 'label', type: 'nominal', sort: labels, title: null },
    spec: {
      width: 250,
      height: 190,
      mark: { type: 'bar' },
      encoding: {
        y: { field: 'peer', type: 'nominal', sort: PEERS, title: null },
        x: { field: 'ops_per_s', type: 'quantitative', scale: { type: 'log', domainMin: floor }, title: 'operations/s (log)', axis: { format: '~s' } },
        x2: { datum: floor },
        color: { ...peerColor, legend: null },
      },
    },
  };
}

const CHARTS = { peers: peersSpec, scaling: scalingSpec, distribution: distributionSpec, 'value-size': valueSizeSpec, batch: batchSpec };

/** Renders every chart the CSV has rows for into outDir as NAME.svg and NAME.png; returns the files. */
async function renderCharts(csvFile, outDir = path.join(__dirname, 'charts')) {
  const vl = await import('vega-lite');
  const vega = await import('vega');
  const { Resvg } = require('@resvg/resvg-js');
  const rows = readCsv(csvFile);
  const metaFile = csvFile.replace(/\.csv$/, '.json');
  const meta = fs.existsSync(metaFile) ? JSON.parse(fs.readFileSync(metaFile, 'utf8')) : null;
  const sub = subtitleOf(meta);
  fs.mkdirSync(outDir, { recursive: true });
  const written = [];
  for (const [name, make] of Object.entries(CHARTS)) {
    const spec = make(rows, sub);
    const values = spec.data.values;
    if (!values.length) continue;
    spec.$schema = 'https://vega.github.io/schema/vega-lite/v6.json';
    spec.background = 'white';
    spec.config = {
      font: FONT,
      title: { anchor: 'start', fontSize: 15, subtitleFontSize: 11, subtitleColor: '#555' },
      legend: { orient: 'right' },
    };
    const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
    const svg = await view.toSVG();
    view.finalize();
    const svgFile = path.join(outDir, `${name}.svg`);
    const pngFile = path.join(outDir, `${name}.png`);
    fs.writeFileSync(svgFile, svg);
    const png = new Resvg(svg, { fitTo: { mode: 'zoom', value: 1.5 }, font: { loadSystemFonts: true, defaultFontFamily: FONT } }).render().asPng();
    fs.writeFileSync(pngFile, png);
    written.push(svgFile, pngFile);
  }
  return written;
}

module.exports = { renderCharts, readCsv, comparisonSize };

if (require.main === module) {
  const [csv, out] = process.argv.slice(2);
  if (!csv) {
    console.error('usage: node bench/charts.js <results.csv> [out-dir]');
    process.exit(2);
  }
  renderCharts(path.resolve(csv), out ? path.resolve(out) : undefined).then(
    (files) => console.log(files.map((f) => path.relative(process.cwd(), f)).join('\n')),
    (e) => {
      console.error(e.stack ?? e);
      process.exit(1);
    },
  );
}
