/**
 * <kn-snippet>: one runnable block. Run fills the variables (refusing bad values before
 * anything is sent), opens the terminal, types the commands and shows the outcome in
 * `data-state` (idle | running | succeeded | failed). Copy copies the filled commands.
 * "Run the steps above" replays the chapter's earlier blocks in order, for a reader who
 * lands mid-chapter.
 */
import { fillPlaceholders } from '../snippets/placeholders.ts';
import { addOpenButton } from './app-open.ts';
import { pageSteps } from './page-progress.ts';
import { isStepDoneInSession, markDone, stepKey } from './progress-store.ts';
import { sandboxStatus } from './sandbox-status.ts';
import type { TerminalDock } from './terminal-dock.ts';
import { pageSpecs, variableValues } from './variables-store.ts';

type State = 'idle' | 'running' | 'succeeded' | 'failed';

export class SnippetElement extends HTMLElement {
  get snippetId(): string {
    return this.dataset.snippetId ?? '';
  }

  get state(): State {
    return (this.dataset.state as State | undefined) ?? 'idle';
  }

  connectedCallback(): void {
    this.querySelector('.kn-run')?.addEventListener('click', () => void this.run());
    this.querySelector('.kn-copy')?.addEventListener('click', () => void this.copy());
    this.#addRunAbove();
    addOpenButton(this);
    void this.#checkSandbox();
  }

  /** Disables Run, with the reason, where the sandbox cannot run this block. */
  async #checkSandbox(): Promise<void> {
    const status = await sandboxStatus();
    const needs = (this.dataset.needs ?? '').split(/[\s,]+/).filter(Boolean);
    const missing = needs.filter((need) => !status.capabilities.includes(need));
    let reason: string | undefined;
    if (!status.reachable) reason = status.problem;
    else if (missing.length > 0) {
      reason = `This step needs ${missing.join(' and ')} (${this.dataset.needsReason ?? 'see the text'}), which this sandbox does not offer. Copy it and run it on your own machine.`;
    }
    const run = this.querySelector<HTMLButtonElement>('.kn-run');
    if (!run || !reason) return;
    run.disabled = true;
    run.title = reason;
    this.dataset.disabledReason = reason;
    this.#status(reason);
  }

  /** The block's commands with the reader's values, or the problems that stop it. */
  #commands(): { ok: true; commands: string[] } | { ok: false; message: string; field?: string } {
    const raw: unknown = JSON.parse(this.dataset.commands ?? '[]');
    const commands = Array.isArray(raw) ? raw.map(String) : [];
    const specs = pageSpecs();
    const values = variableValues(specs);
    const filled: string[] = [];
    for (const command of commands) {
      const result = fillPlaceholders(command, values, specs);
      if (!result.ok) {
        return {
          ok: false,
          message: result.errors.map((e) => e.message).join(' '),
          ...(result.errors[0] ? { field: result.errors[0].name } : {}),
        };
      }
      filled.push(result.text);
    }
    return { ok: true, commands: filled };
  }

  /** The block's commands with the reader's values, or undefined if a value is refused. */
  filledCommands(): string[] | undefined {
    const prepared = this.#commands();
    return prepared.ok ? prepared.commands : undefined;
  }

  async run(): Promise<boolean> {
    if (this.state === 'running') return false;
    const run = this.querySelector<HTMLButtonElement>('.kn-run');
    if (run?.disabled) return false;
    const prepared = this.#commands();
    if (!prepared.ok) {
      this.#setState('failed');
      this.#status(prepared.message);
      if (prepared.field) document.getElementById(`kn-var-${prepared.field}`)?.focus();
      return false;
    }
    const dock = document.querySelector<TerminalDock>('kn-terminal-dock');
    if (!dock) return false;
    this.#setState('running');
    this.#status('Running…');
    try {
      const result = await dock.run(this.snippetId, {
        commands: prepared.commands,
        exit: Number(this.dataset.exit ?? 0),
        until: this.dataset.until,
        timeoutMs: this.dataset.timeoutMs ? Number(this.dataset.timeoutMs) : undefined,
      });
      this.#setState(result.ok ? 'succeeded' : 'failed');
      if (result.ok) markDone({ steps: [stepKey(this.snippetId)] });
      if (result.code !== undefined) this.dataset.exitCode = String(result.code);
      else delete this.dataset.exitCode;
      this.#status(result.ok ? 'Done' : result.reason);
      return result.ok;
    } catch (error) {
      this.#setState('failed');
      this.#status(`Could not run: ${(error as Error).message}`);
      return false;
    }
  }

  async copy(): Promise<void> {
    const prepared = this.#commands();
    if (!prepared.ok) {
      this.#status(prepared.message);
      return;
    }
    try {
      await navigator.clipboard.writeText(prepared.commands.join('\n'));
      this.#status('Copied');
    } catch {
      this.#status('Copying was not allowed by the browser; select the text instead.');
    }
  }

  #addRunAbove(): void {
    const earlier = this.#earlier();
    if (earlier.length === 0) return;
    const bar = this.querySelector('.kn-snippet-bar');
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'kn-run-above';
    button.textContent = 'Run the steps above';
    button.setAttribute('aria-label', `Run the ${earlier.length} steps above this one, in order`);
    button.addEventListener('click', () => void this.runAbove());
    bar?.insertBefore(button, this.querySelector('.kn-status'));
  }

  /** The steps before this one (a task's solution is not a step). */
  #earlier(): SnippetElement[] {
    const all = pageSteps() as SnippetElement[];
    const index = all.indexOf(this);
    return index < 0 ? [] : all.slice(0, index);
  }

  /**
   * Runs every earlier step not yet done in this session (progress-store.ts), in order, each after the previous
   * finished; stops at a failure, and says which it skipped.
   */
  async runAbove(): Promise<boolean> {
    const earlier = this.#earlier();
    const skipped = earlier.filter((s) => isStepDoneInSession(stepKey(s.snippetId)));
    if (skipped.length > 0) {
      this.#status(
        `Skipping ${skipped.length} step(s) already done: ${skipped.map((s) => s.snippetId).join(', ')}.`,
      );
    }
    for (const snippet of earlier) {
      if (skipped.includes(snippet)) continue;
      if (snippet.querySelector<HTMLButtonElement>('.kn-run')?.disabled) continue;
      snippet.scrollIntoView({ block: 'nearest' });
      if (!(await snippet.run())) {
        this.#status(`Stopped: the step "${snippet.snippetId}" failed.`);
        return false;
      }
    }
    return true;
  }

  #setState(state: State): void {
    this.dataset.state = state;
  }

  #status(text: string): void {
    const status = this.querySelector('.kn-status');
    if (status) status.textContent = text;
  }
}
