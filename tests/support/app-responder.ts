/**
 * A stand-in for a reader's web app, for the app route's tests on the test cluster. Pods there
 * are simulated (kwok) and their IPs answer nothing, and the API server proxies to no loopback
 * address; so a test points a Pod's IP at this machine's own address (`hostAddress()`), where
 * this responder listens, and the API server's proxy reaches it as it would a real Pod.
 *
 * It misbehaves on purpose: cookies, a Refresh to the API, Clear-Site-Data, HSTS, an absolute
 * link; `/slow` never answers; `/echo` shows what reached it; `/storage` tries to read the
 * sandbox origin's localStorage and puts what it found in its title.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CoreV1Api,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';

/** This machine's first non-loopback IPv4 address: what the API server may proxy to. */
export function hostAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const info of list ?? []) {
      if (info.family === 'IPv4' && !info.internal && !info.address.startsWith('169.254.')) {
        return info.address;
      }
    }
  }
  return undefined;
}

export interface AppResponder {
  port: number;
  /** every request path it received */
  paths: string[];
  close(): Promise<void>;
}

export async function startAppResponder(address: string, marker: string): Promise<AppResponder> {
  const paths: string[] = [];
  const server: Server = createServer((req, res) => {
    paths.push(req.url ?? '');
    const path = req.url ?? '/';
    if (path.startsWith('/slow')) return; // never answers
    if (path.startsWith('/echo')) {
      const body = JSON.stringify({ marker, url: req.url, headers: req.headers });
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
      return;
    }
    if (path.startsWith('/big')) {
      // 17 MiB: over the route's bound, declared (binary) or not (chunked HTML).
      const html = path.startsWith('/bightml');
      res.writeHead(200, {
        'content-type': html ? 'text/html' : 'application/octet-stream',
        ...(html ? {} : { 'content-length': String(17 * 1024 * 1024) }),
      });
      const chunk = Buffer.alloc(1024 * 1024, 'a');
      let sent = 0;
      const more = () => {
        while (sent < 17 && res.write(chunk)) sent++;
        if (sent < 17)
          res.once('drain', () => {
            sent++;
            more();
          });
        else res.end();
      };
      more();
      res.on('error', () => undefined);
      return;
    }
    if (path.startsWith('/redirect')) {
      res.writeHead(302, { location: '/landing' }).end();
      return;
    }
    if (path.startsWith('/storage')) {
      res.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html>
<title>pending</title>
<script>
  try {
    document.title = 'read:' + String(localStorage.getItem('kubenotes-secret'));
  } catch (error) {
    document.title = 'blocked:' + error.name;
  }
</script>`);
      return;
    }
    const page = `<!doctype html>
<html><head><title>${marker}</title><link rel="stylesheet" href="/style.css"></head>
<body><h1>Hello from ${marker}</h1><p>path ${escapeHtml(path)}</p><a href="/about">About</a></body></html>`;
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'set-cookie': ['session=stolen; Path=/', 'other=1; Domain=127.0.0.1'],
      refresh: '0; url=/api/sessions',
      'clear-site-data': '"*"',
      'strict-transport-security': 'max-age=31536000',
      link: '</evil.js>; rel=preload; as=script',
      'x-frame-options': 'DENY',
      'access-control-allow-origin': '*',
      'content-security-policy': 'sandbox allow-same-origin allow-scripts',
    });
    res.end(page);
  });
  await new Promise<void>((resolve) => server.listen(0, address, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    paths,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * A Pod (simulated) whose IP is this machine's `address`, and a Service `name` in front of it
 * whose port 80 (named http) goes to `targetPort` there.
 */
export async function deployApp(
  admin: KubeConfig,
  namespace: string,
  name: string,
  targetPort: number,
  address: string,
): Promise<void> {
  const core = admin.makeApiClient(CoreV1Api);
  await core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name, labels: { app: name } },
      spec: { containers: [{ name: 'web', image: 'nginx:1.29-alpine' }] },
    },
  });
  for (let i = 0; ; i++) {
    const pod = await core.readNamespacedPod({ name, namespace });
    if (pod.status?.phase === 'Running' && pod.status.podIP) break;
    if (i > 100) throw new Error(`pod ${namespace}/${name} did not start`);
    await sleep(200);
  }
  // kwok gave it an address from a range nothing answers on: point it at the responder's.
  await core.patchNamespacedPodStatus(
    {
      name,
      namespace,
      body: { status: { podIP: address, podIPs: [{ ip: address }] } },
    },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  await core.createNamespacedService({
    namespace,
    body: {
      metadata: { name },
      spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort }] },
    },
  });
  // The proxy goes by the Service's Endpoints: wait until they hold the new address.
  for (let i = 0; ; i++) {
    const endpoints = await core
      .readNamespacedEndpoints({ name, namespace })
      .catch(() => undefined);
    if (endpoints?.subsets?.[0]?.addresses?.[0]?.ip === address) break;
    if (i > 100) throw new Error(`no endpoints for ${namespace}/${name}`);
    await sleep(200);
  }
}
