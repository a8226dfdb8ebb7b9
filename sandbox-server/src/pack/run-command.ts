/** Runs the tools the pack commands drive (docker, kind), with errors that say what failed. */
import { spawn } from 'node:child_process';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export type RunCommand = (
  command: string,
  args: readonly string[],
  options?: { timeoutMs?: number; echo?: boolean },
) => Promise<CommandResult>;

/** Never rejects for a non-zero exit (the caller decides); rejects when the tool is missing. */
export const runCommand: RunCommand = (command, args, options = {}) =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (options.echo) process.stderr.write(chunk);
    });
    const timer = options.timeoutMs
      ? setTimeout(() => child.kill('SIGTERM'), options.timeoutMs)
      : undefined;
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        error.code === 'ENOENT'
          ? new Error(`${command} is not installed (or not on PATH).`)
          : new Error(`${command} failed to start: ${error.message}`),
      );
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
  });

/** Runs and returns stdout, or throws with the command and its stderr. */
export async function mustRun(
  run: RunCommand,
  command: string,
  args: readonly string[],
  options?: { timeoutMs?: number; echo?: boolean },
): Promise<string> {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    const detail = (result.stderr || result.stdout).trim().split('\n').slice(-5).join('\n  ');
    throw new Error(
      `\`${[command, ...args].join(' ')}\` failed (exit ${result.code}):\n  ${detail}`,
    );
  }
  return result.stdout;
}
