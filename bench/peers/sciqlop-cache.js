'use strict';
/**
 * Peer: this package's public API, `Cache` with `BytesSerializer` (loaded like a user would,
 * from dist/). `options.maxSize` turns the LRU size limit on (the LRU rows). The async row
 * uses `setAsync`/`getAsync` when this build has them.
 */
const path = require('node:path');
const ROOT = path.resolve(__dirname, '..', '..');

module.exports = {
  name: 'sciqlop-cache',
  sync: true,
  multiProcess: true,
  describe() {
    const pkg = require(path.join(ROOT, 'package.json'));
    const { nativeVersion } = require(ROOT);
    return `sciqlop-cache ${pkg.version} (native ${nativeVersion})`;
  },
  open(directory, options = {}) {
    const { Cache, BytesSerializer } = require(ROOT);
    const cache = new Cache(directory, { serializer: new BytesSerializer(), ...options });
    const store = {
      set: (key, value) => cache.set(key, value),
      get: (key) => cache.get(key),
      delete: (key) => cache.delete(key),
      /** Sets keys[i] to values[i] for i in [from, from + count) in one transaction. */
      setMany(keys, values, from, count) {
        cache.transact(() => {
          for (let i = from; i < from + count; i++) cache.set(keys[i], values[i]);
        });
      },
      close: () => cache.close(),
    };
    if (typeof cache.setAsync === 'function' && typeof cache.getAsync === 'function') {
      store.async = { set: (key, value) => cache.setAsync(key, value), get: (key) => cache.getAsync(key) };
    }
    return store;
  },
};
