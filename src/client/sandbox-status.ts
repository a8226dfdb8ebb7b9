/**
 * What the page needs to know about the sandbox before the first Run: is it there, does it
 * want a join code, which capabilities (docker, kind) it has. One small request per page, no
 * validation library (that loads with the terminal).
 */
import { sandboxUrl } from './sandbox-url.ts';

export interface SandboxStatus {
  reachable: boolean;
  /** why Run cannot work, in words a reader can act on */
  problem?: string;
  joinCodeRequired: boolean;
  capabilities: string[];
  clusterReady: boolean;
  /** the cluster is still being made (kind creating it, loading images): `clusterMessage` says which step */
  clusterStarting?: boolean;
  clusterMessage?: string;
  /** none, existing, kind */
  provider?: string;
  mode?: 'local' | 'workshop';
}

/** How often to ask again while the sandbox has no cluster ready (it may be starting). */
const RECHECK_MS = 5000;
/** …and while it is being made, so its progress reads as progress. */
const STARTING_RECHECK_MS = 1500;
const listeners = new Set<(status: SandboxStatus) => void>();
let recheck: ReturnType<typeof setTimeout> | undefined;

/**
 * Calls `listener` with the sandbox's status now and whenever it changes: while the cluster is
 * not ready the page asks again every few seconds, so Run buttons come on when it is.
 */
export function watchSandboxStatus(listener: (status: SandboxStatus) => void): void {
  listeners.add(listener);
  void sandboxStatus().then((status) => {
    listener(status);
    scheduleRecheck(status);
  });
}

function scheduleRecheck(status: SandboxStatus): void {
  if (recheck !== undefined || !status.reachable || status.clusterReady) return;
  recheck = setTimeout(
    async () => {
      recheck = undefined;
      const before = JSON.stringify(status);
      pending = undefined;
      const now = await sandboxStatus();
      if (JSON.stringify(now) !== before) for (const listener of listeners) listener(now);
      scheduleRecheck(now);
    },
    status.clusterStarting ? STARTING_RECHECK_MS : RECHECK_MS,
  );
}

let pending: Promise<SandboxStatus> | undefined;

export function sandboxStatus(): Promise<SandboxStatus> {
  pending ??= fetchStatus();
  return pending;
}

async function fetchStatus(): Promise<SandboxStatus> {
  const base = sandboxUrl();
  try {
    const res = await fetch(`${base}/api/health`, { cache: 'no-store' });
    if (!res.ok) throw new Error(`it answered ${res.status}`);
    const body = await res.json();
    return {
      reachable: true,
      joinCodeRequired: body.joinCodeRequired === true,
      capabilities: Array.isArray(body.cluster?.capabilities) ? body.cluster.capabilities : [],
      clusterReady: body.cluster?.ready === true,
      clusterStarting: body.cluster?.starting === true,
      clusterMessage: typeof body.cluster?.message === 'string' ? body.cluster.message : undefined,
      provider: typeof body.cluster?.provider === 'string' ? body.cluster.provider : undefined,
      mode: body.mode,
    };
  } catch (error) {
    const local = base === location.origin;
    return {
      reachable: false,
      problem: local
        ? 'No sandbox is running for this page. Start one with `npm start` (see the README) to run commands here; Copy still works.'
        : `The sandbox at ${base} is not reachable (${(error as Error).message}). Copy still works.`,
      joinCodeRequired: false,
      capabilities: [],
      clusterReady: false,
    };
  }
}
