/**
 * Checks the page's tasks (<kn-task>, task-element.ts) again after each command the reader
 * finishes: the dock announces the shell's OSC 133 end mark, and a moment later the tasks not
 * yet done are sent to the server to check; each answer goes to its element.
 */
import type { TaskMessage } from '../../sandbox-server/src/shared/protocol.ts';
import type { CheckingDock, TaskElement } from './task-element.ts';
import { pageSpecs, variableValues } from './variables-store.ts';

/** After a command ends, wait this long for more before checking (a Run types several). */
export const AUTO_CHECK_DELAY_MS = 150;

/** The page's tasks not yet done. */
function openTasks(): TaskElement[] {
  return [...document.querySelectorAll<TaskElement>('kn-task[data-task-id]')].filter(
    (task) => task.state !== 'done',
  );
}

/**
 * Checks the page's open tasks after each command the reader finishes (the shell's OSC 133
 * end mark, which the dock announces), a moment later so a Run of several commands is one
 * check, and hands every answer to its element.
 */
export function autoCheckTasks(): void {
  if (!document.querySelector('kn-task')) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  document.addEventListener('kubenotes:command-end', () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const open = openTasks();
      const dock = document.querySelector<CheckingDock>('kn-terminal-dock');
      if (open.length === 0 || !dock) return;
      const byChapter = new Map<string, TaskElement[]>();
      for (const task of open)
        byChapter.set(task.chapter, [...(byChapter.get(task.chapter) ?? []), task]);
      for (const [chapter, tasks] of byChapter) {
        void dock.check(
          chapter,
          tasks.map((t) => t.taskId),
          variableValues(pageSpecs()),
          false,
        );
      }
    }, AUTO_CHECK_DELAY_MS);
  });
  document.addEventListener('kubenotes:task', (event) => {
    const message = (event as CustomEvent<TaskMessage>).detail;
    const element = document.querySelector<TaskElement>(
      `kn-task[data-chapter="${CSS.escape(message.chapter)}"][data-task-id="${CSS.escape(message.task)}"]`,
    );
    element?.answer(message);
  });
}
