/**
 * Argument validation, done in TypeScript before anything reaches the native layer, so
 * nothing is written when an argument is rejected. Messages read
 * "Expected X for Y but received Z"; a wrong type or an unknown option name is a TypeError,
 * a value of the right type out of its range a RangeError.
 */

/** A short, readable rendering of a rejected value. */
export function describe(value: unknown): string {
  switch (typeof value) {
    case 'undefined':
      return 'undefined';
    case 'string': {
      const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
      return `${JSON.stringify(shown)} of type string`;
    }
    case 'number':
    case 'bigint':
    case 'boolean':
      return `${String(value)} of type ${typeof value}`;
    case 'symbol':
      return `${value.toString()} of type symbol`;
    case 'function':
      return value.name ? `function ${value.name}` : 'an anonymous function';
    default: {
      if (value === null) return 'null';
      if (Array.isArray(value)) return 'an array';
      const ctor = (value as { constructor?: { name?: unknown } }).constructor;
      const name = typeof ctor?.name === 'string' ? ctor.name : '';
      return name && name !== 'Object' ? `an instance of ${name}` : 'an object';
    }
  }
}

export function expected(what: string, name: string, value: unknown): string {
  return `Expected ${what} for ${name} but received ${describe(value)}`;
}

const loneSurrogate = /\p{Surrogate}/u;
const nativeIsWellFormed = (String.prototype as { isWellFormed?: (this: string) => boolean }).isWellFormed;

/** False for a string holding a lone surrogate (not valid UTF-16, so not encodable as UTF-8). */
export const isWellFormed: (s: string) => boolean =
  typeof nativeIsWellFormed === 'function'
    ? (s) => nativeIsWellFormed.call(s)
    : (s) => !loneSurrogate.test(s);

/** The error for a key that failed the hot-path check `typeof key === 'string' && isWellFormed(key)`. */
export function invalidKey(key: unknown, name = 'key'): TypeError {
  if (typeof key === 'string') return new TypeError(expected('a well-formed string (no lone surrogate)', name, key));
  return new TypeError(expected('a string', name, key));
}

export function checkKey(key: unknown, name = 'key'): asserts key is string {
  if (typeof key !== 'string' || !isWellFormed(key)) throw invalidKey(key, name);
}

/** An expiry in seconds: a finite number > 0, or null/undefined for never (returned as undefined). */
export function checkExpire(value: unknown, name = 'expire'): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number') throw new TypeError(expected('a number of seconds, null or undefined', name, value));
  if (!(value > 0) || value === Infinity) throw new RangeError(expected('a finite number of seconds > 0', name, value));
  return value;
}

/** A timeout in seconds: a number >= 0 (Infinity allowed), or null/undefined for no limit. */
export function checkTimeout(value: unknown, name = 'timeout'): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number') throw new TypeError(expected('a number of seconds, null or undefined', name, value));
  if (!(value >= 0)) throw new RangeError(expected('a number of seconds >= 0', name, value));
  return value === Infinity ? undefined : value;
}

/** A tag: a string, or null/undefined for none (returned as undefined). */
export function checkTag(value: unknown, name = 'tag'): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || !isWellFormed(value)) throw new TypeError(expected('a string, null or undefined', name, value));
  return value;
}

export function checkInteger(value: unknown, name: string, min: number): number {
  if (typeof value !== 'number') throw new TypeError(expected(`an integer >= ${min}`, name, value));
  if (!Number.isSafeInteger(value) || value < min) throw new RangeError(expected(`an integer >= ${min}`, name, value));
  return value;
}

/** Any safe integer (incr/decr deltas and defaults). */
export function checkSafeInteger(value: unknown, name: string): number {
  if (typeof value !== 'number') throw new TypeError(expected('an integer', name, value));
  if (!Number.isSafeInteger(value)) throw new RangeError(expected('a safe integer', name, value));
  return value;
}

export function checkBoolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw new TypeError(expected('a boolean', name, value));
  return value;
}

export function checkFunction(value: unknown, name: string): asserts value is (...args: never[]) => unknown {
  if (typeof value !== 'function') throw new TypeError(expected('a function', name, value));
}

/**
 * An options bag: undefined (returned as an empty object) or an object whose own enumerable
 * names are all in `allowed`. `what` names the bag in messages ("Cache options").
 */
export function checkOptions<T extends object>(value: unknown, allowed: readonly string[], what: string): Partial<T> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new TypeError(expected('an options object', what, value));
  for (const name in value) {
    if (!allowed.includes(name)) {
      const choices = allowed.length ? `one of ${allowed.join(', ')}` : 'no options';
      throw new TypeError(`Unknown option ${JSON.stringify(name)} in ${what} (expected ${choices})`);
    }
  }
  return value as Partial<T>;
}

/**
 * A serializer's own complaint about a value it cannot encode (V8's "could not be cloned",
 * msgpackr's "Unknown type", both plain Errors) as the TypeError a bad argument is
 * everywhere else; any other error, such as one thrown by a getter of the value, is
 * returned unchanged.
 */
export function asTypeError(error: unknown, pattern: RegExp, what: string, value: unknown): unknown {
  if (typeof error !== 'object' || error === null || (error as Error).name !== 'Error') return error;
  if (!pattern.test(String((error as Error).message))) return error;
  return new TypeError(`${expected(what, 'value', value)} (${(error as Error).message})`, { cause: error });
}
