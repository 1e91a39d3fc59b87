#!/usr/bin/env node
/**
 * `npx sciqlop-cache <command>`: inspect and maintain a store from a shell, and migrate a
 * Python diskcache directory. `--help` lists the commands, `<command> --help` their options.
 *
 * Stores are opened through the native classes directly, never through Cache & co, so that
 * looking at a store writes nothing: no serializer is recorded in a store that has none,
 * no maxSize is persisted, and a store whose serializer is not built in can still be
 * inspected (its values are shown as hex). A directory holding neither sciqlop-cache.db nor
 * fanout.json is refused instead of being created. Errors print one line (the stack too with
 * --debug) and exit with code 1.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { SciqlopCacheError } from './errors';
import { migrate, type MigrateResult } from './migrate';
import { binding, type NativeCacheStore, type NativeCheckResult, type NativeStore, type NativeStoreKind } from './native';
import { builtinSerializer } from './serializers';

const packageVersion = (require('../package.json') as { version: string }).version;

/** A user error: printed as one line, without a stack even under --debug. */
class CliError extends Error {}

// ---- opening a store for inspection ----------------------------------------------------

interface OpenedStore {
  kind: NativeStoreKind;
  directory: string;
  native: NativeStore;
  /** The native store when it has expiry, tags and stats, else undefined. */
  cache: NativeCacheStore | undefined;
}

type AnyNativeConstructor = new (
  directory: string,
  maxSize: undefined,
  durability: undefined,
  shardCount: undefined,
) => NativeStore;

function openStore(dir: string): OpenedStore {
  const directory = path.resolve(dir);
  if (!fs.existsSync(directory)) throw new CliError(`${dir} does not exist`);
  const fanout = fs.existsSync(path.join(directory, 'fanout.json'));
  if (!fanout && !fs.existsSync(path.join(directory, 'sciqlop-cache.db'))) {
    throw new CliError(`${dir} is not a sciqlop-cache store (it has neither sciqlop-cache.db nor fanout.json)`);
  }
  const kinds: NativeStoreKind[] = fanout ? ['FanoutCache', 'FanoutIndex'] : ['Cache', 'Index'];
  for (const [i, kind] of kinds.entries()) {
    try {
      const NativeClass = binding[kind] as unknown as AnyNativeConstructor;
      const native = new NativeClass(directory, undefined, undefined, undefined);
      const cache = kind === 'Cache' || kind === 'FanoutCache' ? (native as NativeCacheStore) : undefined;
      return { kind, directory, native, cache };
    } catch (error) {
      // A Cache opened as an Index (or the reverse) is STORE_TYPE_MISMATCH: try the other kind.
      const code = (error as { code?: unknown }).code;
      if (code === 'STORE_TYPE_MISMATCH' && i < kinds.length - 1) continue;
      if (error instanceof SciqlopCacheError) {
        const wrapped = new SciqlopCacheError(`Cannot open ${dir}: ${error.message}`, error.code);
        wrapped.stack = `${wrapped.name}: ${wrapped.message}\n${error.stack?.split('\n').slice(1).join('\n') ?? ''}`;
        throw wrapped;
      }
      throw error;
    }
  }
  throw new CliError(`${dir} could not be opened`);
}

function withStore<R>(dir: string, fn: (store: OpenedStore) => R): R {
  const store = openStore(dir);
  try {
    return fn(store);
  } finally {
    store.native.close();
  }
}

function requireCache(store: OpenedStore, what: string): NativeCacheStore {
  if (store.cache === undefined) throw new CliError(`${store.directory} is ${store.kind === 'Index' ? 'an' : 'a'} ${store.kind}, which has no ${what}`);
  return store.cache;
}

// ---- output ------------------------------------------------------------------------------

function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

function humanBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = -1;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]} (${n} B)`;
}

function table(rows: [string, string][]): string {
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n');
}

/** The value as JSON text when JSON can express it exactly (Dates as ISO strings), else undefined. */
function jsonText(value: unknown): string | undefined {
  const seen = new Set<object>();
  const representable = (v: unknown): boolean => {
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
    if (typeof v === 'number') return Number.isFinite(v);
    if (typeof v !== 'object') return false;
    if (v instanceof Date) return !Number.isNaN(v.getTime());
    if (seen.has(v)) return false;
    seen.add(v);
    let ok: boolean;
    if (Array.isArray(v)) ok = v.every(representable);
    else {
      const proto = Object.getPrototypeOf(v);
      ok = (proto === Object.prototype || proto === null) && Object.values(v).every(representable);
    }
    seen.delete(v);
    return ok;
  };
  return representable(value) ? JSON.stringify(value, null, 2) : undefined;
}

// ---- commands ----------------------------------------------------------------------------

function stats(dir: string, options: { json?: boolean }): void {
  withStore(dir, (store) => {
    const { native, cache } = store;
    const hitsMisses = cache?.stats();
    const shardCount = store.kind.startsWith('Fanout')
      ? (native as unknown as { shardCount(): number }).shardCount()
      : undefined;
    const result = {
      type: store.kind,
      directory: store.directory,
      count: native.count(),
      valueBytes: native.valueBytes(),
      volume: native.volume(),
      walSize: native.walSize(),
      serializer: native.metaGet('serializer') ?? null,
      maxSize: cache ? cache.maxSize() : null,
      hits: hitsMisses?.hits ?? null,
      misses: hitsMisses?.misses ?? null,
      ...(shardCount === undefined ? {} : { shardCount }),
    };
    if (options.json) return out(JSON.stringify(result, null, 2));
    const rows: [string, string][] = [
      ['type', result.type],
      ['directory', result.directory],
      ['entries', String(result.count)],
      ['value bytes', humanBytes(result.valueBytes)],
      ['volume', humanBytes(result.volume)],
      ['WAL size', humanBytes(result.walSize)],
      ['serializer', result.serializer ?? '(none recorded)'],
    ];
    if (shardCount !== undefined) rows.push(['shards', String(shardCount)]);
    if (result.maxSize !== null) rows.push(['max size', result.maxSize === 0 ? 'unlimited' : humanBytes(result.maxSize)]);
    if (hitsMisses) rows.push(['hits / misses', `${hitsMisses.hits} / ${hitsMisses.misses} (counted per process)`]);
    out(table(rows));
  });
}

function check(dir: string, options: { fix?: boolean; json?: boolean }): void {
  withStore(dir, (store) => {
    const found: NativeCheckResult = store.native.check(options.fix === true);
    // With --fix the result is what was found; the exit code says whether the fix worked.
    const ok = options.fix ? store.native.check(false).ok : found.ok;
    if (options.json) out(JSON.stringify(options.fix ? { ...found, fixed: ok } : found, null, 2));
    else {
      out(
        table([
          ['ok', String(found.ok)],
          ['orphaned files', String(found.orphanedFiles)],
          ['dangling rows', String(found.danglingRows)],
          ['size mismatches', String(found.sizeMismatches)],
          ['counters consistent', String(found.countersConsistent)],
          ['SQLite integrity ok', String(found.sqliteIntegrityOk)],
          ...(options.fix && !found.ok ? ([['fixed', String(ok)]] as [string, string][]) : []),
        ]),
      );
    }
    if (!ok) process.exitCode = 1;
  });
}

function keys(dir: string, options: { tag?: string; limit?: number; json?: boolean }): void {
  withStore(dir, (store) => {
    let list =
      options.tag === undefined ? store.native.keys() : requireCache(store, 'tags').keysWithTag(options.tag);
    if (options.limit !== undefined) list = list.slice(0, options.limit);
    if (options.json) out(JSON.stringify(list));
    else if (list.length > 0) out(list.join('\n'));
  });
}

function get(dir: string, key: string, options: { out?: string }): void {
  withStore(dir, (store) => {
    const bytes = store.native.peek(key); // a look at the store: not counted in its stats
    if (bytes === undefined) throw new CliError(`No entry ${JSON.stringify(key)} in ${dir}`);
    const recorded = store.native.metaGet('serializer');
    const serializer = recorded === undefined ? undefined : builtinSerializer(recorded);
    let binary: Uint8Array = bytes;
    let text: string | undefined;
    if (serializer !== undefined) {
      const value: unknown = serializer.deserialize(bytes);
      if (value instanceof Uint8Array) binary = value;
      else text = jsonText(value);
    }
    if (options.out !== undefined) fs.writeFileSync(options.out, text ?? binary);
    else out(text ?? Buffer.from(binary.buffer, binary.byteOffset, binary.byteLength).toString('hex'));
  });
}

function del(dir: string, key: string): void {
  withStore(dir, (store) => {
    if (!store.native.delete(key)) throw new CliError(`No entry ${JSON.stringify(key)} in ${dir}`);
    out(`Deleted ${JSON.stringify(key)}.`);
  });
}

function expire(dir: string): void {
  withStore(dir, (store) => {
    const n = requireCache(store, 'expiry').expire();
    out(`Removed ${n} expired ${n === 1 ? 'entry' : 'entries'}.`);
  });
}

function evictTag(dir: string, tag: string): void {
  withStore(dir, (store) => {
    const n = requireCache(store, 'tags').evictTag(tag);
    out(`Removed ${n} ${n === 1 ? 'entry' : 'entries'} tagged ${JSON.stringify(tag)}.`);
  });
}

function clear(dir: string, options: { yes?: boolean }): void {
  if (!options.yes) throw new CliError(`clear removes every entry of ${dir}: pass --yes to confirm`);
  withStore(dir, (store) => {
    const n = store.native.count();
    store.native.clear();
    out(`Removed ${n} ${n === 1 ? 'entry' : 'entries'}.`);
  });
}

interface MigrateCliOptions {
  type: 'cache' | 'index';
  drop?: boolean;
  shards?: number;
  serializer?: string;
  json?: boolean;
}

function runMigration(src: string, dst: string, options: MigrateCliOptions): void {
  const showBar = process.stderr.isTTY === true && !options.json;
  // Loaded only when drawn: the other commands do not pay for it.
  const bar = showBar
    ? new (require('cli-progress') as typeof import('cli-progress')).SingleBar(
        { format: 'migrating [{bar}] {percentage}% | {value}/{total} entries | {eta_formatted} left', hideCursor: true },
        (require('cli-progress') as typeof import('cli-progress')).Presets.shades_classic,
      )
    : undefined;
  const deferred: string[] = [];
  const report = (line: string): void => {
    if (bar) deferred.push(line);
    else process.stderr.write(`${line}\n`);
  };
  let result: MigrateResult;
  try {
    result = migrate(src, dst, {
      type: options.type,
      drop: options.drop === true,
      shards: options.shards,
      serializer: options.serializer === undefined ? undefined : builtinSerializer(options.serializer),
      onProgress: (done, total) => {
        if (!bar) return;
        if (done === 0) bar.start(total, 0);
        else bar.update(done);
      },
      onError: (key, error) => report(`error: ${JSON.stringify(key)}: ${error.message}`),
    });
  } finally {
    bar?.stop();
    for (const line of deferred) process.stderr.write(`${line}\n`);
  }
  out(JSON.stringify(result));
  if (result.errors > 0) process.exitCode = 1;
}

// ---- argument parsing ----------------------------------------------------------------------

function positiveInteger(min: number) {
  return (text: string): number => {
    const n = Number(text);
    if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`Expected an integer >= ${min}.`);
    }
    return n;
  };
}

function buildProgram(): Command {
  const program = new Command('sciqlop-cache')
    .description('Inspect and maintain sciqlop-cache stores, and migrate Python diskcache directories.')
    .version(packageVersion)
    .option('--debug', 'print the stack trace of an error');

  program
    .command('stats')
    .description('entries, value bytes, volume on disk, WAL size, serializer, max size, hits and misses')
    .argument('<dir>', 'store directory (a fanout is detected by its fanout.json)')
    .option('--json', 'print JSON')
    .action(stats);

  program
    .command('check')
    .description('check integrity: orphaned files, dangling rows, size mismatches, counters, SQLite; exit code 1 when not ok')
    .argument('<dir>', 'store directory')
    .option('--fix', 'repair what was found (the exit code then says whether the store is ok after the repair)')
    .option('--json', 'print JSON')
    .action(check);

  program
    .command('keys')
    .description('list the live keys, in byte order, one per line')
    .argument('<dir>', 'store directory')
    .option('--tag <tag>', 'only the keys with this tag')
    .option('--limit <n>', 'at most n keys', positiveInteger(0))
    .option('--json', 'print a JSON array')
    .action(keys);

  program
    .command('get')
    .description("print a value: as JSON when JSON can express it, else as hex (a binary value, or a store's own format)")
    .argument('<dir>', 'store directory')
    .argument('<key>', 'the key')
    .option('--out <file>', 'write it to a file instead: the bytes of a binary value, else the JSON text or the stored bytes')
    .action(get);

  program.command('delete').description('delete one entry').argument('<dir>', 'store directory').argument('<key>', 'the key').action(del);

  program.command('expire').description('remove the expired entries now').argument('<dir>', 'store directory').action(expire);

  program
    .command('evict-tag')
    .description('remove every entry with a tag')
    .argument('<dir>', 'store directory')
    .argument('<tag>', 'the tag')
    .action(evictTag);

  program
    .command('clear')
    .description('remove every entry (value files too)')
    .argument('<dir>', 'store directory')
    .option('--yes', 'confirm')
    .action(clear);

  program
    .command('migrate')
    .description(
      'copy a Python diskcache Cache, FanoutCache or Index into a sciqlop-cache store, keeping expiry and tags; ' +
        'prints {migrated, skipped, errors, elapsedSecs} as JSON, exit code 1 when some entries could not be migrated',
    )
    .argument('<src>', 'diskcache directory (a FanoutCache is detected by its shard folders 000, 001, ...)')
    .argument('<dst>', 'sciqlop-cache directory (created if missing)')
    .addOption(new Option('--type <type>', 'destination kind: an index has no expiry or tags').choices(['cache', 'index']).default('cache'))
    .option('--drop', 'delete each entry from the source once it is written')
    .option('--shards <n>', 'make the destination a fanout of n shards (default: as many as a FanoutCache source has)', positiveInteger(1))
    .addOption(new Option('--serializer <name>', 'serializer of a new destination').choices(['v8', 'msgspec', 'json', 'bytes']))
    .option('--json', 'no progress bar: only the JSON summary on stdout (and errors on stderr)')
    .action(runMigration);

  return program;
}

function main(argv: string[]): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0); // `sciqlop-cache keys DIR | head`
    throw error;
  });
  const program = buildProgram();
  try {
    program.parse(argv);
  } catch (error) {
    const debug = program.opts<{ debug?: boolean }>().debug === true || argv.includes('--debug');
    const e = error instanceof Error ? error : new Error(String(error));
    const code = e instanceof SciqlopCacheError || (e as { code?: unknown }).code ? (e as { code?: unknown }).code : undefined;
    const line = e.message.replace(/\s*\n\s*/g, ' ');
    process.stderr.write(`sciqlop-cache: ${line}${typeof code === 'string' && !(e instanceof CliError) ? ` (${code})` : ''}\n`);
    if (debug && !(e instanceof CliError) && e.stack) process.stderr.write(`${e.stack}\n`);
    process.exitCode = 1;
  }
}

main(process.argv);
