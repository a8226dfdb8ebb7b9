/**
 * The processes running as a uid. Each session has a uid of its own, so these are exactly its
 * processes, wherever they went: another process group, another session (setsid), another
 * cgroup. The last word on "nothing of the session is left", with or without cgroups.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import { type ProcessEntry, processTable, readProcessTable } from '../processes/process-tree.ts';

/** Live pids (not zombies) whose real, effective, saved or filesystem uid is `uid`. */
export function processesOfUid(uid: number): number[] {
  return ofUid(readProcessTable(), uid);
}

function ofUid(table: ProcessEntry[], uid: number): number[] {
  return table.filter((entry) => !entry.zombie && entry.uids.includes(uid)).map((e) => e.pid);
}

/**
 * SIGKILLs every process of `uid` until none is left (a process may fork between our look and
 * our signal, so sweep again). Resolves with what is still there after `timeoutMs`: [] when
 * the uid is free to hand out again.
 */
export async function killProcessesOfUid(uid: number, timeoutMs = 5000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // Shared with every other session ending now: one look at /proc for all of them.
    const pids = ofUid(await processTable(), uid);
    if (pids.length === 0 || Date.now() > deadline) return pids;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await sleep(20);
  }
}
