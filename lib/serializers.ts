/**
 * Serializers turn values into the bytes the native store keeps. The store records the
 * serializer's `name` in its `meta` table on first open, so a directory is never read with
 * the wrong one (see `resolveSerializer` in store.ts).
 */
import { Buffer } from 'node:buffer'; // not the global: in Node 20 that is a getter, run on every use
import * as v8 from 'node:v8';
import { Packr } from 'msgpackr';
import { SciqlopCacheError } from './errors';
import { asTypeError, expected } from './validate';

export interface Serializer<V = any> {
  /** Recorded in the store; two serializers with the same name must read each other's bytes. */
  readonly name: string;
  serialize(value: V): Uint8Array;
  deserialize(bytes: Uint8Array): V;
}

/**
 * The default: Node's structured-clone wire format (`v8.serialize`). Round-trips objects,
 * arrays, Map, Set, Date, RegExp, BigInt, typed arrays, Buffers, cycles, and `undefined`.
 * The format belongs to V8 and is read by later Node versions, not by other languages.
 */
export class V8Serializer implements Serializer<any> {
  readonly name = 'v8';
  serialize(value: any): Uint8Array {
    try {
      return v8.serialize(value);
    } catch (error) {
      // V8 reports an uncloneable value (a function, a symbol, a WeakMap, a Promise...) with
      // a plain Error: make it the TypeError a bad argument is everywhere else.
      throw asTypeError(error, /could not be cloned\.?$/, 'a structured-cloneable value', value);
    }
  }
  deserialize(bytes: Uint8Array): any {
    return v8.deserialize(bytes);
  }
}

/**
 * MessagePack through msgpackr, without msgpackr's record extension so that other
 * MessagePack readers understand every byte. Recorded as `msgspec`, the name
 * pysciqlop-cache gives its MessagePack serializer, so both libraries open each other's
 * stores. Plain data only: a Map comes back as an object, a Set or Date is not preserved
 * as such.
 */
export class MsgpackSerializer implements Serializer<any> {
  readonly name = 'msgspec';
  readonly #packr = new Packr({ useRecords: false });
  serialize(value: any): Uint8Array {
    try {
      return this.#packr.pack(value);
    } catch (error) {
      throw asTypeError(error, /^Unknown type/, 'a value MessagePack can encode', value);
    }
  }
  deserialize(bytes: Uint8Array): any {
    try {
      return this.#packr.unpack(bytes);
    } catch (error) {
      throw undecodable(this.name, error);
    }
  }
}

/**
 * Bytes a built-in serializer cannot decode (written by another program, or a value it
 * could encode but not decode, such as a Map with object keys for MessagePack, which reads
 * maps back as objects) are a SciqlopCacheError CORRUPT naming the serializer, not
 * whatever the decoder threw.
 */
function undecodable(name: string, error: unknown): SciqlopCacheError {
  const e = new SciqlopCacheError(`The stored bytes cannot be decoded by the ${name} serializer: ${String((error as Error)?.message ?? error)}`, 'CORRUPT');
  (e as { cause?: unknown }).cause = error;
  return e;
}

/**
 * JSON in UTF-8: plain data, human-readable in the database. `undefined` (which JSON
 * cannot express) is stored as zero bytes so that it round-trips like with the other
 * serializers.
 */
export class JsonSerializer implements Serializer<any> {
  readonly name = 'json';
  serialize(value: any): Uint8Array {
    if (value === undefined) return new Uint8Array(0);
    const text = JSON.stringify(value);
    if (text === undefined) throw new TypeError(expected('a JSON-serializable value', 'value', value));
    return Buffer.from(text, 'utf8');
  }
  deserialize(bytes: Uint8Array): any {
    if (bytes.byteLength === 0) return undefined;
    return JSON.parse(asBuffer(bytes).toString('utf8'));
  }
}

/**
 * Raw bytes, stored as they are: `serialize` returns a view of the value, never a copy,
 * and `get` returns a `Buffer`. Anything that is not bytes is a TypeError.
 */
export class BytesSerializer implements Serializer<Uint8Array> {
  readonly name = 'bytes';
  serialize(value: Uint8Array | ArrayBufferView | ArrayBuffer): Uint8Array {
    if (value instanceof Uint8Array) return value;
    if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    if (value instanceof ArrayBuffer) return new Uint8Array(value);
    throw new TypeError(expected('a Buffer, Uint8Array or ArrayBuffer', 'value', value));
  }
  deserialize(bytes: Uint8Array): Buffer {
    return asBuffer(bytes);
  }
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The built-in serializer recorded under `name`, or undefined for a name of another serializer. */
export function builtinSerializer(name: string): Serializer | undefined {
  switch (name) {
    case 'v8':
      return new V8Serializer();
    case 'msgspec':
      return new MsgpackSerializer();
    case 'json':
      return new JsonSerializer();
    case 'bytes':
      return new BytesSerializer();
    default:
      return undefined;
  }
}

export function checkSerializer(value: unknown): Serializer {
  const s = value as Partial<Serializer> | null;
  if (
    typeof s !== 'object' ||
    s === null ||
    typeof s.name !== 'string' ||
    s.name === '' ||
    typeof s.serialize !== 'function' ||
    typeof s.deserialize !== 'function'
  ) {
    throw new TypeError(expected('a serializer { name, serialize, deserialize }', 'serializer', value));
  }
  return s as Serializer;
}
