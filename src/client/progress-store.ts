/**
 * What the reader has done, remembered in this browser (the server keeps the same per session
 * and sends it after each attach as a `record` message, merged in here): the steps that
 * succeeded, `<page>#<snippet>`, and the tasks done, `<chapter>/<task>`. Each page also notes
 * what it holds, so the sidebar can tick a chapter once all of it is done.
 */
const KEY = 'kubenotes:progress';
export const PROGRESS_EVENT = 'kubenotes:progress-changed';

interface Progress {
  steps: string[];
  /** the steps done in the current session (its cluster state), which "Run the steps above" skips */
  sessionSteps: string[];
  tasks: string[];
  /** page path → the keys of its steps and tasks */
  pages: Record<string, { steps: string[]; tasks: string[] }>;
}

function read(): Progress {
  try {
    const value = JSON.parse(localStorage.getItem(KEY) ?? '{}') as Partial<Progress>;
    return {
      steps: Array.isArray(value.steps) ? value.steps : [],
      sessionSteps: Array.isArray(value.sessionSteps) ? value.sessionSteps : [],
      tasks: Array.isArray(value.tasks) ? value.tasks : [],
      pages: typeof value.pages === 'object' && value.pages !== null ? value.pages : {},
    };
  } catch {
    return { steps: [], sessionSteps: [], tasks: [], pages: {} };
  }
}

function write(progress: Progress): void {
  localStorage.setItem(KEY, JSON.stringify(progress));
  document.dispatchEvent(new CustomEvent(PROGRESS_EVENT));
}

export function stepKey(snippetId: string, page = location.pathname): string {
  return `${page}#${snippetId}`;
}

export function taskKey(chapter: string, task: string): string {
  return `${chapter}/${task}`;
}

export function isStepDone(key: string): boolean {
  return read().steps.includes(key);
}

export function isStepDoneInSession(key: string): boolean {
  return read().sessionSteps.includes(key);
}

export function isTaskDone(key: string): boolean {
  return read().tasks.includes(key);
}

export function markDone(done: { steps?: readonly string[]; tasks?: readonly string[] }): void {
  const progress = read();
  const steps = new Set(progress.steps);
  const tasks = new Set(progress.tasks);
  const before = steps.size + tasks.size;
  for (const key of done.steps ?? []) steps.add(key);
  for (const key of done.tasks ?? []) tasks.add(key);
  const sessionSteps = new Set([...progress.sessionSteps, ...(done.steps ?? [])]);
  if (steps.size + tasks.size === before && sessionSteps.size === progress.sessionSteps.length) {
    return;
  }
  write({ ...progress, steps: [...steps], sessionSteps: [...sessionSteps], tasks: [...tasks] });
}

/** The server's record of the session now attached: what it holds is what this session did. */
export function setSessionRecord(record: {
  steps: readonly string[];
  tasks: readonly string[];
}): void {
  const progress = read();
  write({ ...progress, sessionSteps: [...record.steps] });
  markDone(record);
}

/** Forgets every step and task done (the reader's namespace was reset). */
export function forgetAll(): void {
  write({ ...read(), steps: [], sessionSteps: [], tasks: [] });
}

/** Forgets what was done on `page` (its chapter was started clean). */
export function forgetPage(page: string): void {
  const progress = read();
  const held = progress.pages[page];
  if (!held) return;
  write({
    ...progress,
    steps: progress.steps.filter((k) => !held.steps.includes(k)),
    sessionSteps: progress.sessionSteps.filter((k) => !held.steps.includes(k)),
    tasks: progress.tasks.filter((k) => !held.tasks.includes(k)),
  });
}

/** Notes what this page holds; returns how much of it is done. */
export function notePage(
  page: string,
  held: { steps: string[]; tasks: string[] },
): { steps: number; tasks: number } {
  const progress = read();
  const known = progress.pages[page];
  if (JSON.stringify(known) !== JSON.stringify(held)) {
    localStorage.setItem(
      KEY,
      JSON.stringify({ ...progress, pages: { ...progress.pages, [page]: held } }),
    );
  }
  return {
    steps: held.steps.filter((k) => progress.steps.includes(k)).length,
    tasks: held.tasks.filter((k) => progress.tasks.includes(k)).length,
  };
}

/** Pages whose every step and task is done. */
export function finishedPages(): string[] {
  const progress = read();
  return Object.entries(progress.pages)
    .filter(([, held]) => held.steps.length + held.tasks.length > 0)
    .filter(
      ([, held]) =>
        held.steps.every((k) => progress.steps.includes(k)) &&
        held.tasks.every((k) => progress.tasks.includes(k)),
    )
    .map(([page]) => page);
}
