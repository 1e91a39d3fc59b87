#!/usr/bin/env node
// Quick start: a short tour of sciqlop-cache against a cache in ./.cache, printing what it
// does and how long it took. Run with `npm start` after `npm install`.
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const { Cache, Index, FanoutCache, MsgpackSerializer } = require('..');

const root = path.resolve('.cache');
fs.rmSync(root, { recursive: true, force: true });

function timed(label, fn) {
  const t0 = process.hrtime.bigint();
  const result = fn();
  const us = Number(process.hrtime.bigint() - t0) / 1e3;
  const shown = typeof result === 'object' && result !== null ? JSON.stringify(result, replacer) : String(result);
  console.log(`${label.padEnd(52)} ${us.toFixed(1).padStart(10)} µs  -> ${shown}`);
  return result;
}
function replacer(_key, value) {
  if (value instanceof Map) return { Map: [...value] };
  if (typeof value === 'bigint') return `${value}n`;
  return value;
}

console.log(`sciqlop-cache quick start, cache in ${root}\n`);
const cache = new Cache(path.join(root, 'cache'), { maxSize: 64 * 1024 * 1024 });

timed("cache.set('sensor/temperature', {...})", () =>
  cache.set('sensor/temperature', { ts: 1710000000, values: [21.3, 21.5, 21.4] }) && 'ok');
timed("cache.get('sensor/temperature')", () => cache.get('sensor/temperature'));
timed("cache.set('m', new Map([[1, 'a']]) with a BigInt)", () => cache.set('m', new Map([[1, 10n ** 20n]])) && 'ok');
timed("cache.get('m')", () => cache.get('m'));
timed("cache.get('missing', 'default')", () => cache.get('missing', 'default'));

console.log('\nExpiration and tags');
timed("set('session', token, { expire: 0.2 })", () => cache.set('session', 'token', { expire: 0.2 }) && 'ok');
timed("set('sensor/hum', 55, { tag: 'sensor' })", () => cache.set('sensor/hum', 55, { tag: 'sensor' }) && 'ok');
timed("has('session') right away", () => cache.has('session'));
const until = Date.now() + 300;
while (Date.now() < until) { /* wait 0.3 s */ }
timed("has('session') after 0.3 s", () => cache.has('session'));
timed("evictTag('sensor')", () => cache.evictTag('sensor'));

console.log('\nLarge values go to files');
const big = Buffer.alloc(1024 * 1024, 7);
timed('set 1 MiB Buffer', () => cache.set('big', big) && 'ok');
timed('get 1 MiB Buffer (length)', () => cache.get('big').length);

console.log('\nTransactions, counters, stats');
timed('1000 sets in one transact()', () => cache.transact(() => {
  for (let i = 0; i < 1000; i++) cache.set(`item/${i}`, i);
  return cache.size;
}));
timed('1000 single sets', () => {
  for (let i = 0; i < 1000; i++) cache.set(`single/${i}`, i);
  return cache.size;
});
timed('1000 gets', () => {
  let sum = 0;
  for (let i = 0; i < 1000; i++) sum += cache.get(`single/${i}`);
  return sum;
});
try {
  cache.transact(() => { cache.set('balance', 100); throw new Error('rolled back'); });
} catch { /* expected */ }
timed("has('balance') after a rolled-back transact()", () => cache.has('balance'));
timed("incr('page_views') x3", () => { cache.incr('page_views'); cache.incr('page_views'); return cache.incr('page_views'); });
timed('stats()', () => cache.stats());
timed('check()', () => cache.check());
timed('valueBytes() / volume()', () => `${cache.valueBytes()} / ${cache.volume()}`);

console.log('\nMemoize, locks, dict-like view');
let calls = 0;
const slowSquare = cache.memoize(function slowSquare(x) { calls++; return x * x; });
timed('slowSquare(12) twice (memoized)', () => [slowSquare(12), slowSquare(12), `calls=${calls}`]);
const lock = cache.lock('resource');
timed("lock('resource').acquireSync()", () => lock.acquireSync() && lock.locked());
timed('lock.release()', () => lock.release());
const o = cache.asObject();
timed("asObject(): o.greeting = 'hello'; o.greeting", () => { o.greeting = 'hello'; return o.greeting; });

console.log('\nIndex and FanoutCache');
const index = new Index(path.join(root, 'index'), { serializer: new MsgpackSerializer() });
timed("index.set('dataset/v2', {...}); get", () => index.set('dataset/v2', { rows: 3 }).get('dataset/v2'));
const fanout = new FanoutCache(path.join(root, 'fanout'), { shardCount: 4 });
timed("fanout.set('key', 'value'); get", () => fanout.set('key', 'value').get('key'));
timed('fanout keys after 100 sets', () => { for (let i = 0; i < 100; i++) fanout.set(`k${i}`, i); return fanout.size; });

index.close();
fanout.close();
cache.close();
console.log(`\nDone. Inspect ${root}, or delete it.`);
