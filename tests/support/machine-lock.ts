/**
 * A lock file shared by every test run on the machine (several worktrees and CI may run tests
 * at once): it holds its owner's pid, and a lock whose owner is gone is taken over.
 */
import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
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

/** When `pid` started (ms since the epoch), from /proc; undefined where that cannot be read. */
function startedAt(pid: number): number | undefined {
  try {
    // field 22, after the command in parentheses (which may hold spaces), in clock ticks since
    // boot; the kernel shows ticks at USER_HZ, 100 on every architecture we run on
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    const boot = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
    return Number.isFinite(ticks) && Number.isFinite(boot) ? boot * 1000 + ticks * 10 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether the process that wrote `path` (named by the pid it holds, or in its name) still runs.
 * A pid is reused once its process is gone (pid_max is 32768 here, and a test run starts tens
 * of thousands of processes); a process that started after the file was written cannot be the
 * one that wrote it. Files of a run killed at a session's end are met this way by the next.
 */
export function ownerAlive(pid: number, path: string): boolean {
  if (!processAlive(pid)) return false;
  const started = startedAt(pid);
  let written: number;
  try {
    written = statSync(path).mtimeMs;
  } catch {
    return true; // no file (removed meanwhile, or none to judge by): the pid alone decides
  }
  // btime is in whole seconds: allow for that
  return started === undefined || started <= written + 2000;
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
      if (!ownerAlive(owner, path)) {
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
