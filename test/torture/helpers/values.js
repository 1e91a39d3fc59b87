'use strict';
// Versioned values shared by the torture children and tests. A value is a plain object
// { k, v, b } (key, version, payload bytes), stored with the default V8 serializer, so
// that a read proves which write it came from and that every byte of it is intact.
// Payloads are pseudo-random bytes determined by (key, version, size).
const v8 = require('node:v8');

function fnv1a(s) {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** `size` pseudo-random bytes determined by (key, version, size). */
function payload(key, version, size) {
  const b = Buffer.allocUnsafe(size);
  let x = (fnv1a(key) ^ Math.imul(version >>> 0, 2654435761) ^ Math.imul(size, 40503)) >>> 0 || 1;
  let i = 0;
  for (; i + 4 <= size; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b.writeUInt32LE(x, i);
  }
  for (; i < size; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}

function makeValue(key, version, size) {
  return { k: key, v: version, b: payload(key, version, size) };
}

/**
 * What a value read back is: { ok: true, k, v, size } when it is a complete, intact value
 * (the payload matches its key and version byte for byte), else { ok: false, why }.
 */
function inspect(value) {
  if (value === undefined) return { ok: false, why: 'a miss' };
  if (value === null || typeof value !== 'object' || typeof value.k !== 'string' || typeof value.v !== 'number') {
    return { ok: false, why: `not a versioned value: ${describe(value)}` };
  }
  const b = value.b;
  if (!(b instanceof Uint8Array)) return { ok: false, why: 'no payload' };
  const expected = payload(value.k, value.v, b.length);
  if (Buffer.compare(Buffer.from(b.buffer, b.byteOffset, b.length), expected) !== 0) {
    return { ok: false, why: `payload of ${value.k}@${value.v} (${b.length} bytes) differs from what was written` };
  }
  return { ok: true, k: value.k, v: value.v, size: b.length };
}

/** Checks the raw bytes of a value file: a complete V8 serialization of an intact value. */
function inspectFileBytes(bytes) {
  let value;
  try {
    value = v8.deserialize(bytes);
  } catch (e) {
    return { ok: false, why: `not a complete serialization (${e.message})` };
  }
  return inspect(value);
}

function describe(v) {
  if (v === undefined) return 'undefined';
  try {
    const s = JSON.stringify(v);
    return s && s.length > 120 ? `${s.slice(0, 120)}…` : String(s);
  } catch {
    return typeof v;
  }
}

/** Deterministic PRNG (mulberry32) so that a failing run can be replayed from its seed. */
function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  next.int = (n) => Math.floor(next() * n);
  next.pick = (arr) => arr[Math.floor(next() * arr.length)];
  next.chance = (p) => next() < p;
  return next;
}

/** A value size: mostly small (inline BLOBs), some around the 8 KiB boundary, some large (files). */
function randomSize(r, largeShare = 0.3) {
  const d = r();
  if (d < largeShare * 0.15) return 8150 + r.int(100); // straddles the inline threshold once serialized
  if (d < largeShare) return 8300 + r.int(r.chance(0.2) ? 400000 : 60000);
  if (d < largeShare + 0.05) return 0;
  return r.int(r.chance(0.3) ? 8000 : 300);
}

module.exports = { payload, makeValue, inspect, inspectFileBytes, describe, rng, randomSize };
