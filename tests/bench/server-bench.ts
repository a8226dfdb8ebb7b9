import { readFileSync } from 'node:fs';
import * as pty from 'node-pty';
import { startServerProcess } from '../support/server-process.ts';
import { createSession, endSession, TerminalClient } from '../support/terminal-client.ts';

const KEYSTROKES = 300;
const BULK_BYTES = 32 * 1024 * 1024;
const IDLE_SESSIONS = 40;
const PROMPT_SAMPLES = 20;
const BULK_COMMAND = `head -c ${BULK_BYTES} /dev/zero | tr '\\0' 'k'`;

export interface Figures {
  echoP50: number;
  echoP99: number;
  mibPerSecond: number;
  rssPerSessionMiB?: number;
  promptMs?: number;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** The floor: node-pty with bash, in this process, no sockets. */
export async function floor(): Promise<Figures> {
  const shell = pty.spawn('bash', ['--norc', '--noprofile', '-i'], {
    cols: 120,
    rows: 40,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TERM: 'xterm-256color', PS1: '$ ' },
    encoding: null,
  });
  let received = 0;
  let waiter: (() => void) | undefined;
  let want: (() => boolean) | undefined;
  let text = '';
  shell.onData((data) => {
    const chunk = data as unknown as Buffer;
    received += chunk.length;
    text = (text + chunk.toString('latin1')).slice(-256);
    if (want?.()) waiter?.();
  });
  const until = (check: () => boolean) =>
    new Promise<void>((resolve) => {
      want = check;
      waiter = resolve;
      if (check()) resolve();
    });
  await until(() => text.includes('$ '));
  const echoes: number[] = [];
  for (let i = 0; i < KEYSTROKES; i++) {
    const before = received;
    const t = performance.now();
    shell.write('x');
    await until(() => received > before);
    echoes.push(performance.now() - t);
  }
  shell.write('\x15');
  await new Promise((r) => setTimeout(r, 100));
  const t = performance.now();
  const start = received;
  shell.write(`${BULK_COMMAND}; echo BULK-DONE\r`);
  await until(() => received - start > BULK_BYTES && text.includes('BULK-DONE\r\n'));
  const seconds = (performance.now() - t) / 1000;
  shell.kill();
  return {
    echoP50: percentile(echoes, 50),
    echoP99: percentile(echoes, 99),
    mibPerSecond: BULK_BYTES / 1024 / 1024 / seconds,
  };
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
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

    const session = await createSession(url);
    const term = await TerminalClient.open(url, session, { cols: 120, rows: 40 });
    const echoes: number[] = [];
    for (let i = 0; i < KEYSTROKES; i++) {
      const before = term.bytesReceived;
      const t = performance.now();
      term.type('x');
      await term.waitFor(() => term.bytesReceived > before);
      echoes.push(performance.now() - t);
    }
    term.type('\x15');
    await new Promise((r) => setTimeout(r, 100));
    const start = term.bytesReceived;
    const t = performance.now();
    await term.run(BULK_COMMAND, 120_000);
    const seconds = (performance.now() - t) / 1000;
    const bulk = term.bytesReceived - start;
    // Keep the client's copy of the output from growing this process.
    term.output = '';
    term.close();

    // Idle sessions, each attached once (so each has its shell and, if on, its screen).
    const baseline = rssMiB(child.pid!);
    const idle: TerminalClient[] = [];
    for (let i = 0; i < IDLE_SESSIONS; i++) {
      const s = await createSession(url);
      idle.push(await TerminalClient.open(url, s));
    }
    await new Promise((r) => setTimeout(r, 1000));
    const perSession = (rssMiB(child.pid!) - baseline) / IDLE_SESSIONS;
    for (const c of idle) c.close();

    return {
      echoP50: percentile(echoes, 50),
      echoP99: percentile(echoes, 99),
      mibPerSecond: bulk / 1024 / 1024 / seconds,
      rssPerSessionMiB: perSession,
      promptMs: percentile(prompts, 50),
    };
  } finally {
    await server.stop();
  }
}
