import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../../sandbox-server/src/config/config.ts';
import { HttpApi } from '../../../sandbox-server/src/http/http-api.ts';
import { HttpError, sendError } from '../../../sandbox-server/src/http/http-error.ts';
import { TokenGuard } from '../../../sandbox-server/src/http/token-guard.ts';
import type { Isolation } from '../../../sandbox-server/src/isolation/isolation.ts';
import { UidPool } from '../../../sandbox-server/src/isolation/uid-pool.ts';
import { NoneProvider } from '../../../sandbox-server/src/providers/none-provider.ts';
import {
  CapacityError,
  SandboxError,
  SessionRegistry,
  sessionSettings,
} from '../../../sandbox-server/src/session/session-registry.ts';
import { createLogger } from '../../../sandbox-server/src/telemetry/log.ts';

/** A registry whose sessions' sandboxes fail to open with `failure`, and the log it wrote. */
function registryFailingWith(failure: () => Error) {
  const stateDir = mkdtempSync(join(tmpdir(), 'kubenotes-registry-'));
  const logs: string[] = [];
  const isolation = {
    async open() {
      throw failure();
    },
  } as unknown as Isolation;
  const config = loadConfig({ argv: ['--cluster', 'none'], env: {} });
  const registry = new SessionRegistry({
    max: 5,
    stateDir,
    settings: sessionSettings(config, { PATH: '/usr/bin:/bin' }),
    provider: new NoneProvider('test'),
    log: createLogger((line) => logs.push(line), 'debug'),
    isolation,
  });
  return { registry, logs, config, cleanup: () => rmSync(stateDir, { recursive: true }) };
}

test('a sandbox that cannot be made is not "full": SandboxError, logged with its cause', async () => {
  const { registry, logs, cleanup } = registryFailingWith(
    () => new Error('mount: /sessions/x: permission denied'),
  );
  try {
    await assert.rejects(registry.create(), (error) => {
      assert.ok(error instanceof SandboxError);
      assert.ok(!(error instanceof CapacityError));
      return true;
    });
    const line = logs.map((l) => JSON.parse(l)).find((l) => l.event === 'sandbox_failed');
    assert.match(line?.message ?? '', /permission denied/);
    assert.equal(registry.active, 0);
  } finally {
    cleanup();
  }
});

test('every sandbox uid in use is capacity: CapacityError', async () => {
  const pool = new UidPool(5000, 5000);
  pool.take();
  const { registry, cleanup } = registryFailingWith(() => {
    try {
      pool.take();
    } catch (error) {
      return error as Error;
    }
    return new Error('the pool was not empty');
  });
  try {
    await assert.rejects(registry.create(), CapacityError);
  } finally {
    cleanup();
  }
});

test('POST /api/sessions answers a failed sandbox with 503 sandbox_unavailable, not server_full', async () => {
  const { registry, config, cleanup } = registryFailingWith(
    () => new Error('cgroup: mkdir failed'),
  );
  const api = new HttpApi({
    config,
    registry,
    sessionTokens: new TokenGuard({ wrongPerMinute: 10, trustProxy: false }),
    clusterStatus: async () => ({ provider: 'none', ready: false, capabilities: [] }),
  });
  const server = createServer((req, res) => {
    api.handle(req, res, req.url ?? '/').catch((error: unknown) => {
      sendError(res, error instanceof HttpError ? error : new HttpError(500, 'server_fault', ''));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const res = await fetch(`http://127.0.0.1:${port}/api/sessions`, { method: 'POST' });
    assert.equal(res.status, 503);
    assert.ok(Number(res.headers.get('retry-after')) > 0);
    const body = await res.json();
    assert.equal(body.error.code, 'sandbox_unavailable');
    assert.doesNotMatch(body.error.message, /full/);
  } finally {
    server.close();
    cleanup();
  }
});
