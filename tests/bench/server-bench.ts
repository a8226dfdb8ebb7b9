/**
 * The sandbox server against its floor, node-pty read straight in this process. Both sides are
 * read by the same lean consumer (count the bytes, keep the last 256; the server's side acks as
 * the browser does, in batches), so the figures
 * compare the server, not two clients: the full TerminalClient decodes, keeps every byte and
 * reads marks, which on 2 cores takes CPU from the server it measures.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as pty from 'node-pty';
import { WebSocket } from 'ws';
import { encode, terminalPath } from '../../sandbox-server/src/shared/protocol.ts';
import { AckBatcher } from '../../src/client/ack-batcher.ts';
import { startServerProcess } from '../support/server-process.ts';
import {
  type CreatedSession,
  createSession,
  endSession,
  TerminalClient,
} from '../support/terminal-client.ts';

/** Keystrokes per system, in blocks of 100 taken in turn, so drift hits all three alike. */
const KEYSTROKES = 1000;
const BLOCK = 100;
const BULK_BYTES = 32 * 1024 * 1024;
/**
 * Bulk runs per system, taken in turn (floor, screen on, screen off, floor, …); the median is
 * reported. Single runs vary ±30 % on 2 cores, and a slow minute would otherwise fall on one.
 */
const BULK_RUNS = 5;
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

export function percentile(values: number[], p: number): number {
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

/** A terminal being measured: how to type into it and what it has shown. */
export interface Subject {
  terminal: Terminal;
  consumer: Consumer;
  close(): void | Promise<void>;
}

/** `BLOCK` keystrokes, each timed from typing to its echo; the line is cleared first. */
async function echoBlock(subject: Subject, into: number[]): Promise<void> {
  const { terminal, consumer } = subject;
  terminal.type('\x15');
  await new Promise((r) => setTimeout(r, 30));
  for (let i = 0; i < BLOCK; i++) {
    const before = consumer.received;
    const t = performance.now();
    terminal.type('x');
    await consumer.until(() => consumer.received > before);
    into.push(performance.now() - t);
  }
  terminal.type('\x15');
  await new Promise((r) => setTimeout(r, 30));
}

/** One bulk run: 32 MiB of output and the end marker; MiB/s. */
async function bulkRun({ terminal, consumer }: Subject): Promise<number> {
  const start = consumer.received;
  const t = performance.now();
  // The quotes keep the command's own echo from matching.
  terminal.type(`${BULK_COMMAND}; echo BULK-""DONE\r`);
  await consumer.until(
    () => consumer.received - start > BULK_BYTES && consumer.tail.includes(`${DONE}\r\n`),
  );
  const mibPerSecond = BULK_BYTES / 1024 / 1024 / ((performance.now() - t) / 1000);
  await new Promise((r) => setTimeout(r, 200));
  return mibPerSecond;
}

/** Echo and bulk figures for each subject, measured in turn. */
export async function measureInTurn(subjects: Subject[]): Promise<Figures[]> {
  const echoes = subjects.map((): number[] => []);
  for (let block = 0; block < KEYSTROKES / BLOCK; block++) {
    for (const [i, subject] of subjects.entries()) await echoBlock(subject, echoes[i]!);
  }
  // One run each first, not counted: the first flood through a fresh process ran 30–40 % slower
  // (compiling, the young generation growing), the floor's included.
  for (const subject of subjects) await bulkRun(subject);
  const bulk = subjects.map((): number[] => []);
  for (let run = 0; run < BULK_RUNS; run++) {
    for (const [i, subject] of subjects.entries()) bulk[i]!.push(await bulkRun(subject));
  }
  return subjects.map((_, i) => ({
    echoP50: percentile(echoes[i]!, 50),
    echoP99: percentile(echoes[i]!, 99),
    mibPerSecond: percentile(bulk[i]!, 50),
    bulkRuns: bulk[i]!,
  }));
}

/** The floor: node-pty with bash, in this process, no sockets. */
export async function floorSubject(): Promise<Subject> {
  const shell = pty.spawn('bash', ['--norc', '--noprofile', '-i'], {
    cols: 120,
    rows: 40,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TERM: 'xterm-256color', PS1: '$ ' },
    encoding: null,
  });
  const consumer = new Consumer();
  shell.onData((data) => consumer.take(data as unknown as Buffer));
  await consumer.until(() => consumer.tail.includes('$ '));
  return { terminal: { type: (text) => shell.write(text) }, consumer, close: () => shell.kill() };
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

/** A protocol client that does only what docs/protocol.md requires of one: attach, type, ack. */
async function leanAttach(
  baseUrl: string,
  session: { id: string; token: string },
): Promise<Subject> {
  const ws = new WebSocket(baseUrl.replace(/^http/, 'ws') + terminalPath(session.id));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const consumer = new Consumer();
  // Acks batched as the browser's client sends them.
  const acks = new AckBatcher((bytes) => ws.send(encode({ type: 'ack', bytes })));
  ws.on('message', (data: Buffer, isBinary) => {
    if (!isBinary) return;
    consumer.take(data);
    acks.rendered(data.length);
  });
  ws.send(encode({ type: 'attach', token: session.token, cols: 120, rows: 40 }));
  // The rcfile's first prompt mark.
  await consumer.until(() => consumer.tail.includes('\x1b]133;A'));
  return {
    terminal: { type: (text) => ws.send(Buffer.from(text), { binary: true }) },
    consumer,
    close: () => {
      acks.dispose();
      ws.close();
    },
  };
}

/**
 * A sandbox server of its own, with its create-to-prompt time and RSS per idle session already
 * measured, and one session attached by the lean client for the echo and bulk runs.
 */
export async function serverSubject(
  screen: boolean,
): Promise<
  Subject & { promptMs: number; rssPerSessionMiB: number; echoInServerMs(): Promise<number> }
> {
  const adminToken = randomBytes(16).toString('hex');
  const server = await startServerProcess([
    '--cluster',
    'none',
    '--max-sessions',
    String(IDLE_SESSIONS + PROMPT_SAMPLES + 10),
    '--sessions-per-minute',
    '1000',
    '--admin-token',
    adminToken,
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
    const rssPerSessionMiB = (rssMiB(child.pid!) - baseline) / IDLE_SESSIONS;
    for (const { session, term } of idle) {
      term.close();
      await endSession(url, session);
    }

    const lean = await leanAttach(url, await createSession(url));
    return {
      ...lean,
      promptMs: percentile(prompts, 50),
      rssPerSessionMiB,
      // The server's own /metrics: input in → next frame out, the median of every echo it
      // timed, interpolated within its bucket as Prometheus' histogram_quantile does.
      async echoInServerMs() {
        const res = await fetch(`${url}/metrics`, {
          headers: { authorization: `Bearer ${adminToken}` },
        });
        const buckets = [
          ...(await res.text()).matchAll(/^kubenotes_echo_seconds_bucket\{le="([^"]+)"\} (\d+)$/gm),
        ].map(([, le, n]) => ({
          le: le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le),
          n: Number(n),
        }));
        const half = (buckets.at(-1)?.n ?? 0) / 2;
        let below = { le: 0, n: 0 };
        for (const bucket of buckets) {
          if (bucket.n >= half) {
            const share = (half - below.n) / Math.max(1, bucket.n - below.n);
            const upper = Number.isFinite(bucket.le) ? bucket.le : below.le;
            return (below.le + share * (upper - below.le)) * 1000;
          }
          below = bucket;
        }
        return Number.NaN;
      },
      close: async () => {
        lean.close();
        await server.stop();
      },
    };
  } catch (error) {
    await server.stop();
    throw error;
  }
}
