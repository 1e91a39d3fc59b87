/**
 * Deep equality that works across realms.
 *
 * Jest runs every test file in its own vm context, while values decoded by
 * `v8.deserialize` (and objects made by the native addon) belong to the main
 * context: their `Map`, `Set`, `Date`... are not the test file's, so
 * `toEqual` (which compares constructors for iterables) and `instanceof`
 * fail on equal values. This compares by `Object.prototype.toString` tags and
 * contents instead, and follows cycles.
 */
const tagOf = (v: unknown): string => Object.prototype.toString.call(v);

const TYPED_TAGS = new Set([
  '[object Int8Array]', '[object Uint8Array]', '[object Uint8ClampedArray]',
  '[object Int16Array]', '[object Uint16Array]', '[object Int32Array]', '[object Uint32Array]',
  '[object Float32Array]', '[object Float64Array]', '[object BigInt64Array]', '[object BigUint64Array]',
  '[object DataView]',
]);

function viewBytes(v: ArrayBufferView): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/** Returns null when equal, otherwise a description of the first difference. */
export function difference(actual: unknown, expected: unknown, where = '$', seen = new Map<object, object>()): string | null {
  if (Object.is(actual, expected)) return null;
  const ta = tagOf(actual);
  const te = tagOf(expected);
  if (ta !== te) return `${where}: expected ${te} but received ${ta}`;
  if (typeof actual !== 'object' || actual === null || typeof expected !== 'object' || expected === null) {
    return `${where}: expected ${String(expected)} but received ${String(actual)}`;
  }
  const known = seen.get(expected);
  if (known !== undefined) return known === actual ? null : `${where}: cycle points elsewhere`;
  seen.set(expected, actual);

  if (TYPED_TAGS.has(te)) {
    const a = actual as ArrayBufferView;
    const e = expected as ArrayBufferView;
    if (Buffer.isBuffer(e) !== Buffer.isBuffer(a)) return `${where}: Buffer-ness differs`;
    return viewBytes(a).equals(viewBytes(e)) ? null : `${where}: bytes differ`;
  }
  if (te === '[object ArrayBuffer]') {
    return Buffer.from(actual as ArrayBuffer).equals(Buffer.from(expected as ArrayBuffer)) ? null : `${where}: bytes differ`;
  }
  if (te === '[object Date]') {
    return Object.is((actual as Date).getTime(), (expected as Date).getTime()) ? null : `${where}: dates differ`;
  }
  if (te === '[object RegExp]') {
    const a = actual as RegExp;
    const e = expected as RegExp;
    return a.source === e.source && a.flags === e.flags ? null : `${where}: ${String(a)} != ${String(e)}`;
  }
  if (te === '[object BigInt]' || te === '[object Number]' || te === '[object String]' || te === '[object Boolean]') {
    return Object.is((actual as object).valueOf(), (expected as object).valueOf()) ? null : `${where}: boxed values differ`;
  }
  if (te === '[object Error]') {
    const a = actual as Error;
    const e = expected as Error;
    if (a.name !== e.name || a.message !== e.message) return `${where}: ${a.name}: ${a.message} != ${e.name}: ${e.message}`;
    return null;
  }
  if (te === '[object Map]') {
    const a = [...(actual as Map<unknown, unknown>)];
    const e = [...(expected as Map<unknown, unknown>)];
    if (a.length !== e.length) return `${where}: Map size ${a.length} != ${e.length}`;
    for (let i = 0; i < e.length; i++) {
      const d = difference(a[i]![0], e[i]![0], `${where}.key[${i}]`, seen) ?? difference(a[i]![1], e[i]![1], `${where}.get(${String(e[i]![0])})`, seen);
      if (d) return d;
    }
    return null;
  }
  if (te === '[object Set]') {
    const a = [...(actual as Set<unknown>)];
    const e = [...(expected as Set<unknown>)];
    if (a.length !== e.length) return `${where}: Set size ${a.length} != ${e.length}`;
    for (let i = 0; i < e.length; i++) {
      const d = difference(a[i], e[i], `${where}[${i}]`, seen);
      if (d) return d;
    }
    return null;
  }
  if (Array.isArray(expected) !== Array.isArray(actual)) return `${where}: array-ness differs`;
  const ka = Object.keys(actual);
  const ke = Object.keys(expected);
  if (ka.length !== ke.length || ka.some((k, i) => k !== ke[i])) {
    return `${where}: keys [${ka.join(',')}] != [${ke.join(',')}]`;
  }
  if (Array.isArray(expected) && (actual as unknown[]).length !== expected.length) return `${where}: length differs`;
  for (const k of ke) {
    const d = difference((actual as Record<string, unknown>)[k], (expected as Record<string, unknown>)[k], `${where}.${k}`, seen);
    if (d) return d;
  }
  return null;
}

/** Asserts deep equality across realms (see above). */
export function expectSame(actual: unknown, expected: unknown): void {
  const d = difference(actual, expected);
  if (d !== null) throw new Error(`values differ: ${d}`);
}
