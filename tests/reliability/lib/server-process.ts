/**
 * A sandbox server in a process of its own (`kubenotes sandbox`), so a scenario can measure its
 * memory from /proc, SIGKILL it, and tell a crash from a refusal. Its log lines (JSON, one per
 * line) are kept for the scenarios to read and for the token scan.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ServerProcess as BaseProcess,
  startServerProcess,
} from '../../support/server-process.ts';

export { ROOT } from '../../support/server-process.ts';

/** Every log line of every server a scenario started, for the token scan. */
export const allServerLogs: (() => string)[] = [];

export interface ServerProcess extends BaseProcess {
  readonly pid: number;
  readonly stateDir: string;
  /** parsed log records with this event name */
  events(event: string): Record<string, unknown>[];
  /** resident memory of the server process (its screen worker thread included), in bytes */
  rss(): number;
  /** SIGKILL and wait */
  kill(): Promise<void>;
}

export interface SpawnOptions {
  /** the whole environment (default: PATH only) */
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
  const server = await startServerProcess(['--state-dir', stateDir, ...args], {
    env: options.env ?? { PATH: process.env.PATH },
    stderr: 'pipe',
  });
  allServerLogs.push(() => server.logs() + server.stderr());
  return {
    ...server,
    pid: server.child.pid ?? 0,
    stateDir,
    events(event) {
      const found: Record<string, unknown>[] = [];
      for (const line of server.logs().split('\n')) {
        if (!line.includes(`"event":"${event}"`)) continue;
        try {
          found.push(JSON.parse(line));
        } catch {
          // a line still being written
        }
      }
      return found;
    },
    rss: () => rssOf(server.child.pid ?? 0),
    async stop() {
      const code = await server.stop();
      if (!options.keepState) rmSync(stateDir, { recursive: true, force: true });
      return code;
    },
    async kill() {
      if (server.alive()) server.child.kill('SIGKILL');
      await server.exited;
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
