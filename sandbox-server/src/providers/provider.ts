/**
 * A cluster provider gives each session what its shell needs to reach Kubernetes. The server
 * never uses the reader's current kubectl context implicitly: a provider is chosen by name
 * (or `auto`, which only picks the sandbox's own kind cluster).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { NamespaceReset } from './tenancy/namespace-reset.ts';

export interface ClusterStatus {
  provider: string;
  ready: boolean;
  /**
   * the cluster is still being made (created, its images loaded): `message` says which step;
   * it becomes ready, or not ready with why, without a restart
   */
  starting?: boolean;
  /** what is missing and how to get it, when not ready */
  message?: string;
  /** what the reader's shell can use beyond kubectl: `docker`, `kind` */
  capabilities: string[];
}

export interface ClusterLease {
  /** the kubeconfig's default namespace */
  namespace: string;
  /** variables for the shell, e.g. KUBECONFIG */
  env: Record<string, string>;
  /** one line shown when the shell starts, e.g. that no cluster is connected */
  banner?: string | undefined;
  /**
   * Where the shell runs when not on this machine: a pod in the cluster, reached through the
   * Kubernetes exec API. Given the rcfile's text, returns the command to run in the pty.
   */
  remoteShell?: ((rc: string) => { file: string; args: string[] }) | undefined;
  /**
   * The session's own credentials to the API server, for what the server does on the
   * session's behalf (opening its apps through the proxy subresources): in a workshop the
   * participant's token, locally the local cluster's. None without a cluster.
   */
  apiAccess?: KubeConfig | undefined;
  /**
   * "Reset my namespace": deletes what the participant made in their namespace, with their
   * own credentials, and says what (providers/tenancy/namespace-reset.ts). Workshops only.
   */
  resetNamespace?: (() => Promise<NamespaceReset>) | undefined;
  /** removes what the lease created (namespace, kubeconfig); idempotent */
  dispose(): Promise<void>;
}

export interface ClusterProvider {
  readonly name: string;
  /** checks the cluster once at start-up and when asked; cheap to call again */
  status(): Promise<ClusterStatus>;
  /** what one session gets; `home` is the session's own folder */
  lease(sessionId: string, home: string): Promise<ClusterLease>;
  dispose(): Promise<void>;
  /**
   * A participant's second terminal: a session in the namespace of `lead` (the lease of their
   * first session, which the registry keeps until both have ended), with credentials of its
   * own; its dispose removes only what it made. Providers whose leases hold nothing of a
   * participant's own (local mode: one cluster, one namespace) omit it, and `lease` is used.
   * `apiPort`: where this session's shells find their relay to the API server, when it is not
   * the first's (a participant's terminals share one loopback, participant-network.ts).
   */
  join?(
    lead: ClusterLease,
    sessionId: string,
    home: string,
    apiPort?: number,
  ): Promise<ClusterLease>;
  /**
   * Removes what sessions that no longer exist left in the cluster (after a crash), keeping
   * those of `live` session ids; returns what it removed. Providers that create nothing omit it.
   */
  reconcile?(live: ReadonlySet<string>): Promise<string[]>;
  /** the API server's address, for a relay to it (workshop providers) */
  readonly apiServer?: string | undefined;
  /** the proxy the API server is reached through (kubeconfig `proxy-url`), for the relay */
  readonly apiProxy?: string | undefined;
  /**
   * The identity the cluster view's one shared watch uses across the sessions' namespaces
   * (workshop providers; cluster-view/cluster-views.ts). Without it, each session's view
   * watches with the session's own kubeconfig.
   */
  clusterViewConfig?(): KubeConfig;
}
