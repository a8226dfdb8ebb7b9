/**
 * One network namespace per participant, shared by all their terminals: a loopback and nothing
 * else, so `kubectl port-forward` held in Terminal 1 and `curl localhost` in Terminal 2 meet,
 * as on a reader's own machine. No other participant's shell is ever put in it: the server
 * hands it only to sessions joined with the first one's token (session-registry.ts).
 *
 * Made once, when the participant's first sandbox opens: a short-lived bwrap with
 * `--unshare-net` (bwrap brings its loopback up) reports its pid, the server opens
 * /proc/<pid>/ns/net and keeps that descriptor, and the bwrap ends. The descriptor holds the
 * namespace for as long as any terminal of the participant lives (a shell restart, or Terminal 1
 * ending, leaves Terminal 2's network as it was); every shell enters it with
 * `nsenter --net=/proc/<server>/fd/<fd>` (sandboxed-shell.ts). Held by a descriptor, not a
 * bind mount: nothing outlives the server.
 *
 * Each terminal's relay to the API server (api-relay.ts) listens on a port of its own in the
 * shared loopback, the lowest free from SANDBOX_API_PORT up, so each session keeps its own
 * entrance, connection cap and kubeconfig.
 */
import { spawn } from 'node:child_process';
import { closeSync, fstatSync, openSync, statSync } from 'node:fs';
import { SANDBOX_API_PORT } from './api-relay.ts';

/** How long making the namespace may take before the server gives up on it. */
const MAKE_TIMEOUT_MS = 10_000;

export class ParticipantNetwork {
  /** what `nsenter --net=` opens: the server's own descriptor of the namespace */
  readonly path: string;
  #fd: number | undefined;
  /** the relay ports of the participant's live terminals, one each */
  readonly #ports = new Set<number>();

  private constructor(fd: number) {
    this.#fd = fd;
    this.path = `/proc/${process.pid}/fd/${fd}`;
  }

  /** A new namespace with its loopback up (bwrap's own setup), or throws saying why not. */
  static async make(bwrap: string, bash: string): Promise<ParticipantNetwork> {
    // No pid namespace: the shell's $$ is its pid as the server sees it.
    const child = spawn(
      bwrap,
      [
        '--die-with-parent',
        '--ro-bind',
        '/',
        '/',
        '--unshare-net',
        '--',
        bash,
        '-c',
        'echo $$; exec cat',
      ],
      { stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: '/usr/bin:/bin' } },
    );
    try {
      const pid = await new Promise<number>((resolve, reject) => {
        let out = '';
        let err = '';
        const timer = setTimeout(() => reject(new Error('bwrap did not answer')), MAKE_TIMEOUT_MS);
        child.stderr.on('data', (chunk: Buffer) => {
          err += chunk.toString();
        });
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const line = /^(\d+)\n/.exec(out);
          if (line) {
            clearTimeout(timer);
            resolve(Number(line[1]));
          }
        });
        child.once('error', (error) => {
          clearTimeout(timer);
          reject(error);
        });
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(err.trim() || `bwrap ended (exit ${code})`));
        });
      });
      const fd = openSync(`/proc/${pid}/ns/net`, 'r');
      // Never hand out the server's own network by mistake (a pid reused, a bwrap that did
      // not unshare): the namespace must be another than the server's.
      if (fstatSync(fd).ino === statSync('/proc/self/ns/net').ino) {
        closeSync(fd);
        throw new Error("the namespace made is the server's own");
      }
      return new ParticipantNetwork(fd);
    } finally {
      child.stdin.end();
      child.kill();
    }
  }

  /**
   * A terminal joins: its relay's port, the lowest not taken by another terminal. The first
   * terminal of a new network always gets SANDBOX_API_PORT, the port the lease's kubeconfig
   * names; a joined one's kubeconfig is written with its own (provider.join).
   */
  take(): number {
    if (this.#fd === undefined) throw new Error("The participant's network is closed.");
    let port = SANDBOX_API_PORT;
    while (this.#ports.has(port)) port++;
    this.#ports.add(port);
    return port;
  }

  /**
   * A terminal has ended (its processes are gone): its port is free again; with the last, the
   * descriptor is closed and the namespace goes once no process is left in it.
   */
  release(port: number): void {
    if (!this.#ports.delete(port)) return;
    if (this.#ports.size > 0 || this.#fd === undefined) return;
    closeSync(this.#fd);
    this.#fd = undefined;
  }

  get closed(): boolean {
    return this.#fd === undefined;
  }
}
