/**
 * The session's home, handed over to the session's uid. The server (root) writes into it
 * (the rcfile, the kubeconfig) and the participant owns it; a root process working in a
 * folder someone else controls must never follow their symlinks or hard links, or a planted
 * `.kubenotes-rc -> /etc/shadow` turns the server's next write into theirs.
 *
 * Call these only while none of the session's processes runs (before the first shell, or
 * after one has exited: its pid namespace is gone with it), so nothing can swap a folder for
 * a link between our look and our change.
 */
import {
  chmodSync,
  chownSync,
  closeSync,
  fchownSync,
  lstatSync,
  openSync,
  readdirSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

/**
 * Gives the home and what the server put in it to `uid` (as owner and group), mode 0700 on the
 * home itself. Walks without following symlinks, stays on the home's file system, and leaves
 * alone any file with more than one link (a hard link to a file elsewhere) and anything owned
 * by a third uid.
 */
export function prepareSandboxHome(home: string, uid: number): void {
  const top = lstatSync(home);
  if (!top.isDirectory()) {
    throw new Error(
      `The session home ${home} is not a folder (a symlink?): refusing to hand it over.`,
    );
  }
  const walk = (path: string): void => {
    const stat = lstatSync(path);
    if (stat.dev !== top.dev || stat.isSymbolicLink()) return;
    if (stat.uid !== 0 && stat.uid !== uid) return;
    if (!stat.isDirectory() && stat.nlink > 1) return;
    if (stat.uid !== uid || stat.gid !== uid) chownSync(path, uid, uid);
    if (stat.isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
  };
  walk(home);
  chmodSync(home, 0o700);
}

/**
 * Writes a file into a home the participant owns, as root, safely: whatever is at `name`
 * (a symlink, a file) is removed first, and the new file is created exclusively (O_EXCL does
 * not follow a link that appears meanwhile), then given to `uid`.
 */
export function writeHomeFile(
  home: string,
  name: string,
  content: string,
  uid: number,
  mode = 0o600,
): string {
  if (name.includes('/') || name === '..' || name === '.') {
    throw new Error(`"${name}" must be a file name directly in the home.`);
  }
  const file = join(home, name);
  rmSync(file, { force: true, recursive: true });
  const fd = openSync(file, 'wx', mode);
  try {
    writeSync(fd, content);
    fchownSync(fd, uid, uid);
  } finally {
    closeSync(fd);
  }
  return file;
}
