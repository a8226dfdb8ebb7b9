/**
 * A sandbox server in a process of its own — to signal it (SIGTERM, SIGKILL) or to measure
 * its memory apart from the client's. Resolves once it logs that it is listening.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ALLOW_TEST_CLUSTER_ENV } from '../../sandbox-server/src/providers/test-cluster.ts';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'sandbox-server', 'bin', 'kubenotes.mjs');

/** How long a SIGTERM may take before the process is killed. */
const STOP_MS = 20_000;

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** everything it has logged so far (JSON lines, stdout) */
  logs(): string;
  /** what it wrote to stderr, when started with `stderr: 'pipe'` */
  stderr(): string;
  /** its exit code, once it has exited */
  readonly exited: Promise<number | null>;
  alive(): boolean;
  /** SIGTERM (SIGKILL if it takes longer than 20 s), and wait; resolves with the exit code */
  stop(): Promise<number | null>;
}

export interface ServerProcessOptions {
  command?: 'sandbox' | 'serve';
  /** the whole environment (default: this process's) */
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** keep stderr instead of passing it through to the test's own */
  stderr?: 'inherit' | 'pipe';
}

export async function startServerProcess(
  args: string[],
  options: ServerProcessOptions = {},
): Promise<ServerProcess> {
  // A state folder of its own unless the test gives one (and keeps it, say, for a restart);
  // removed when the server exits, so runs leave nothing in /tmp.
  const ownStateDir = args.includes('--state-dir')
    ? undefined
    : mkdtempSync(join(tmpdir(), 'kubenotes-proc-'));
  const child = spawn(
    process.execPath,
    [
      BIN,
      options.command ?? 'sandbox',
      '--port',
      '0',
      ...(ownStateDir ? ['--state-dir', ownStateDir] : []),
      ...args,
    ],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', options.stderr ?? 'inherit'],
      // Workshop tests run on the test cluster, which the server refuses without this.
      env: { [ALLOW_TEST_CLUSTER_ENV]: '1', ...(options.env ?? process.env) },
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
  let running = true;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      running = false;
      // (a home still mounted after a crash keeps its folder: left for the test to report)
      if (ownStateDir) {
        try {
          rmSync(ownStateDir, { recursive: true, force: true });
        } catch {}
      }
      resolve(code);
    }),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the server did not start: ${stderr}${logs.slice(-2000)}`)),
      options.timeoutMs ?? 60_000,
    );
    const look = () => {
      const match = /"event":"listening","url":"([^"]+)"/.exec(logs);
      if (!match) return;
      clearTimeout(timer);
      child.stdout?.off('data', look);
      resolve(match[1]!);
    };
    child.stdout?.on('data', look);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited with ${code}: ${stderr}${logs.slice(-2000)}`));
    });
  });
  return {
    url,
    child,
    logs: () => logs,
    stderr: () => stderr,
    exited,
    alive: () => running,
    async stop() {
      if (running) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_MS);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
