/**
 * Runs one check: a process given as argv (the session builds it: in its sandbox, as its
 * uid, with its kubeconfig), with no terminal, no input, a bounded output, and a timeout
 * that kills its whole process session (it is started as the leader of a new one), so a check
 * that loops, or leaves a child behind, leaves nothing running.
 */
import { spawn } from 'node:child_process';
import { killSession } from '../processes/process-tree.ts';

export interface CheckCommand {
  file: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
}

export type CheckOutcome =
  | { kind: 'exited'; code: number; output: string }
  | { kind: 'timeout'; output: string }
  | { kind: 'failed'; message: string };

/** Output kept from a check: the reader sees one line of it. */
const MAX_OUTPUT = 8 * 1024;

export function runCheckProcess(command: CheckCommand, timeoutMs: number): Promise<CheckOutcome> {
  return new Promise((resolve) => {
    let output = '';
    let timedOut = false;
    let settled = false;
    const child = spawn(command.file, command.args, {
      cwd: command.cwd,
      env: command.env,
      // setsid(): its own session and process group, and no controlling terminal
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const pid = child.pid;
    const collect = (chunk: Buffer): void => {
      if (output.length < MAX_OUTPUT) output += chunk.toString('utf8').slice(0, MAX_OUTPUT);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    const timer = setTimeout(() => {
      timedOut = true;
      if (pid !== undefined) void killSession(pid);
    }, timeoutMs);
    const finish = (outcome: CheckOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (pid === undefined) return resolve(outcome);
      // Whatever it started in the background goes with it: its process group at once, then
      // anything else of its session (a scan of /proc, ~20 ms), which the answer need not
      // wait for, except after a timeout, when the check is known to have misbehaved.
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // none left
      }
      const swept = killSession(pid);
      if (outcome.kind === 'timeout') void swept.finally(() => resolve(outcome));
      else resolve(outcome);
    };
    child.on('error', (error) => finish({ kind: 'failed', message: error.message }));
    // 'close', not 'exit': the output is complete once its pipes are.
    child.on('close', (code, signal) => {
      if (timedOut) return finish({ kind: 'timeout', output });
      finish({ kind: 'exited', code: code ?? 128 + signalNumber(signal), output });
    });
  });
}

function signalNumber(signal: NodeJS.Signals | null): number {
  return signal === 'SIGKILL' ? 9 : signal === 'SIGTERM' ? 15 : 0;
}
