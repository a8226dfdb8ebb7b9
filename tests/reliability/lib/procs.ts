/**
 * Finding a session's processes from the outside, in /proc: a session's shell and every
 * process it started carry its HOME (the session's folder under the server's state folder) in
 * their environment, whatever process group, session or parent they ended up in.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface ProcInfo {
  pid: number;
  cmdline: string;
}

function pids(): number[] {
  try {
    return readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .map(Number);
  } catch {
    return [];
  }
}

function isZombie(pid: number): boolean {
  try {
    return /^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return true;
  }
}

function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
  } catch {
    return '';
  }
}

/**
 * Live processes whose environment has HOME (or KUBECONFIG) under `folder`, or whose working
 * directory is there.
 */
export function processesUnder(folder: string): ProcInfo[] {
  const found: ProcInfo[] = [];
  for (const pid of pids()) {
    if (pid === process.pid) continue;
    let hit = false;
    try {
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      hit = environ.some(
        (entry) =>
          (entry.startsWith('HOME=') || entry.startsWith('KUBECONFIG=')) &&
          entry.slice(entry.indexOf('=') + 1).startsWith(`${folder}/`),
      );
    } catch {
      // gone, or not ours to read
    }
    if (!hit) {
      try {
        hit = readlinkSync(`/proc/${pid}/cwd`).startsWith(`${folder}/`);
      } catch {
        // gone
      }
    }
    if (hit && !isZombie(pid)) found.push({ pid, cmdline: cmdlineOf(pid) });
  }
  return found;
}

/** Live processes whose command line contains `marker` (a unique argument, e.g. a sleep time). */
export function processesWithArg(marker: string): ProcInfo[] {
  const found: ProcInfo[] = [];
  for (const pid of pids()) {
    if (pid === process.pid) continue;
    const cmdline = cmdlineOf(pid);
    if (cmdline.split(' ').includes(marker) && !isZombie(pid)) found.push({ pid, cmdline });
  }
  return found;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  return !isZombie(pid);
}

/** Waits until `check` returns an empty list (processes take a moment to finish dying). */
export async function untilGone(check: () => ProcInfo[], timeoutMs = 5000): Promise<ProcInfo[]> {
  const deadline = Date.now() + timeoutMs;
  let left = check();
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    left = check();
  }
  return left;
}

/** A unique number to put in a command line (e.g. `sleep 97123456`), so /proc finds it. */
export function marker(): string {
  return `9${Math.floor(Math.random() * 9_000_000 + 1_000_000)}`;
}
