'use strict';
/**
 * Peer: a plain in-memory `Map`, the floor: what a call costs when nothing is persisted.
 * It cannot be shared between processes (no two-writer row).
 */
module.exports = {
  name: 'map',
  sync: true,
  multiProcess: 'an in-memory Map lives in one process',
  describe: () => `Map (in memory, Node ${process.version})`,
  open() {
    const map = new Map();
    return {
      set: (key, value) => map.set(key, value),
      get: (key) => map.get(key),
      delete: (key) => map.delete(key),
      setMany(keys, values, from, count) {
        for (let i = from; i < from + count; i++) map.set(keys[i], values[i]);
      },
      close() {},
    };
  },
};
