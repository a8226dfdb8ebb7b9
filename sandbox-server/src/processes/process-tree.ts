/**
 * Ends every process a shell started. A pty's shell leads its own process session, and
 * every job it runs stays in that session even in another process group, so on Linux we
 * find them all by session id in /proc; elsewhere we fall back to the process group.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** A process, as its `/proc/<pid>/status` tells it. */
export interface ProcessEntry {
  pid: number;
  /** its session id (NSsid, as this /proc sees it); NaN when the kernel does not say */
  sid: number;
  /** real, effective, saved and filesystem uid */
  uids: number[];
  /** ended, only waiting for its parent to collect it */
  zombie: boolean;
}

/** The value of a `Name:\tvalue` line of a status file. */
function field(status: string, name: string): string | undefined {
  const at = status.indexOf(`\n${name}:`);
  if (at < 0) return undefined;
  const start = at + name.length + 2;
  const end = status.indexOf('\n', start);
  return status.slice(start, end < 0 ? undefined : end).trim();
}

export function parseProcessStatus(pid: number, status: string): ProcessEntry {
  return {
    pid,
    sid: Number(field(status, 'NSsid')?.split(/\s+/)[0] ?? Number.NaN),
    uids: (field(status, 'Uid') ?? '').split(/\s+/).filter(Boolean).map(Number),
    zombie: field(status, 'State')?.startsWith('Z') ?? false,
  };
}

/** Every process in /proc, read now (Linux; elsewhere there is no /proc and it is empty). */
export function readProcessTable(): ProcessEntry[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const table: ProcessEntry[] = [];
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    try {
      table.push(parseProcessStatus(Number(name), readFileSync(`/proc/${name}/status`, 'utf8')));
    } catch {
      // The process ended while we looked.
    }
  }
  return table;
}

let nextTable: Promise<ProcessEntry[]> | undefined;

/**
 * The process table, read once for everyone who asks in the same turn of the event loop:
 * a walk of /proc takes milliseconds with hundreds of shells running, and sessions ending
 * together would otherwise each walk it while other sessions wait for their echoes.
 */
export function processTable(): Promise<ProcessEntry[]> {
  nextTable ??= new Promise((resolve) => {
    setImmediate(() => {
      nextTable = undefined;
      resolve(readProcessTable());
    });
  });
  return nextTable;
}

/** Live process ids whose session id is `sid` (Linux), the leader included. */
export function processesInSession(sid: number): number[] {
  return inSession(readProcessTable(), sid);
}

function inSession(table: ProcessEntry[], sid: number): number[] {
  return table.filter((entry) => entry.sid === sid && !entry.zombie).map((entry) => entry.pid);
}

/** SIGKILLs every process of the session led by `sid` (or, without /proc, its process group). */
export async function killSession(sid: number): Promise<void> {
  const pids = inSession(await processTable(), sid);
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

/** Whether the server that made `mark` (see ownerMark) still runs. */
export function isServerAlive(mark: string): boolean {
  const [pid, started] = mark.split(':');
  return startTimeOf(Number(pid)) === started;
}

/**
 * Kills what the shells of servers that died (SIGKILL, a crash, a power cut of the process)
 * left running: processes that ignored the hangup (`nohup`) or left the terminal's session
 * (`setsid`). A graceful stop ends them itself; after a crash nothing else would. Processes
 * of live servers are left alone. Returns the pids killed.
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
      alive = isServerAlive(mark);
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
