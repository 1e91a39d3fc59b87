#!/usr/bin/env node
'use strict';
/**
 * node-gyp's command line, as prebuildify calls it, carried out by cmake-js: prebuildify 6
 * has no cmake-js backend, but it lets `--node-gyp` name any program that accepts
 * `rebuild --target=<version> --devdir=<dir> [--arch=<arch>] --release|--debug` and leaves
 * the addon in `<cwd>/build/Release/*.node`.
 *
 * The CMake project is this package's root (the folder above this script); the build folder
 * is `<cwd>/build`, so prebuild.js can build in a folder of its own and leave the developer's
 * build/ alone. `rebuild` becomes `cmake-js compile`, which builds incrementally: the folder
 * belongs to this script, always configured the same way, so an incremental build gives the
 * same binary as a clean one, in seconds instead of the minute SQLite takes to compile.
 * `--target`, `--devdir`, `--runtime` and `--dist-url` are dropped: a Node-API addon is built
 * against the version-independent headers of the node-api-headers package, for every runtime.
 */
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const [command, ...flags] = process.argv.slice(2);
if (command !== 'rebuild') {
  console.error(`cmake-js-as-node-gyp: only "rebuild" is supported, not ${JSON.stringify(command)}`);
  process.exit(2);
}

const args = ['compile', '--directory', root, '--out', path.resolve('build')];
for (const flag of flags) {
  const [name, value] = flag.replace(/^--/, '').split('=');
  if (name === 'arch' && value) args.push('--arch', value);
  else if (name === 'debug') args.push('--debug');
  // release is cmake-js's default; target, devdir, runtime, dist-url: see above
}

const cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [root] });
console.log(`cmake-js-as-node-gyp: cmake-js ${args.join(' ')}`);
const result = spawnSync(process.execPath, [cmakeJs, ...args], { stdio: 'inherit' });
if (result.error) throw result.error;
process.exit(result.status ?? 1);
