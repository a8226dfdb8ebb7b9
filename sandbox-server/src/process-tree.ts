/**
 * Ends every process a shell started. A pty's shell leads its own process session, and
 * every job it runs stays in that session even in another process group, so on Linux we
 * find them all by session id in /proc; elsewhere we fall back to the process group.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Live process ids whose session id is `sid` (Linux), the leader included. */
export function processesInSession(sid: number): number[] {
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
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // Fields after the command name, which may contain spaces and parentheses.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // A zombie has ended already; it only waits for its parent to collect it.
      if (Number(fields[3]) === sid && fields[0] !== 'Z') found.push(Number(name));
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
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
