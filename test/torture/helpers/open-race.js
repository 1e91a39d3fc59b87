'use strict';
// Opens one new store directory at an agreed instant, from `threads` threads of this
// process (and, run several times, from several processes): every open must succeed.
// Prints a JSON array [{ id, error? }] as its last line.
//
//   node open-race.js <json config>   config: { dir, kind, startAt, process, threads, mixed }
const path = require('node:path');
const { Worker, isMainThread, parentPort, workerData } = require('node:worker_threads');

function openAndWrite(cfg, id) {
  const { Cache, FanoutCache, Index, JsonSerializer, V8Serializer } = require(path.resolve(__dirname, '..', '..', '..'));
  // With `mixed`, odd processes ask for another serializer than even ones: exactly one may win.
  const serializer = cfg.mixed ? (cfg.process % 2 ? new JsonSerializer() : new V8Serializer()) : undefined;
  while (Date.now() < cfg.startAt) {
    // spin until the common start
  }
  try {
    const s =
      cfg.kind === 'fanout'
        ? new FanoutCache(cfg.dir, { shardCount: 3, serializer })
        : cfg.kind === 'index'
          ? new Index(cfg.dir, { serializer })
          : new Cache(cfg.dir, { serializer });
    s.set(`opened-${id}`, id);
    const name = s.serializer.name;
    s.close();
    return { id, serializer: name };
  } catch (e) {
    return { id, code: e && e.code, error: `${e && e.name} ${e && e.code}: ${e && e.message}` };
  }
}

if (!isMainThread) {
  parentPort.postMessage(openAndWrite(workerData.cfg, workerData.id));
} else {
  const cfg = JSON.parse(process.argv[2]);
  if (cfg.threads <= 1) {
    process.stdout.write(`${JSON.stringify([openAndWrite(cfg, `p${cfg.process}`)])}\n`);
  } else {
    const results = [];
    for (let t = 0; t < cfg.threads; t++) {
      const w = new Worker(__filename, { workerData: { cfg, id: `p${cfg.process}t${t}` } });
      w.on('message', (m) => {
        results.push(m);
        if (results.length === cfg.threads) process.stdout.write(`${JSON.stringify(results)}\n`);
      });
      w.on('error', (e) => results.push({ id: `p${cfg.process}t${t}`, error: String(e && e.stack) }));
    }
  }
}
