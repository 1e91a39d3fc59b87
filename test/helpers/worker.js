'use strict';
// A worker thread for 31.workers. Plain JavaScript: it loads the compiled
// package (dist/), because ts-jest does not transform worker scripts.
//
// workerData: { dir, id, count, scenario }
const path = require('node:path');
const { parentPort, workerData } = require('node:worker_threads');
const { Cache, BytesSerializer } = require(path.resolve(__dirname, '..', '..'));

const { dir, id, count, scenario } = workerData;

function valueOf(id, i) {
  const size = i % 25 === 0 ? 10000 + i : 20 + (i % 40);
  return Buffer.alloc(size, (id * 31 + i) % 256);
}

if (scenario === 'write') {
  const c = new Cache(dir, { serializer: new BytesSerializer() });
  for (let i = 0; i < count; i++) c.set(`w${id}-${i}`, valueOf(id, i));
  c.close();
  // the counter goes through the V8 serializer, in a second store on the same directory
  parentPort.postMessage({ done: true });
} else if (scenario === 'incr') {
  const c = new Cache(dir);
  for (let i = 0; i < count; i++) c.incr('shared');
  c.close();
  parentPort.postMessage({ done: true });
} else if (scenario === 'loop') {
  // Writes until terminated, reporting progress; never closes the store.
  const c = new Cache(dir, { serializer: new BytesSerializer() });
  for (let i = 0; ; i++) {
    c.set(`loop-${i % 500}`, valueOf(id, i));
    if (i % 7 === 0) c.delete(`loop-${(i + 3) % 500}`);
    if (i % 50 === 0) parentPort.postMessage({ written: i });
  }
} else if (scenario === 'overwrite') {
  // Replaces one file-backed value over and over; the main thread reads it meanwhile.
  const c = new Cache(dir, { serializer: new BytesSerializer() });
  for (let i = 0; i < count; i++) {
    const fill = i % 256;
    c.set('hot', Buffer.alloc(9000 + fill * 10, fill));
    if (i % 10 === 0) c.delete('hot');
    if (i % 10 === 0) c.set('hot', Buffer.alloc(9000 + fill * 10, fill));
  }
  c.set('done', Buffer.from('1'));
  c.close();
  parentPort.postMessage({ done: true });
} else if (scenario === 'noClose') {
  const c = new Cache(dir);
  for (let i = 0; i < count; i++) c.set(`nc${id}-${i}`, i);
  parentPort.postMessage({ done: true });
  // the worker ends with the store open: the env cleanup hook must close it
}
