/**
 * asObject(): a Proxy that makes a store look like a plain object, for code written against
 * dictionaries: `o.k`, `o['k'] = v`, `delete o.k`, `'k' in o`, `Object.keys(o)`,
 * `Object.entries(o)`, `{ ...o }`. Symbol-keyed properties do not exist in the store:
 * reading one gives undefined and writing one is refused (a TypeError in strict mode).
 */

/** What the view needs from its store. */
export interface ObjectViewBackend<V> {
  get(key: string): V | undefined;
  /** Not counted in stats; `found` false on a miss. */
  peek(key: string): { found: boolean; value: V | undefined };
  set(key: string, value: V): void;
  delete(key: string): boolean;
  has(key: string): boolean;
  keys(): string[];
}

export function createObjectView<V>(backend: ObjectViewBackend<V>): Record<string, V> {
  // The target stays empty and extensible, so every answer below satisfies the Proxy invariants.
  const target: Record<string, V> = Object.create(null) as Record<string, V>;
  return new Proxy(target, {
    get(_target, property) {
      return typeof property === 'string' ? backend.get(property) : undefined;
    },
    set(_target, property, value: V) {
      if (typeof property !== 'string') return false;
      backend.set(property, value);
      return true;
    },
    deleteProperty(_target, property) {
      if (typeof property === 'string') backend.delete(property);
      return true;
    },
    has(_target, property) {
      return typeof property === 'string' && backend.has(property);
    },
    ownKeys() {
      return backend.keys();
    },
    getOwnPropertyDescriptor(_target, property) {
      if (typeof property !== 'string') return undefined;
      const { found, value } = backend.peek(property);
      return found ? { value, writable: true, enumerable: true, configurable: true } : undefined;
    },
    defineProperty(_target, property, descriptor) {
      if (typeof property !== 'string' || !('value' in descriptor)) return false;
      backend.set(property, descriptor.value as V);
      return true;
    },
    getPrototypeOf() {
      return null;
    },
    setPrototypeOf() {
      return false;
    },
    preventExtensions() {
      return false;
    },
  });
}
