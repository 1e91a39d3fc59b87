'use strict';
/** Peer: this package's public API, `Cache` with `BytesSerializer` (loaded like a user would, from dist/). */
const path = require('node:path');

module.exports = {
  name: 'sciqlop-cache',
  describe() {
    const pkg = require(path.resolve(__dirname, '..', '..', 'package.json'));
    const { nativeVersion } = require(path.resolve(__dirname, '..', '..'));
    return `sciqlop-cache ${pkg.version} (native ${nativeVersion})`;
  },
  open(directory) {
    const { Cache, BytesSerializer } = require(path.resolve(__dirname, '..', '..'));
    const cache = new Cache(directory, { serializer: new BytesSerializer() });
    return {
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
  },
};
