'use strict';
/**
 * Peer: keyv with @keyv/sqlite (node-sqlite3 underneath), a one-table SQLite cache behind an
 * asynchronous API; values go through keyv's serializer (a Buffer becomes base64 in JSON).
 * Out of the box its database is in rollback-journal mode with synchronous=FULL (an fsync
 * per set); it is switched to WAL with synchronous=NORMAL through its store's `query()`,
 * the durability of the other SQLite peers, so that its rows measure the library and not
 * the disk. Batches use `keyv.setMany()` (concurrent sets, one transaction each); the
 * untimed fill wraps its sets in BEGIN/COMMIT.
 */
const { versionOf } = require('../common');
const path = require('node:path');

module.exports = {
  name: 'keyv-sqlite',
  sync: false,
  multiProcess: true,
  describe() {
    const v = (p) => versionOf(p);
    return `keyv ${v('keyv')} + @keyv/sqlite ${v('@keyv/sqlite')} (sqlite3 ${v('sqlite3')}, WAL, synchronous=NORMAL)`;
  },
  async open(directory) {
    const { default: Keyv } = require('keyv');
    const { default: KeyvSqlite } = require('@keyv/sqlite');
    const store = new KeyvSqlite({ uri: `sqlite://${path.join(directory, 'keyv.sqlite')}`, busyTimeout: 10_000 });
    const keyv = new Keyv({ store });
    await store.query('PRAGMA journal_mode = WAL');
    await store.query('PRAGMA synchronous = NORMAL');
    const get = async (key) => {
      const v = await keyv.get(key);
      return v === undefined ? undefined : Buffer.isBuffer(v) ? v : Buffer.from(v);
    };
    return {
      set: (key, value) => keyv.set(key, value),
      get,
      delete: (key) => keyv.delete(key),
      setMany(keys, values, from, count) {
        const entries = new Array(count);
        for (let i = 0; i < count; i++) entries[i] = { key: keys[from + i], value: values[from + i] };
        return keyv.setMany(entries);
      },
      async fillMany(keys, values, from, count) {
        await store.query('BEGIN');
        for (let i = from; i < from + count; i++) await keyv.set(keys[i], values[i]);
        await store.query('COMMIT');
      },
      async: { set: (key, value) => keyv.set(key, value), get },
      close: () => keyv.disconnect(),
    };
  },
};
