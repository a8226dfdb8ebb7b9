/**
 * Ends every process a shell started. A pty's shell leads its own process session, and
 * every job it runs stays in that session even in another process group, so on Linux we
 * find them all by session id in /proc; elsewhere we fall back to the process group.
 */
import { readdirSync, readFileSync } from 'node:fs';

/**
 * Live process ids (zombies excluded) whose `/proc/<pid>/<file>` satisfies `match`. Linux
 * only; elsewhere there is no /proc and the answer is empty.
 */
export function findProcesses(file: 'stat' | 'status', match: (text: string) => boolean): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const found: number[] = [];
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (match(readFileSync(`/proc/${name}/${file}`, 'utf8'))) found.push(Number(name));
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

/** Live process ids whose session id is `sid` (Linux), the leader included. */
export function processesInSession(sid: number): number[] {
  return findProcesses('stat', (stat) => {
    // Fields after the command name, which may contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // A zombie has ended already; it only waits for its parent to collect it.
    return Number(fields[3]) === sid && fields[0] !== 'Z';
  });
}

export function killSession(sid: number): void {
  const pids = processesInSession(sid);
  if (pids.length === 0) {
    try {
      process.kill(-sid, 'SIGKILL');
    } catch {
      // Already gone.
    }
    return;
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}
