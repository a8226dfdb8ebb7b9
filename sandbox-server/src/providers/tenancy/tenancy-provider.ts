/**
 * Workshop tenancy: each session gets its own namespace with a ServiceAccount, a Role limited
 * to that namespace, a ResourceQuota, a LimitRange and a NetworkPolicy, and its shell a
 * kubeconfig whose token (TokenRequest) expires with the session. Ending a session deletes
 * its namespace; `reconcile()` at start deletes what an earlier crash left behind.
 *
 * It talks to the API with @kubernetes/client-node, as the server's own (admin) identity,
 * which never reaches a participant's shell.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CoreV1Api,
  KubeConfig,
  NetworkingV1Api,
  RbacAuthorizationV1Api,
  VersionApi,
} from '@kubernetes/client-node';
import type { Logger } from '../../telemetry/log.ts';
import type { ClusterLease, ClusterProvider, ClusterStatus } from '../provider.ts';
import { resetNamespace } from './namespace-reset.ts';
import { sessionKubeconfig } from './session-kubeconfig.ts';
import { installGuards } from './tenancy-guards.ts';
import {
  DEFAULT_LIMITS,
  instanceSelector,
  labels,
  PARTICIPANT,
  type PodSecurityLevel,
  SESSION,
  type TenancyLimits,
  tenancyObjects,
} from './tenancy-objects.ts';

const SHELL_POD = 'shell';

export interface TenancyOptions {
  admin: KubeConfig;
  /** names this server's namespaces apart from another server's on the same cluster */
  instance: string;
  /** how long a session's token lives (the session's lifetime) */
  tokenSeconds: number;
  limits?: TenancyLimits;
  /** Pod Security level enforced on participant namespaces (default restricted) */
  podSecurity?: PodSecurityLevel;
  log: Logger;
  /**
   * Run each shell as a pod in its namespace (this image needs bash; kubectl in it uses the
   * pod's ServiceAccount), reached through the exec API, instead of on this machine.
   */
  podShell?: { image: string } | undefined;
  /** called with how long a namespace took to create or delete (metrics) */
  onTiming?: (what: 'create' | 'delete', ms: number) => void;
  /**
   * The API server's address as sessions' shells reach it, when not the cluster's own (the
   * relay inside a sandbox with a network of its own, api-relay.ts).
   */
  shellServer?: string | undefined;
}

export class TenancyProvider implements ClusterProvider {
  readonly name = 'workshop';

  get apiServer(): string | undefined {
    return this.#options.admin.getCurrentCluster()?.server;
  }

  get apiProxy(): string | undefined {
    return this.#options.admin.getCurrentCluster()?.proxyUrl;
  }

  clusterViewConfig(): KubeConfig {
    return this.#options.admin;
  }
  readonly #options: TenancyOptions;
  readonly #core: CoreV1Api;
  readonly #rbac: RbacAuthorizationV1Api;
  readonly #net: NetworkingV1Api;
  #checked: { at: number; status: ClusterStatus } | undefined;
  /** namespaces of ended sessions that could not be deleted yet (see #retryDelete) */
  readonly #undeleted = new Set<string>();
  #retryTimer: NodeJS.Timeout | undefined;
  #disposed = false;
  /** the instance's admission policy (tenancy-guards.ts), installed before the first namespace */
  #guarded: Promise<boolean> | undefined;

  constructor(options: TenancyOptions) {
    this.#options = options;
    this.#core = options.admin.makeApiClient(CoreV1Api);
    this.#rbac = options.admin.makeApiClient(RbacAuthorizationV1Api);
    this.#net = options.admin.makeApiClient(NetworkingV1Api);
  }

  async status(): Promise<ClusterStatus> {
    if (this.#checked && Date.now() - this.#checked.at < 5000) return this.#checked.status;
    let status: ClusterStatus;
    try {
      const version = await this.#options.admin.makeApiClient(VersionApi).getCode();
      status = {
        provider: this.name,
        ready: true,
        message: `Kubernetes ${version.gitVersion}, a namespace per session`,
        capabilities: [],
      };
    } catch (error) {
      status = {
        provider: this.name,
        ready: false,
        message: `The cluster does not answer (${(error as Error).message}). New sessions fail until it is back.`,
        capabilities: [],
      };
    }
    this.#checked = { at: Date.now(), status };
    return status;
  }

  async lease(sessionId: string, home: string): Promise<ClusterLease> {
    const started = Date.now();
    const objects = tenancyObjects(
      sessionId,
      this.#options.instance,
      this.#options.limits ?? DEFAULT_LIMITS,
      this.#options.podSecurity,
    );
    const namespace = objects.namespace.metadata!.name!;
    this.#guarded ??= installGuards(this.#options.admin, this.#options.instance, this.#options.log);
    await this.#guarded;
    try {
      await this.#core.createNamespace({ body: objects.namespace });
      await Promise.all([
        this.#core.createNamespacedServiceAccount({ namespace, body: objects.serviceAccount }),
        // The binding after its Role: without the `bind` verb, the API server checks the
        // Role's rules when the binding is made, so the Role must exist by then.
        this.#rbac
          .createNamespacedRole({ namespace, body: objects.role })
          .then(() =>
            this.#rbac.createNamespacedRoleBinding({ namespace, body: objects.roleBinding }),
          ),
        this.#core.createNamespacedResourceQuota({ namespace, body: objects.quota }),
        this.#core.createNamespacedLimitRange({ namespace, body: objects.limitRange }),
        this.#net.createNamespacedNetworkPolicy({ namespace, body: objects.networkPolicy }),
      ]);
      const { path, apiAccess } = await this.#credentials(namespace, home);
      if (this.#options.podShell) {
        await this.#startShellPod(sessionId, namespace, this.#options.podShell.image);
      }
      const remoteShell = this.#options.podShell ? this.#execShell(path, namespace) : undefined;
      this.#options.onTiming?.('create', Date.now() - started);
      let disposed: Promise<void> | undefined;
      return {
        namespace,
        env: { KUBECONFIG: path },
        apiAccess,
        remoteShell,
        // The participant's own token: it reaches their namespace's objects and nothing else.
        resetNamespace: () =>
          resetNamespace(
            apiAccess,
            namespace,
            (kind, name) => remoteShell !== undefined && kind === 'Pod' && name === SHELL_POD,
          ),
        dispose: () => {
          disposed ??= this.#deleteNamespace(namespace).catch((error: unknown) => {
            this.#retryDelete(namespace);
            throw error;
          });
          return disposed;
        },
      };
    } catch (error) {
      await this.#deleteNamespace(namespace).catch(() => this.#retryDelete(namespace));
      throw new Error(`Could not prepare namespace ${namespace}: ${apiMessage(error)}`);
    }
  }

  /**
   * The second terminal of the participant whose first session has `lead`: the same
   * namespace, a token of its own for the same ServiceAccount (expiring with this session),
   * and with shell pods, a second shell in the same pod (so `localhost` is shared too).
   * Nothing is created in the cluster but the token, so dispose has nothing to remove.
   */
  async join(
    lead: ClusterLease,
    _sessionId: string,
    home: string,
    apiPort?: number,
  ): Promise<ClusterLease> {
    const { namespace } = lead;
    try {
      const { path, apiAccess } = await this.#credentials(namespace, home, apiPort);
      return {
        namespace,
        env: { KUBECONFIG: path },
        apiAccess,
        remoteShell: this.#options.podShell ? this.#execShell(path, namespace) : undefined,
        // One namespace: Reset from either terminal empties it.
        resetNamespace: lead.resetNamespace,
        async dispose() {},
      };
    } catch (error) {
      throw new Error(`Could not join namespace ${namespace}: ${apiMessage(error)}`);
    }
  }

  /**
   * A token of the participant's ServiceAccount (TokenRequest), written as the kubeconfig in
   * `home`; and the same token as this machine reaches the API (not through the relay).
   */
  async #credentials(
    namespace: string,
    home: string,
    apiPort?: number,
  ): Promise<{ path: string; apiAccess: KubeConfig }> {
    const request = await this.#core.createNamespacedServiceAccountToken({
      name: PARTICIPANT,
      namespace,
      body: {
        spec: { audiences: [], expirationSeconds: Math.max(600, this.#options.tokenSeconds) },
      },
    });
    const token = request.status?.token;
    if (!token) throw new Error('the TokenRequest returned no token');
    const dir = join(home, '.kube');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, 'config');
    let shellServer = this.#options.shellServer;
    if (shellServer && apiPort !== undefined) {
      // The same relay address, at this session's own port.
      const url = new URL(shellServer);
      url.port = String(apiPort);
      shellServer = url.origin;
    }
    writeFileSync(path, sessionKubeconfig(this.#options.admin, token, namespace, shellServer), {
      mode: 0o600,
    });
    const apiAccess = new KubeConfig();
    apiAccess.loadFromString(sessionKubeconfig(this.#options.admin, token, namespace));
    return { path, apiAccess };
  }

  /** Starts the participant's shell pod and waits for it to be Ready. */
  async #startShellPod(sessionId: string, namespace: string, image: string): Promise<void> {
    await this.#core.createNamespacedPod({
      namespace,
      body: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: SHELL_POD, namespace, labels: labels(this.#options.instance, sessionId) },
        spec: {
          serviceAccountName: PARTICIPANT,
          automountServiceAccountToken: true,
          terminationGracePeriodSeconds: 1,
          // As Pod Security `restricted` (the namespace's level) requires: the participant is
          // not root in their own shell pod either, whatever user the image names.
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 1000,
            runAsGroup: 1000,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: SHELL_POD,
              image,
              command: ['sleep', 'infinity'],
              env: [{ name: 'HOME', value: '/tmp' }],
              securityContext: {
                allowPrivilegeEscalation: false,
                capabilities: { drop: ['ALL'] },
              },
              resources: {
                requests: { cpu: '50m', memory: '64Mi' },
                limits: { cpu: '500m', memory: '256Mi' },
              },
            },
          ],
        },
      },
    });
    const deadline = Date.now() + 120_000;
    for (;;) {
      const pod = await this.#core.readNamespacedPod({ name: SHELL_POD, namespace });
      const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
      if (ready) break;
      if (Date.now() > deadline) {
        throw new Error(
          `the shell pod did not become Ready in 120 s (phase ${pod.status?.phase ?? 'unknown'})`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }

  /**
   * How to attach a shell to the namespace's shell pod: `kubectl exec -it` with the
   * participant's own token (the exec API; the pty on this machine only carries the stream,
   * and its flow control reaches the pod through it).
   */
  #execShell(
    kubeconfig: string,
    namespace: string,
  ): (rc: string) => { file: string; args: string[] } {
    return (rc) => {
      // The rcfile (OSC 133 marks) travels as base64 so no quoting can break it.
      const script = `rc=$(mktemp) && printf %s ${Buffer.from(rc).toString('base64')} | base64 -d > "$rc" && exec bash --rcfile "$rc" -i`;
      return {
        file: 'kubectl',
        args: [
          '--kubeconfig',
          kubeconfig,
          'exec',
          '-it',
          '-n',
          namespace,
          SHELL_POD,
          '-c',
          SHELL_POD,
          '--',
          'bash',
          '-c',
          script,
        ],
      };
    };
  }

  async #deleteNamespace(namespace: string): Promise<void> {
    const started = Date.now();
    // The ServiceAccount goes first: its tokens stop working at once, not when the namespace
    // controller gets round to emptying the namespace.
    await this.#core
      .deleteNamespacedServiceAccount({ name: PARTICIPANT, namespace })
      .catch((error: unknown) => {
        if (statusCode(error) !== 404) throw error;
      });
    try {
      await this.#core.deleteNamespace({ name: namespace, propagationPolicy: 'Background' });
      this.#options.onTiming?.('delete', Date.now() - started);
    } catch (error) {
      if (statusCode(error) === 404) return;
      throw error;
    }
  }

  /** Deletes this instance's namespaces that belong to no live session. Returns their names. */
  async reconcile(live: ReadonlySet<string>): Promise<string[]> {
    const list = await this.#core.listNamespace({
      labelSelector: instanceSelector(this.#options.instance),
    });
    const orphans = list.items.filter((ns) => {
      const session = ns.metadata?.labels?.[SESSION];
      return !session || !live.has(session);
    });
    const names = orphans.map((ns) => ns.metadata?.name ?? '').filter(Boolean);
    await Promise.all(
      names.filter((n) => !isTerminating(orphans, n)).map((n) => this.#deleteNamespace(n)),
    );
    if (names.length > 0) this.#options.log.log('info', 'orphans_removed', { namespaces: names });
    return names;
  }

  /**
   * A namespace whose deletion failed (the API server was down when its session ended) is
   * deleted again every 10 s until that works, rather than left until the next restart's
   * reconcile: a namespace left behind keeps its participant's still-valid token with it.
   */
  #retryDelete(namespace: string): void {
    this.#undeleted.add(namespace);
    if (this.#retryTimer || this.#disposed) return;
    this.#retryTimer = setTimeout(async () => {
      for (const name of [...this.#undeleted]) {
        try {
          await this.#deleteNamespace(name);
          this.#undeleted.delete(name);
          this.#options.log.log('info', 'namespace_deleted_on_retry', { namespace: name });
        } catch {
          // still unreachable: next round
        }
      }
      this.#retryTimer = undefined;
      const [next] = this.#undeleted;
      if (next !== undefined) this.#retryDelete(next);
    }, 10_000);
    this.#retryTimer.unref();
  }

  async dispose(): Promise<void> {
    this.#disposed = true;
    clearTimeout(this.#retryTimer);
  }
}

function isTerminating(
  list: { metadata?: { name?: string }; status?: { phase?: string } }[],
  name: string,
): boolean {
  return list.some((ns) => ns.metadata?.name === name && ns.status?.phase === 'Terminating');
}

function statusCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

function apiMessage(error: unknown): string {
  const body = (error as { body?: unknown }).body;
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body);
      if (parsed?.message) return parsed.message;
    } catch {
      // not JSON
    }
  }
  return (error as Error).message;
}
