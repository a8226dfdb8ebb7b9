/**
 * The sandbox server against its floor, node-pty read straight in this process. Both sides are
 * read by the same lean consumer (count the bytes, keep the last 256, ack), so the figures
 * compare the server, not two clients: the full TerminalClient decodes, keeps every byte and
 * reads marks, which on 2 cores takes CPU from the server it measures.
 */
import { readFileSync } from 'node:fs';
import * as pty from 'node-pty';
import { WebSocket } from 'ws';
import { encode, terminalPath } from '../../sandbox-server/src/protocol.ts';
import { startServerProcess } from '../support/server-process.ts';
import {
  type CreatedSession,
  createSession,
  endSession,
  TerminalClient,
} from '../support/terminal-client.ts';

const KEYSTROKES = 1000;
/** Bash's line is cleared this often (outside the timing), so echoes never wrap. */
const CLEAR_EVERY = 100;
const BULK_BYTES = 32 * 1024 * 1024;
/** Bulk runs per system; the median is reported (single runs vary ±30 % on 2 cores). */
const BULK_RUNS = 3;
const IDLE_SESSIONS = 40;
const PROMPT_SAMPLES = 20;
const BULK_COMMAND = `head -c ${BULK_BYTES} /dev/zero | tr '\\0' 'k'`;
const DONE = 'BULK-DONE';

export interface Figures {
  echoP50: number;
  echoP99: number;
  mibPerSecond: number;
  /** every bulk run, for the spread */
  bulkRuns: number[];
  rssPerSessionMiB?: number;
  promptMs?: number;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** What both sides need of a terminal: type, and be told of output. */
interface Terminal {
  type(text: string): void;
}

/** Counts output and wakes whoever waits for a condition on it. */
class Consumer {
  received = 0;
  tail = '';
  #waiter: { check: () => boolean; resolve: () => void } | undefined;

  take(chunk: Buffer): void {
    this.received += chunk.length;
    const end = chunk.toString('latin1', Math.max(0, chunk.length - 256));
    this.tail = (this.tail + end).slice(-256);
    if (this.#waiter?.check()) {
      const { resolve } = this.#waiter;
      this.#waiter = undefined;
      resolve();
    }
  }

  until(check: () => boolean): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve) => {
      this.#waiter = { check, resolve };
    });
  }
}

async function measure(terminal: Terminal, consumer: Consumer) {
  const echoes: number[] = [];
  for (let i = 0; i < KEYSTROKES; i++) {
    if (i % CLEAR_EVERY === 0) {
      terminal.type('\x15');
      await new Promise((r) => setTimeout(r, 30));
    }
    const before = consumer.received;
    const t = performance.now();
    terminal.type('x');
    await consumer.until(() => consumer.received > before);
    echoes.push(performance.now() - t);
  }
  terminal.type('\x15');
  await new Promise((r) => setTimeout(r, 100));
  const bulkRuns: number[] = [];
  for (let run = 0; run < BULK_RUNS; run++) {
    const start = consumer.received;
    const t = performance.now();
    // The quotes keep the command's own echo from matching.
    terminal.type(`${BULK_COMMAND}; echo BULK-""DONE\r`);
    await consumer.until(
      () => consumer.received - start > BULK_BYTES && consumer.tail.includes(`${DONE}\r\n`),
    );
    bulkRuns.push(BULK_BYTES / 1024 / 1024 / ((performance.now() - t) / 1000));
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    echoP50: percentile(echoes, 50),
    echoP99: percentile(echoes, 99),
    mibPerSecond: percentile(bulkRuns, 50),
    bulkRuns,
  };
}

/** The floor: node-pty with bash, in this process, no sockets. */
export async function floor(): Promise<Figures> {
  const shell = pty.spawn('bash', ['--norc', '--noprofile', '-i'], {
    cols: 120,
    rows: 40,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TERM: 'xterm-256color', PS1: '$ ' },
    encoding: null,
  });
  const consumer = new Consumer();
  shell.onData((data) => consumer.take(data as unknown as Buffer));
  await consumer.until(() => consumer.tail.includes('$ '));
  try {
    return await measure({ type: (text) => shell.write(text) }, consumer);
  } finally {
    shell.kill();
  }
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

/** A protocol client that does only what PROTOCOL.md requires of one: attach, type, ack. */
async function leanAttach(
  baseUrl: string,
  session: { id: string; token: string },
): Promise<{ terminal: Terminal; consumer: Consumer; close: () => void }> {
  const ws = new WebSocket(baseUrl.replace(/^http/, 'ws') + terminalPath(session.id));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const consumer = new Consumer();
  ws.on('message', (data: Buffer, isBinary) => {
    if (!isBinary) return;
    consumer.take(data);
    ws.send(`{"type":"ack","bytes":${data.length}}`);
  });
  ws.send(encode({ type: 'attach', token: session.token, cols: 120, rows: 40 }));
  // The rcfile's first prompt mark.
  await consumer.until(() => consumer.tail.includes('\x1b]133;A'));
  return {
    terminal: { type: (text) => ws.send(Buffer.from(text), { binary: true }) },
    consumer,
    close: () => ws.close(),
  };
}

/** The same measurements through the sandbox server over loopback. */
export async function throughServer(screen: boolean): Promise<Figures> {
  const server = await startServerProcess([
    '--cluster',
    'none',
    '--max-sessions',
    String(IDLE_SESSIONS + PROMPT_SAMPLES + 10),
    '--sessions-per-minute',
    '1000',
    screen ? '--screen' : '--no-screen',
  ]);
  const { url, child } = server;
  try {
    // Create-to-prompt: POST, attach, first prompt mark.
    const prompts: number[] = [];
    for (let i = 0; i < PROMPT_SAMPLES; i++) {
      const t = performance.now();
      const session = await createSession(url);
      const term = await TerminalClient.open(url, session);
      prompts.push(performance.now() - t);
      term.close();
      await endSession(url, session);
    }

    // Idle sessions, each attached once (so each has its shell and, if on, its screen), on a
    // server that has not yet moved 100 MiB of output (its garbage would hide them).
    const baseline = rssMiB(child.pid!);
    const idle: { session: CreatedSession; term: TerminalClient }[] = [];
    for (let i = 0; i < IDLE_SESSIONS; i++) {
      const session = await createSession(url);
      idle.push({ session, term: await TerminalClient.open(url, session) });
    }
    await new Promise((r) => setTimeout(r, 1000));
    const perSession = (rssMiB(child.pid!) - baseline) / IDLE_SESSIONS;
    for (const { session, term } of idle) {
      term.close();
      await endSession(url, session);
    }

    const session = await createSession(url);
    const lean = await leanAttach(url, session);
    const figures = await measure(lean.terminal, lean.consumer);
    lean.close();

    return { ...figures, rssPerSessionMiB: perSession, promptMs: percentile(prompts, 50) };
  } finally {
    await server.stop();
  }
}
