/**
 * A sandbox server in a process of its own (`kubenotes sandbox`), so a scenario can measure its
 * memory from /proc, SIGKILL it, and tell a crash from a refusal. Its log lines (JSON, one per
 * line) are kept for the scenarios to read and for the token scan.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BIN = join(ROOT, 'sandbox-server', 'bin', 'kubenotes.mjs');

/** Every log line of every server a scenario started, for the token scan. */
export const allServerLogs: (() => string)[] = [];

export interface ServerProcess {
  readonly url: string;
  readonly pid: number;
  readonly child: ChildProcess;
  readonly stateDir: string;
  logs(): string;
  /** parsed log records with this event name */
  events(event: string): Record<string, unknown>[];
  alive(): boolean;
  /** resident memory of the server process (its screen worker thread included), in bytes */
  rss(): number;
  /** SIGTERM and wait; resolves with the exit code */
  stop(): Promise<number | null>;
  /** SIGKILL and wait */
  kill(): Promise<void>;
}

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  stateDir?: string;
  /** keep the state folder after stop (a restart reuses it) */
  keepState?: boolean;
}

export async function spawnServer(
  args: string[],
  options: SpawnOptions = {},
): Promise<ServerProcess> {
  const stateDir = options.stateDir ?? mkdtempSync(join(tmpdir(), 'kubenotes-rel-'));
  const child = spawn(
    process.execPath,
    [BIN, 'sandbox', '--port', '0', '--state-dir', stateDir, ...args],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: options.env ?? { PATH: process.env.PATH },
    },
  );
  let logs = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    logs += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  let exited = false;
  const exit = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      exited = true;
      resolve(code);
    }),
  );
  allServerLogs.push(() => logs + stderr);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the server did not listen within 60 s: ${stderr}${logs}`)),
      60_000,
    );
    const look = () => {
      const match = /"event":"listening","url":"([^"]+)"/.exec(logs);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout?.on('data', look);
    void exit.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited with ${code} before listening: ${stderr}${logs}`));
    });
  });
  const cleanup = () => {
    if (!options.keepState) rmSync(stateDir, { recursive: true, force: true });
  };
  return {
    url,
    pid: child.pid ?? 0,
    child,
    stateDir,
    logs: () => logs,
    events(event) {
      const found: Record<string, unknown>[] = [];
      for (const line of logs.split('\n')) {
        if (!line.includes(`"event":"${event}"`)) continue;
        try {
          found.push(JSON.parse(line));
        } catch {
          // a line still being written
        }
      }
      return found;
    },
    alive: () => !exited,
    rss: () => rssOf(child.pid ?? 0),
    async stop() {
      if (!exited) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const code = await exit;
      clearTimeout(timer);
      cleanup();
      return code;
    },
    async kill() {
      if (!exited) child.kill('SIGKILL');
      await exit;
    },
  };
}

/** VmRSS of a process, in bytes (0 when it is gone). */
export function rssOf(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/** The shell pid the server logged for a session (`shell_started`), the last one. */
export function shellPidOf(server: ServerProcess, sessionId: string): number | undefined {
  const started = server.events('shell_started').filter((e) => e.session === sessionId);
  const pid = started.at(-1)?.pid;
  return typeof pid === 'number' ? pid : undefined;
}
