/**
 * Starts a real sandbox server in this process on a free port, with test-sized settings.
 * Logs are kept in memory so tests can check what was (and was not) logged.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../sandbox-server/src/config/config.ts';
import type { ClusterProvider } from '../../sandbox-server/src/providers/provider.ts';
import { ALLOW_TEST_CLUSTER_ENV } from '../../sandbox-server/src/providers/test-cluster.ts';
import { type SandboxServer, startSandboxServer } from '../../sandbox-server/src/server.ts';
import { createLogger } from '../../sandbox-server/src/telemetry/log.ts';

export interface TestServer extends SandboxServer {
  logs: string[];
  stop(): Promise<void>;
}

export async function startTestServer(
  argv: string[] = [],
  options: { provider?: ClusterProvider; env?: NodeJS.ProcessEnv } = {},
): Promise<TestServer> {
  const stateDir = mkdtempSync(join(tmpdir(), 'kubenotes-test-'));
  const config = loadConfig({
    argv: ['--port', '0', '--cluster', 'none', '--state-dir', stateDir, ...argv],
    env: {},
  });
  const logs: string[] = [];
  const server = await startSandboxServer(config, {
    log: createLogger((line) => logs.push(line), 'debug'),
    // Workshop tests run on the test cluster, which the server refuses without this.
    env: { [ALLOW_TEST_CLUSTER_ENV]: '1', ...(options.env ?? { PATH: process.env.PATH }) },
    ...(options.provider ? { provider: options.provider } : {}),
  });
  return Object.assign(server, {
    logs,
    async stop() {
      await server.close();
      rmSync(stateDir, { recursive: true, force: true });
    },
  });
}
