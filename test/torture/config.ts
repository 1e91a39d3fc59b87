/**
 * Fast or long: `npm test` runs the torture files in their fast form; `npm run test:torture`
 * (test/torture/run.js) sets TORTURE=1 for the long form, within TORTURE_MINUTES.
 */
import * as path from 'node:path';

export const TORTURE = process.env.TORTURE === '1';
/** The long run's total budget, minutes (the runner enforces it). */
export const MINUTES = Number(process.env.TORTURE_MINUTES || 10);

/** The long run's durations scale with its budget (1 at the default 10 minutes). */
export const BUDGET = Math.max(0.1, MINUTES / 10);

/** `fast` in npm test, `long` under TORTURE=1. */
export function scale<T>(fast: T, long: T): T {
  return TORTURE ? long : fast;
}

export const HELPERS = path.resolve(__dirname, 'helpers');
/** The package root, whose compiled dist/ the children load. */
export const ROOT = path.resolve(__dirname, '..', '..');

/** A seed from TORTURE_SEED (to replay a failure) or a fresh one, printed on failure by the tests. */
export function seed(): number {
  const given = Number(process.env.TORTURE_SEED);
  return Number.isFinite(given) && given > 0 ? given : (Math.random() * 2 ** 31) >>> 0;
}
