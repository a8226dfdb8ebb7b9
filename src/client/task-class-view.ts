/**
 * The instructor's view of a task across the class (docs/tasks.md): who is done, who is
 * trying, who is stuck. Pure, so it is unit-tested without a browser.
 */

import type { TaskSummary } from '../../sandbox-server/src/shared/protocol.ts';

/** Failed checks, or minutes on a task, after which a participant counts as stuck. */
export const STUCK_FAILURES = 3;
export const STUCK_MINUTES = 10;

export type Standing = 'done' | 'trying' | 'stuck';

export function standing(
  task: Pick<TaskSummary, 'state' | 'failures' | 'since'>,
  now: number,
): Standing {
  if (task.state === 'done') return 'done';
  const minutes = (now - Date.parse(task.since)) / 60_000;
  return task.failures >= STUCK_FAILURES || minutes >= STUCK_MINUTES ? 'stuck' : 'trying';
}

export interface ClassRow {
  task: string;
  done: number;
  trying: number;
  stuck: number;
  /**
   * The last command line most of those not done yet ran before their latest "not yet", and
   * how many ran it (ties: the one that sorts first); undefined when none is known.
   */
  commonCommand: { command: string; count: number } | undefined;
}

/** Per task (`<chapter>/<task>`), how many participants stand where, in a stable order. */
export function classView(
  sessions: readonly {
    tasks?:
      | Record<string, Pick<TaskSummary, 'state' | 'failures' | 'since' | 'command'>>
      | undefined;
  }[],
  now: number,
): ClassRow[] {
  const rows = new Map<string, ClassRow>();
  const commands = new Map<string, Map<string, number>>();
  for (const session of sessions) {
    for (const [task, summary] of Object.entries(session.tasks ?? {})) {
      const row = rows.get(task) ?? {
        task,
        done: 0,
        trying: 0,
        stuck: 0,
        commonCommand: undefined,
      };
      row[standing(summary, now)]++;
      rows.set(task, row);
      if (summary.state === 'done' || !summary.command) continue;
      const counts = commands.get(task) ?? new Map<string, number>();
      counts.set(summary.command, (counts.get(summary.command) ?? 0) + 1);
      commands.set(task, counts);
    }
  }
  for (const [task, counts] of commands) {
    const [command, count] = [...counts].sort(([a, m], [b, n]) => n - m || a.localeCompare(b))[0]!;
    rows.get(task)!.commonCommand = { command, count };
  }
  return [...rows.values()].sort((a, b) => a.task.localeCompare(b.task));
}
