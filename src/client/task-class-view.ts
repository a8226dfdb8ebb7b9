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

/** Per task (`<chapter>/<task>`), how many participants stand where, in a stable order. */
export function classView(
  sessions: readonly {
    tasks?: Record<string, Pick<TaskSummary, 'state' | 'failures' | 'since'>> | undefined;
  }[],
  now: number,
): { task: string; done: number; trying: number; stuck: number }[] {
  const rows = new Map<string, { task: string; done: number; trying: number; stuck: number }>();
  for (const session of sessions) {
    for (const [task, summary] of Object.entries(session.tasks ?? {})) {
      const row = rows.get(task) ?? { task, done: 0, trying: 0, stuck: 0 };
      row[standing(summary, now)]++;
      rows.set(task, row);
    }
  }
  return [...rows.values()].sort((a, b) => a.task.localeCompare(b.task));
}
