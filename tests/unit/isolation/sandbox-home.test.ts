/**
 * Handing a home to the session uid, as root, without being tricked by what the participant
 * left in it. Needs root (chown); skips, saying so, otherwise.
 */
import assert from 'node:assert/strict';
import {
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  prepareSandboxHome,
  writeHomeFile,
} from '../../../sandbox-server/src/isolation/sandbox-home.ts';

const UID = 1_900_400_001;
const root = process.getuid?.() === 0;
const dir = mkdtempSync(join(tmpdir(), 'kubenotes-sandbox-home-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('hands the home and the server’s files to the uid; links are not followed', (t) => {
  if (!root) return t.skip('not root: chown to another uid needs root');
  const outside = join(dir, 'outside.txt');
  writeFileSync(outside, 'host file');
  const home = join(dir, 'home');
  mkdirSync(join(home, '.kube'), { recursive: true });
  writeFileSync(join(home, '.kube', 'config'), 'kubeconfig', { mode: 0o600 });
  symlinkSync(outside, join(home, 'link-to-outside'));
  linkSync(outside, join(home, 'hard-link-to-outside'));

  prepareSandboxHome(home, UID);
  assert.equal(statSync(home).uid, UID);
  assert.equal(statSync(home).mode & 0o777, 0o700);
  assert.equal(statSync(join(home, '.kube')).uid, UID);
  assert.equal(statSync(join(home, '.kube', 'config')).gid, UID);
  assert.equal(statSync(outside).uid, 0, 'neither the symlink nor the hard link gave it away');
  assert.equal(lstatSync(join(home, 'link-to-outside')).isSymbolicLink(), true);
});

test('refuses a home that is a symlink', (t) => {
  if (!root) return t.skip('not root: chown to another uid needs root');
  const real = join(dir, 'real');
  mkdirSync(real);
  symlinkSync(real, join(dir, 'home-link'));
  assert.throws(
    () => prepareSandboxHome(join(dir, 'home-link'), UID),
    /not a folder \(a symlink\?\)/,
  );
  assert.equal(statSync(real).uid, 0);
});

test('writeHomeFile replaces a planted symlink instead of writing through it', (t) => {
  if (!root) return t.skip('not root: chown to another uid needs root');
  const victim = join(dir, 'victim');
  writeFileSync(victim, 'precious');
  const home = join(dir, 'home2');
  mkdirSync(home);
  symlinkSync(victim, join(home, '.kubenotes-rc'));
  const file = writeHomeFile(home, '.kubenotes-rc', 'PS1=x\n', UID);
  assert.equal(readFileSync(victim, 'utf8'), 'precious');
  assert.equal(readFileSync(file, 'utf8'), 'PS1=x\n');
  assert.equal(lstatSync(file).isFile(), true);
  assert.equal(statSync(file).uid, UID);
  assert.throws(() => writeHomeFile(home, '../escape', 'x', UID), /directly in the home/);
});
