/**
 * What every scenario gets: the sizes of this run (short or full), a recorder for its rows,
 * a place to register clean-ups (run even when the scenario times out), the test cluster when
 * there is one, and a progress log (stderr; the table goes to stdout).
 */
import type { Recorder } from './report.ts';

export interface Sizes {
  name: 'short' | 'full';
  load: { sessions: number; seconds: number };
  idle: { sessions: number };
  flood: { quiet: number; floods: number; seconds: number; fileMiB: number };
  fuzz: { wsRuns: number; httpRuns: number };
  tokenGuesses: number;
}

export const SIZES: Record<Sizes['name'], Sizes> = {
  short: {
    name: 'short',
    load: { sessions: 30, seconds: 8 },
    idle: { sessions: 50 },
    flood: { quiet: 6, floods: 2, seconds: 5, fileMiB: 8 },
    fuzz: { wsRuns: 150, httpRuns: 200 },
    tokenGuesses: 25,
  },
  full: {
    name: 'full',
    load: { sessions: 200, seconds: 30 },
    idle: { sessions: 500 },
    flood: { quiet: 20, floods: 4, seconds: 15, fileMiB: 32 },
    fuzz: { wsRuns: 1000, httpRuns: 1500 },
    tokenGuesses: 100,
  },
};

export interface TestClusterInfo {
  kubeconfig: string;
  /** the folder holding kubectl */
  binDir: string;
  context: string;
}

export interface Context {
  sizes: Sizes;
  rec: Recorder;
  /** fast-check seed of this run */
  seed: number;
  cluster: TestClusterInfo | { unavailable: string };
  /** registers a clean-up; they run in reverse order after the scenario, whatever happened */
  defer(cleanup: () => unknown): void;
  log(line: string): void;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs `fn` over `items`, at most `limit` at a time; results in order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Resolves with `promise`'s value, or rejects after `ms` saying what took too long. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]);
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
