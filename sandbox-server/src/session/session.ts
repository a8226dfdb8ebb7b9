/**
 * A session owns everything one reader (or participant) has: the shell in its pty, the
 * server-side screen, the sockets attached to it, its cluster lease (namespace, kubeconfig),
 * its home folder and its timers. `dispose()` tears all of it down, once.
 *
 * Closing a socket does not end the shell: the session waits for a reattach for a grace
 * period. A shell that exits is restarted on the next input or attach.
 */
import type { IPty } from 'node-pty';
import type { WebSocket } from 'ws';
import type { SessionSandbox } from '../isolation/isolation.ts';
import { killSession } from '../processes/process-tree.ts';
import type { ClusterLease } from '../providers/provider.ts';
import { describeRemoved, type RemovedObject } from '../providers/tenancy/namespace-reset.ts';
import type { Screen, ScreenHost } from '../screen/screen.ts';
import {
  CloseCode,
  type ErrorCode,
  type ProgressMessage,
  type RecordMessage,
  type TaskMessage,
} from '../shared/protocol.ts';
import { ShellMarkReader } from '../shared/shell-marks.ts';
import type { Logger } from '../telemetry/log.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import { Attachment } from './attachment.ts';
import { OutputFrames } from './output-frames.ts';
import { PtyInput } from './pty-input.ts';
import { checkCommand, removeHome, type ShellOptions, spawnShell } from './shell.ts';

/** What a session's reader did with one task (tasks/task-checks.ts). */
export interface TaskRecord {
  state: TaskMessage['state'];
  /** checks that said "not yet" since the last done */
  failures: number;
  message: string;
  at: number;
  /** when this reader started trying it: the first answer since it was last done */
  since: number;
  /** the reader's last command line before the latest "not yet" */
  command?: string | undefined;
}

/** The longest command line kept for the instructor's view. */
const MAX_COMMAND = 300;
/** How long typed keys wait for a new shell's first prompt mark before they go in anyway. */
const BEFORE_PROMPT_MS = 3000;
/** …and how many bytes of them at most. */
const BEFORE_PROMPT_BYTES = 64 * 1024;

export interface SessionSettings {
  idleTimeoutMs: number;
  lifetimeMs: number;
  graceMs: number;
  expiringWarningMs: number;
  highWaterBytes: number;
  lowWaterBytes: number;
  tooSlowMs: number;
  screen: { enabled: boolean; scrollback: number };
  shell: Omit<ShellOptions, 'cols' | 'rows' | 'home' | 'env' | 'banner'>;
}

/** How many times the high-water mark the screen's parser may be behind. */
const SCREEN_SLACK = 4;

export type EndReason = 'idle_timeout' | 'session_expired' | 'session_ended' | 'server_shutdown';

export interface SessionEvents {
  onEnd(session: Session, reason: EndReason): void;
  onProgress?(session: Session, progress: ProgressMessage): void;
  onAttachChange?(session: Session): void;
  /** a task was checked (undefined: a chapter's tasks were forgotten) */
  onTask?(session: Session, result: TaskMessage | undefined): void;
}

export class Session {
  readonly id: string;
  readonly token: string;
  readonly createdAt = Date.now();
  readonly home: string;
  readonly #lease: ClusterLease;
  readonly #settings: SessionSettings;
  readonly #events: SessionEvents;
  readonly #log: Logger;
  readonly #metrics: Metrics | undefined;
  readonly #sandbox: SessionSandbox | undefined;
  readonly #screens: ScreenHost | undefined;
  readonly #attachments = new Set<Attachment>();
  #pty: IPty | undefined;
  /** how input reaches #pty (pty-input.ts) */
  #ptyInput: PtyInput | undefined;
  #screen: Screen | undefined;
  #size = { cols: 80, rows: 24 };
  #paused = false;
  #everAttached = false;
  #lastActiveAt = Date.now();
  #detachedAt = Date.now();
  #extraMs = 0;
  #warnedFor = 0;
  #timer: NodeJS.Timeout | undefined;
  #disposed: Promise<void> | undefined;
  readonly #frames = new OutputFrames((frame) => this.#sendOutput(frame));
  /**
   * Keys typed into a shell that has not shown its first prompt yet: written to the pty then,
   * they met bash before readline had the terminal and came out lost or reordered
   * (`ho typeced-…`). Held until the prompt mark (OSC 133;A), or BEFORE_PROMPT_MS for a shell
   * that never marks one.
   */
  #beforePrompt:
    | { held: Uint8Array[]; bytes: number; timer: ReturnType<typeof setTimeout> }
    | undefined;
  /** when the input now waiting for its echo arrived (performance.now()), for /metrics */
  #inputAt = 0;
  lastProgress: ProgressMessage | undefined;
  /** steps that succeeded, `<page>#<snippet>` */
  readonly steps = new Set<string>();
  /** each task checked, by `<chapter>/<task>` */
  readonly tasks = new Map<string, TaskRecord>();
  /** the shell's marks, read for the command lines it reports (shell.ts, COMMAND_LINE_MARK) */
  readonly #marks = new ShellMarkReader();
  #lastCommand: string | undefined;
  #resetting = false;

  /**
   * The participant this session's terminal belongs to: the id of their first session, which
   * a second terminal joined (session-registry.ts); the session's own id otherwise.
   */
  readonly participant: string;

  constructor(init: {
    id: string;
    /** the first session of the participant, when this is their second terminal */
    participant?: string;
    token: string;
    home: string;
    lease: ClusterLease;
    settings: SessionSettings;
    events: SessionEvents;
    log: Logger;
    metrics?: Metrics;
    sandbox?: SessionSandbox;
    /** where screens are kept; none: no resume screen */
    screens?: ScreenHost;
  }) {
    this.id = init.id;
    this.participant = init.participant ?? init.id;
    this.token = init.token;
    this.home = init.home;
    this.#lease = init.lease;
    this.#settings = init.settings;
    this.#events = init.events;
    this.#log = init.log;
    this.#metrics = init.metrics;
    this.#sandbox = init.sandbox;
    this.#screens = init.screens;
    this.#schedule();
  }

  get namespace(): string {
    return this.#lease.namespace;
  }

  /** the session's own credentials to the API server (see ClusterLease.apiAccess) */
  get apiAccess(): ClusterLease['apiAccess'] {
    return this.#lease.apiAccess;
  }

  get attached(): number {
    return this.#attachments.size;
  }

  get lastActiveAt(): number {
    return this.#lastActiveAt;
  }

  get ended(): boolean {
    return this.#disposed !== undefined;
  }

  /** The absolute end of the session (lifetime, plus any extension). */
  get expiresAt(): number {
    return this.createdAt + this.#settings.lifetimeMs + this.#extraMs;
  }

  get shellPid(): number | undefined {
    return this.#pty?.pid;
  }

  extend(ms: number): void {
    this.#extraMs += ms;
    this.#schedule();
  }

  /**
   * Attaches a socket that has sent a valid attach. The first attach starts the shell at the
   * socket's size; later ones get `resumed: true` and the serialized screen first.
   */
  async attach(
    ws: WebSocket,
    request: { cols: number; rows: number; readOnly: boolean },
  ): Promise<Attachment> {
    const attachment = new Attachment(ws, {
      readOnly: request.readOnly,
      highWaterBytes: this.#settings.highWaterBytes,
      tooSlowMs: this.#settings.tooSlowMs,
      onTooSlow: (slow) => {
        this.#log.log('warn', 'attachment_too_slow', { session: this.id });
        this.detach(slow, CloseCode.timeout, 'too_slow');
      },
    });
    if (this.#metrics) this.#metrics.attaches++;
    const resumed = this.#everAttached;
    this.#everAttached = true;
    if (!request.readOnly) this.resize(request.cols, request.rows);
    this.#attachments.add(attachment);
    this.#events.onAttachChange?.(this);
    this.#schedule();
    if (resumed && this.#screen) {
      // Hold live output so it follows the snapshot rather than racing it.
      attachment.hold();
      const snapshot = this.#screen.serialize();
      attachment.send({ type: 'ready', session: this.id, resumed: true });
      attachment.release(await snapshot);
    } else {
      attachment.send({ type: 'ready', session: this.id, resumed });
    }
    attachment.send(this.record());
    if (!this.#pty && !request.readOnly) this.#startShell();
    return attachment;
  }

  detach(attachment: Attachment, code?: number, reason?: ErrorCode): void {
    if (code !== undefined && reason !== undefined) attachment.close(code, reason);
    else attachment.markClosed();
    if (!this.#attachments.delete(attachment)) return;
    if (this.#attachments.size === 0) this.#detachedAt = Date.now();
    this.#events.onAttachChange?.(this);
    this.#updateFlow();
    this.#schedule();
  }

  input(attachment: Attachment, data: Uint8Array): void {
    if (attachment.readOnly) {
      attachment.error('read_only', 'This terminal is read-only: you are watching this session.');
      return;
    }
    this.#lastActiveAt = Date.now();
    if (this.#metrics) {
      this.#metrics.inputBytes += data.length;
      this.#inputAt ||= performance.now();
    }
    if (!this.#pty) this.#startShell();
    const waiting = this.#beforePrompt;
    if (waiting) {
      waiting.held.push(Uint8Array.from(data));
      waiting.bytes += data.length;
      // A paste, not typing: held no longer than it takes to arrive.
      if (waiting.bytes > BEFORE_PROMPT_BYTES) this.#promptReady();
    } else this.#ptyInput?.write(data);
  }

  /** The first prompt is up (or will never be marked): the keys typed meanwhile go in, in order. */
  #promptReady(): void {
    const waiting = this.#beforePrompt;
    if (!waiting) return;
    this.#beforePrompt = undefined;
    clearTimeout(waiting.timer);
    for (const data of waiting.held) this.#ptyInput?.write(data);
  }

  ack(attachment: Attachment, bytes: number): void {
    attachment.ack(bytes);
    this.#updateFlow();
  }

  resize(cols: number, rows: number): void {
    this.#size = { cols, rows };
    this.#pty?.resize(cols, rows);
    this.#screen?.resize(cols, rows);
  }

  progress(progress: ProgressMessage): void {
    this.lastProgress = progress;
    if (progress.state === 'succeeded') this.steps.add(`${progress.page}#${progress.snippet}`);
    this.#events.onProgress?.(this, progress);
  }

  /** What this session has done, for its terminals (after `ready`) and the instructor. */
  record(): RecordMessage {
    const done = [...this.tasks].filter(([, r]) => r.state === 'done').map(([key]) => key);
    return { type: 'record', steps: [...this.steps], tasks: done };
  }

  /** The reader started a chapter clean: what was done on its page and its tasks is undone. */
  forget(page: string, chapter: string): void {
    for (const step of this.steps) if (step.startsWith(`${page}#`)) this.steps.delete(step);
    for (const key of this.tasks.keys()) if (key.startsWith(`${chapter}/`)) this.tasks.delete(key);
    this.#events.onTask?.(this, undefined);
    // The terminals learn what is left, and the page that asked knows it was heard.
    this.broadcast(this.record());
  }

  /**
   * "Reset my namespace": deletes what the reader made in it (their own credentials, the
   * lease knows how), then forgets every step and task of the session, since what they made
   * is gone. One at a time; every terminal hears the answer, then the record.
   */
  async resetNamespace(): Promise<void> {
    const reset = this.#lease.resetNamespace;
    const answer = (state: 'done' | 'error', message: string, removed: RemovedObject[] = []) =>
      this.broadcast({ type: 'namespace-reset', state, removed, message });
    if (!reset) {
      return answer(
        'error',
        'This sandbox gives you no namespace of your own to reset (only workshops do). Use "Start this chapter clean" instead.',
      );
    }
    if (this.#resetting) return answer('error', 'Your namespace is being reset already.');
    this.#resetting = true;
    try {
      const { removed, remaining } = await reset();
      this.#log.log('info', 'namespace_reset', {
        session: this.id,
        removed: removed.length,
        remaining: remaining.length,
      });
      if (this.ended) return;
      answer('done', describeRemoved(removed, remaining), removed);
      this.steps.clear();
      this.tasks.clear();
      this.#events.onTask?.(this, undefined);
      this.broadcast(this.record());
    } catch (error) {
      this.#log.log('warn', 'namespace_reset_failed', {
        session: this.id,
        message: (error as Error).message,
      });
      answer(
        'error',
        `Could not reset your namespace: ${(error as Error).message}. What was removed before this is gone; try again.`,
      );
    } finally {
      this.#resetting = false;
    }
  }

  /** A task's check came back. Done stays done: a tick is not taken back by a later check. */
  recordTask(result: TaskMessage): void {
    const key = `${result.chapter}/${result.task}`;
    const before = this.tasks.get(key);
    if (before?.state === 'done' && result.state !== 'done') return;
    if (result.state === 'error' && result.code === 'unknown_task') return;
    const now = Date.now();
    this.tasks.set(key, {
      state: result.state,
      failures: result.state === 'not-yet' ? (before?.failures ?? 0) + 1 : (before?.failures ?? 0),
      message: result.message,
      at: now,
      since: before?.since ?? now,
      command: result.state === 'not-yet' ? this.#lastCommand : before?.command,
    });
    this.#events.onTask?.(this, result);
  }

  /** How a task's check runs as this session's reader (shell.ts), or undefined. */
  checkCommand(script: string): ReturnType<typeof checkCommand> {
    if (this.ended) return undefined;
    return checkCommand(
      {
        ...this.#settings.shell,
        ...this.#size,
        home: this.home,
        env: this.#lease.env,
        sandbox: this.#sandbox,
        remoteShell: this.#lease.remoteShell,
      },
      script,
    );
  }

  /** Sends a control message to every attached terminal. */
  broadcast(message: Parameters<Attachment['send']>[0]): void {
    for (const attachment of this.#attachments) attachment.send(message);
  }

  #startShell(): void {
    if (this.ended) return;
    if (this.#screens && !this.#screen) {
      this.#screen = this.#screens.open({
        ...this.#size,
        scrollback: this.#settings.screen.scrollback,
      });
      this.#screen.onDrain = () => this.#updateFlow();
    }
    const started = Date.now();
    const pty = spawnShell({
      ...this.#settings.shell,
      ...this.#size,
      home: this.home,
      env: this.#lease.env,
      banner: this.#lease.banner,
      sandbox: this.#sandbox,
      remoteShell: this.#lease.remoteShell,
    });
    this.#pty = pty;
    this.#ptyInput = new PtyInput(pty);
    if (this.#beforePrompt) clearTimeout(this.#beforePrompt.timer);
    this.#beforePrompt = {
      held: [],
      bytes: 0,
      timer: setTimeout(() => this.#promptReady(), BEFORE_PROMPT_MS),
    };
    this.#paused = false;
    this.#log.log('info', 'shell_started', { session: this.id, pid: pty.pid });
    pty.onData((data) => {
      this.#readMarks(data as unknown as Buffer);
      this.#frames.push(data as unknown as Buffer);
    });
    pty.onExit(({ exitCode, signal }) => {
      if (this.#pty !== pty) return;
      this.#pty = undefined;
      this.#ptyInput?.dispose();
      this.#ptyInput = undefined;
      this.#promptReady();
      void killSession(pty.pid);
      // A shell killed by a signal (kill -9, the OOM killer) has exitCode 0 from node-pty;
      // report it as a shell would, 128 + the signal, not as a success (`kill -9 $$` is not
      // "exited with code 0").
      const code = signal ? 128 + signal : exitCode;
      this.#log.log('info', 'shell_exited', {
        session: this.id,
        code,
        ms: Date.now() - started,
      });
      this.#frames.flush();
      if (!this.ended) this.broadcast({ type: 'exit', code });
    });
  }

  /** The last command line the shell reported finished (what the reader last tried). */
  get lastCommand(): string | undefined {
    return this.#lastCommand;
  }

  /**
   * Notes the command line of each command that ends. Only chunks with an OSC in them (or
   * the tail of one) are decoded: a flood of plain output costs one byte search per chunk.
   * Latin-1 keeps each byte one character; the mark's line is escaped ASCII.
   */
  #readMarks(data: Buffer): void {
    const mayHold = data.includes('\x1b]') || data.at(-1) === 0x1b;
    if (!this.#marks.holding && !mayHold) return;
    for (const mark of this.#marks.read(data.toString('latin1'))) {
      if (mark.kind === 'prompt') this.#promptReady();
      if (mark.kind === 'command-line' && mark.text.trim()) {
        const text = mark.text.trim();
        this.#lastCommand = text.length > MAX_COMMAND ? `${text.slice(0, MAX_COMMAND)}…` : text;
      }
    }
  }

  /** One frame of output (output-frames.ts decides how much) to the screen and every socket. */
  #sendOutput(data: Buffer): void {
    if (this.#metrics) this.#metrics.outputBytes += data.length;
    // Sockets first: the screen's bookkeeping is nobody's wait, an echo is someone's.
    for (const attachment of this.#attachments) attachment.sendOutput(data);
    if (this.#metrics && this.#inputAt) {
      this.#metrics.echoSeconds.observe((performance.now() - this.#inputAt) / 1000);
      this.#inputAt = 0;
    }
    this.#screen?.write(data);
    this.#updateFlow();
  }

  /**
   * Pauses the pty while any socket (or the screen's parser) is more than the high-water mark
   * behind, and resumes once all are under the low-water mark. Input still reaches a paused
   * shell, so Ctrl-C stops a flood promptly.
   */
  #updateFlow(): void {
    if (!this.#pty) return;
    const { highWaterBytes: high, lowWaterBytes: low } = this.#settings;
    // The screen may fall further behind than a socket: it holds up to 4 MiB of a flood while
    // its worker says where the cursor is, then leaves the middle unparsed (screen-flood.ts).
    let worst = (this.#screen?.pendingBytes ?? 0) / SCREEN_SLACK;
    for (const attachment of this.#attachments) worst = Math.max(worst, attachment.unacked);
    if (!this.#paused && worst > high) {
      this.#paused = true;
      this.#pty.pause();
    } else if (this.#paused && worst <= low) {
      this.#paused = false;
      this.#pty.resume();
    }
  }

  /** The moment the session ends if nothing changes, and why. */
  #nextEnd(): { at: number; reason: EndReason } {
    const candidates: { at: number; reason: EndReason }[] = [
      { at: this.expiresAt, reason: 'session_expired' },
      { at: this.#lastActiveAt + this.#settings.idleTimeoutMs, reason: 'idle_timeout' },
    ];
    if (this.#attachments.size === 0) {
      candidates.push({ at: this.#detachedAt + this.#settings.graceMs, reason: 'idle_timeout' });
    }
    return candidates.reduce((a, b) => (b.at < a.at ? b : a));
  }

  /**
   * One timer per session, woken at the next moment something may be due (a warning or the
   * end). Activity only moves timestamps; the timer recomputes when it wakes.
   */
  #schedule(): void {
    if (this.ended) return;
    clearTimeout(this.#timer);
    const now = Date.now();
    const end = this.#nextEnd();
    if (end.at <= now) {
      void this.end(end.reason);
      return;
    }
    const warnAt = end.at - this.#settings.expiringWarningMs;
    if (warnAt <= now && this.#warnedFor !== end.at && this.#attachments.size > 0) {
      this.#warnedFor = end.at;
      this.broadcast({ type: 'expiring', at: new Date(end.at).toISOString() });
    }
    const wake = warnAt > now ? warnAt : end.at;
    // setTimeout holds at most ~24.8 days; sessions are far shorter, but clamp anyway.
    this.#timer = setTimeout(() => this.#schedule(), Math.min(wake - now, 2 ** 31 - 1));
    this.#timer.unref();
  }

  /** Ends the session: closes its sockets with the reason, then disposes everything. */
  end(reason: EndReason): Promise<void> {
    if (this.#disposed) return this.#disposed;
    const code =
      reason === 'server_shutdown'
        ? CloseCode.goingAway
        : reason === 'session_ended'
          ? CloseCode.normal
          : CloseCode.timeout;
    for (const attachment of this.#attachments) attachment.close(code, reason);
    this.#log.log('info', 'session_ended', { session: this.id, reason });
    this.#disposed = this.#dispose();
    this.#events.onEnd(this, reason);
    return this.#disposed;
  }

  dispose(): Promise<void> {
    return this.end('session_ended');
  }

  async #dispose(): Promise<void> {
    clearTimeout(this.#timer);
    this.#frames.dispose();
    this.#attachments.clear();
    const pty = this.#pty;
    this.#pty = undefined;
    this.#promptReady();
    this.#ptyInput?.dispose();
    this.#ptyInput = undefined;
    if (pty) await killSession(pty.pid);
    // The sandbox sweeps what escaped the shell's session (its cgroup, its uid).
    await this.#sandbox?.dispose();
    this.#screen?.dispose();
    this.#screen = undefined;
    try {
      await this.#lease.dispose();
    } catch (error) {
      this.#log.log('error', 'lease_dispose_failed', {
        session: this.id,
        message: (error as Error).message,
      });
    }
    removeHome(this.home);
  }
}
