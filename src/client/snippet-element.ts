/**
 * <kn-snippet>: one runnable block. Run fills the variables (refusing bad values before
 * anything is sent), opens the terminal, types the commands and shows the outcome in
 * `data-state` (idle | running | succeeded | failed). Copy copies the filled commands.
 * "Run the steps above" replays the chapter's earlier blocks in order, for a reader who
 * lands mid-chapter.
 */
import { fillPlaceholders } from '../snippets/placeholders.ts';
import { addOpenButton } from './app-open.ts';
import { showMessage } from './message-text.ts';
import { pageSteps } from './page-progress.ts';
import { isStepDoneInSession, markDone, stepKey } from './progress-store.ts';
import { type SandboxStatus, watchSandboxStatus } from './sandbox-status.ts';
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
    watchSandboxStatus((status) => this.#checkSandbox(status));
  }

  /**
   * Disables Run, with the reason, where the sandbox cannot run this block: no sandbox, a
   * capability it lacks, or (for a block that talks to the cluster) no cluster ready. Called
   * again when that changes, so a cluster that becomes ready turns Run back on.
   */
  #checkSandbox(status: SandboxStatus): void {
    const needs = (this.dataset.needs ?? '').split(/[\s,]+/).filter(Boolean);
    const missing = needs.filter((need) => !status.capabilities.includes(need));
    let reason: string | undefined;
    if (!status.reachable) reason = status.problem;
    else if (missing.length > 0) {
      const wants = `This step needs ${missing.join(' and ')} (${this.dataset.needsReason ?? 'see the text'})`;
      // In local mode the sandbox is the reader's own machine: copying it there changes nothing.
      reason =
        status.mode === 'workshop'
          ? `${wants}, which this workshop's sandbox does not offer. Copy it and run it on your own machine.`
          : `${wants}, which the sandbox on this machine does not have. Install ${missing.join(' and ')}, then restart \`npm start\`.`;
    }
    if (!reason && this.dataset.cluster !== undefined && !status.clusterReady) {
      reason = status.clusterStarting
        ? `This step needs the cluster, which is still being made (${status.clusterMessage ?? 'starting'}). Run comes on by itself when it is ready.`
        : `This step needs the cluster, which is not ready: ${status.clusterMessage ?? 'the sandbox has none'}.`;
    }
    const run = this.querySelector<HTMLButtonElement>('.kn-run');
    if (!run) return;
    const was = this.dataset.disabledReason;
    if (!reason) {
      if (was === undefined) return;
      run.disabled = false;
      run.removeAttribute('title');
      delete this.dataset.disabledReason;
      if (this.state === 'idle') this.#status('');
      return;
    }
    run.disabled = true;
    run.title = reason.replaceAll('`', '');
    this.dataset.disabledReason = reason;
    if (this.state === 'idle' || was !== undefined) this.#status(reason);
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
      const running = dock.run(
        this.snippetId,
        {
          commands: prepared.commands,
          exit: Number(this.dataset.exit ?? 0),
          until: this.dataset.until,
          timeoutMs: this.dataset.timeoutMs ? Number(this.dataset.timeoutMs) : undefined,
          keep: this.dataset.keep !== undefined,
        },
        Number(this.dataset.term ?? 1),
      );
      // The dock has opened: the step being run, and its state, stay in sight above it.
      dock.reveal(this);
      const result = await running;
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
    button.setAttribute(
      'aria-label',
      `Run the steps above: ${earlier.length === 1 ? 'the one' : `the ${earlier.length}`} before this one, in order`,
    );
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
   * Catches up: runs the earlier steps in order, each after the previous finished, skipping
   * those this session already did (progress-store.ts) and those before the last one that
   * succeeded here (the reader got that far; a clean-up step before it would undo it). Says
   * which it skips, stops at a failure, and names steps as the reader sees them: command, line.
   */
  async runAbove(): Promise<boolean> {
    const earlier = this.#earlier();
    const reached = earlier.map((snippet) => snippet.state).lastIndexOf('succeeded');
    // A step that failed on this page since it was done is not done any more.
    const skipped = earlier.filter(
      (snippet, index) =>
        index <= reached ||
        (snippet.state !== 'failed' && isStepDoneInSession(stepKey(snippet.snippetId))),
    );
    if (skipped.length > 0) {
      const steps = skipped.length === 1 ? 'step' : 'steps';
      const names = skipped.map((snippet) => snippet.describe()).join(', ');
      this.#status(`Skipping ${skipped.length} ${steps} already done: ${names}.`);
    }
    for (const snippet of earlier) {
      if (skipped.includes(snippet)) continue;
      if (snippet.querySelector<HTMLButtonElement>('.kn-run')?.disabled) continue;
      if (!(await snippet.run())) {
        const why = snippet.querySelector('.kn-status')?.textContent ?? 'it failed';
        this.#status(`Stopped at ${snippet.describe()}: ${why}`);
        return false;
      }
    }
    return true;
  }

  /** The step as a reader finds it: its first command, filled in, and its line in the chapter. */
  describe(): string {
    const prepared = this.#commands();
    const raw: unknown = JSON.parse(this.dataset.commands ?? '[]');
    const command = prepared.ok ? prepared.commands[0] : Array.isArray(raw) ? String(raw[0]) : '';
    let first = (command ?? '').split('\n')[0] ?? '';
    if (first.length > 80) first = `${first.slice(0, 79)}…`;
    const line = this.dataset.line ? ` (line ${this.dataset.line})` : '';
    return `\`${first}\`${line}`;
  }

  #setState(state: State): void {
    this.dataset.state = state;
  }

  #status(text: string): void {
    const status = this.querySelector('.kn-status');
    if (status) showMessage(status, text);
  }
}
