/**
 * Hands each live session its own unprivileged uid (also used as its gid) from a configured
 * range. Per-uid kernel limits (RLIMIT_NPROC, the user keyring, who may signal or ptrace
 * whom) then separate sessions: one participant's fork bomb counts against their uid only.
 *
 * A released uid goes to the back of the queue, and never-used uids are handed out first, so
 * a uid is reused as late as possible: should anything of an old session linger, the next
 * owner of its uid is unlikely to meet it.
 */

/** Every uid of the range is in use: the sandbox is full. */
export class UidsExhaustedError extends Error {
  override name = 'UidsExhaustedError';
}

export class UidPool {
  readonly first: number;
  readonly last: number;
  /** the lowest uid never handed out yet */
  #fresh: number;
  /** uids given back, oldest first */
  readonly #released: number[] = [];
  readonly #taken = new Set<number>();

  constructor(first: number, last: number) {
    if (!Number.isInteger(first) || !Number.isInteger(last) || first < 1 || last < first) {
      throw new RangeError(
        `The sandbox uid range ${first}-${last} is invalid: it needs two whole numbers, 1 <= first <= last.`,
      );
    }
    // 2^32 - 1 is (uid_t)-1, "no change" to setresuid; 65534 is nobody on most systems.
    if (last >= 2 ** 32 - 1) {
      throw new RangeError(
        `The sandbox uid range ${first}-${last} goes past 4294967294, the largest uid Linux has.`,
      );
    }
    this.first = first;
    this.last = last;
    this.#fresh = first;
  }

  get size(): number {
    return this.last - this.first + 1;
  }

  get inUse(): number {
    return this.#taken.size;
  }

  /** A uid no live session has; throws when every uid of the range is in use. */
  take(): number {
    let uid: number | undefined;
    if (this.#fresh <= this.last) uid = this.#fresh++;
    else uid = this.#released.shift();
    if (uid === undefined) {
      throw new UidsExhaustedError(
        `All ${this.size} sandbox uids (${this.first}-${this.last}) are in use: end a session, or widen the range (sandbox.uidFirst / sandbox.uidLast) to at least sessions.max.`,
      );
    }
    this.#taken.add(uid);
    return uid;
  }

  /** Gives a uid back once none of its session's processes is left. Unknown uids are ignored. */
  release(uid: number): void {
    if (!this.#taken.delete(uid)) return;
    this.#released.push(uid);
  }
}
