'use strict';
// A child process for the async tests (40.async-errors, 40.async-memoize). Plain JavaScript
// loading the compiled package from the repository root. Usage:
//   node async-child.js <scenario> <dir> [arg]
// It prints one JSON line with its result and exits 0, or prints the error and exits 1.
const path = require('node:path');
const fs = require('node:fs');
const { Cache, BytesSerializer } = require(path.resolve(__dirname, '..', '..'));

const [scenario, dir, arg] = process.argv.slice(2);
const out = (result) => process.stdout.write(`${JSON.stringify(result)}\n`);
const errorOf = (e) => ({ name: e && e.name, code: e && e.code, message: e && e.message, stack: e && e.stack });

async function settleAll(promises) {
  const outcomes = await Promise.allSettled(promises);
  return outcomes.map((o) => (o.status === 'fulfilled' ? { ok: true } : { ok: false, error: errorOf(o.reason) }));
}

const scenarios = {
  /**
   * Run under `ulimit -f <KiB>`: small writes commit, then writes grow until the file size
   * limit makes them fail. Reports which keys were acknowledged (their promise resolved).
   */
  async fsize() {
    const c = new Cache(dir, { serializer: new BytesSerializer() });
    const acknowledged = [];
    const failures = [];
    // 1. Small values, acknowledged before anything fails.
    const small = [];
    for (let i = 0; i < 200; i++) small.push(c.setAsync(`small-${i}`, Buffer.alloc(100, i % 256)));
    for (const [i, o] of (await settleAll(small)).entries()) (o.ok ? acknowledged : failures).push(o.ok ? `small-${i}` : o.error);
    // 2. One value larger than the limit, alone: its file cannot be written.
    const big = await settleAll([c.setAsync('too-big', Buffer.alloc(Number(arg) * 1024 + 4096, 1))]);
    if (big[0].ok) acknowledged.push('too-big');
    else failures.push(big[0].error);
    // 3. A batch mixing small values and one too big: the small ones still commit.
    const mixed = [];
    for (let i = 0; i < 20; i++) {
      mixed.push(c.setAsync(`mixed-${i}`, i === 10 ? Buffer.alloc(Number(arg) * 1024 + 4096, 2) : Buffer.alloc(50, i)));
    }
    for (const [i, o] of (await settleAll(mixed)).entries()) (o.ok ? acknowledged : failures).push(o.ok ? `mixed-${i}` : o.error);
    // 4. Medium values until the database or its WAL reaches the limit.
    for (let round = 0; round < 400; round++) {
      const batch = [];
      for (let i = 0; i < 10; i++) batch.push(c.setAsync(`fill-${round}-${i}`, Buffer.alloc(4000, (round + i) % 256)));
      const outcomes = await settleAll(batch);
      let failed = false;
      for (const [i, o] of outcomes.entries()) {
        if (o.ok) acknowledged.push(`fill-${round}-${i}`);
        else {
          failures.push(o.error);
          failed = true;
        }
      }
      if (failed) break;
    }
    let closeError = null;
    try {
      c.close();
    } catch (e) {
      closeError = errorOf(e);
    }
    out({ acknowledged, failures, closeError });
  },

  /**
   * Run as an unprivileged user: writes, then makes the store's directory read-only and
   * writes again (a value file can no longer be created).
   */
  async readonly() {
    const c = new Cache(dir, { serializer: new BytesSerializer() });
    await c.setAsync('before', Buffer.from('committed'));
    await c.setAsync('before-big', Buffer.alloc(20000, 3));
    const walk = (d) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(d, e.name));
      fs.chmodSync(d, 0o555);
    };
    walk(dir);
    const outcomes = await settleAll([
      c.setAsync('small-after', Buffer.from('ok')),
      c.setAsync('big-after', Buffer.alloc(20000, 4)),
      c.setAsync('small-after-2', Buffer.from('ok2')),
    ]);
    const read = (await c.getAsync('before')).toString();
    c.close();
    out({ outcomes, read });
  },

  /** memoize(fn, { lock }) from several processes at once; fn counts its calls in the store. */
  async memoLock() {
    const c = new Cache(dir);
    const timeout = arg === undefined ? undefined : Number(arg);
    const f = c.memoize(
      async function expensive(x) {
        c.incr('calls');
        await new Promise((resolve) => setTimeout(resolve, 400));
        return { x, by: process.pid };
      },
      { lock: timeout === undefined ? true : { timeout } },
    );
    // start together: say ready, then wait for the go line on stdin
    out({ ready: true });
    await new Promise((resolve) => process.stdin.once('data', resolve));
    process.stdin.pause();
    try {
      const value = await f(21);
      out({ value });
    } catch (e) {
      out({ error: errorOf(e) });
    }
    c.close();
  },

  /** Writes without awaiting or closing, then lets the process end by itself. */
  async noAwait() {
    const c = new Cache(dir);
    for (let i = 0; i < Number(arg); i++) c.setAsync(`k${i}`, i);
    out({ issued: Number(arg) });
  },
};

scenarios[scenario]().catch((e) => {
  process.stderr.write(`${e && e.stack}\n`);
  process.exit(1);
});
