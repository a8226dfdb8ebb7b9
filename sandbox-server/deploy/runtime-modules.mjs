#!/usr/bin/env node
// Used by sandbox-server/Dockerfile: copies from an installed node_modules only what the
// sandbox server needs at run time — the named packages and, per package-lock.json, everything
// they depend on (dependencies, optionalDependencies and peerDependencies that are installed) —
// without source maps, TypeScript declarations, tests or prebuilt binaries for other platforms.
// The site's build tools (Astro, Starlight, Vite…) stay behind in the build stage.
//
//   node runtime-modules.mjs <app-dir> <out-dir> <package>...
//
// Plain JavaScript on purpose: it runs on whatever Node the build stage has.
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

const [app, out, ...roots] = process.argv.slice(2);
if (!app || !out || roots.length === 0) {
  console.error('usage: runtime-modules.mjs <app-dir> <out-dir> <package>...');
  process.exit(2);
}
const lock = JSON.parse(readFileSync(join(app, 'package-lock.json'), 'utf8'));
const packages = lock.packages ?? {};

/** Where Node would find `name` when `from` (a lockfile location, '' = the app) requires it. */
function resolve(name, from) {
  let location = from;
  for (;;) {
    const candidate = location ? `${location}/node_modules/${name}` : `node_modules/${name}`;
    if (packages[candidate] && existsSync(join(app, candidate))) return candidate;
    if (!location) return undefined;
    const at = location.lastIndexOf('node_modules/');
    location = at <= 0 ? '' : location.slice(0, at - 1);
  }
}

const needed = new Set();
const queue = roots.map((name) => {
  const location = resolve(name, '');
  if (!location) {
    console.error(`runtime-modules: ${name} is not installed in ${app}/node_modules`);
    process.exit(1);
  }
  return location;
});
while (queue.length > 0) {
  const location = queue.pop();
  if (needed.has(location)) continue;
  needed.add(location);
  const entry = packages[location];
  const names = {
    ...entry.peerDependencies,
    ...entry.optionalDependencies,
    ...entry.dependencies,
  };
  for (const name of Object.keys(names)) {
    const found = resolve(name, location);
    if (found) queue.push(found);
    else if (entry.dependencies?.[name]) {
      console.error(`runtime-modules: ${location} needs ${name}, which is not installed`);
      process.exit(1);
    }
  }
}

// Files no running server reads.
const DROP_FILE = /(\.map|\.d\.[cm]?ts|\.tsbuildinfo|\.md|\.markdown)$/i;
const DROP_DIR = new Set(['test', 'tests', '__tests__', 'docs', 'example', 'examples', '.github']);
const KEEP_FILE = /^(license|licence|notice|copying)/i;
/** Per package: folders of sources and other platforms' binaries (node-pty builds its own). */
const DROP_IN = {
  'node-pty': ['prebuilds', 'deps', 'third_party', 'src', 'scripts', 'node-addon-api', 'typings'],
};

let bytes = 0;
for (const location of [...needed].sort()) {
  const dest = join(out, location);
  // Nested node_modules are copied as packages of their own (or not at all).
  cpSync(join(app, location), dest, {
    recursive: true,
    filter: (src) => {
      const base = src.slice(src.lastIndexOf('/') + 1);
      const rel = src.slice(join(app, location).length + 1);
      if (rel === 'node_modules' || rel.startsWith('node_modules/')) return false;
      if (statSync(src).isDirectory()) return !DROP_DIR.has(base) || rel.includes('/');
      return KEEP_FILE.test(base) || !DROP_FILE.test(base);
    },
  });
  const name = location.slice(location.lastIndexOf('node_modules/') + 'node_modules/'.length);
  for (const dir of DROP_IN[name] ?? []) rmSync(join(dest, dir), { recursive: true, force: true });
  if (name === 'node-pty') {
    // Only the compiled addon of build/: not the object files and makefiles around it.
    for (const entry of readdirSync(join(dest, 'build'))) {
      if (entry !== 'Release') rmSync(join(dest, 'build', entry), { recursive: true, force: true });
    }
    for (const entry of readdirSync(join(dest, 'build', 'Release'))) {
      if (!entry.endsWith('.node')) {
        rmSync(join(dest, 'build', 'Release', entry), { recursive: true, force: true });
      }
    }
  }
  bytes += size(dest);
}
console.log(
  `runtime-modules: ${needed.size} packages for ${roots.join(', ')} (${(bytes / 1e6).toFixed(1)} MB)`,
);

function size(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((sum, name) => sum + size(join(path, name)), 0);
}
