/**
 * The cluster view's watches against a stand-in API server that answers as a real one does:
 * a list, a watch that the server ends (resumed from the last resourceVersion, without a new
 * list), then 410 Gone (a new list, compared with what was known).
 */
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { ClusterFeed } from '../../../sandbox-server/src/cluster-view/cluster-feed.ts';
import { ClusterViews } from '../../../sandbox-server/src/cluster-view/cluster-views.ts';
import type { Attachment } from '../../../sandbox-server/src/session/attachment.ts';
import type { ClusterChange } from '../../../sandbox-server/src/shared/cluster-objects.ts';
import type { ServerMessage } from '../../../sandbox-server/src/shared/protocol.ts';
import { createLogger } from '../../../sandbox-server/src/telemetry/log.ts';

const pod = (name: string, rv: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name,
    namespace: 'mine',
    uid: `uid-${name}`,
    resourceVersion: rv,
    labels: { app: 'web' },
  },
  spec: { containers: [{ name: 'app' }] },
  status: { phase: 'Running' },
});

const RESOURCES: Record<string, { name: string; kind: string }[]> = {
  '/api/v1': [
    { name: 'pods', kind: 'Pod' },
    { name: 'services', kind: 'Service' },
    { name: 'events', kind: 'Event' },
  ],
  '/apis/apps/v1': [
    { name: 'deployments', kind: 'Deployment' },
    { name: 'replicasets', kind: 'ReplicaSet' },
  ],
  '/apis/discovery.k8s.io/v1': [{ name: 'endpointslices', kind: 'EndpointSlice' }],
};

/** What the stand-in was asked, in order: `list pods` or `watch pods from 10`. */
const asked: string[] = [];
let podLists = 0;
let podWatches = 0;
const open = new Set<ServerResponse>();
const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  const path = url.pathname;
  const json = (body: unknown) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  if (RESOURCES[path]) {
    return json({
      kind: 'APIResourceList',
      groupVersion: path.replace(/^\/apis?\//, ''),
      resources: RESOURCES[path]!.map((r) => ({
        ...r,
        namespaced: true,
        singularName: '',
        verbs: ['list', 'watch'],
      })),
    });
  }
  if (req.headers.authorization === 'Bearer denied') {
    res.writeHead(403, { 'content-type': 'application/json' });
    return res.end(
      JSON.stringify({
        kind: 'Status',
        code: 403,
        reason: 'Forbidden',
        message: 'pods is forbidden',
      }),
    );
  }
  const isPods = path.endsWith('/pods');
  const watch = url.searchParams.get('watch') === 'true';
  if (!watch) {
    if (!isPods) return json({ metadata: { resourceVersion: '1' }, items: [] });
    asked.push('list pods');
    podLists++;
    // First list: a and b. After the 410: a and c (b was deleted meanwhile, c created).
    return json(
      podLists === 1
        ? { metadata: { resourceVersion: '10' }, items: [pod('a', '5'), pod('b', '6')] }
        : { metadata: { resourceVersion: '30' }, items: [pod('a', '5'), pod('c', '25')] },
    );
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  if (!isPods) {
    open.add(res);
    return;
  }
  asked.push(`watch pods from ${url.searchParams.get('resourceVersion')}`);
  podWatches++;
  if (podWatches === 1) {
    // A change, then the server ends the watch (its timeout): the next resumes from 11.
    res.end(
      `${JSON.stringify({ type: 'MODIFIED', object: { ...pod('a', '11'), status: { phase: 'Failed' } } })}\n`,
    );
  } else if (podWatches === 2) {
    res.end(
      `${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } })}\n`,
    );
  } else {
    open.add(res);
  }
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
after(() => {
  for (const res of open) res.destroy();
  server.close();
});

function config(token = 'x'): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [
      {
        name: 'c',
        server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        skipTLSVerify: true,
      },
    ],
    users: [{ name: 'u', token }],
    contexts: [{ name: 'c', cluster: 'c', user: 'u', namespace: 'mine' }],
    currentContext: 'c',
  });
  return kc;
}

test('a watch the server ends resumes from its resourceVersion; 410 Gone lists again and reconciles', async () => {
  const feed = new ClusterFeed({
    config: config(),
    namespace: 'mine',
    accepts: (ns) => ns === 'mine',
    log: createLogger(() => undefined, 'error'),
    counters: { lists: 0, watches: 0 },
  });
  try {
    await feed.ready();
    assert.deepEqual(
      feed
        .snapshot('mine')
        .objects.map((o) => o.name)
        .sort(),
      ['a', 'b'],
    );
    const changes: ClusterChange[] = [];
    feed.listen('mine', { changed: (c) => changes.push(c), event: () => undefined });
    for (let i = 0; i < 100 && podLists < 2; i++) await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; i < 100 && !changes.some((c) => c.op === 'delete'); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(asked.slice(0, 4), [
      'list pods',
      'watch pods from 10',
      'watch pods from 11',
      'list pods',
    ]);
    assert.deepEqual(
      feed
        .snapshot('mine')
        .objects.map((o) => o.name)
        .sort(),
      ['a', 'c'],
      'after the re-list: b gone, c there',
    );
    assert.ok(
      changes.some((c) => c.op === 'delete' && c.uid === 'uid-b'),
      'b deleted',
    );
    assert.ok(
      changes.some((c) => c.op === 'put' && c.object.name === 'c'),
      'c put',
    );
  } finally {
    feed.dispose();
  }
});

test("workshop: the shared feed shows a session its namespace only if the session's own credentials may list it", async () => {
  const views = new ClusterViews({
    shared: { config: config(), accepts: (ns) => ns === 'mine' },
    log: createLogger(() => undefined, 'error'),
  });
  const socket = () => {
    const sent: ServerMessage[] = [];
    return {
      sent,
      attachment: {
        closed: false,
        send: (m: ServerMessage) => sent.push(m),
      } as unknown as Attachment,
    };
  };
  try {
    const allowed = socket();
    const refused = socket();
    views.subscribe({ id: 'a', namespace: 'mine', apiAccess: config() }, allowed.attachment);
    views.subscribe(
      { id: 'b', namespace: 'mine', apiAccess: config('denied') },
      refused.attachment,
    );
    for (let i = 0; i < 100 && (allowed.sent.length === 0 || refused.sent.length === 0); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(allowed.sent[0]?.type, 'cluster-snapshot');
    assert.deepEqual(
      refused.sent.map((m) => m.type),
      ['cluster-unavailable'],
      'no snapshot for credentials that may not list the namespace',
    );
    assert.match(JSON.stringify(refused.sent[0]), /may not list the Pods of mine/);
    assert.equal(views.subscribers, 1);
  } finally {
    views.dispose();
  }
});
