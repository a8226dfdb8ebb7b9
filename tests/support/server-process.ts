/**
 * A sandbox server in a process of its own — to signal it (SIGTERM, SIGKILL) or to measure
 * its memory apart from the client's. Resolves once it logs that it is listening.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** everything it has logged so far */
  logs(): string;
  /** SIGTERM, and wait for it to exit */
  stop(): Promise<void>;
}

export async function startServerProcess(
  args: string[],
  options: { command?: 'sandbox' | 'serve'; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<ServerProcess> {
  const hasStateDir = args.includes('--state-dir');
  const child = spawn(
    process.execPath,
    [
      'sandbox-server/bin/kubenotes.mjs',
      options.command ?? 'sandbox',
      '--port',
      '0',
      ...(hasStateDir ? [] : ['--state-dir', mkdtempSync(join(tmpdir(), 'kubenotes-proc-'))]),
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], ...(options.env ? { env: options.env } : {}) },
  );
  let logs = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    logs += chunk.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the server did not start: ${logs.slice(-2000)}`)),
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
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited with ${code}: ${logs.slice(-2000)}`));
    });
  });
  return {
    url,
    child,
    logs: () => logs,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
