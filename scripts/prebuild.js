#!/usr/bin/env node
'use strict';
/**
 * `npm run prebuild`: builds the Node-API addon for this platform with prebuildify
 * (`--napi --strip --tag-libc`) and writes prebuilds/<platform>-<arch>/sciqlop-cache.<libc>.node,
 * which node-gyp-build loads when there is no build/Release/*.node (an installed package has
 * none unless it was built from source). One binary serves every Node >= 18.17 and Electron,
 * since Node-API is ABI-stable; the libc tag keeps a glibc binary from being picked on musl.
 *
 * prebuildify drives cmake-js through cmake-js-as-node-gyp.js, in build-prebuild/ rather than
 * build/: a prebuild never disturbs the developer's build (prebuildify moves the binary it
 * finds out of the build folder). Note that npm also runs this script before `npm run build`
 * ("pre" + "build"); the incremental build keeps that cheap.
 */
const fs = require('node:fs');
const path = require('node:path');
const prebuildify = require('prebuildify');

const root = path.resolve(__dirname, '..');
const work = path.join(root, 'build-prebuild');
fs.mkdirSync(work, { recursive: true });
const shim = path.join(__dirname, 'cmake-js-as-node-gyp.js');
// Binaries from an earlier run under another name (other tags) would ship too: start empty.
fs.rmSync(path.join(root, 'prebuilds', `${process.platform}-${process.arch}`), { recursive: true, force: true });

prebuildify(
  {
    napi: true,
    strip: true,
    tagLibc: true,
    name: require(path.join(root, 'package.json')).name,
    cwd: work, // where the "node-gyp" runs: its build/Release is work/build/Release
    out: root, // prebuilds/ goes here
    // Run through the shell so the command can name node and the script on every platform.
    nodeGyp: `"${process.execPath}" "${shim}"`,
    shell: true,
  },
  (err) => {
    if (err) {
      console.error(`prebuild failed: ${err.message ?? err}`);
      process.exit(1);
    }
    const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
    for (const file of fs.readdirSync(dir)) console.log(`prebuild: ${path.relative(root, path.join(dir, file))}`);
  },
);
