/**
 * Sessions end when they should (idle, lifetime), warn before, and the server's SIGTERM ends
 * every shell and every process the shells started.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../sandbox-server/src/config/config.ts';
import { processesInSession } from '../../sandbox-server/src/processes/process-tree.ts';
import { NoneProvider } from '../../sandbox-server/src/providers/none-provider.ts';
import { startSandboxServer } from '../../sandbox-server/src/server.ts';
import { createLogger } from '../../sandbox-server/src/telemetry/log.ts';
import { startServerProcess } from '../support/server-process.ts';
import { createSession, TerminalClient } from '../support/terminal-client.ts';
import { startTestServer } from '../support/test-server.ts';

test('an idle session is warned, then closed with 4008 idle_timeout and removed', async () => {
  const server = await startTestServer(['--idle-timeout', '1500ms', '--expiring-warning', '1s']);
  try {
    const session = await createSession(server.url);
    const term = await TerminalClient.open(server.url, session);
    const warning = await term.waitForMessage('expiring', 5000);
    assert.ok(Date.parse(warning.at) > Date.now() - 100, 'the warning names when it ends');
    assert.deepEqual(await term.waitForClose(5000), { code: 4008, reason: 'idle_timeout' });
    const res = await fetch(`${server.url}/api/sessions/${session.id}`, {
      headers: { authorization: `Bearer ${session.token}` },
    });
    assert.equal(res.status, 404);
  } finally {
    await server.stop();
  }
});

test('typing keeps a session alive past its idle timeout', async () => {
  const server = await startTestServer(['--idle-timeout', '1200ms', '--expiring-warning', '200ms']);
  try {
    const session = await createSession(server.url);
    const term = await TerminalClient.open(server.url, session);
    for (let i = 0; i < 5; i++) await term.run(`sleep 0.4; echo tick-${i}`);
    assert.equal(term.closed, undefined, 'still open after 2 s of activity');
    term.close();
  } finally {
    await server.stop();
  }
});

test('a session past its lifetime is closed with 4008 session_expired, even while busy', async () => {
  const server = await startTestServer(['--lifetime', '1500ms', '--expiring-warning', '1s']);
  try {
    const session = await createSession(server.url);
    const term = await TerminalClient.open(server.url, session);
    term.type('while true; do echo busy; sleep 0.2; done\r');
    await term.waitForMessage('expiring', 5000);
    assert.deepEqual(await term.waitForClose(5000), { code: 4008, reason: 'session_expired' });
  } finally {
    await server.stop();
  }
});

test('a session with no terminal attached ends after the grace period', async () => {
  const server = await startTestServer(['--grace', '800ms']);
  try {
    const session = await createSession(server.url);
    const term = await TerminalClient.open(server.url, session);
    const pid = await term.run('echo $$').then((r) => Number(/(\d+)/.exec(r.output)?.[1]));
    term.close();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const res = await fetch(`${server.url}/api/sessions/${session.id}`, {
      headers: { authorization: `Bearer ${session.token}` },
    });
    assert.equal(res.status, 404);
    assert.deepEqual(processesInSession(pid), [], 'the shell is gone');
  } finally {
    await server.stop();
  }
});

test('SIGTERM drains: terminals are told, shells and their children end, exit code 0', async () => {
  const server = await startServerProcess(['--cluster', 'none']);
  const { url, child } = server;
  const logs = () => server.logs();
  const sids: number[] = [];
  const terms: TerminalClient[] = [];
  for (let i = 0; i < 2; i++) {
    const session = await createSession(url);
    const term = await TerminalClient.open(url, session);
    // A background job, a job that ignores SIGHUP, and a foreground command.
    await term.run('sleep 4001 & nohup sleep 4002 >/dev/null 2>&1 &');
    term.type('sleep 4003\r');
    await term.waitForMark('command-start');
    const shell = Number(
      /"event":"shell_started","session":"[^"]+","pid":(\d+)/g.exec(
        logs()
          .split('\n')
          .filter((l) => l.includes(session.id))
          .join('\n'),
      )?.[1],
    );
    sids.push(shell);
    terms.push(term);
  }
  for (const sid of sids) assert.ok(processesInSession(sid).length >= 3, 'shell and its jobs run');

  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  child.kill('SIGTERM');
  for (const term of terms) {
    assert.deepEqual(await term.waitForClose(10_000), { code: 1001, reason: 'server_shutdown' });
  }
  assert.equal(await exited, 0);
  // SIGKILL is delivered at once, but a process takes a moment to finish dying.
  for (const sid of sids) {
    for (let i = 0; i < 20 && processesInSession(sid).length > 0; i++) await sleep(100);
    assert.deepEqual(processesInSession(sid), [], `session ${sid} left processes`);
  }
});

test('a start that fails (the port is taken) disposes what it had made', async () => {
  const first = await startTestServer();
  let disposed = 0;
  class WatchedProvider extends NoneProvider {
    override async dispose(): Promise<void> {
      disposed++;
      await super.dispose();
    }
  }
  try {
    const port = new URL(first.url).port;
    await assert.rejects(
      startTestServer(['--port', port, '--screen'], {
        provider: new WatchedProvider('no cluster in this test'),
      }),
      /EADDRINUSE/,
    );
    assert.equal(disposed, 1, 'the provider is disposed once');
    // The first server is untouched.
    const res = await fetch(`${first.url}/api/health`);
    assert.equal(res.status, 200);
  } finally {
    await first.stop();
  }
});

test('without --state-dir, a server makes a folder of its own and removes it when it stops', async () => {
  // os.tmpdir() reads TMPDIR when called: a private one shows only what this server makes.
  const privateTmp = mkdtempSync(join(tmpdir(), 'kn-lifecycle-'));
  const savedTmp = process.env.TMPDIR;
  process.env.TMPDIR = privateTmp;
  try {
    const config = loadConfig({ argv: ['--port', '0', '--cluster', 'none'], env: {} });
    const server = await startSandboxServer(config, {
      log: createLogger(() => {}, 'error'),
      env: { PATH: process.env.PATH },
    });
    try {
      const { id } = await createSession(server.url);
      assert.ok(id);
      assert.equal(readdirSync(privateTmp).length, 1, 'a state folder of its own is made');
    } finally {
      await server.close();
    }
    assert.deepEqual(readdirSync(privateTmp), [], 'the state folder is gone after close');
  } finally {
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
    rmSync(privateTmp, { recursive: true, force: true });
  }
});
