/**
 * <kn-task>: a task the reader solves alone (src/snippets/render-task.ts makes the markup).
 * Its check runs on the server, as the reader; this element asks for it and shows the answer
 * in `data-state`: open | checking | not-yet | error | done. It is checked again after every
 * command the reader finishes in the terminal (auto-check.ts), so it turns green with
 * no click; Check asks at once. Hints show one at a time; the solution shows when asked for,
 * or by itself after `data-solution-after` checks the reader asked for came back "not yet".
 */
import type { TaskMessage } from '../../sandbox-server/src/shared/protocol.ts';
import { isTaskDone, markDone, taskKey } from './progress-store.ts';
import { pageSpecs, variableValues } from './variables-store.ts';

/** What of <kn-terminal-dock> (terminal-dock.ts) a task needs: a way to ask for checks. */
export interface CheckingDock extends HTMLElement {
  check(
    chapter: string,
    tasks: string[],
    variables: Record<string, string>,
    asked: boolean,
  ): Promise<void>;
}

export type TaskElementState = 'open' | 'checking' | 'not-yet' | 'error' | 'done';

export class TaskElement extends HTMLElement {
  #asked = 0;
  #failedAsked = 0;
  #hintsShown = 0;

  get chapter(): string {
    return this.dataset.chapter ?? '';
  }

  get taskId(): string {
    return this.dataset.taskId ?? '';
  }

  get key(): string {
    return taskKey(this.chapter, this.taskId);
  }

  get state(): TaskElementState {
    return (this.dataset.state as TaskElementState | undefined) ?? 'open';
  }

  connectedCallback(): void {
    if (this.dataset.wired) return;
    this.dataset.wired = 'true';
    this.#button('check')?.addEventListener('click', () => void this.check());
    this.#button('hint')?.addEventListener('click', () => this.showHint());
    this.#button('solution')?.addEventListener('click', () => this.showSolution());
    if (this.#hints().length === 0) this.#button('hint')?.remove();
    if (isTaskDone(this.key)) this.#show('done', 'Done. You solved this one.');
    // The reader's namespace was reset: whatever solved this is gone.
    document.addEventListener('kubenotes:namespace-reset', (event) => {
      if ((event as CustomEvent<{ state: string }>).detail.state === 'done') this.#show('open', '');
    });
  }

  /** Asks the server to check this task now (opens the terminal if needed). */
  async check(): Promise<void> {
    const dock = document.querySelector<CheckingDock>('kn-terminal-dock');
    if (!dock) return;
    this.#asked++;
    if (this.state !== 'done') this.#show('checking', 'Checking…');
    await dock.check(this.chapter, [this.taskId], variableValues(pageSpecs()), true);
  }

  /** The server's answer for this task. */
  answer(message: TaskMessage): void {
    const asked = this.#asked > 0;
    this.#asked = Math.max(0, this.#asked - 1);
    if (message.state === 'done') {
      markDone({ tasks: [this.key] });
      this.#show('done', `Done: ${message.message}`);
      return;
    }
    // Done stays done (the reader may clean up afterwards), unless they ask again.
    if (this.state === 'done' && !asked) return;
    if (message.state === 'not-yet') {
      this.#show('not-yet', `Not yet: ${message.message}`);
      if (asked) this.#failedAsked++;
      if (this.#failedAsked >= Number(this.dataset.solutionAfter ?? 3)) this.showSolution();
    } else {
      this.#show('error', message.message);
    }
  }

  showHint(): void {
    const hints = this.#hints();
    const next = hints[this.#hintsShown];
    if (!next) return;
    next.hidden = false;
    this.#hintsShown++;
    const button = this.#button('hint');
    if (button) {
      if (this.#hintsShown >= hints.length) button.remove();
      else button.textContent = `Hint (${this.#hintsShown + 1} of ${hints.length})`;
    }
    next.setAttribute('tabindex', '-1');
    next.focus();
  }

  showSolution(): void {
    if (this.dataset.solutionShown) return;
    this.dataset.solutionShown = 'true';
    this.#button('solution')?.remove();
  }

  #hints(): HTMLElement[] {
    return [...this.querySelectorAll<HTMLElement>('kn-hint')];
  }

  #button(action: string): HTMLButtonElement | null {
    return this.querySelector<HTMLButtonElement>(`.kn-task-bar [data-action="${action}"]`);
  }

  #show(state: TaskElementState, text: string): void {
    this.dataset.state = state;
    const status = this.querySelector('.kn-task-status');
    if (status) status.textContent = text;
  }
}
