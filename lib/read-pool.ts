/**
 * The read pool of the synchronous reads (get, peek, pop). Giving each value read its own
 * ArrayBuffer costs V8 a few hundred nanoseconds (an allocation outside the JavaScript heap,
 * its bookkeeping and its release by the garbage collector's sweeper thread), more than
 * SQLite takes to find a small value. So, as Node's `Buffer.from`/`Buffer.allocUnsafe` do
 * with Node's own pool, a value of at most MAX_POOLED bytes is written by the addon straight
 * into a shared ArrayBuffer (still one copy, into memory V8 owns: no external buffer) and
 * returned as a Buffer over its slice. Larger values keep an ArrayBuffer of their own.
 *
 * A slice is handed out once and never written again: a pool is only ever appended to, and
 * replaced by a fresh one when it has less than MAX_POOLED bytes left. Pools are
 * zero-filled (a pooled Buffer's `.buffer` shows other values read in this thread, never
 * uninitialized memory) and marked untransferable, like Node's, so that transferring one
 * value's `.buffer` cannot detach the others (Node clones it instead, or throws).
 */
import { Buffer } from 'node:buffer'; // not the global: in Node 20 that is a getter, run on every use
import { markAsUntransferable } from 'node:worker_threads';
import { binding } from './native';

/** The addon's `pooled_read_max`: larger values get an ArrayBuffer of their own. */
const MAX_POOLED = binding.pooledReadMax;
const POOL_BYTES = 16 * 1024;

export interface ReadPool {
  /** Passed to the addon with `offset`. */
  readonly buffer: ArrayBuffer;
  /** Where the next value goes; a multiple of 8, as Node aligns its pool. */
  offset: number;
}

/** Empty until the first read: a process that never reads allocates nothing. */
let current: ReadPool = { buffer: new ArrayBuffer(0), offset: 0 };

function newPool(): ReadPool {
  const buffer = new ArrayBuffer(POOL_BYTES);
  markAsUntransferable(buffer);
  return { buffer, offset: 0 };
}

/** The pool to pass to the next read, with at least MAX_POOLED bytes free. */
export function readPool(): ReadPool {
  // byteLength is 0 if the pool was detached after all: start a new one.
  if (current.buffer.byteLength - current.offset < MAX_POOLED) current = newPool();
  return current;
}

/**
 * The Buffer of a read given `pool` and `offset`: the addon's result is undefined (a miss),
 * a Buffer of its own (a large value), or the size of the value it wrote at `offset`.
 */
export function pooledResult(pool: ReadPool, offset: number, result: Buffer | number | undefined): Buffer | undefined {
  if (typeof result !== 'number') return result;
  pool.offset = offset + ((result + 7) & ~7);
  return Buffer.from(pool.buffer, offset, result);
}
