/**
 * A machine service that several test runs share: the test cluster, the Docker engine. Each
 * run that uses one registers itself (a file named after its pid); a run that starts the
 * service marks it "started by tests". When a run is done it leaves, and the last run to leave
 * stops a service that tests started; a service that was running before any test run came
 * (a developer's `test-cluster up`, their own Docker engine) is left as it was found. So no
 * run stops a service under another's feet, and none leaves behind what tests started.
 *
 * State, under the service's folder: `users/<pid>` and `started-by-tests` (the starter's pid).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ownerAlive, withMachineLock } from './machine-lock.ts';

export type Log = (line: string) => void;

export interface ServiceUse<T> {
  value: T;
  /** this run started the service */
  startedHere: boolean;
  /**
   * Leaves; stops the service with `stop` when tests started it and no other run uses it.
   * Returns what happened, in a sentence for the run's output.
   */
  leave(stop: () => Promise<void>): Promise<string>;
  /** Leaves it running on purpose (`why`): no later run stops it either. */
  leaveRunning(why: string): Promise<string>;
}

export class SharedService {
  readonly #dir: string;
  readonly #name: string;
  readonly #log: Log;

  /** `name` is how the output calls it: "the test cluster", "the Docker engine". */
  constructor(dir: string, name: string, log: Log) {
    this.#dir = dir;
    this.#name = name;
    this.#log = log;
  }

  get #users(): string {
    return join(this.#dir, 'users');
  }

  get #marker(): string {
    return join(this.#dir, 'started-by-tests');
  }

  #locked<T>(body: () => Promise<T>): Promise<T> {
    mkdirSync(this.#users, { recursive: true });
    return withMachineLock(join(this.#dir, 'users.lock'), this.#name, this.#log, body);
  }

  /** Other live runs using the service (files of gone runs are removed). */
  #others(): number[] {
    const others: number[] = [];
    for (const name of readdirSync(this.#users)) {
      const pid = Number(name);
      if (pid === process.pid) continue;
      if (ownerAlive(pid, join(this.#users, name))) others.push(pid);
      else rmSync(join(this.#users, name), { force: true });
    }
    return others;
  }

  /**
   * Joins: `ensure` starts the service if needed and says whether it did; it is told which
   * other runs use the service now. Registered only when `ensure` succeeds.
   */
  async use<T>(
    ensure: (others: number[]) => Promise<{ value: T; started: boolean }>,
  ): Promise<ServiceUse<T>> {
    return this.#locked(async () => {
      const { value, started } = await ensure(this.#others());
      if (started) writeFileSync(this.#marker, String(process.pid));
      writeFileSync(join(this.#users, String(process.pid)), '');
      return {
        value,
        startedHere: started,
        leave: (stop) => this.#leave(stop),
        leaveRunning: (why) =>
          this.#locked(async () => {
            rmSync(join(this.#users, String(process.pid)), { force: true });
            this.clearStarter();
            return `${this.#name} left running: ${why}`;
          }),
      };
    });
  }

  async #leave(stop: () => Promise<void>): Promise<string> {
    return this.#locked(async () => {
      rmSync(join(this.#users, String(process.pid)), { force: true });
      const others = this.#others();
      let starter = 0;
      try {
        starter = Number(readFileSync(this.#marker, 'utf8').trim()) || -1;
      } catch {
        starter = 0;
      }
      if (starter === 0) return `${this.#name} was running before the tests came: left running`;
      if (others.length > 0) {
        return `${this.#name} (started by tests) is still used by pid ${others.join(', ')}: left running; the last run stops it`;
      }
      await stop();
      rmSync(this.#marker, { force: true });
      return `${this.#name} was started by tests (pid ${starter}) and no other run uses it: stopped`;
    });
  }

  /**
   * Forgets that tests started it, so that no run stops it: someone took it on purpose
   * (`test-cluster up`) or stopped it by hand (`test-cluster down`).
   */
  clearStarter(): void {
    rmSync(this.#marker, { force: true });
  }
}
