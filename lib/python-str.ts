/**
 * Python's str() of the values diskcache allows as keys and tags, so that a migrated key is
 * the string Python itself would print, as pysciqlop-cache's migration does (`str(key)`):
 * 7 -> '7', 2.5 -> '2.5', b'k' -> "b'k'", (1, 'a') -> "(1, 'a')", None -> 'None'.
 *
 * Input is what lib/pickle.ts and the diskcache source give: string, number or bigint (int),
 * PyFloat (float), boolean, null, Buffer (bytes), Array (tuple), Set (frozenset), and for
 * completeness Map or plain objects (dict).
 */
import { PyFloat } from './pickle';

/** repr() of a float: the shortest round-tripping digits, in Python's layout. */
export function floatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  const [mantissa = '0', exponentText = '0'] = Math.abs(x).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const exponent = Number(exponentText);
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
    const integerDigits = exponent + 1;
    if (digits.length <= integerDigits) return `${sign}${digits}${'0'.repeat(integerDigits - digits.length)}.0`;
    return `${sign}${digits.slice(0, integerDigits)}.${digits.slice(integerDigits)}`;
  }
  const shown = digits.length === 1 ? digits : `${digits[0]}.${digits.slice(1)}`;
  return `${sign}${shown}e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
}

// str.isprintable(): false for the categories Cc, Cf, Cs, Co, Cn, Zl, Zp and Zs but space.
const notPrintable = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

function quoteFor(hasSingle: boolean, hasDouble: boolean): string {
  return hasSingle && !hasDouble ? '"' : "'";
}

/** repr() of a str. */
export function strRepr(s: string): string {
  const quote = quoteFor(s.includes("'"), s.includes('"'));
  let out = quote;
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (ch === '\\' || ch === quote) out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\x${hex(code, 2)}`;
    else if (code >= 0x80 && ch !== ' ' && notPrintable.test(ch)) {
      out += code < 0x100 ? `\\x${hex(code, 2)}` : code < 0x10000 ? `\\u${hex(code, 4)}` : `\\U${hex(code, 8)}`;
    } else out += ch;
  }
  return out + quote;
}

/** repr() of bytes. */
export function bytesRepr(bytes: Uint8Array): string {
  const quote = quoteFor(bytes.includes(0x27), bytes.includes(0x22));
  const quoteCode = quote.charCodeAt(0);
  let out = `b${quote}`;
  for (const b of bytes) {
    if (b === 0x5c || b === quoteCode) out += `\\${String.fromCharCode(b)}`;
    else if (b === 0x0a) out += '\\n';
    else if (b === 0x0d) out += '\\r';
    else if (b === 0x09) out += '\\t';
    else if (b < 0x20 || b >= 0x7f) out += `\\x${hex(b, 2)}`;
    else out += String.fromCharCode(b);
  }
  return out + quote;
}

/** repr() of a key or tag value; a TypeError for anything Python could not have stored. */
export function pythonRepr(value: unknown): string {
  if (value === null) return 'None';
  switch (typeof value) {
    case 'string':
      return strRepr(value);
    case 'boolean':
      return value ? 'True' : 'False';
    case 'bigint':
      return value.toString();
    case 'number':
      // Integers: floats reach here as PyFloat (unpickle with exactFloats).
      return Number.isInteger(value) ? String(value) : floatRepr(value);
    default:
      break;
  }
  if (value instanceof PyFloat) return floatRepr(value.value);
  if (value instanceof Uint8Array) return bytesRepr(value);
  if (Array.isArray(value)) {
    const items = value.map(pythonRepr);
    return items.length === 1 ? `(${items[0]},)` : `(${items.join(', ')})`;
  }
  if (value instanceof Set) {
    return value.size === 0 ? 'frozenset()' : `frozenset({${[...value].map(pythonRepr).join(', ')}})`;
  }
  if (value instanceof Map) {
    return `{${[...value].map(([k, v]) => `${pythonRepr(k)}: ${pythonRepr(v)}`).join(', ')}}`;
  }
  if (typeof value === 'object') {
    return `{${Object.entries(value).map(([k, v]) => `${strRepr(k)}: ${pythonRepr(v)}`).join(', ')}}`;
  }
  throw new TypeError(`No Python representation for a value of type ${typeof value}`);
}

/** str(): a str as it is, anything else as its repr(). */
export function pythonStr(value: unknown): string {
  return typeof value === 'string' ? value : pythonRepr(value);
}
