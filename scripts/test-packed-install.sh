#!/usr/bin/env bash
# Installs the packed package the way a user would, and checks that it works.
#
#   1. `npm run prebuild`, then `npm pack`: the tarball we would publish; its file list is checked
#      (what a source build needs, the prebuild, dist/ with both entries; no tests, benchmarks,
#      build folders or source maps).
#   2. One warm-up install fills npm's cache; it is the only step that may reach the registry.
#   3. Case "prebuild": in a fresh folder, with only node, npm and sh on PATH (no compiler, no cmake,
#      no make) and npm offline, `npm install <tarball>` must succeed; require() and import()
#      both round-trip values through the prebuilt binary (no build/ folder, the loaded .node
#      is the prebuild); with ELECTRON_RUN_AS_NODE=1 PREBUILDS_ONLY=1 node-gyp-build resolves
#      and loads the same prebuild; the declarations type-check from CommonJS and ESM
#      TypeScript (module node16).
#   4. Case "source": npm_config_build_from_source=true with the compilers on PATH (offline too)
#      builds the addon from the tarball's sources, and that build is the one loaded.
#
# Run by .ci/run and `npm run test:package`; a few minutes (two builds of the addon). The
# working tree is left as it was apart from prebuilds/ and build-prebuild/ (both ignored by
# git). KEEP_WORK=1 keeps the temporary folder for a look afterwards.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/sciqlop-cache-packed.XXXXXX")"
cleanup() {
  if [ -n "${KEEP_WORK:-}" ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
started=$SECONDS
step() { printf '\n== [%ss] %s\n' "$((SECONDS - started))" "$*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
# The user's environment must not bring a build along.
unset npm_config_build_from_source CC CXX PREBUILDS_ONLY ELECTRON_RUN_AS_NODE SCIQLOP_CACHE_PREBUILD || true
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false

# ---- 1. prebuild and pack ----------------------------------------------------------------
step "npm run prebuild"
cd "$repo"
npm run --silent prebuild
step "npm pack"
npm run --silent build:ts
npm pack --ignore-scripts --json --pack-destination "$work" > "$work/pack.json"
node - "$work/pack.json" <<'EOF'
const fs = require('node:fs');
const [entry] = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const files = entry.files.map((f) => f.path);
const platform = `${process.platform}-${process.arch}`;
const allowed = [/^dist\//, /^prebuilds\//, /^native\/include\//, /^native\/src\//, /^native\/vendor\/sqlite3\//,
  /^binding\//, /^cmake\//, /^(CMakeLists\.txt|README\.md|LICENSE|CHANGELOG\.md|package\.json|scripts\/install\.js)$/];
const problems = [];
for (const f of files) {
  if (!allowed.some((re) => re.test(f))) problems.push(`unexpected file ${f}`);
  if (/\.map$/.test(f)) problems.push(`source map ${f}`);
}
for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/index.mjs', 'dist/index.d.mts', 'LICENSE', 'CHANGELOG.md',
  'README.md', 'CMakeLists.txt', 'scripts/install.js', 'binding/binding.cmake', 'cmake/sciqlop_cacheConfig.cmake.in',
  'native/vendor/sqlite3/sqlite3.c', 'native/include/sciqlop_cache/sciqlop_cache.hpp']) {
  if (!files.includes(f)) problems.push(`missing ${f}`);
}
if (!files.some((f) => f.startsWith(`prebuilds/${platform}/`) && f.endsWith('.node'))) problems.push(`no prebuilds/${platform}/*.node`);
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(`${entry.filename}: ${files.length} files, ${(entry.size / 1e6).toFixed(1)} MB packed, ` +
  `prebuilds: ${files.filter((f) => f.startsWith('prebuilds/')).join(', ')}`);
EOF
tarball="$work/$(node -p "require('$work/pack.json')[0].filename")"

# ---- 2. warm npm's cache -------------------------------------------------------------------
step "warm-up install (fills npm's cache; the last step allowed to use the network)"
mkdir "$work/warm"
cd "$work/warm"
echo '{ "name": "warm", "version": "1.0.0", "private": true }' > package.json
npm install --prefer-offline --ignore-scripts --silent "$tarball"

# The checks each case runs, with the expected binary ("prebuild" or "source") as argument.
cat > "$work/check.cjs" <<'EOF'
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const expected = process.argv[2];
const pkgDir = path.dirname(require.resolve('sciqlop-cache/package.json'));
const sc = require('sciqlop-cache');
const loaded = Object.keys(require.cache).filter((f) => f.startsWith(pkgDir + path.sep) && f.endsWith('.node'));
assert.equal(loaded.length, 1, `one addon of ours loaded: ${loaded}`);
const rel = path.relative(pkgDir, loaded[0]);
if (expected === 'prebuild') {
  assert.match(rel, new RegExp(`^prebuilds/${process.platform}-${process.arch}/sciqlop-cache\\..*node$`), rel);
  assert.ok(!fs.existsSync(path.join(pkgDir, 'build')), 'the install compiled something (build/ exists)');
} else {
  assert.equal(rel, path.join('build', 'Release', 'sciqlop-cache.node'));
}
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sqc-packed-cjs-'));
const big = Buffer.alloc(100_000, 7); // a value file, not a row
let c = new sc.Cache(dir);
c.set('k', { list: [1, 2, 3], when: new Date(0) });
c.set('big', big, { tag: 't' });
c.close();
c = new sc.Cache(dir);
assert.deepEqual(c.get('k'), { list: [1, 2, 3], when: new Date(0) });
assert.ok(Buffer.from(c.get('big')).equals(big));
assert.equal(c.check().ok, true);
c.close();
fs.rmSync(dir, { recursive: true, force: true });
console.log(`require(): ok, addon ${rel}, native ${sc.nativeVersion}`);
EOF
cat > "$work/check.mjs" <<'EOF'
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { Cache, SciqlopCacheError } from 'sciqlop-cache';
import * as ns from 'sciqlop-cache';
const cjs = createRequire(import.meta.url)('sciqlop-cache');
assert.equal(ns.Cache, cjs.Cache, 'import and require share one module instance');
assert.deepEqual(Object.keys(ns).sort(), Object.keys(cjs).filter((k) => k !== '__esModule').sort());
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sqc-packed-esm-'));
const c = new Cache(dir);
c.set('k', new Map([['a', 1]]));
assert.deepEqual(c.get('k'), new Map([['a', 1]]));
c.close();
assert.throws(() => c.get('k'), (e) => e instanceof SciqlopCacheError && e.code === 'CLOSED');
fs.rmSync(dir, { recursive: true, force: true });
console.log('import(): ok');
EOF
cat > "$work/electron.cjs" <<'EOF'
// What an Electron main or utility process does: node-gyp-build sees runtime "electron"
// (ELECTRON_RUN_AS_NODE) and, with PREBUILDS_ONLY, considers shipped binaries only.
const assert = require('node:assert/strict');
const path = require('node:path');
const pkgDir = path.dirname(require.resolve('sciqlop-cache/package.json'));
const resolved = require('node-gyp-build').resolve(pkgDir);
assert.match(path.relative(pkgDir, resolved), /^prebuilds\//);
const sc = require('sciqlop-cache');
assert.ok(Object.keys(require.cache).includes(resolved), 'the package loaded the resolved prebuild');
const dir = require('node:fs').mkdtempSync(path.join(require('node:os').tmpdir(), 'sqc-packed-electron-'));
const c = new sc.Cache(dir);
c.set('k', 1);
assert.equal(c.get('k'), 1);
c.close();
require('node:fs').rmSync(dir, { recursive: true, force: true });
console.log(`ELECTRON_RUN_AS_NODE=1 PREBUILDS_ONLY=1: ok, ${path.relative(pkgDir, resolved)}`);
EOF
mkdir "$work/types"
cat > "$work/types/check.cts" <<'EOF'
import sc = require('sciqlop-cache');
const cache = new sc.Cache<{ n: number }>('dir', { maxSize: 1e9 });
const v: { n: number } | undefined = cache.get('k');
const opts: sc.SetOptions = { expire: 60, tag: 't' };
cache.set('k', { n: v?.n ?? 0 }, opts);
export {};
EOF
cat > "$work/types/check.mts" <<'EOF'
import { Cache, Index, SciqlopCacheError, type CheckResult } from 'sciqlop-cache';
const cache = new Cache<number>('dir');
const n: number = cache.get('k', 0);
const report: CheckResult = cache.check();
const index = new Index<string>('dir2');
index.set('k', String(n + Number(report.ok)));
const e: SciqlopCacheError | undefined = undefined;
export { e };
EOF
cat > "$work/types/tsconfig.json" <<EOF
{
  "compilerOptions": {
    "module": "node16", "moduleResolution": "node16", "target": "ES2022", "strict": true,
    "noEmit": true, "skipLibCheck": false, "types": ["node"], "typeRoots": ["$repo/node_modules/@types"]
  },
  "files": ["check.cts", "check.mts"]
}
EOF

# ---- 3. prebuild: no compiler, no network ------------------------------------------------
step "install with only node, npm and sh on PATH, offline"
bare="$work/bin"
mkdir "$bare"
# A copy (or hard link) of node, not a symlink: a script's PATH must not lead back to the
# folder of the real node, which may hold compilers too (/usr/bin).
ln "$(command -v node)" "$bare/node" 2>/dev/null || cp "$(command -v node)" "$bare/node"
ln -s "$(node -p "require('fs').realpathSync(process.argv[1])" "$(command -v npm)")" "$bare/npm"
ln -s "$(command -v sh)" "$bare/sh" # npm runs every package script with sh
for tool in cc gcc g++ c++ clang clang++ cmake make ninja; do
  if env PATH="$bare" /bin/sh -c "command -v $tool" > /dev/null 2>&1; then fail "$tool is reachable on the bare PATH"; fi
done
mkdir "$work/user-prebuild"
cd "$work/user-prebuild"
echo '{ "name": "user-prebuild", "version": "1.0.0", "private": true }' > package.json
env PATH="$bare" npm_config_offline=true npm install --foreground-scripts "$tarball" > "$work/prebuild-install.log" 2>&1 \
  || { tail -50 "$work/prebuild-install.log"; fail "npm install of the tarball failed without compilers (offline)"; }
# The checks run from the user's folder, so that 'sciqlop-cache' resolves to its node_modules.
cp "$work/check.cjs" "$work/check.mjs" "$work/electron.cjs" "$work/types/"* .
env PATH="$bare" node check.cjs prebuild
env PATH="$bare" node check.mjs
env PATH="$bare" ELECTRON_RUN_AS_NODE=1 PREBUILDS_ONLY=1 node electron.cjs
step "type-check a CommonJS and an ES module TypeScript consumer (module node16)"
node "$repo/node_modules/typescript/bin/tsc" -p tsconfig.json && echo "tsc: ok"

# ---- 4. build from source ------------------------------------------------------------------
step "install with npm_config_build_from_source=true (compilers on PATH, offline)"
mkdir "$work/user-source"
cd "$work/user-source"
echo '{ "name": "user-source", "version": "1.0.0", "private": true }' > package.json
env npm_config_offline=true npm_config_build_from_source=true npm install --foreground-scripts "$tarball" \
  > "$work/source-install.log" 2>&1 || { tail -50 "$work/source-install.log"; fail "the source build failed"; }
grep -q "building from source" "$work/source-install.log" || { tail -50 "$work/source-install.log"; fail "the install script did not build"; }
cp "$work/check.cjs" "$work/check.mjs" .
node check.cjs source
node check.mjs

step "packed-install test passed"
