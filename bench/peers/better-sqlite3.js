'use strict';
/**
 * Peer: better-sqlite3 used as the minimal hand-written cache, the raw-SQLite bound from
 * JavaScript: one WITHOUT ROWID table, WAL, synchronous=NORMAL, prepared statements, values
 * read with pluck() (a Buffer, no row object), db.transaction() for batches. Two processes
 * share the file through SQLite's locking (better-sqlite3's default busy timeout, 5 s).
 */
const { versionOf } = require('../common');
const path = require('node:path');
const Database = require('better-sqlite3');

module.exports = {
  name: 'better-sqlite3',
  sync: true,
  multiProcess: true,
  describe() {
    const version = versionOf('better-sqlite3');
    const db = new Database(':memory:');
    const sqlite = db.prepare('SELECT sqlite_version()').pluck().get();
    db.close();
    return `better-sqlite3 ${version} (SQLite ${sqlite})`;
  },
  open(directory) {
    const db = new Database(path.join(directory, 'cache.db'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec('CREATE TABLE IF NOT EXISTS cache(key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID');
    const put = db.prepare('INSERT OR REPLACE INTO cache(key, value) VALUES (?, ?)');
    const sel = db.prepare('SELECT value FROM cache WHERE key = ?').pluck();
    const del = db.prepare('DELETE FROM cache WHERE key = ?');
    const many = db.transaction((keys, values, from, count) => {
      for (let i = from; i < from + count; i++) put.run(keys[i], values[i]);
    });
    return {
      set: (key, value) => put.run(key, value),
      get: (key) => sel.get(key),
      delete: (key) => del.run(key).changes > 0,
      setMany: (keys, values, from, count) => many(keys, values, from, count),
      close: () => db.close(),
    };
  },
};
