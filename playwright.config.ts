import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { defineConfig } from '@playwright/test';
import { e2eKubeconfig } from './tests/e2e/e2e-namespace.ts';

/**
 * End-to-end tests: Debian's Chromium (or CHROMIUM_PATH) against `kubenotes serve`, which
 * builds the guide if it changed and serves it with a sandbox on one port. When `npm test`
 * has started the test cluster, the sandbox's shells use it; otherwise they have no cluster.
 */
/** The instructor tests use it; the e2e server is on loopback only. */
export const ADMIN_TOKEN = 'e2e-instructor-token-0123456789';
/**
 * Three ports in a row (the guide with its sandbox, the workshop, the static host), free when
 * the run starts; chosen once in the runner and inherited by its workers through the
 * environment. Fixed ports made two runs on one machine (two worktrees, CI) collide.
 * KUBENOTES_E2E_PORT sets the first.
 */
function freePortBlock(): string {
  const probe = `
    const net = require('node:net');
    const take = (port) => new Promise((ok) => {
      const s = net.createServer().once('error', () => ok(null));
      s.listen(port, '127.0.0.1', () => ok(s));
    });
    (async () => {
      for (let i = 0; i < 100; i++) {
        const base = 20000 + Math.floor(Math.random() * 40000);
        const held = await Promise.all([base, base - 1, base - 2].map(take));
        held.forEach((s) => s && s.close());
        if (held.every(Boolean)) return console.log(base);
      }
      process.exit(1);
    })();`;
  const found = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8' });
  if (found.status !== 0) throw new Error('no three free ports in a row on 127.0.0.1');
  return found.stdout.trim();
}
process.env.KUBENOTES_E2E_PORT ||= freePortBlock();
const port = Number(process.env.KUBENOTES_E2E_PORT);
export const STATIC_PORT = port - 2;
export const WORKSHOP_PORT = port - 1;
export const JOIN_CODE = 'e2e-join-2026';
const node = JSON.stringify(process.execPath);
const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (!existsSync(chromium)) {
  throw new Error(
    `Chromium not found at ${chromium}. Install it (Debian/Ubuntu: apt-get install chromium) or set CHROMIUM_PATH to a Chromium or Chrome binary.`,
  );
}

const kubectlDir = process.env.KUBENOTES_TEST_KUBECTL_DIR;
// On the test cluster, a namespace of the run's own (e2e-namespace.ts); the tests read the
// copy through KUBENOTES_TEST_KUBECONFIG too. The kind tier's cluster is the run's already.
if (process.env.KUBENOTES_TEST_KUBECONFIG && !process.env.KUBENOTES_KIND_E2E) {
  process.env.KUBENOTES_TEST_KUBECONFIG = e2eKubeconfig(
    process.env.KUBENOTES_TEST_KUBECONFIG,
    port,
    kubectlDir,
  );
}
const kubeconfig = process.env.KUBENOTES_TEST_KUBECONFIG;
const cluster = kubeconfig
  ? [
      '--cluster',
      'existing',
      '--kubeconfig',
      kubeconfig,
      '--context',
      /^current-context:\s*"?([^"\s]+)/m.exec(readFileSync(kubeconfig, 'utf8'))?.[1] ?? '',
    ]
  : ['--cluster', 'none'];
const shellPath = [kubectlDir, '/usr/local/bin', '/usr/bin', '/bin'].filter(Boolean).join(':');

export default defineConfig({
  testDir: 'tests/e2e',
  globalTeardown: './tests/e2e/global-teardown.ts',
  timeout: 60_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: chromium,
      args: [
        '--no-sandbox',
        '--headless',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
  },
  webServer: [
    {
      // The guide and its sandbox on one origin, as `npm start` serves them. It builds the
      // site when it changed; the servers below reuse that build.
      command: [
        `${node} sandbox-server/bin/kubenotes.mjs serve`,
        `--port ${port}`,
        ...cluster.map((arg) => JSON.stringify(arg)),
        `--shell-path ${JSON.stringify(shellPath)}`,
        `--admin-token ${ADMIN_TOKEN}`,
        // Every test's page makes a session, which outlives it for the grace period: the
        // default 20 filled up before the run ended ("The sandbox is full").
        '--max-sessions 200',
      ].join(' '),
      url: `http://127.0.0.1:${port}/api/health`,
      reuseExistingServer: false,
      timeout: 180_000,
      stdout: 'ignore',
      stderr: 'pipe',
    },
    {
      // The built guide on a plain static host of another origin (no sandbox there).
      command: `${node} tests/e2e/static-host.ts dist ${STATIC_PORT}`,
      url: `http://127.0.0.1:${STATIC_PORT}/pods/`,
      reuseExistingServer: false,
      timeout: 30_000,
    },
    // The kind tier runs one spec against kind; it needs no workshop server.
    ...(kubeconfig && !process.env.KUBENOTES_KIND_E2E
      ? [
          {
            // A workshop: join code, a namespace and a sandboxed shell per participant.
            command: [
              `${node} sandbox-server/bin/kubenotes.mjs sandbox --site-dir dist`,
              `--port ${WORKSHOP_PORT} --mode workshop --join-code ${JOIN_CODE}`,
              ...cluster.map((arg) => JSON.stringify(arg)),
              // its own instance: a workshop server deletes its instance's leftover namespaces
              // at start, which would be another run's live sessions under a shared name
              `--instance e2e${port} --shell-path ${JSON.stringify(shellPath)}`,
              kubectlDir ? `--sandbox-read-only ${JSON.stringify(kubectlDir)}` : '',
            ].join(' '),
            url: `http://127.0.0.1:${WORKSHOP_PORT}/api/health`,
            // The test cluster is refused for workshops without it.
            env: { ...process.env, KUBENOTES_ALLOW_TEST_CLUSTER: '1' } as Record<string, string>,
            reuseExistingServer: false,
            timeout: 60_000,
            stdout: 'ignore' as const,
            stderr: 'pipe' as const,
          },
        ]
      : []),
  ],
});
