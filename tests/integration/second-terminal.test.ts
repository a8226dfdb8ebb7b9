/**
 * A participant's second terminal (the dock's Terminal 2, a block's `term=2`): a session of its
 * own in the namespace of their first, admitted by that session's token instead of a join
 * code; at most TERMINALS per participant; the namespace stays while any of them lives; and
 * one localhost for both (the Pods chapter's port-forward in Terminal 1, curl in Terminal 2),
 * which no other participant shares.
 * Against the test cluster's real API server, in workshop mode with sandboxed shells.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { TERMINALS } from '../../sandbox-server/src/shared/protocol.ts';
import { createSession, endSession, plain, TerminalClient } from '../support/terminal-client.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import {
  kubeconfig,
  noTestCluster,
  runRestrictedPod,
  shellPath,
  workshopArgs,
} from '../support/workshop-server.ts';

const JOIN = 'two-terms';

interface Answer {
  id: string;
  token: string;
  namespace: string;
  error: { code: string; message: string };
}

async function post(url: string, body: unknown): Promise<{ status: number; body: Answer }> {
  const res = await fetch(`${url}/api/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

/** The namespace is there and not on its way out. */
async function namespaceLives(name: string): Promise<boolean> {
  const config = new KubeConfig();
  config.loadFromFile(kubeconfig ?? '');
  try {
    const ns = await config.makeApiClient(CoreV1Api).readNamespace({ name });
    return ns.status?.phase !== 'Terminating';
  } catch {
    return false;
  }
}

describe('a second terminal', { skip: noTestCluster }, () => {
  let server: TestServer;
  before(async () => {
    const instance = `t2${Date.now().toString(36)}`;
    server = await startTestServer(
      workshopArgs(instance, JOIN, ['--join-code', 'seat-code:1', '--max-sessions', '6']),
      { env: { PATH: shellPath } },
    );
  });
  after(() => server?.stop());

  test('joins the first one’s namespace, with no join code and no seat of its own', async () => {
    // A code with one seat: the second terminal must not need a second seat.
    const first = await createSession(server.url, { joinCode: 'seat-code' });
    const second = await post(server.url, { with: { id: first.id, token: first.token } });
    assert.equal(second.status, 201, JSON.stringify(second.body));
    assert.equal(second.body.namespace, first.namespace);
    const other = await post(server.url, { joinCode: 'seat-code' });
    assert.equal(other.status, 403, 'the seat is still the one participant’s');

    // What one terminal makes, the other sees: one namespace, two sets of credentials.
    const one = await TerminalClient.open(server.url, first, { cols: 160 });
    const two = await TerminalClient.open(server.url, second.body, { cols: 160 });
    const made = await two.run('kubectl create configmap from-terminal-two --from-literal=a=b');
    assert.equal(made.exitCode, 0, plain(made.output));
    const seen = await one.run('kubectl get configmap from-terminal-two -o name');
    assert.equal(seen.exitCode, 0, plain(seen.output));
    assert.match(plain(seen.output), /configmap\/from-terminal-two/);
    one.close();
    two.close();
    await endSession(server.url, first);
    await endSession(server.url, second.body);
  });

  test(`at most ${TERMINALS} terminals per participant; a wrong token is refused`, async () => {
    const first = await createSession(server.url, { joinCode: JOIN });
    const second = await post(server.url, { with: { id: first.id, token: first.token } });
    assert.equal(second.status, 201);
    // Through either terminal, and two at once: never a third.
    const thirds = await Promise.all([
      post(server.url, { with: { id: first.id, token: first.token } }),
      post(server.url, { with: { id: second.body.id, token: second.body.token } }),
    ]);
    for (const third of thirds) {
      assert.equal(third.status, 409, JSON.stringify(third.body));
      assert.equal(third.body.error.code, 'terminals_full');
      assert.match(third.body.error.message, new RegExp(`${TERMINALS} terminals already`));
    }
    const wrong = await post(server.url, { with: { id: first.id, token: 'x'.repeat(43) } });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error.code, 'bad_token');
    const gone = await post(server.url, { with: { id: 'no-such-session', token: 'x' } });
    assert.equal(gone.status, 404);
    await endSession(server.url, first);
    await endSession(server.url, second.body);
  });

  test('the namespace stays while either terminal lives, and goes with the last', async () => {
    const first = await createSession(server.url, { joinCode: JOIN });
    const second = await post(server.url, { with: { id: first.id, token: first.token } });
    assert.equal(second.status, 201);
    const { namespace } = first;
    assert.equal((await endSession(server.url, first)).status, 204);
    assert.ok(await namespaceLives(namespace), 'the second terminal still works in it');
    const two = await TerminalClient.open(server.url, second.body);
    const still = await two.run('kubectl get configmaps -o name');
    assert.equal(still.exitCode, 0, plain(still.output));
    two.close();
    // Terminal 1 comes back (a new session) through terminal 2: the same namespace again.
    const again = await post(server.url, {
      with: { id: second.body.id, token: second.body.token },
    });
    assert.equal(again.status, 201);
    assert.equal(again.body.namespace, namespace);
    await endSession(server.url, second.body);
    assert.ok(await namespaceLives(namespace));
    await endSession(server.url, again.body);
    assert.equal(await namespaceLives(namespace), false, 'the last terminal took it along');
  });

  test('one localhost for both terminals, and no one else’s', async () => {
    const first = await createSession(server.url, { joinCode: JOIN });
    const second = await post(server.url, { with: { id: first.id, token: first.token } });
    assert.equal(second.status, 201, JSON.stringify(second.body));
    const stranger = await createSession(server.url, { joinCode: JOIN });
    const one = await TerminalClient.open(server.url, first, { cols: 160 });
    const two = await TerminalClient.open(server.url, second.body, { cols: 160 });
    const other = await TerminalClient.open(server.url, stranger, { cols: 160 });

    // Terminal 1 holds a listener on localhost, as `kubectl port-forward` does.
    const listening = await one.run(
      "socat TCP-LISTEN:8088,bind=127.0.0.1,fork,reuseaddr SYSTEM:'echo hello from terminal one' & " +
        'until (exec 3<>/dev/tcp/127.0.0.1/8088) 2>/dev/null; do sleep 0.05; done',
    );
    assert.equal(listening.exitCode, 0, plain(listening.output));
    const reached = await two.run('socat -T2 - TCP:127.0.0.1:8088 </dev/null');
    assert.equal(reached.exitCode, 0, plain(reached.output));
    assert.match(plain(reached.output), /hello from terminal one/);
    const refused = await other.run('socat -T2 - TCP:127.0.0.1:8088 </dev/null');
    assert.notEqual(refused.exitCode, 0, plain(refused.output));
    assert.match(plain(refused.output), /Connection refused/);
    // Each terminal's kubectl goes through its own relay, on its own port of that localhost.
    for (const terminal of [one, two, other]) {
      const listed = await terminal.run('kubectl get configmaps -o name');
      assert.equal(listed.exitCode, 0, plain(listed.output));
    }
    one.close();
    other.close();

    // Terminal 1 ends (its listener with it); Terminal 2's localhost and kubectl go on.
    assert.equal((await endSession(server.url, first)).status, 204);
    const gone = await two.run('socat -T2 - TCP:127.0.0.1:8088 </dev/null');
    assert.match(plain(gone.output), /Connection refused/, 'terminal one’s listener ended with it');
    const still = await two.run('kubectl get configmaps -o name');
    assert.equal(still.exitCode, 0, plain(still.output));
    const own = await two.run(
      "socat TCP-LISTEN:8089,bind=127.0.0.1,fork,reuseaddr SYSTEM:'echo still here' & " +
        'until (exec 3<>/dev/tcp/127.0.0.1/8089) 2>/dev/null; do sleep 0.05; done; ' +
        'socat -T2 - TCP:127.0.0.1:8089 </dev/null',
    );
    assert.match(plain(own.output), /still here/);
    two.close();
    await endSession(server.url, second.body);
    await endSession(server.url, stranger);
  });

  test('the Pods chapter in a workshop: port-forward held in Terminal 1, curl from Terminal 2', async () => {
    const first = await createSession(server.url, { joinCode: JOIN });
    const second = await post(server.url, { with: { id: first.id, token: first.token } });
    assert.equal(second.status, 201, JSON.stringify(second.body));
    const one = await TerminalClient.open(server.url, first, { cols: 400 });
    const two = await TerminalClient.open(server.url, second.body, { cols: 400 });
    const made = await one.run(
      `${runRestrictedPod('web', [8080])} && kubectl wait --for=condition=Ready pod/web --timeout=60s`,
      90_000,
    );
    assert.equal(made.exitCode, 0, plain(made.output));
    const forwarding = await one.run(
      'kubectl port-forward pod/web 8088:8080 > "$HOME/forward.log" 2>&1 & ' +
        'until grep -q "Forwarding from 127.0.0.1:8088" "$HOME/forward.log"; do sleep 0.1; done',
      60_000,
    );
    assert.equal(forwarding.exitCode, 0, plain(forwarding.output));
    const page = await two.run(
      "curl -s http://localhost:8088/ | grep -o 'Welcome to nginx!'",
      30_000,
    );
    assert.equal(page.exitCode, 0, plain(page.output));
    assert.match(plain(page.output), /Welcome to nginx!/);
    one.close();
    two.close();
    await endSession(server.url, first);
    await endSession(server.url, second.body);
  });
});
