/**
 * Workshop-mode servers on the test cluster: the arguments (a namespace per session, a join
 * code, shells sandboxed with bubblewrap when this host can), and an admin view of the
 * cluster to check what a server left behind.
 */
import { execFileSync } from 'node:child_process';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { plain } from '../../support/terminal-client.ts';
import { shellPathWith, workshopServerArgs } from '../../support/workshop-server.ts';
import { errorText, type TestClusterInfo } from './context.ts';
import { deleteSession, issuedTokens, openTerminal } from './terminal.ts';

export const JOIN_CODE = 'reliability-2026';

export function shellPath(cluster: TestClusterInfo): string {
  return shellPathWith(cluster.binDir);
}

/** Why workshop shells cannot be sandboxed here, or undefined when they can. */
export function noSandboxReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root (the sandbox drops each shell to its own uid)';
  try {
    execFileSync('bwrap', ['--version'], { stdio: 'ignore' });
  } catch {
    return 'bubblewrap (bwrap) is not installed';
  }
  return undefined;
}

export function uniqueInstance(prefix: string): string {
  return `${prefix}${Date.now().toString(36)}`.slice(0, 30);
}

export function workshopArgs(
  cluster: TestClusterInfo,
  options: { instance: string; kubeconfig?: string; extra?: string[] },
): string[] {
  const sandbox = noSandboxReason()
    ? ['--sandbox', 'none']
    : ['--sandbox-read-only', cluster.binDir];
  return workshopServerArgs(
    options.kubeconfig ?? cluster.kubeconfig,
    cluster.context,
    cluster.binDir,
    options.instance,
    JOIN_CODE,
    ['--sessions-per-minute', '1000', ...sandbox, ...(options.extra ?? [])],
  );
}

export function adminApi(cluster: TestClusterInfo): CoreV1Api {
  const config = new KubeConfig();
  config.loadFromFile(cluster.kubeconfig);
  return config.makeApiClient(CoreV1Api);
}

/** The namespace is gone, or on its way out. */
export async function namespaceEnded(cluster: TestClusterInfo, name: string): Promise<boolean> {
  try {
    const ns = await adminApi(cluster).readNamespace({ name });
    return ns.status?.phase === 'Terminating';
  } catch (error) {
    return (error as { code?: number }).code === 404;
  }
}

/** Live (not terminating) namespaces of a server instance. */
export async function liveNamespaces(
  cluster: TestClusterInfo,
  instance: string,
): Promise<string[]> {
  const list = await adminApi(cluster).listNamespace({
    labelSelector: `app.kubernetes.io/managed-by=kubenotes,kubenotes.dev/instance=${instance}`,
  });
  return list.items
    .filter((ns) => ns.status?.phase !== 'Terminating')
    .map((ns) => ns.metadata?.name ?? '');
}

/** Deletes whatever a scenario's server instance left (clean-up, not a check). */
export async function deleteInstanceNamespaces(
  cluster: TestClusterInfo,
  instance: string,
): Promise<void> {
  const api = adminApi(cluster);
  for (const name of await liveNamespaces(cluster, instance).catch(() => [])) {
    await api.deleteNamespace({ name }).catch(() => undefined);
  }
}

export async function createWorkshopSession(
  url: string,
): Promise<{ id: string; token: string; namespace: string; expiresAt: string }> {
  const res = await fetch(`${url}/api/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ joinCode: JOIN_CODE }),
  });
  if (res.status !== 201) throw new Error(`POST /api/sessions: ${res.status} ${await res.text()}`);
  const session = await res.json();
  issuedTokens.add(session.token);
  return session;
}

/**
 * While one participant attacks, can another still join? A new workshop session is made, runs
 * `command` in its shell and ends; then the server's health is asked. `fresh` says what
 * happened, for the report; `failure` is set when the newcomer could not work.
 */
export async function newcomerDuring(
  url: string,
  what: string,
  command: string,
  timeoutMs: number,
): Promise<{ fresh: string; failure?: string; health: number }> {
  let fresh: string;
  let failure: string | undefined;
  try {
    const session = await createWorkshopSession(url);
    const term = await openTerminal(url, session, { cols: 200 });
    const got = await term.run(command, timeoutMs);
    fresh =
      got.exitCode === 0
        ? 'made, and its command answered'
        : `made, but its command failed: ${plain(got.output).slice(0, 160)}`;
    if (got.exitCode !== 0) failure = `a new session's command failed during ${what}`;
    term.close();
    await deleteSession(url, session);
  } catch (error) {
    fresh = `failed: ${errorText(error)}`;
    failure = `a new session during ${what} ${fresh}`;
  }
  const health = await fetch(`${url}/api/health`)
    .then((r) => r.status)
    .catch(() => 0);
  return { fresh, failure, health };
}
