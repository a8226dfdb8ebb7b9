/**
 * A lock file shared by every test run on the machine (several worktrees and CI may run tests
 * at once): it holds its owner's pid, and a lock whose owner is gone is taken over.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Waits for the lock at `path`, says once whom it waits for, and returns its release.
 * `what` names the work in that message ("the Docker chapters").
 */
export async function acquireMachineLock(
  path: string,
  what: string,
  log: (line: string) => void,
): Promise<() => void> {
  mkdirSync(dirname(path), { recursive: true });
  let told = false;
  for (;;) {
    try {
      const fd = openSync(path, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        rmSync(path, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      let owner = 0;
      try {
        owner = Number(readFileSync(path, 'utf8').trim());
      } catch {
        continue; // released meanwhile
      }
      // an empty file: its owner is between open and write
      if (owner === 0) {
        await sleep(100);
        continue;
      }
      if (!processAlive(owner)) {
        rmSync(path, { force: true });
        continue;
      }
      if (!told) log(`waiting for ${what}: another test run (pid ${owner}) holds ${path}…`);
      told = true;
      await sleep(500);
    }
  }
}

/** Runs `body` under the lock. */
export async function withMachineLock<T>(
  path: string,
  what: string,
  log: (line: string) => void,
  body: () => Promise<T>,
): Promise<T> {
  const release = await acquireMachineLock(path, what, log);
  try {
    return await body();
  } finally {
    release();
  }
}
