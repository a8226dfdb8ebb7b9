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

/**
 * The environment variable that names the server which started a shell, `<pid>:<start time>`
 * (the start time tells a live server from a later process that got the same pid). Every
 * process the shell starts inherits it.
 */
export const OWNER_VARIABLE = 'KUBENOTES_SERVER';

let ownMark: string | undefined;

/** This server's mark. */
export function ownerMark(): string {
  ownMark ??= `${process.pid}:${startTimeOf(process.pid) ?? 0}`;
  return ownMark;
}

/** Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot. */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/**
 * Kills what the shells of servers that died (SIGKILL, a crash, a power cut of the process)
 * left running: processes that ignored the hangup (`nohup`) or left the terminal's session
 * (`setsid`). A graceful stop ends them itself; after a crash nothing did (reliability suite,
 * server-crash scenario). Processes of live servers are left alone. Returns the pids killed.
 */
export function killOrphansOfDeadServers(): number[] {
  const prefix = `${OWNER_VARIABLE}=`;
  const live = new Map<string, boolean>();
  const killed: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    let mark: string | undefined;
    try {
      mark = readFileSync(`/proc/${name}/environ`, 'utf8')
        .split('\0')
        .find((entry) => entry.startsWith(prefix))
        ?.slice(prefix.length);
    } catch {
      continue; // gone, or not ours
    }
    if (!mark || mark === ownerMark()) continue;
    let alive = live.get(mark);
    if (alive === undefined) {
      const [pid, started] = mark.split(':');
      alive = startTimeOf(Number(pid)) === started;
      live.set(mark, alive);
    }
    if (alive) continue;
    try {
      process.kill(Number(name), 'SIGKILL');
      killed.push(Number(name));
    } catch {
      // already gone
    }
  }
  return killed;
}
