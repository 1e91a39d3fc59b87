/**
 * The `Symbol.dispose` key for `using` declarations. Node 18.18+/20.4+ define it on the main
 * realm's Symbol as `Symbol.for('nodejs.dispose')`, but not in other realms (vm contexts,
 * jest's test environment): falling back to the registered symbol keeps the same key everywhere.
 */
export const disposeSymbol: typeof Symbol.dispose =
  (Symbol as { dispose?: typeof Symbol.dispose }).dispose ?? (Symbol.for('nodejs.dispose') as typeof Symbol.dispose);
