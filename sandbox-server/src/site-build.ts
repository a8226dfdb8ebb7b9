/**
 * `npm start` serves the built guide, and rebuilds it only when its sources changed since the
 * last build: a fingerprint of the sources is kept beside the output.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const SOURCES = [
  'content',
  'src',
  'astro.config.mjs',
  'package-lock.json',
  'sandbox-server/src/shared/protocol.ts',
  'sandbox-server/src/shared/shell-marks.ts',
];
const STAMP = '.kubenotes-build';

function* files(path: string): Generator<string> {
  if (!existsSync(path)) return;
  if (statSync(path).isDirectory()) {
    for (const name of readdirSync(path).sort()) yield* files(join(path, name));
  } else {
    yield path;
  }
}

export function sourceFingerprint(root: string): string {
  const hash = createHash('sha256');
  for (const source of SOURCES) {
    for (const file of files(join(root, source))) {
      hash.update(relative(root, file)).update('\0').update(readFileSync(file)).update('\0');
    }
  }
  return hash.digest('hex');
}

export function siteIsCurrent(root: string, outDir: string): boolean {
  const stamp = join(outDir, STAMP);
  return existsSync(stamp) && readFileSync(stamp, 'utf8') === sourceFingerprint(root);
}

/** Builds the site with Astro (on this same Node) and stamps it. */
export async function buildSite(root: string, outDir: string): Promise<void> {
  const astro = join(root, 'node_modules', 'astro', 'bin', 'astro.mjs');
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, [astro, 'build'], { cwd: root, stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', resolve);
  });
  if (code !== 0)
    throw new Error(
      `The site build failed (astro build exited with ${code}); see the messages above.`,
    );
  writeFileSync(join(outDir, STAMP), sourceFingerprint(root));
}
