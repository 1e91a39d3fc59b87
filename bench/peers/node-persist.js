'use strict';
/**
 * Peer: node-persist, one JSON file per key (named by the key's hash). Values are JSON, so the
 * adapter stores a Buffer as a base64 string and decodes it on get, as a user would. The
 * expiry timer is off (no TTLs are used). Asynchronous only; no batch (`Promise.all` of sets).
 */
const { versionOf } = require('../common');
const storage = require('node-persist');

module.exports = {
  name: 'node-persist',
  sync: false,
  multiProcess: true,
  describe: () => `node-persist ${versionOf('node-persist')}`,
  async open(directory) {
    const db = storage.create({ dir: directory, expiredInterval: 0 });
    await db.init();
    const set = (key, value) => db.setItem(key, value.toString('base64'));
    const get = async (key) => {
      const v = await db.getItem(key);
      return v === undefined ? undefined : Buffer.from(v, 'base64');
    };
    return {
      set,
      get,
      delete: async (key) => (await db.removeItem(key)).existed,
      setMany(keys, _values, from, count) {
        const sets = new Array(count);
        for (let i = 0; i < count; i++) sets[i] = set(keys[from + i], _values[from + i]);
        return Promise.all(sets);
      },
      async: { set, get },
      close: () => db.stopWriteQueueInterval(),
    };
  },
};
