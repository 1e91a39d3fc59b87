'use strict';
/**
 * Peer: lmdb (lmdb-js), binary values, no compression. `noSync: true` gives it the durability
 * of the SQLite peers in WAL with synchronous=NORMAL (a commit survives the process, not
 * necessarily a power cut); with its default (an fsync per commit) every single set would
 * measure the disk. Reads are synchronous by design (`get`); writes are synchronous here
 * (`putSync`, `removeSync`, `transactionSync` for batches) and asynchronous in the async row
 * (`put`, which lmdb batches into one transaction per event-loop turn). lmdb has no async get.
 */
const { versionOf } = require('../common');
const lmdb = require('lmdb');

module.exports = {
  name: 'lmdb',
  sync: true,
  multiProcess: true,
  describe: () => `lmdb ${versionOf('lmdb')} (noSync, binary values)`,
  open(directory) {
    const db = lmdb.open({ path: directory, encoding: 'binary', compression: false, noSync: true });
    return {
      set: (key, value) => db.putSync(key, value),
      get: (key) => db.get(key),
      delete: (key) => db.removeSync(key),
      setMany(keys, values, from, count) {
        db.transactionSync(() => {
          for (let i = from; i < from + count; i++) db.putSync(keys[i], values[i]);
        });
      },
      async: { set: (key, value) => db.put(key, value) },
      close: () => db.close(),
    };
  },
};
