'use strict';
// A worker thread for the async tests (40.async-concurrency). Plain JavaScript: it loads the
// compiled package from the repository root, because ts-jest does not transform workers.
//
// workerData: { dir, id, count, scenario, type }
const path = require('node:path');
const { parentPort, workerData } = require('node:worker_threads');
const sc = require(path.resolve(__dirname, '..', '..'));

const { dir, id, count, scenario, type } = workerData;
const Store = sc[type || 'Cache'];

async function main() {
  const store = new Store(dir);
  if (scenario === 'incr') {
    // Un-awaited: all of them in flight at once, then awaited together.
    const results = await Promise.all(Array.from({ length: count }, () => store.incrAsync('shared')));
    parentPort.postMessage({ done: true, max: Math.max(...results) });
  } else if (scenario === 'mixed') {
    const writes = [];
    for (let i = 0; i < count; i++) writes.push(store.setAsync(`w${id}-${i}`, { id, i }));
    writes.push(store.setManyAsync(Array.from({ length: 50 }, (_, i) => [`m${id}-${i}`, i])));
    await Promise.all(writes);
    const back = await store.getManyAsync(Array.from({ length: count }, (_, i) => `w${id}-${i}`));
    const ok = back.every((v, i) => v && v.id === id && v.i === i);
    parentPort.postMessage({ done: true, ok });
  } else if (scenario === 'abandon') {
    // Issues writes and returns without awaiting or closing: the worker ends while they are
    // in flight (its environment teardown must finish or stop them without crashing).
    for (let i = 0; i < count; i++) store.setAsync(`a${id}-${i}`, i);
    parentPort.postMessage({ done: true });
    return;
  }
  store.close();
}

main().catch((error) => parentPort.postMessage({ error: String(error && error.stack) }));
