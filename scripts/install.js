#!/usr/bin/env node
'use strict';
/**
 * The package's install script. Keeps the prebuilt binary when one loads here (node-gyp-build
 * looks in build/Release, then prebuilds/<platform>-<arch>/), and builds the addon from source
 * with cmake-js otherwise, or always when asked to with `npm install --build-from-source`
 * (npm_config_build_from_source=true). node-gyp-build's own `node-gyp-build-test` does not
 * look at that setting, hence this script.
 *
 * In a clone of the repository (recognised by native/tests/, which the package does not ship)
 * it always builds: `npm install` there must test the sources as they are, not a prebuild
 * left by an earlier `npm run prebuild`. cmake-js builds incrementally, so that is cheap.
 *
 * A source build needs CMake >= 3.20 and a C++20 compiler; it compiles the bundled SQLite too
 * (about a minute).
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

const fromSource = ['true', '1'].includes(String(process.env.npm_config_build_from_source).toLowerCase());
const checkout = fs.existsSync(path.join(root, 'native', 'tests'));

if (checkout) {
  console.log('sciqlop-cache: building the addon of this checkout');
} else if (!fromSource) {
  try {
    const binary = require('node-gyp-build').resolve(root);
    require(binary);
    process.exit(0);
  } catch (err) {
    const reason = String(err && err.message ? err.message : err).split('\n')[0];
    console.log(`sciqlop-cache: no prebuilt binary loads here (${reason}); building from source`);
  }
} else {
  console.log('sciqlop-cache: building from source (npm_config_build_from_source)');
}

const cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [root] });
const result = spawnSync(process.execPath, [cmakeJs, 'compile', '--directory', root], { cwd: root, stdio: 'inherit' });
if (result.error) console.error(`sciqlop-cache: could not run cmake-js: ${result.error.message}`);
if (result.status !== 0) {
  console.error(
    'sciqlop-cache: the source build failed. It needs CMake >= 3.20 and a C++20 compiler ' +
      '(g++ >= 11, clang >= 14, MSVC 2022) on PATH; see the output above.',
  );
}
process.exit(result.status ?? 1);
