#!/usr/bin/env node
'use strict';
/**
 * Diagnostic, not part of `npm run bench`: where does a sciqlop-cache operation spend its
 * time? In one process, on stores of N entries (default 100,000) of 256-byte values, times
 * each layer separately, interleaved in blocks so that drift is shared:
 *
 *   api          cache.set / cache.get / cache.delete (TypeScript wrapper + addon + engine)
 *   addon        the same calls on the native object directly (addon + engine, no TypeScript;
 *               its gets do not use the API's read pool, lib/read-pool.ts: each value gets an
 *               ArrayBuffer of its own, a few hundred ns more than the API's pooled Buffer)
 *   bsq-engine   better-sqlite3 running the engine's own SQL (its upsert / get / delete, numbered
 *               parameters made positional) on a
 *                store of the engine's schema with its triggers: the engine's SQL cost, paid
 *                through the same JS→SQLite path as the peer
 *   bsq-minimal  better-sqlite3 with the minimal WITHOUT ROWID table of the benchmark's peer
 *
 *   node bench/layers.js [N] [--ops 20000]
 *
 * addon − bsq-engine ≈ what the engine's C++ and the binding add over better-sqlite3's
 * binding for the same SQL; bsq-engine − bsq-minimal ≈ the cost of the schema and statements;
 * api − addon ≈ the TypeScript layer. Batches of 1,000 sets in one transaction likewise.
 */
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const Database = require('better-sqlite3');
const { Cache, BytesSerializer } = require(path.resolve(__dirname, '..'));
const { randomIndices, keyOf, stampedValues, summarize } = require('./common');

const args = process.argv.slice(2);
const N = Number(args.find((a) => /^\d+$/.test(a)) ?? 100_000);
const opsIdx = args.indexOf('--ops');
const OPS = opsIdx >= 0 ? Number(args[opsIdx + 1]) : 20_000;
const BLOCK = 500;
const hr = process.hrtime.bigint;
const base = crypto.randomBytes(256);
let stamp = 0;
/** Distinct values, so that no write is a byte-identical no-op for SQLite (see common.js). */
const values = (n) => stampedValues(base, (stamp += n) - n, n);
const root = path.join(__dirname, 'tmp', `layers-${process.pid}`);
fs.mkdirSync(root, { recursive: true });

// The engine's store, through the API and through the addon.
const cache = new Cache(path.join(root, 'engine'), { serializer: new BytesSerializer() });
const native = cache.native;
// A second engine store, closed again, to copy the engine's schema (and triggers) for better-sqlite3.
{
  const probe = new Cache(path.join(root, 'schema'), { serializer: new BytesSerializer() });
  probe.close();
}
const engineDb = new Database(path.join(root, 'schema', 'sciqlop-cache.db'));
engineDb.pragma('journal_mode = WAL');
engineDb.pragma('synchronous = NORMAL');
engineDb.pragma('cache_size = -8192');
engineDb.pragma('mmap_size = 268435456');
const eng = {
  put: engineDb.prepare(`INSERT INTO cache(key, path, value, size, expire, last_update, last_use, access_count_since_last_update, tag)
VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)
ON CONFLICT(key) DO UPDATE SET path = excluded.path, value = excluded.value, size = excluded.size,
    expire = excluded.expire, last_update = excluded.last_update, last_use = excluded.last_use,
    access_count_since_last_update = 0, tag = excluded.tag`),
  get: engineDb.prepare('SELECT value, path, size, expire FROM cache WHERE key = ?').raw(),
  del: engineDb.prepare('DELETE FROM cache WHERE key = ? RETURNING expire').pluck(),
};
const minDb = new Database(path.join(root, 'minimal.db'));
minDb.pragma('journal_mode = WAL');
minDb.pragma('synchronous = NORMAL');
minDb.exec('CREATE TABLE cache(key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID');
const min = {
  put: minDb.prepare('INSERT OR REPLACE INTO cache(key, value) VALUES (?, ?)'),
  get: minDb.prepare('SELECT value FROM cache WHERE key = ?').pluck(),
  del: minDb.prepare('DELETE FROM cache WHERE key = ?'),
};

const now = () => Date.now() / 1000;
const variants = {
  api: {
    set: (k, v) => cache.set(k, v),
    get: (k) => cache.get(k),
    delete: (k) => cache.delete(k),
    many: (keys, vals, from, n) => cache.transact(() => { for (let i = from; i < from + n; i++) cache.set(keys[i], vals[i]); }),
  },
  addon: {
    set: (k, v) => native.set(k, v),
    get: (k) => native.get(k),
    delete: (k) => native.delete(k),
    many: (keys, vals, from, n) => {
      native.begin();
      for (let i = from; i < from + n; i++) native.set(keys[i], vals[i]);
      native.commit();
    },
  },
  'bsq-engine': {
    set: (k, v) => eng.put.run(k, null, v, 256, null, now(), now(), null),
    get: (k) => eng.get.get(k),
    delete: (k) => eng.del.all(k).length > 0,
    many: engineDb.transaction((keys, vals, from, n) => { for (let i = from; i < from + n; i++) eng.put.run(keys[i], null, vals[i], 256, null, now(), now(), null); }),
  },
  'bsq-minimal': {
    set: (k, v) => min.put.run(k, v),
    get: (k) => min.get.get(k),
    delete: (k) => min.del.run(k).changes > 0,
    many: minDb.transaction((keys, vals, from, n) => { for (let i = from; i < from + n; i++) min.put.run(keys[i], vals[i]); }),
  },
};
const names = Object.keys(variants);

// Fill every store to N in transactions of 1,000.
for (const name of names) {
  for (let start = 0; start < N; start += 1000) {
    const keys = [];
    for (let i = start; i < Math.min(N, start + 1000); i++) keys.push(keyOf(i));
    variants[name].many(keys, values(keys.length), 0, keys.length);
  }
}

function measure(op, seed, batch = 1) {
  const keys = Array.from(randomIndices(OPS, N, seed), keyOf);
  const perVariant = Object.fromEntries(names.map((n) => [n, values(keys.length)]));
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  // warm-up
  for (const n of names) for (let i = 0; i < Math.min(2000, OPS); i += batch) run(n, i);
  function run(n, i) {
    const v = variants[n];
    if (batch > 1) {
      const t0 = hr();
      v.many(keys, perVariant[n], i, batch);
      return Number(hr() - t0) / batch;
    }
    const k = keys[i];
    const t0 = hr();
    if (op === 'set') v.set(k, perVariant[n][i]);
    else v[op](k);
    const t = Number(hr() - t0);
    if (op === 'delete') v.set(k, perVariant[n][i]);
    return t;
  }
  const step = batch > 1 ? 1 : BLOCK;
  const count = batch > 1 ? OPS / batch : OPS;
  for (let b = 0, turn = 0; b < count; b += step, turn++) {
    for (let j = 0; j < names.length; j++) {
      const n = names[(j + turn) % names.length];
      for (let i = b; i < Math.min(count, b + step); i++) samples[n].push(run(n, i * batch));
    }
  }
  return Object.fromEntries(names.map((n) => [n, summarize(samples[n])]));
}

const report = [];
for (const [label, op, seed, batch] of [
  ['set', 'set', 1, 1],
  ['get (hit)', 'get', 2, 1],
  ['delete', 'delete', 3, 1],
  ['set, batch of 1,000 (per set)', 'set', 4, 1000],
]) {
  const r = measure(op, seed, batch);
  report.push(`| ${label} | ${names.map((n) => r[n].p50.toFixed(2)).join(' | ')} |`);
}
console.log(`${N.toLocaleString('en-US')} entries, median µs per operation (${OPS.toLocaleString('en-US')} ops per variant):\n`);
console.log(`| operation | ${names.join(' | ')} |\n| :-- | ${names.map(() => '--:').join(' | ')} |\n${report.join('\n')}`);

cache.close();
engineDb.close();
minDb.close();
fs.rmSync(root, { recursive: true, force: true });
