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
  clusterMessage?: string;
  mode?: 'local' | 'workshop';
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
      clusterMessage: typeof body.cluster?.message === 'string' ? body.cluster.message : undefined,
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
