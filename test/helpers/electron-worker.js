'use strict';
// A worker thread for 34.electron-workers. Plain JavaScript: it loads the compiled package
// (dist/), because ts-jest does not transform worker scripts.
//
// workerData: { scenario, id, rounds?, shared?, fanout?, own? }
//   openClose: `rounds` times: open a Cache on `shared`, a FanoutCache on `fanout` and an Index
//              on `own`, write, read another worker's key, incr a shared counter, close all.
//   churn:     opens, writes and closes stores in a loop until terminated (posts progress).
//   batches:   writes numbered batches of 50 keys, each in one transaction, until terminated.
//   bigValues: reads 1 MiB file-backed values and sends them back, transferring their memory.
const path = require('node:path');
const { parentPort, workerData } = require('node:worker_threads');
const { BytesSerializer, Cache, FanoutCache, Index } = require(path.resolve(__dirname, '..', '..'));

const { scenario, id } = workerData;

if (scenario === 'openClose') {
  const { rounds, shared, fanout, own } = workerData;
  let seenOthers = 0;
  for (let r = 0; r < rounds; r++) {
    const cache = new Cache(shared);
    const fc = new FanoutCache(fanout, { shardCount: 4 });
    const index = new Index(own);
    cache.set(`w${id}-r${r}`, { id, r, pad: 'x'.repeat(r % 3 === 0 ? 9000 : 10) });
    fc.set(`w${id}-r${r}`, r);
    index.set(`r${r}`, r);
    cache.incr('opens');
    const other = cache.get(`w${(id + 1) % 20}-r${r}`);
    if (other !== undefined) seenOthers++;
    if (fc.get(`w${id}-r${r}`) !== r || index.get(`r${r}`) !== r) throw new Error('read back a wrong value');
    index.close();
    fc.close();
    cache.close();
  }
  parentPort.postMessage({ done: true, seenOthers });
} else if (scenario === 'churn') {
  const { shared } = workerData;
  for (let i = 0; ; i++) {
    const cache = new Cache(shared, { serializer: new BytesSerializer() });
    cache.set(`c${id}-${i % 20}`, Buffer.alloc(i % 4 === 0 ? 20000 : 100, i % 256));
    cache.get(`c${(id + 1) % 8}-${i % 20}`);
    if (i % 5 === 0) cache.delete(`c${id}-${(i + 7) % 20}`);
    cache.close();
    if (i % 10 === 0) parentPort.postMessage({ rounds: i });
  }
} else if (scenario === 'batches') {
  const { shared } = workerData;
  const cache = new Cache(shared);
  for (let batch = 0; ; batch++) {
    cache.transact(() => {
      for (let k = 0; k < 50; k++) cache.set(`b${id}-${batch}-${k}`, k % 10 === 0 ? 'y'.repeat(10000) : k);
    });
    parentPort.postMessage({ batch });
  }
} else if (scenario === 'bigValues') {
  const { shared, keys } = workerData;
  const cache = new Cache(shared, { serializer: new BytesSerializer() });
  for (const key of keys) {
    const value = cache.get(key);
    if (!Buffer.isBuffer(value)) throw new Error(`${key}: not a Buffer`);
    // Transferring moves the memory to the main thread: possible only for an ordinary,
    // detachable ArrayBuffer that this value owns whole.
    const copy = new Uint8Array(value.buffer, value.byteOffset, value.length);
    parentPort.postMessage({ key, bytes: copy }, [copy.buffer]);
  }
  cache.close();
  parentPort.postMessage({ done: true });
}
