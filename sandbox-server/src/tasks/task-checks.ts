/**
 * Checks tasks for sessions (docs/tasks.md): the browser names tasks, the TaskBook gives their
 * scripts, the session says how to run a process as the reader (its sandbox, its
 * kubeconfig), and each result goes back to the session's terminals as a `task` message.
 *
 * Per session, one check runs at a time; a task asked for again while it waits is checked
 * once, with the newest values; and checks are rate-limited, since every finished command of
 * a reader with the page open asks for one.
 */
import { RateLimiter } from '../limits/rate-limiter.ts';
import type { Session } from '../session/session.ts';
import type { CheckMessage, TaskMessage } from '../shared/protocol.ts';
import type { Logger } from '../telemetry/log.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import { type CheckOutcome, runCheckProcess } from './check-process.ts';
import type { TaskBook } from './task-book.ts';

/** A check that runs longer is killed and reported as "could not check". */
export const CHECK_TIMEOUT_MS = 10_000;
/** Checks one session may run per minute. */
export const CHECKS_PER_MINUTE = 120;

interface Pending {
  chapter: string;
  task: string;
  values: Record<string, string>;
}

interface SessionQueue {
  pending: Map<string, Pending>;
  running: boolean;
}

export class TaskChecks {
  readonly #book: TaskBook;
  readonly #log: Logger;
  readonly #metrics: Metrics | undefined;
  readonly #timeoutMs: number;
  readonly #limiter: RateLimiter;
  readonly #queues = new WeakMap<Session, SessionQueue>();

  constructor(init: {
    book: TaskBook;
    log: Logger;
    metrics?: Metrics | undefined;
    timeoutMs?: number;
    perMinute?: number;
  }) {
    this.#book = init.book;
    this.#log = init.log;
    this.#metrics = init.metrics;
    this.#timeoutMs = init.timeoutMs ?? CHECK_TIMEOUT_MS;
    this.#limiter = new RateLimiter(init.perMinute ?? CHECKS_PER_MINUTE);
  }

  /** Queues the checks a browser asked for; results are broadcast to the session. */
  request(session: Session, message: CheckMessage): void {
    let queue = this.#queues.get(session);
    if (!queue) {
      queue = { pending: new Map(), running: false };
      this.#queues.set(session, queue);
    }
    for (const task of new Set(message.tasks)) {
      const key = `${message.chapter}/${task}`;
      // Asked again while waiting: check once, with the newest values.
      queue.pending.delete(key);
      queue.pending.set(key, {
        chapter: message.chapter,
        task,
        values: { ...(message.variables ?? {}) },
      });
    }
    if (!queue.running) void this.#drain(session, queue);
  }

  async #drain(session: Session, queue: SessionQueue): Promise<void> {
    queue.running = true;
    try {
      for (;;) {
        const next = queue.pending.entries().next();
        if (next.done) return;
        const [key, pending] = next.value;
        queue.pending.delete(key);
        if (session.ended) return;
        const result = await this.#check(session, pending);
        if (session.ended) return;
        session.recordTask(result);
        session.broadcast(result);
      }
    } finally {
      queue.running = false;
    }
  }

  async #check(session: Session, { chapter, task, values }: Pending): Promise<TaskMessage> {
    const answer = (
      state: TaskMessage['state'],
      message: string,
      code?: TaskMessage['code'],
    ): TaskMessage => ({
      type: 'task',
      chapter,
      task,
      state,
      message,
      ...(code ? { code } : {}),
    });
    const found = this.#book.check(chapter, task, values);
    if (!found.ok) return answer('error', `Could not check: ${found.message}`, found.code);
    const allowed = this.#limiter.take(session.id);
    if (!allowed.ok) {
      return answer(
        'error',
        `Could not check: too many checks at once; wait ${allowed.retryAfterSeconds} s, or press Check.`,
        'rate_limited',
      );
    }
    const command = session.checkCommand(found.script);
    if (command === undefined) {
      return answer(
        'error',
        'Could not check: this sandbox runs shells in pods, where checks do not run yet. Compare with the solution instead.',
        'unavailable',
      );
    }
    const started = performance.now();
    const outcome = await runCheckProcess(command, this.#timeoutMs);
    const ms = performance.now() - started;
    const result = toMessage(outcome, this.#timeoutMs, answer);
    if (this.#metrics) {
      this.#metrics.checkSeconds.observe(ms / 1000);
      this.#metrics.checks.set(result.state, (this.#metrics.checks.get(result.state) ?? 0) + 1);
    }
    this.#log.log('info', 'task_checked', {
      session: session.id,
      chapter,
      task,
      state: result.state,
      ms: Math.round(ms),
    });
    return result;
  }
}

function toMessage(
  outcome: CheckOutcome,
  timeoutMs: number,
  answer: (state: TaskMessage['state'], message: string, code?: TaskMessage['code']) => TaskMessage,
): TaskMessage {
  if (outcome.kind === 'failed') {
    return answer('error', `Could not check: ${outcome.message}`, 'check_failed');
  }
  const line = lastLine(outcome.output);
  if (outcome.kind === 'timeout') {
    return answer(
      'error',
      `Could not check: the check took longer than ${Math.round(timeoutMs / 1000)} s and was stopped.${line ? ` Its last words: ${line}` : ''}`,
      'timeout',
    );
  }
  if (outcome.code === 0) return answer('done', line || 'Done.');
  if (outcome.code === 1) return answer('not-yet', line || 'Not done yet.');
  return answer(
    'error',
    `Could not check: the check ended with code ${outcome.code}${line ? `: ${line}` : '.'}`,
    'check_failed',
  );
}

/** The last line the check printed, without escapes, cut to a sentence's length. */
function lastLine(output: string): string {
  const lines = output
    .replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  const line = lines.at(-1) ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
