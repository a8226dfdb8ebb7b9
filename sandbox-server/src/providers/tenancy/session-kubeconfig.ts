/**
 * The kubeconfig a participant's shell gets: the cluster's address and CA from the server's
 * own kubeconfig, a ServiceAccount token that expires with the session, and the session's
 * namespace as the default. JSON is valid kubeconfig, so no YAML writer is needed.
 */
import { readFileSync } from 'node:fs';
import type { KubeConfig } from '@kubernetes/client-node';
import { apiEndpoint } from '../../isolation/api-relay.ts';

/**
 * `server`, when given, replaces the cluster's address (the relay inside a sandbox with a
 * network of its own); TLS is still checked against the cluster's own host name, and the
 * cluster's proxy is the relay's to use.
 */
export function sessionKubeconfig(
  admin: KubeConfig,
  token: string,
  namespace: string,
  server?: string,
): string {
  const cluster = admin.getCurrentCluster();
  if (!cluster) throw new Error('The server kubeconfig has no cluster for its current context.');
  const ca =
    cluster.caData ??
    (cluster.caFile ? readFileSync(cluster.caFile).toString('base64') : undefined);
  const clusterEntry: Record<string, unknown> = { server: server ?? cluster.server };
  if (ca) clusterEntry['certificate-authority-data'] = ca;
  if (cluster.skipTLSVerify) clusterEntry['insecure-skip-tls-verify'] = true;
  const serverName =
    cluster.tlsServerName ?? (server ? apiEndpoint(cluster.server).host : undefined);
  if (serverName) clusterEntry['tls-server-name'] = serverName;
  // Straight to the cluster, the shell goes through its proxy too; through the relay, the
  // relay does (the proxy is on the host's network, which the sandbox does not have).
  if (cluster.proxyUrl && !server) clusterEntry['proxy-url'] = cluster.proxyUrl;
  return `${JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'kubenotes', cluster: clusterEntry }],
      users: [{ name: 'participant', user: { token } }],
      contexts: [
        { name: 'kubenotes', context: { cluster: 'kubenotes', user: 'participant', namespace } },
      ],
      'current-context': 'kubenotes',
    },
    null,
    2,
  )}\n`;
}
