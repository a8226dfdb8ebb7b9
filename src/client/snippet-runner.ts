/**
 * Runs a snippet's commands in the terminal, one after another, and tells how it went, from
 * the shell's OSC 133 marks: each command waits for a prompt, is typed, and ends at its `D`
 * mark with an exit code. A block that declares `until="…"` waits for that text, then sends
 * Ctrl-C and counts as a success (with `keep`, it leaves the command running until the next
 * Run in this terminal); `timeout=` sends Ctrl-C and fails.
 *
 * Pure logic over two functions (type text; receive decoded output), so it is unit-tested
 * without a browser.
 */
import { type ShellMark, ShellMarkReader } from '../../sandbox-server/src/shared/shell-marks.ts';

export interface RunJob {
  commands: string[];
  /** the exit code the block's last command is expected to have (default 0) */
  exit: number;
  until?: string | undefined;
  timeoutMs?: number | undefined;
  /** run every command whatever its exit code (a clean-up of things that may not exist) */
  anyExit?: boolean;
  /** with `until`: leave the command running once the text appears (a port-forward, a watch) */
  keep?: boolean;
}

export type RunResult = { ok: true; code: number } | { ok: false; code?: number; reason: string };

const CTRL_C = '\x03';
/** Longest a command may wait for the shell to come back to a prompt before it is typed. */
const PROMPT_WAIT_MS = 30_000;

type Waiter = () => boolean;

export class SnippetRunner {
  readonly #type: (text: string) => void;
  readonly #marks = new ShellMarkReader();
  readonly #waiters = new Set<Waiter>();
  /** A new shell has not printed its prompt yet: typing now would echo before it. */
  #atPrompt: boolean;
  #lastEnd: number | undefined;
  #ends = 0;
  #starts = 0;
  /** output since the current command started, escape sequences removed */
  #text = '';
  #queue: Promise<unknown> = Promise.resolve();
  /** a `keep` block's command still runs: the next Run stops it first */
  #kept = false;
  readonly #onCommandEnd: ((code: number | undefined) => void) | undefined;

  constructor(
    type: (text: string) => void,
    options: {
      atPrompt?: boolean;
      /** every command that ends in the shell, typed by a Run or by the reader */
      onCommandEnd?: (code: number | undefined) => void;
    } = {},
  ) {
    this.#type = type;
    this.#atPrompt = options.atPrompt ?? false;
    this.#onCommandEnd = options.onCommandEnd;
  }

  /** Output from the shell, decoded. */
  feed(text: string): void {
    for (const mark of this.#marks.read(text)) this.#onMark(mark);
    // Keep a bounded tail of plain text for `until` matching.
    this.#text = (this.#text + stripEscapes(text)).slice(-64 * 1024);
    this.#wake();
  }

  /** The screen was replaced (a resume): we no longer know whether a command runs. */
  reset(): void {
    this.#atPrompt = true;
  }

  #onMark(mark: ShellMark): void {
    if (mark.kind === 'prompt') {
      this.#atPrompt = true;
      this.#kept = false;
    }
    if (mark.kind === 'command-start') {
      this.#atPrompt = false;
      this.#starts++;
      this.#text = '';
    }
    if (mark.kind === 'command-end') {
      this.#ends++;
      this.#lastEnd = mark.exitCode;
      this.#onCommandEnd?.(mark.exitCode);
    }
  }

  #wake(): void {
    for (const waiter of this.#waiters) if (waiter()) this.#waiters.delete(waiter);
  }

  #until(check: () => boolean, timeoutMs: number | undefined): Promise<boolean> {
    if (check()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              this.#waiters.delete(waiter);
              resolve(false);
            }, timeoutMs);
      const waiter = () => {
        if (!check()) return false;
        clearTimeout(timer);
        resolve(true);
        return true;
      };
      this.#waiters.add(waiter);
    });
  }

  /** Runs after any job already running, so Runs clicked quickly happen in order. */
  run(job: RunJob): Promise<RunResult> {
    const result = this.#queue.then(() => this.#run(job));
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async #run(job: RunJob): Promise<RunResult> {
    let code = 0;
    // What an earlier block left running (keep) ends when the next Run in this terminal
    // comes: the guide says so where it leaves one.
    if (this.#kept && !this.#atPrompt) {
      this.#type(CTRL_C);
      await this.#until(() => this.#atPrompt, 10_000);
    }
    this.#kept = false;
    for (const [index, command] of job.commands.entries()) {
      const last = index === job.commands.length - 1;
      if (!(await this.#until(() => this.#atPrompt, PROMPT_WAIT_MS))) {
        return {
          ok: false,
          reason:
            'The terminal is busy with another command: let it finish, or press Ctrl-C in the terminal.',
        };
      }
      const starts = this.#starts;
      const ends = this.#ends;
      this.#atPrompt = false;
      this.#type(`${command.replaceAll('\n', '\r')}\r`);
      const finished = () => this.#ends > ends && this.#starts > starts;
      if (job.until) {
        const until = job.until;
        const seen = await this.#until(
          () => this.#text.includes(until) || finished(),
          job.timeoutMs,
        );
        const sawText = this.#text.includes(until);
        if (sawText && job.keep && !finished()) {
          this.#kept = true;
          return { ok: true, code: 0 };
        }
        if (!finished()) this.#type(CTRL_C);
        await this.#until(finished, 10_000);
        if (sawText) continue;
        return {
          ok: false,
          ...(finished() && this.#lastEnd !== undefined ? { code: this.#lastEnd } : {}),
          reason: seen
            ? `The command ended before "${until}" appeared.`
            : `"${until}" did not appear in time.`,
        };
      }
      const done = await this.#until(finished, job.timeoutMs);
      if (!done) {
        this.#type(CTRL_C);
        return { ok: false, reason: `Stopped after ${Math.round((job.timeoutMs ?? 0) / 1000)} s.` };
      }
      code = this.#lastEnd ?? 0;
      const expected = last ? job.exit : 0;
      if (code !== expected && !job.anyExit) {
        return {
          ok: false,
          code,
          reason:
            expected === 0
              ? `Failed (exit code ${code})`
              : `Failed (exit code ${code}; this step expects ${expected})`,
        };
      }
    }
    return { ok: true, code };
  }
}

function stripEscapes(text: string): string {
  return text
    .replace(/\x1b\][^\x07\x1b]*(\x07|\x1b\\)/g, '')
    .replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '')
    .replace(/\r/g, '');
}
