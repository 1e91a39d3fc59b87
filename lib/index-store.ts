/**
 * Index: a bare persistent key-value store, without expiration, eviction, tags or stats
 * (and without their cost: its schema and statements do not contain them).
 */
import { BaseStore, type StoreKind, type StoreOptions } from './store';

const indexKind: StoreKind = {
  native: 'Index',
  label: 'Index',
  options: ['serializer', 'durability'],
  setOptions: [],
};

/** An Index takes no set()/add() options. */
export type IndexSetOptions = Record<string, never>;

export class Index<V = any> extends BaseStore<V, IndexSetOptions> {
  constructor(directory: string, options?: StoreOptions<V>) {
    super(indexKind, directory, options);
  }

  /** Like Cache.transact. */
  transact<R>(fn: () => R): R {
    return this.transactOn(undefined, fn);
  }

  get [Symbol.toStringTag](): string {
    return 'Index';
  }
}
