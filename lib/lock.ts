/**
 * A cross-process lock built on the store's atomic `add`: holding the lock means having
 * stored a token unique to this Lock object under the lock's key. `release()` deletes the
 * key only if it still holds that token, so a lock that expired and was taken by someone
 * else is reported lost (`false`) instead of being stolen back.
 *
 * Locks are not reentrant: acquiring a lock this object already holds waits like any
 * other contender.
 */
import { randomUUID } from 'node:crypto';
import { disposeSymbol } from './dispose';
import { SciqlopCacheError } from './errors';
import { checkOptions, checkTimeout } from './validate';

/** What a Lock needs from its store (implemented by BaseStore). */
export interface LockBackend {
  /** `add` of raw bytes: stores only if absent, atomically across processes. */
  addRaw(key: string, bytes: Uint8Array, expire: number | undefined, tag: string | undefined): boolean;
  peekRaw(key: string): Buffer | undefined;
  deleteRaw(key: string): boolean;
  hasRaw(key: string): boolean;
  /** Runs `fn` in one transaction on the store (or shard) of `key`. */
  transactOn<R>(key: string, fn: () => R): R;
  /** The lock token in the store's value format, so that `get(key)` on a lock reads a string. */
  encodeToken(token: string): Uint8Array;
}

export interface AcquireOptions {
  /** Seconds to wait; `0` tries once; undefined, null or Infinity waits forever. */
  timeout?: number | null | undefined;
}

const firstDelayMs = 1;
const maxDelayMs = 50;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

let sleepCell: Int32Array | undefined;
/** Blocks the calling thread; Atomics.wait is allowed on the main thread in Node. */
function sleepSync(ms: number): void {
  sleepCell ??= new Int32Array(new SharedArrayBuffer(4));
  Atomics.wait(sleepCell, 0, 0, ms);
}

export class Lock {
  readonly key: string;
  readonly #backend: LockBackend;
  readonly #expire: number | undefined;
  readonly #tag: string | undefined;
  readonly #token: Buffer;
  #held = false;

  /** @internal Created by `store.lock(key, options)`, which validates its arguments. */
  constructor(backend: LockBackend, key: string, expire: number | undefined, tag: string | undefined) {
    this.#backend = backend;
    this.key = key;
    this.#expire = expire;
    this.#tag = tag;
    // A copy: a serializer may hand out views of a buffer it reuses.
    this.#token = Buffer.from(backend.encodeToken(randomUUID()));
  }

  /** One attempt; true if the lock is now held by this object. */
  tryAcquire(): boolean {
    const acquired = this.#backend.addRaw(this.key, this.#token, this.#expire, this.#tag);
    if (acquired) this.#held = true;
    return acquired;
  }

  /** Waits (polling with backoff, without blocking the event loop) until the lock is held. */
  async acquire(options?: AcquireOptions): Promise<this> {
    const timeout = checkTimeout(checkOptions<AcquireOptions>(options, ['timeout'], 'acquire options').timeout);
    const deadline = timeout === undefined ? Infinity : performance.now() + timeout * 1000;
    for (let delay = firstDelayMs; ; delay = Math.min(delay * 2, maxDelayMs)) {
      if (this.tryAcquire()) return this;
      const left = deadline - performance.now();
      if (left <= 0) throw this.#timeoutError(timeout);
      await sleep(Math.min(delay, left));
    }
  }

  /** Like acquire() but blocks the calling thread while waiting. */
  acquireSync(options?: AcquireOptions): this {
    const timeout = checkTimeout(checkOptions<AcquireOptions>(options, ['timeout'], 'acquire options').timeout);
    const deadline = timeout === undefined ? Infinity : performance.now() + timeout * 1000;
    for (let delay = firstDelayMs; ; delay = Math.min(delay * 2, maxDelayMs)) {
      if (this.tryAcquire()) return this;
      const left = deadline - performance.now();
      if (left <= 0) throw this.#timeoutError(timeout);
      sleepSync(Math.min(delay, left));
    }
  }

  /**
   * Releases the lock. Returns false when this object did not hold it, or held it but lost
   * it since (it expired, or was deleted and maybe taken by someone else).
   */
  release(): boolean {
    if (!this.#held) return false;
    this.#held = false;
    const backend = this.#backend;
    return backend.transactOn(this.key, () => {
      const current = backend.peekRaw(this.key);
      if (current === undefined || !this.#token.equals(current)) return false;
      backend.deleteRaw(this.key);
      return true;
    });
  }

  /** True when anyone (this object or another, in any process) holds the lock. */
  locked(): boolean {
    return this.#backend.hasRaw(this.key);
  }

  /** For `using lock = cache.lock(key).acquireSync()`. */
  [disposeSymbol](): void {
    this.release();
  }

  #timeoutError(timeout: number | undefined): SciqlopCacheError {
    return new SciqlopCacheError(
      `Timed out after ${timeout ?? 0} s waiting for the lock ${JSON.stringify(this.key)}`,
      'LOCK_TIMEOUT',
    );
  }
}
