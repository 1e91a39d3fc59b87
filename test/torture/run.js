#!/usr/bin/env node
'use strict';
// npm run test:torture: the long form of the torture suite (test/torture/*.test.ts with
// TORTURE=1: 100 crash rounds, minute-long contention, longer fault and fuzz runs), within
// a time limit: TORTURE_MINUTES (default 10) or --minutes N. Extra arguments go to jest.
const { spawn } = require('node:child_process');
const path = require('node:path');

const args = process.argv.slice(2);
let minutes = Number(process.env.TORTURE_MINUTES || 10);
const i = args.indexOf('--minutes');
if (i >= 0) {
  minutes = Number(args[i + 1]);
  args.splice(i, 2);
}
const root = path.resolve(__dirname, '..', '..');
const jest = require.resolve('jest/bin/jest', { paths: [root] });
const started = Date.now();
const child = spawn(process.execPath, [jest, '--runInBand', '--testTimeout', String(minutes * 60000), 'test/torture', ...args], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, TORTURE: '1', TORTURE_MINUTES: String(minutes) },
});
const timer = setTimeout(() => {
  console.error(`\ntorture: over the ${minutes}-minute limit, stopping`);
  child.kill('SIGTERM');
  setTimeout(() => child.kill('SIGKILL'), 10000).unref();
  process.exitCode = 1;
}, minutes * 60000);
child.on('exit', (code, signal) => {
  clearTimeout(timer);
  console.log(`torture: finished in ${((Date.now() - started) / 60000).toFixed(1)} min (limit ${minutes})`);
  if (process.exitCode !== 1) process.exitCode = code ?? (signal ? 1 : 0);
});
