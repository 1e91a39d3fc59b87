'use strict';
/**
 * Peer: classic-level (LevelDB), utf8 keys, Buffer values, its defaults (writes not fsynced,
 * as with the SQLite peers' synchronous=NORMAL). Its API is asynchronous except `getSync`,
 * so the per-operation rows await each call (`put`, `get`, `del`; `batch()` for batches).
 * LevelDB locks its directory: a second process cannot open the store (no two-writer row).
 */
const { versionOf } = require('../common');
const { ClassicLevel } = require('classic-level');

module.exports = {
  name: 'classic-level',
  sync: false,
  multiProcess: 'LevelDB holds an exclusive lock on its directory (a second process gets LEVEL_LOCKED)',
  describe: () => `classic-level ${versionOf('classic-level')} (LevelDB)`,
  async open(directory) {
    const db = new ClassicLevel(directory, { keyEncoding: 'utf8', valueEncoding: 'buffer' });
    await db.open();
    return {
      set: (key, value) => db.put(key, value),
      get: (key) => db.get(key),
      /** del() does not say whether the key was there: resolves to undefined, not checked. */
      delete: (key) => db.del(key),
      setMany(keys, values, from, count) {
        const ops = new Array(count);
        for (let i = 0; i < count; i++) ops[i] = { type: 'put', key: keys[from + i], value: values[from + i] };
        return db.batch(ops);
      },
      async: { set: (key, value) => db.put(key, value), get: (key) => db.get(key) },
      close: () => db.close(),
    };
  },
};
