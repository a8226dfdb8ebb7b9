/**
 * Join codes (`--join-code CODE` or `CODE:SEATS`, repeatable): which one a participant gave,
 * and how many seats each has left. A code with seats admits at most that many live sessions,
 * so one person holding a code cannot take every seat of the server.
 */
import { tokensEqual } from '../session/tokens.ts';

export interface JoinCode {
  code: string;
  /** live sessions the code may hold at once; undefined: up to --max-sessions */
  seats: number | undefined;
}

/** "code" or "code:seats" (the last colon and a positive integer); throws naming the entry. */
export function parseJoinCodes(entries: readonly string[]): JoinCode[] {
  return entries.map((entry) => {
    const match = /^(.+):(\d+)$/.exec(entry);
    if (!match) return { code: entry, seats: undefined };
    const seats = Number(match[2]);
    if (!Number.isSafeInteger(seats) || seats < 1) {
      throw new Error(`The join code "${match[1]}" has ${match[2]} seats; give at least 1.`);
    }
    return { code: match[1]!, seats };
  });
}

export class JoinCodes {
  readonly #codes: JoinCode[];
  /** the sessions each code admitted (ended ones are dropped when counted) */
  readonly #sessions = new Map<string, Set<string>>();
  /** seats held by joins still being made */
  readonly #pending = new Set<string>();

  constructor(entries: readonly string[]) {
    this.#codes = parseJoinCodes(entries);
  }

  get required(): boolean {
    return this.#codes.length > 0;
  }

  /** The code given, if it is one; every code is compared, so timing tells nothing. */
  match(given: string): JoinCode | undefined {
    const matches = this.#codes.filter((entry) => tokensEqual(given, entry.code));
    return matches[0];
  }

  /** Seats the code has left, counting only sessions `isLive` still knows. */
  seatsLeft(code: JoinCode, isLive: (sessionId: string) => boolean): number {
    if (code.seats === undefined) return Number.POSITIVE_INFINITY;
    const admitted = this.#sessions.get(code.code) ?? new Set<string>();
    for (const id of admitted) if (!this.#pending.has(id) && !isLive(id)) admitted.delete(id);
    this.#sessions.set(code.code, admitted);
    return code.seats - admitted.size;
  }

  /**
   * Holds a seat while the session is made (so two joins at once cannot both take the last
   * one): `confirm` gives it to the session, `cancel` frees it.
   */
  reserve(code: JoinCode): { confirm(sessionId: string): void; cancel(): void } {
    const admitted = this.#sessions.get(code.code) ?? new Set<string>();
    this.#sessions.set(code.code, admitted);
    const hold = `reserved:${Math.random()}`;
    admitted.add(hold);
    this.#pending.add(hold);
    const release = () => {
      admitted.delete(hold);
      this.#pending.delete(hold);
    };
    return {
      confirm: (sessionId) => {
        release();
        admitted.add(sessionId);
      },
      cancel: release,
    };
  }
}
