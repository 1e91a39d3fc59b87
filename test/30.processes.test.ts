// Several processes on one directory: exact incr totals, exactly one add
// winner, and a process killed (SIGKILL) in the middle of a write loop.
import { BytesSerializer, Cache, FanoutCache } from '../lib';
import { resultOf, runTogether, startChild } from './helpers/children';
import { freshPath, track } from './helpers';

jest.setTimeout(120000);

function valueOf(i: number): Buffer {
  const size = i % 10 === 0 ? 9000 + (i % 7) * 1000 : 16 + (i % 50);
  return Buffer.alloc(size, i % 251);
}

describe('multiple processes', () => {
  test('4 processes doing 500 incr each on one key end at exactly 2000', async () => {
    const dir = freshPath();
    new Cache(dir).close();
    const children = await runTogether(4, 'incr', dir, 500);
    const lasts = children.map((c) => resultOf(c).last as number);
    expect(Math.max(...lasts)).toBe(2000);
    for (const l of lasts) expect(l).toBeGreaterThanOrEqual(500);
    const c = track(new Cache(dir));
    expect(c.get('counter')).toBe(2000);
    expect(c.check().ok).toBe(true);
  });

  test('4 processes racing add: exactly one winner per key', async () => {
    const dir = freshPath();
    const keys = 25;
    const children = await runTogether(4, 'add', dir, keys);
    const won = children.map((c) => resultOf(c).won as boolean[]);
    const c = track(new Cache(dir));
    for (let k = 0; k < keys; k++) {
      const winners = won.map((w, i) => (w[k] ? i : -1)).filter((i) => i >= 0);
      expect(winners).toHaveLength(1);
      expect(c.get(`race-${k}`)).toBe(children[winners[0]!]!.proc.pid);
    }
  });

  test('4 processes incrementing through a FanoutCache', async () => {
    const dir = freshPath();
    new FanoutCache(dir, { shardCount: 4 }).close();
    await runTogether(4, 'fanoutIncr', dir, 400);
    const fc = track(new FanoutCache(dir));
    let total = 0;
    for (let i = 0; i < 8; i++) {
      expect(fc.get(`counter-${i}`)).toBe(200);
      total += fc.get(`counter-${i}`) as number;
    }
    expect(total).toBe(1600);
  });

  test('a process killed with SIGKILL mid-write loses no committed entry', async () => {
    const dir = freshPath();
    for (const lines of [150, 400]) {
      const child = startChild('writeLoop', dir);
      await child.ready;
      child.go();
      await child.waitLines(lines);
      child.proc.kill('SIGKILL');
      const exit = await child.exited;
      expect(exit.signal).toBe('SIGKILL');

      const reported = child.lines.filter((l) => /^\d+$/.test(l)).map(Number);
      const last = reported[reported.length - 1]!;
      expect(last).toBeGreaterThanOrEqual(lines - 1);
      const c = new Cache(dir, { serializer: new BytesSerializer() });
      try {
        for (let j = 0; j < last; j++) {
          const deleted = (j + 1) % 3 === 0;
          const got = c.get(`k${j}`) as Buffer | undefined;
          if (deleted) expect(got).toBeUndefined();
          else expect(got !== undefined && Buffer.compare(got, valueOf(j)) === 0).toBe(true);
        }
        if ((last + 1) % 3 !== 0) expect(Buffer.compare(c.get(`k${last}`) as Buffer, valueOf(last))).toBe(0);
        const report = c.check();
        expect(report.ok).toBe(true);
        expect(report.sqliteIntegrityOk).toBe(true);
        expect(report.countersConsistent).toBe(true);
        c.clear();
      } finally {
        c.close();
      }
    }
  });
});
