/**
 * The JavaScript half of a store's asynchronous operations (`getAsync`, `setAsync`, ...);
 * the native half is binding/async_queue.hpp, whose comment has the whole design.
 *
 * - Each operation is queued natively in call order (its arguments copied there), and one
 *   record per operation waits here, in the same order, for its outcome. The native worker
 *   commits the writes of an event-loop turn together: `asyncFlush()` runs from a microtask
 *   queued by the turn's first operation, and tells it the turn is over.
 * - Outcomes come back in call order through `settle(count, results?, errors?)`, after the
 *   commit; values are deserialized here, on the calling thread.
 * - Errors keep the caller's stack. The first operation of a synchronous run creates its
 *   error object at the call site (the stack captured then, starting at the caller's line)
 *   and a failure only fills in its message and code. Capturing a stack costs more than the
 *   rest of an operation (several microseconds when the caller is optimized code: 100,000
 *   calls in a loop took twice as long with a capture each), so the later operations of
 *   the same run (a loop, a `Promise.all(keys.map(...))`) skip it: their error is created
 *   when the failure reaches the returned promise, where V8's async stack trace starts at
 *   the line that awaits it (`at async caller (file:line)`, through `Promise.all` too). A
 *   promise nobody awaits then has no caller frame; bad arguments and a closed store are
 *   reported during the call, with the caller's stack, either way.
 * - `incrAsync` reads, adds and writes inside the worker's transaction; the adding goes
 *   through the serializer, so the worker asks `step(seq, bytes?)` for the bytes to write.
 * - Batches (what lmdb-js does too): consecutive `setAsync` calls with small values and the
 *   same options are gathered here, keys (UTF-8) and values back to back in one block, and
 *   handed over as one native operation (`asyncSetBatch`, one copy of the block, one
 *   `set_many`) when the turn ends, when the block is full (so that the worker starts on it
 *   while JavaScript goes on), or before any other operation on the store: the lib's own
 *   asynchronous calls hand it over first (see `native`), and a synchronous call makes the
 *   addon take it (`#takeBatch`, while `#flag[0]` says one is being gathered) before it
 *   waits for the queue. A batch is written all or none (one transaction; per shard for a
 *   fanout), so its calls share one promise: no promise, closure or record per call.
 *   Values larger than the engine's inline limit (written to files of their own, so they can
 *   fail alone: a full disk, a read-only folder) and values that are not plain Uint8Arrays
 *   take the one-operation-per-call path.
 */
import { closedError, SciqlopCacheError } from './errors';
import { binding, type NativeBatchArgs, type NativeStore } from './native';
import type { Serializer } from './serializers';
import { describe } from './validate';

/** Operation kinds: how a record turns its native result into the promised value. */
export const GET = 0;
export const HAS = 1; // has, delete, add: a boolean
export const POP = 2;
export const SET = 3; // set, setMany: undefined
export const INCR = 4;
export const GET_MANY = 5;

interface PendingOp {
  kind: number;
  resolve(value: unknown): void;
  reject(reason: unknown): void;
  /** The error the promise rejects with, created at the call site (see above). */
  site: SciqlopCacheError | undefined;
  /** GET/POP: the default value; INCR: the counter's key, delta and default. */
  arg: unknown;
  /** INCR: the outcome of the last step (the one whose write committed). */
  result?: number;
  failure?: unknown;
}

/** Values up to this size are batched: the engine's inline limit (larger ones go to files). */
const BATCH_MAX_VALUE = binding.inlineValueMax;
/** A batch is handed over once it holds this many bytes or entries (the worker starts on it). */
const BATCH_BYTES = 1 << 20;
const BATCH_ENTRIES = 4096;
/** The block of a store's first batch; it grows (to about BATCH_BYTES) when batches need more. */
const BATCH_FIRST_BLOCK = 64 * 1024;

interface IncrArg {
  key: string;
  delta: number;
  defaultValue: number;
}

/**
 * A SciqlopCacheError whose stack starts at the caller of `api` (the public method called).
 * Its message and code are filled in if the operation fails.
 */
export function callSite(api: Function): SciqlopCacheError {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0; // the constructor's own capture would be thrown away
  const site = new SciqlopCacheError('', '');
  Error.stackTraceLimit = limit;
  Error.captureStackTrace(site, api);
  return site;
}

function hasCode(error: unknown): error is SciqlopCacheError {
  return error !== null && typeof error === 'object' && typeof (error as { code?: unknown }).code === 'string';
}

/** Fills the call-site error with a native error's message, code and details. */
export function fillSite(site: SciqlopCacheError, error: unknown): unknown {
  if (!hasCode(error)) return error;
  const from = error as SciqlopCacheError;
  const to = site as { -readonly [K in keyof SciqlopCacheError]: SciqlopCacheError[K] };
  to.message = from.message;
  to.code = from.code;
  if (from.sqliteCode !== undefined) to.sqliteCode = from.sqliteCode;
  if (from.sqliteExtendedCode !== undefined) to.sqliteExtendedCode = from.sqliteExtendedCode;
  if (from.errno !== undefined) to.errno = from.errno;
  return site;
}

/**
 * The rejection for an error thrown synchronously while preparing an operation (still in the
 * call, so with the caller's stack whether or not a site was captured): native errors fill
 * the call-site error; our TypeErrors and RangeErrors get a stack starting at the caller; an
 * error from the serializer is kept as it is (its stack shows where it failed).
 */
export function rejectAt(
  site: SciqlopCacheError | undefined,
  error: unknown,
  api: Function,
  fromSerializer = false,
): Promise<never> {
  if (!fromSerializer) {
    if (error instanceof TypeError || error instanceof RangeError) Error.captureStackTrace(error, api);
    else if (hasCode(error)) error = fillSite(site ?? callSite(api), error);
  }
  return Promise.reject(error);
}

/**
 * The rejection handler of an operation without a call-site error: the same error, created
 * here so that V8 gives it the async stack of whoever awaits the promise.
 */
function relocate(error: unknown): never {
  if (!hasCode(error)) throw error;
  const relocated = fillSite(new SciqlopCacheError('', ''), error) as SciqlopCacheError;
  Error.captureStackTrace(relocated, relocate);
  throw relocated;
}

export class AsyncOps<V> {
  readonly #native: NativeStore;
  readonly #serializer: Serializer<V>;
  /** Records of the unsettled operations from index #head on, in call order. */
  #records: Array<PendingOp | undefined> = [];
  #head = 0;
  /** Operations settled so far: the sequence number of records[#head]. */
  #settled = 0;
  #started = false;
  #flushQueued = false;

  // The batch being gathered (see the file comment): #count entries, #used bytes of #block,
  // the key and value lengths of entry i at #lengths[2i], #lengths[2i + 1].
  /** #flag[0] is 1 while a batch is being gathered; the addon reads it (off the V8 heap). */
  readonly #flag = new Uint8Array(new ArrayBuffer(8));
  #block: Buffer | undefined;
  #lengths: Uint32Array | undefined;
  #used = 0;
  #count = 0;
  #expire: number | undefined;
  #tag: string | undefined;
  #batch: PendingOp | undefined;
  #batchPromise: Promise<void> | undefined;

  constructor(native: NativeStore, serializer: Serializer<V>) {
    this.#native = native;
    this.#serializer = serializer;
  }

  /** The native store, started for asynchronous operations, with the batch handed over. */
  get native(): NativeStore {
    if (!this.#started) {
      this.#native.asyncStart(this.#settle, this.#step, this.#takeBatch, this.#flag);
      this.#started = true;
    }
    if (this.#count !== 0) this.#handOver();
    return this.#native;
  }

  /**
   * setAsync() of bytes already serialized (with the key and options checked): gathered into
   * the current batch when small, else queued on its own. Throws (for the caller to reject)
   * only before anything is queued.
   */
  set(api: Function, key: string, bytes: Uint8Array, expire: number | undefined, tag: string | undefined): Promise<void> {
    if (!(bytes instanceof Uint8Array) || bytes.byteLength > BATCH_MAX_VALUE) {
      const site = this.site(api);
      const native = this.native;
      if (expire === undefined && tag === undefined) native.asyncSet(key, bytes);
      else native.asyncSet(key, bytes, expire, tag);
      return this.track(SET, site);
    }
    const size = bytes.byteLength;
    const room = key.length * 3 + size; // the most the entry can take
    if (this.#count !== 0) {
      if (expire !== this.#expire || tag !== this.#tag) this.#handOver();
      else if (this.#used + room > this.#block!.length && !this.#grow(this.#used + room)) this.#handOver();
    }
    if (this.#count === 0) this.#startBatch(api, expire, tag, room);
    const block = this.#block!;
    let used = this.#used;
    // the key as UTF-8: a plain loop for short ASCII keys, Buffer's encoder otherwise
    const start = used;
    const length = key.length;
    let i = 0;
    if (length <= 64) {
      for (; i < length; i++) {
        const c = key.charCodeAt(i);
        if (c >= 0x80) break;
        block[used++] = c;
      }
    }
    if (i < length) used = start + block.write(key, start, room, 'utf8');
    const lengths = this.#lengths!;
    const n = this.#count;
    lengths[2 * n] = used - start;
    lengths[2 * n + 1] = size;
    block.set(bytes, used);
    this.#used = used + size;
    this.#count = n + 1;
    const promise = this.#batchPromise!;
    if (this.#used >= BATCH_BYTES || n + 1 >= BATCH_ENTRIES) this.#handOver();
    return promise;
  }

  /** Opens a batch for an entry of at most `room` bytes; throws CLOSED on a closed store. */
  #startBatch(api: Function, expire: number | undefined, tag: string | undefined, room: number): void {
    const native = this.native;
    if (native.isClosed()) throw closedError();
    if (this.#block === undefined || this.#block.length < room) {
      this.#block = Buffer.allocUnsafeSlow(Math.max(BATCH_FIRST_BLOCK, room));
      this.#lengths ??= new Uint32Array(2 * BATCH_ENTRIES);
    }
    const site = this.site(api);
    let resolve!: (value: unknown) => void;
    let reject!: (reason: unknown) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res as (value: unknown) => void;
      reject = rej;
    });
    this.#batch = { kind: SET, resolve, reject, site, arg: undefined };
    this.#batchPromise = site === undefined ? promise.then(undefined, relocate) : promise;
    this.#expire = expire;
    this.#tag = tag;
    this.#flag[0] = 1;
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(this.#flush);
    }
  }

  /**
   * Makes room for `needed` bytes in the block of the current batch by doubling it, up to
   * BATCH_BYTES plus one entry; false when the batch should rather be handed over.
   */
  #grow(needed: number): boolean {
    const block = this.#block!;
    if (block.length >= BATCH_BYTES) return false;
    const grown = Buffer.allocUnsafeSlow(Math.max(Math.min(block.length * 2, BATCH_BYTES + BATCH_MAX_VALUE + 256), needed));
    block.copy(grown, 0, 0, this.#used);
    this.#block = grown;
    return true;
  }

  /** The current batch, closed: its record joins the others (in call order), state reset. */
  #closeBatch(): PendingOp {
    const record = this.#batch!;
    this.#records.push(record);
    this.#batch = undefined;
    this.#batchPromise = undefined;
    this.#count = 0;
    this.#used = 0;
    this.#flag[0] = 0;
    return record;
  }

  /** Queues the current batch natively (the addon copies the block, which is then reused). */
  #handOver(): void {
    const used = this.#used;
    const count = this.#count;
    const record = this.#closeBatch();
    try {
      this.#native.asyncSetBatch(this.#block!, used, this.#lengths!, count, this.#expire, this.#tag);
    } catch (error) {
      // Not queued (a bug, or the store closed under our feet): settle it here, not in order.
      this.#records.pop();
      record.reject(record.site === undefined ? error : fillSite(record.site, error));
    }
  }

  /** Called by the addon before a synchronous call waits for the queue (and by close()). */
  readonly #takeBatch = (): NativeBatchArgs | undefined => {
    if (this.#count === 0) {
      this.#flag[0] = 0;
      return undefined;
    }
    const args: NativeBatchArgs = [this.#block!, this.#used, this.#lengths!, this.#count, this.#expire, this.#tag];
    this.#closeBatch();
    return args;
  };

  /** The call-site error for an operation of `api` being called, if it is the first of its run. */
  site(api: Function): SciqlopCacheError | undefined {
    return this.#flushQueued ? undefined : callSite(api);
  }

  /** Registers the operation just queued natively; returns its promise. */
  track<T>(kind: number, site: SciqlopCacheError | undefined, arg?: unknown): Promise<T> {
    let resolve!: (value: unknown) => void;
    let reject!: (reason: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res as (value: unknown) => void;
      reject = rej;
    });
    this.#records.push({ kind, resolve, reject, site, arg });
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(this.#flush);
    }
    return site === undefined ? promise.then(undefined, relocate) : promise;
  }

  readonly #flush = (): void => {
    this.#flushQueued = false;
    if (this.#count !== 0) this.#handOver();
    this.#native.asyncFlush();
  };

  readonly #settle = (count: number, results: unknown[] | undefined, errors: unknown[] | undefined): void => {
    const records = this.#records;
    let head = this.#head;
    for (let i = 0; i < count; i++, head++) {
      const record = records[head]!;
      records[head] = undefined;
      const error = errors?.[i];
      if (error !== undefined) {
        record.reject(record.site === undefined ? error : fillSite(record.site, error));
        continue;
      }
      try {
        record.resolve(this.#finish(record, results?.[i]));
      } catch (failure) {
        record.reject(failure);
      }
    }
    this.#settled += count;
    if (head === records.length) {
      records.length = 0;
      head = 0;
    } else if (head > 1024 && head * 2 > records.length) {
      records.splice(0, head);
      head = 0;
    }
    this.#head = head;
  };

  #finish(record: PendingOp, result: unknown): unknown {
    switch (record.kind) {
      case GET:
      case POP:
        return result === undefined ? record.arg : this.#serializer.deserialize(result as Buffer);
      case HAS:
        return result;
      case INCR:
        if (record.failure !== undefined) throw record.failure;
        return record.result;
      case GET_MANY: {
        const buffers = result as Array<Buffer | undefined>; // holes for the missing keys
        const values = new Array<unknown>(buffers.length);
        for (let i = 0; i < buffers.length; i++) {
          const bytes = buffers[i];
          values[i] = bytes === undefined ? undefined : this.#serializer.deserialize(bytes);
        }
        return values;
      }
      default:
        return undefined;
    }
  }

  /**
   * incrAsync's read-modify-write, called while the worker holds the transaction: the new
   * bytes for the counter whose current bytes are given (undefined when absent), or
   * undefined when the operation fails (the failure is kept for its promise).
   */
  readonly #step = (seq: number, bytes: Buffer | undefined): Uint8Array | undefined => {
    const record = this.#records[this.#head + (seq - this.#settled)];
    if (record === undefined) return undefined;
    const { key, delta, defaultValue } = record.arg as IncrArg;
    try {
      let current = defaultValue;
      if (bytes !== undefined) {
        const stored: unknown = this.#serializer.deserialize(bytes);
        if (typeof stored !== 'number' || !Number.isSafeInteger(stored)) {
          const message = `Expected an integer as the value of ${JSON.stringify(key)} for incr/decr but found ${describe(stored)}`;
          throw fillSite(record.site ?? new SciqlopCacheError('', ''), { message, code: 'NOT_A_NUMBER' });
        }
        current = stored;
      }
      const result = current + delta;
      if (!Number.isSafeInteger(result)) {
        const error = new RangeError(
          `Expected incr/decr of ${JSON.stringify(key)} to stay within Number.MAX_SAFE_INTEGER but ${current} + ${delta} = ${result}`,
        );
        if (record.site !== undefined) {
          error.stack = `RangeError: ${error.message}\n${(record.site.stack ?? '').split('\n').slice(1).join('\n')}`;
        }
        throw error;
      }
      const encoded = this.#serializer.serialize(result as V);
      record.result = result;
      record.failure = undefined;
      return encoded;
    } catch (failure) {
      record.failure = failure;
      return undefined;
    }
  };
}
