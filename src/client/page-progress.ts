/**
 * Progress on the page: "3 of 5 steps, 1 of 2 tasks" above the chapter, a tick on each step
 * done before (in this browser or, merged from the server's `record`, this session), and a
 * tick in the sidebar beside each chapter whose steps and tasks are all done.
 */
import type {
  NamespaceResetMessage,
  RecordMessage,
} from '../../sandbox-server/src/shared/protocol.ts';
import {
  finishedPages,
  forgetAll,
  forgetPage,
  isStepDone,
  notePage,
  PROGRESS_EVENT,
  setSessionRecord,
  stepKey,
} from './progress-store.ts';
import type { SnippetElement } from './snippet-element.ts';

/** What of <kn-terminal-dock> (terminal-dock.ts) starting clean needs. */
interface CleaningDock extends HTMLElement {
  startClean(
    page: string,
    chapter: string,
    steps: { id: string; commands: string[] }[],
  ): Promise<void>;
}

/** Steps count towards progress; a task's solution is part of the task, not a step. */
export function pageSteps(): HTMLElement[] {
  return [...document.querySelectorAll<HTMLElement>('kn-snippet[data-snippet-id]')].filter(
    (snippet) => snippet.dataset.role !== 'solution',
  );
}

function pageTasks(): HTMLElement[] {
  return [...document.querySelectorAll<HTMLElement>('kn-task[data-task-id]')];
}

function update(): void {
  const steps = pageSteps();
  const tasks = pageTasks();
  const held = {
    steps: steps.map((s) => stepKey(s.dataset.snippetId ?? '')),
    tasks: tasks.map((t) => `${t.dataset.chapter}/${t.dataset.taskId}`),
  };
  for (const step of steps) {
    step.toggleAttribute('data-done', isStepDone(stepKey(step.dataset.snippetId ?? '')));
  }
  if (held.steps.length + held.tasks.length > 0) {
    const done = notePage(location.pathname, held);
    summary().textContent = [
      held.steps.length > 0
        ? `${done.steps} of ${held.steps.length} ${held.steps.length === 1 ? 'step' : 'steps'}`
        : '',
      held.tasks.length > 0
        ? `${done.tasks} of ${held.tasks.length} ${held.tasks.length === 1 ? 'task' : 'tasks'}`
        : '',
    ]
      .filter(Boolean)
      .join(', ');
  }
  const finished = new Set(finishedPages());
  for (const link of document.querySelectorAll<HTMLAnchorElement>('#starlight__sidebar a[href]')) {
    const done = finished.has(new URL(link.href).pathname);
    link.toggleAttribute('data-finished', done);
    const label = link.querySelector('.kn-finished') ?? document.createElement('span');
    if (done && !label.isConnected) {
      label.className = 'kn-finished';
      label.textContent = ' ✓';
      label.setAttribute('aria-label', ', finished');
      link.append(label);
    } else if (!done) label.remove();
  }
}

function summary(): HTMLElement {
  let element = document.querySelector<HTMLElement>('.kn-progress-summary');
  if (!element) {
    const bar = document.createElement('div');
    bar.className = 'kn-progress not-content';
    element = document.createElement('p');
    element.className = 'kn-progress-summary';
    element.setAttribute('role', 'status');
    bar.append(element);
    const cleanup = [...document.querySelectorAll<SnippetElement>('kn-snippet[data-cleanup]')];
    if (cleanup.length > 0) bar.append(startCleanButton(cleanup));
    document.querySelector('.sl-markdown-content')?.prepend(bar);
  }
  return element;
}

/**
 * "Start this chapter clean": runs the chapter's clean-up blocks (fence option `cleanup`),
 * whatever their exit codes (what they delete may not exist yet), then forgets what was done
 * on this page, here and in the session, and shows the page afresh.
 */
function startCleanButton(cleanup: SnippetElement[]): HTMLButtonElement {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'kn-start-clean';
  button.textContent = 'Start this chapter clean';
  button.title = `Runs this chapter's clean-up (${cleanup.map((s) => s.snippetId).join(', ')}), then forgets its progress.`;
  button.addEventListener('click', async () => {
    const steps = cleanup.map((s) => ({ id: s.snippetId, commands: s.filledCommands() ?? [] }));
    if (steps.some((s) => s.commands.length === 0)) {
      button.textContent = 'Fix the variables first';
      return;
    }
    const dock = document.querySelector<CleaningDock>('kn-terminal-dock');
    if (!dock) return;
    button.disabled = true;
    button.textContent = 'Cleaning up…';
    const page = location.pathname;
    const chapter =
      document.querySelector<HTMLElement>('kn-task[data-chapter]')?.dataset.chapter ??
      page.split('/').filter(Boolean).at(-1) ??
      '';
    await dock.startClean(page, chapter, steps);
    forgetPage(page);
    location.reload();
  });
  return button;
}

export function showPageProgress(): void {
  update();
  document.addEventListener(PROGRESS_EVENT, update);
  // What this session did, as the server kept it (another tab, another browser's steps).
  document.addEventListener('kubenotes:record', (event) => {
    const record = (event as CustomEvent<RecordMessage>).detail;
    setSessionRecord(record);
  });
  // What the reader made is gone: so is what they did, on every page.
  document.addEventListener('kubenotes:namespace-reset', (event) => {
    const answer = (event as CustomEvent<NamespaceResetMessage>).detail;
    if (answer.state !== 'done') return;
    forgetAll();
    for (const step of pageSteps()) step.removeAttribute('data-state');
  });
}
