// Release hygiene that a unit test can hold: one version everywhere, a CHANGELOG entry for it,
// and an exports map whose every target exists after the build. (What the published tarball
// contains, and that it installs, is scripts/test-packed-install.sh's job.)
import * as fs from 'node:fs';
import * as path from 'node:path';
import { nativeVersion } from '../lib';
import { ROOT } from './helpers';

const read = (file: string): string => fs.readFileSync(path.join(ROOT, file), 'utf8');
const pkg = JSON.parse(read('package.json'));

describe('package', () => {
  test('package.json, CMakeLists.txt, the C++ header and the addon agree on the version', () => {
    expect(pkg.version).toMatch(/^\d+\.\d+\.\d+(-[\w.]+)?$/);
    const cmake = /project\(sciqlop_cache VERSION (\d+\.\d+\.\d+)/.exec(read('CMakeLists.txt'))?.[1];
    const header = /version = "([^"]+)"/.exec(read('native/include/sciqlop_cache/sciqlop_cache.hpp'))?.[1];
    expect({ cmake, header, addon: nativeVersion }).toEqual({
      cmake: pkg.version.replace(/-.*/, ''),
      header: pkg.version,
      addon: pkg.version,
    });
  });

  test('CHANGELOG.md has a section for this version', () => {
    expect(read('CHANGELOG.md')).toContain(`## [${pkg.version}]`);
  });

  test('every target of the exports map exists in the build', () => {
    const targets: string[] = [];
    const walk = (node: unknown): void => {
      if (typeof node === 'string') targets.push(node);
      else if (node && typeof node === 'object') Object.values(node).forEach(walk);
    };
    walk(pkg.exports);
    expect(targets).toEqual(expect.arrayContaining(['./dist/index.js', './dist/index.mjs', './dist/index.d.ts', './dist/index.d.mts']));
    for (const target of targets) expect([target, fs.existsSync(path.join(ROOT, target))]).toEqual([target, true]);
    for (const bin of Object.values<string>(pkg.bin ?? {})) expect([bin, fs.existsSync(path.join(ROOT, bin))]).toEqual([bin, true]);
  });

  test('the published file list names what a source build needs and no test or benchmark', () => {
    const files: string[] = pkg.files;
    for (const needed of ['dist/', 'prebuilds/', 'native/include/', 'native/src/', 'native/vendor/sqlite3/', 'binding/',
      'cmake/', 'CMakeLists.txt', 'scripts/install.js']) {
      expect(files).toContain(needed);
    }
    expect(files.filter((f) => /test|bench|doctest|build\//.test(f))).toEqual([]);
    expect(pkg.scripts.install).toBe('node scripts/install.js');
    expect(pkg.dependencies).toHaveProperty('cmake-js');
    expect(pkg.dependencies).toHaveProperty('node-gyp-build');
    expect(pkg.dependencies).toHaveProperty('node-addon-api');
  });
});
