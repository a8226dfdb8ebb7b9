/**
 * The machine's Docker engine, for the tests that use one. A test that may start it (the
 * self-hosting test, the kind tier) starts it with tests/kind/start-docker.sh and says so; a
 * test that only uses a running one (the doc-tests) never starts it. Every user registers
 * itself (shared-service.ts), so an engine that tests started is stopped by the last test run
 * that leaves it, and one that was running before the tests came is left running.
 */
import { spawn } from 'node:child_process';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Log, SharedService } from './shared-service.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const START_DOCKER = join(ROOT, 'tests', 'kind', 'start-docker.sh');

export function testCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.KUBENOTES_CACHE || join(homedir(), '.cache', 'kubenotes');
}

function run(
  command: string,
  args: string[],
  log?: Log,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let pending = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (!log) return;
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) log(line);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', (error) => resolve({ code: 127, stdout, stderr: error.message }));
    child.on('close', (code) => {
      if (log && pending) log(pending);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

/** The engine's version, or why none answers. */
export async function dockerEngineVersion(): Promise<{ version: string } | { reason: string }> {
  const answer = await run('docker', ['version', '--format', '{{.Server.Version}}']);
  if (answer.code === 127) return { reason: 'no docker client on PATH' };
  if (answer.code !== 0) {
    const why = answer.stderr.trim().split('\n').at(-1) || `docker version exited ${answer.code}`;
    return { reason: `no Docker engine answers (${why})` };
  }
  return { version: answer.stdout.trim() };
}

/**
 * Where the engine's users and locks are kept: beside the pid file of the dockerd that
 * start-docker.sh starts (/var/run, emptied at boot like the engine), so that runs with
 * different KUBENOTES_CACHE folders still see each other; without root, in the cache.
 */
export function dockerEngineStateDir(): string {
  return process.getuid?.() === 0
    ? '/var/run/kubenotes-docker-engine'
    : join(testCacheDir(), 'docker-engine');
}

export interface DockerEngine {
  version: string;
  startedHere: boolean;
  /** Leaves the engine; stops it if tests started it and no other run uses it. */
  leave(): Promise<string>;
}

/**
 * Uses the running engine, or (with `start`) starts one. Resolves to the reason when there is
 * none to be had; never throws.
 */
export async function useDockerEngine(options: {
  start: boolean;
  log: Log;
}): Promise<DockerEngine | { unavailable: string }> {
  const { log } = options;
  const service = new SharedService(dockerEngineStateDir(), 'the Docker engine', log);
  try {
    const use = await service.use(async () => {
      const running = await dockerEngineVersion();
      if ('version' in running) return { value: running.version, started: false };
      if (!options.start || running.reason === 'no docker client on PATH') {
        throw new Error(running.reason);
      }
      log(
        `${running.reason}: starting one (tests/kind/start-docker.sh); the last test run using it stops it (tests/README.md)`,
      );
      const started = await run('bash', [START_DOCKER], (line) => log(`  ${line}`));
      if (started.code !== 0) {
        throw new Error(
          `no Docker engine, and tests/kind/start-docker.sh could not start one: ${started.stderr.trim().split('\n').at(-1)}`,
        );
      }
      const now = await dockerEngineVersion();
      if (!('version' in now)) throw new Error(now.reason);
      return { value: now.version, started: true };
    });
    return {
      version: use.value,
      startedHere: use.startedHere,
      leave: () =>
        use.leave(async () => {
          const stopped = await run('bash', [START_DOCKER, '--stop'], (line) => log(`  ${line}`));
          if (stopped.code !== 0) throw new Error(`start-docker.sh --stop: ${stopped.stderr}`);
        }),
    };
  } catch (error) {
    return { unavailable: (error as Error).message };
  }
}
