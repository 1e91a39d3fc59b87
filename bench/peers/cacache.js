'use strict';
/**
 * Peer: cacache (npm's content-addressable cache): every value is a file named by its hash,
 * found through an append-only index; reads verify the hash. All of its API is asynchronous;
 * it has no batch (a batch is `Promise.all` of puts) and no transaction. `rm.entry` removes the
 * index entry (the content stays until `verify`), which is what deleting a key means there.
 */
const { versionOf } = require('../common');
const cacache = require('cacache');

module.exports = {
  name: 'cacache',
  sync: false,
  multiProcess: true,
  describe: () => `cacache ${versionOf('cacache')}`,
  open(directory) {
    const get = async (key) => {
      try {
        return (await cacache.get(directory, key)).data;
      } catch (e) {
        if (e.code === 'ENOENT') return undefined;
        throw e;
      }
    };
    return {
      set: (key, value) => cacache.put(directory, key, value),
      get,
      delete: (key) => cacache.rm.entry(directory, key),
      setMany(keys, values, from, count) {
        const puts = new Array(count);
        for (let i = 0; i < count; i++) puts[i] = cacache.put(directory, keys[from + i], values[from + i]);
        return Promise.all(puts);
      },
      async: { set: (key, value) => cacache.put(directory, key, value), get },
      close() {},
    };
  },
};
