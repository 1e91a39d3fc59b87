/**
 * Reading Python pickles (protocols 0 to 5) into plain JavaScript values, for migrating
 * diskcache entries. The opcodes are interpreted by `pickleparser`; this module decides what
 * may be rebuilt and what comes out:
 *
 * - None -> null, bool -> boolean, int -> number (bigint beyond Number.MAX_SAFE_INTEGER),
 *   float -> number, str -> string, bytes and bytearray -> Buffer, list and tuple -> Array,
 *   set and frozenset -> Set, dict -> a plain object when every key is a str, else a Map
 *   (so is collections.OrderedDict).
 * - Any other Python type (a class of the program that wrote the cache, numpy arrays,
 *   datetime, Decimal, ...) is refused with a PickleError naming it: nothing foreign is
 *   ever instantiated or called.
 *
 * pickleparser reads the integer opcodes LONG1 and LONG4 as unsigned (so -2**40 would come
 * back positive) and INT and LONG through parseInt (inexact past 2**53). Before parsing, those
 * opcodes are rewritten into calls of a decoder of our own (GLOBAL + the bytes + TUPLE1 +
 * REDUCE, which leaves the stack and the memo as the original opcode would), so integers of
 * any size and sign come back exact. With `exactFloats`, floats are rewritten the same way
 * into PyFloat boxes, so that a key's Python str() can tell 2.0 from 2.
 */
import { Parser } from 'pickleparser';

export class PickleError extends Error {}
Object.defineProperty(PickleError.prototype, 'name', { value: 'PickleError', writable: true, configurable: true });

/** A Python float kept apart from ints (see `exactFloats`). */
export class PyFloat {
  constructor(readonly value: number) {}
}

export interface UnpickleOptions {
  /** Return floats as PyFloat instead of number. */
  exactFloats?: boolean;
}

type Callable = (...args: any[]) => unknown;

// Rewritten opcodes call these through GLOBAL: a module name no Python module can have.
const ownModule = 'sciqlop-cache:';
const ownNames = {
  intFromBytes: 'int_le', // LONG1 / LONG4: little-endian two's complement
  intFromText: 'int_text', // LONG: decimal text with an optional trailing L
  intOrBoolFromText: 'int_or_bool_text', // INT: as LONG, but 01 and 00 are True and False
  floatFromBytes: 'float_be', // BINFLOAT: big-endian IEEE 754 double
  floatFromText: 'float_text', // FLOAT: repr text
} as const;

function exactInteger(value: bigint): number | bigint {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

function intFromLittleEndian(bytes: Uint8Array): number | bigint {
  if (bytes.length === 0) return 0;
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]!);
  if (bytes[bytes.length - 1]! & 0x80) value -= 1n << BigInt(8 * bytes.length);
  return exactInteger(value);
}

function intFromText(text: string): number | bigint {
  const digits = text.trim().replace(/L$/, '');
  if (!/^[+-]?\d+$/.test(digits)) throw new PickleError(`Invalid integer ${JSON.stringify(text)} in the pickle`);
  return exactInteger(BigInt(digits));
}

const builtinModules = new Set(['builtins', '__builtin__']);

function allowedGlobal(module: string, name: string, exactFloats: boolean): Callable | undefined {
  if (module === ownModule) {
    switch (name) {
      case ownNames.intFromBytes:
        return (bytes: Uint8Array) => intFromLittleEndian(bytes);
      case ownNames.intFromText:
        return (text: string) => intFromText(text);
      case ownNames.intOrBoolFromText:
        return (text: string) => (text === '01' ? true : text === '00' ? false : intFromText(text));
      case ownNames.floatFromBytes:
        return (bytes: Uint8Array) => {
          const value = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getFloat64(0, false);
          return exactFloats ? new PyFloat(value) : value;
        };
      case ownNames.floatFromText:
        return (text: string) => {
          const value = Number(text.trim());
          return exactFloats ? new PyFloat(value) : value;
        };
    }
    return undefined;
  }
  if (builtinModules.has(module)) {
    switch (name) {
      case 'set':
      case 'frozenset':
        return (items: Iterable<unknown> = []) => new Set(items);
      case 'bytearray':
      case 'bytes':
        return (source: unknown = [], encoding?: string) =>
          typeof source === 'string'
            ? Buffer.from(source, encoding === 'latin1' || encoding === 'latin-1' ? 'latin1' : 'utf8')
            : Buffer.from(source as Uint8Array);
    }
    return undefined;
  }
  // Protocols 0 to 2 pickle bytes as _codecs.encode(str, 'latin1').
  if (module === '_codecs' && name === 'encode') {
    return (text: string, encoding = 'utf-8') =>
      Buffer.from(text, encoding === 'latin1' || encoding === 'latin-1' ? 'latin1' : 'utf8');
  }
  if (module === 'collections' && name === 'OrderedDict') return () => new Map();
  return undefined;
}

// ---- opcode rewriting -------------------------------------------------------------------

/** How each opcode's argument is laid out (Lib/pickletools.py). */
const enum Arg {
  None,
  Line,
  TwoLines,
  U1,
  U2,
  U4,
  F8,
  U8,
  Len1,
  Len4,
  Len8,
}

const argOf = new Map<number, Arg>();
function define(kind: Arg, opcodes: string | number[]): void {
  for (const op of typeof opcodes === 'string' ? [...opcodes].map((c) => c.charCodeAt(0)) : opcodes) argOf.set(op, kind);
}
define(Arg.None, '(.012NRabd}el]ost)uQ');
define(Arg.None, [0x81, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x97, 0x98]);
define(Arg.Line, 'FILSVPgp');
define(Arg.TwoLines, 'ci');
define(Arg.U1, 'Khq');
define(Arg.U1, [0x80, 0x82]);
define(Arg.U2, 'M');
define(Arg.U2, [0x83]);
define(Arg.U4, 'Jjr');
define(Arg.U4, [0x84]);
define(Arg.F8, 'G');
define(Arg.U8, [0x95]);
define(Arg.Len1, 'UC');
define(Arg.Len1, [0x8a, 0x8c]);
define(Arg.Len4, 'TBX');
define(Arg.Len4, [0x8b]);
define(Arg.Len8, [0x8d, 0x8e, 0x96]);

const OP = {
  STOP: 0x2e,
  INT: 0x49, // 'I'
  LONG: 0x4c, // 'L'
  FLOAT: 0x46, // 'F'
  BINFLOAT: 0x47, // 'G'
  LONG1: 0x8a,
  LONG4: 0x8b,
  GLOBAL: 0x63, // 'c'
  SHORT_BINBYTES: 0x43, // 'C'
  BINBYTES: 0x42, // 'B'
  BINUNICODE: 0x58, // 'X'
  TUPLE1: 0x85,
  REDUCE: 0x52, // 'R'
} as const;

/** GLOBAL <own name>, then `argument` (which pushes one value), TUPLE1, REDUCE. */
function callOwn(name: string, argument: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from([OP.GLOBAL]),
    Buffer.from(`${ownModule}\n${name}\n`, 'latin1'),
    argument,
    Buffer.from([OP.TUPLE1, OP.REDUCE]),
  ]);
}

function bytesArgument(bytes: Uint8Array): Buffer {
  if (bytes.length < 256) return Buffer.concat([Buffer.from([OP.SHORT_BINBYTES, bytes.length]), bytes]);
  const header = Buffer.alloc(5);
  header[0] = OP.BINBYTES;
  header.writeUInt32LE(bytes.length, 1);
  return Buffer.concat([header, bytes]);
}

function textArgument(text: Uint8Array): Buffer {
  const header = Buffer.alloc(5);
  header[0] = OP.BINUNICODE;
  header.writeUInt32LE(text.length, 1);
  return Buffer.concat([header, text]);
}

/**
 * The pickle with its integer (and, with `exactFloats`, float) opcodes rewritten as calls of
 * our decoders; the input itself when there is nothing to rewrite. Also refuses unknown
 * opcodes and truncated arguments.
 */
function rewrite(pickle: Uint8Array, exactFloats: boolean): Uint8Array {
  const parts: Uint8Array[] = [];
  let copiedUpTo = 0;
  let at = 0;
  const need = (n: number): void => {
    if (at + n > pickle.length) throw new PickleError('Truncated pickle');
  };
  const lineEnd = (): number => {
    const end = pickle.indexOf(0x0a, at);
    if (end < 0) throw new PickleError('Truncated pickle');
    return end;
  };
  const view = new DataView(pickle.buffer, pickle.byteOffset, pickle.byteLength);
  while (at < pickle.length) {
    const start = at;
    const op = pickle[at++]!;
    const kind = argOf.get(op);
    if (kind === undefined) throw new PickleError(`Unknown pickle opcode 0x${op.toString(16)} at byte ${start}`);
    let replacement: Buffer | undefined;
    switch (kind) {
      case Arg.None:
        break;
      case Arg.Line: {
        const end = lineEnd();
        if (op === OP.LONG) replacement = callOwn(ownNames.intFromText, textArgument(pickle.subarray(at, end)));
        else if (op === OP.INT)
          replacement = callOwn(ownNames.intOrBoolFromText, textArgument(pickle.subarray(at, end)));
        else if (op === OP.FLOAT && exactFloats)
          replacement = callOwn(ownNames.floatFromText, textArgument(pickle.subarray(at, end)));
        at = end + 1;
        break;
      }
      case Arg.TwoLines:
        at = lineEnd() + 1;
        at = lineEnd() + 1;
        break;
      case Arg.U1:
        need(1);
        at += 1;
        break;
      case Arg.U2:
        need(2);
        at += 2;
        break;
      case Arg.U4:
        need(4);
        at += 4;
        break;
      case Arg.F8:
        need(8);
        if (op === OP.BINFLOAT && exactFloats)
          replacement = callOwn(ownNames.floatFromBytes, bytesArgument(pickle.subarray(at, at + 8)));
        at += 8;
        break;
      case Arg.U8:
        need(8);
        at += 8;
        break;
      case Arg.Len1: {
        need(1);
        const n = pickle[at]!;
        at += 1;
        need(n);
        if (op === OP.LONG1) replacement = callOwn(ownNames.intFromBytes, bytesArgument(pickle.subarray(at, at + n)));
        at += n;
        break;
      }
      case Arg.Len4: {
        need(4);
        const n = op === OP.LONG4 ? view.getInt32(at, true) : view.getUint32(at, true);
        if (n < 0) throw new PickleError('Negative length in the pickle');
        at += 4;
        need(n);
        if (op === OP.LONG4) replacement = callOwn(ownNames.intFromBytes, bytesArgument(pickle.subarray(at, at + n)));
        at += n;
        break;
      }
      case Arg.Len8: {
        need(8);
        const n = Number(view.getBigUint64(at, true));
        at += 8;
        need(n);
        at += n;
        break;
      }
    }
    if (replacement !== undefined) {
      parts.push(pickle.subarray(copiedUpTo, start), replacement);
      copiedUpTo = at;
    }
    if (op === OP.STOP) break;
  }
  if (parts.length === 0) return pickle;
  parts.push(pickle.subarray(copiedUpTo));
  return Buffer.concat(parts);
}

// ---- from pickleparser's objects to plain values -----------------------------------------

/**
 * Copies bytes out of the pickle (pickleparser returns views into it), turns str-keyed
 * dicts into plain objects, and keeps shared and cyclic references shared.
 */
function toPlain(value: unknown, seen: Map<object, unknown>): unknown {
  if (typeof value !== 'object' || value === null || value instanceof PyFloat) return value;
  const done = seen.get(value);
  if (done !== undefined) return done;
  if (value instanceof Uint8Array) {
    const copy = Buffer.from(value);
    seen.set(value, copy);
    return copy;
  }
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    seen.set(value, out);
    for (const item of value) out.push(toPlain(item, seen));
    return out;
  }
  if (value instanceof Set) {
    const out = new Set<unknown>();
    seen.set(value, out);
    for (const item of value) out.add(toPlain(item, seen));
    return out;
  }
  if (value instanceof Map) {
    // pickleparser's DICT opcode (protocols 0 and 1) sets properties instead of entries.
    const entries: [unknown, unknown][] = [...value.entries(), ...Object.entries(value)];
    if (entries.every(([k]) => typeof k === 'string')) {
      const out: Record<string, unknown> = {};
      seen.set(value, out);
      for (const [k, v] of entries) {
        Object.defineProperty(out, k as string, {
          value: toPlain(v, seen),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    }
    const out = new Map<unknown, unknown>();
    seen.set(value, out);
    for (const [k, v] of entries) out.set(toPlain(k, seen), toPlain(v, seen));
    return out;
  }
  throw new PickleError(`Unexpected ${Object.prototype.toString.call(value)} in the pickle`);
}

/** The value of a pickle; a PickleError when it is malformed or holds a type not listed above. */
export function unpickle(pickle: Uint8Array, options: UnpickleOptions = {}): unknown {
  const exactFloats = options.exactFloats === true;
  const parser = new Parser({
    unpicklingTypeOfDictionary: 'Map',
    unpicklingTypeOfSet: 'Set',
    nameResolver: {
      resolve(module: string, name: string) {
        const fn = allowedGlobal(module, name, exactFloats);
        if (fn === undefined) throw new PickleError(`unsupported Python type ${module}.${name}`);
        return fn;
      },
    },
  });
  let parsed: unknown;
  try {
    parsed = parser.parse(rewrite(pickle, exactFloats));
  } catch (error) {
    if (error instanceof PickleError) throw error;
    throw new PickleError(`malformed pickle: ${error instanceof Error ? error.message : String(error)}`);
  }
  return toPlain(parsed, new Map());
}
