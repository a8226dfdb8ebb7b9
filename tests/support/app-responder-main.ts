/**
 * The stand-in app itself, run inside the app network's namespace (tests/support/app-network.ts)
 * by tests/support/app-responder.ts: `app-responder-main.ts ADDRESS MARKER`. It listens on
 * ADDRESS, a free port, says `{"port":N}` on stdout, then `{"path":…}` for every request, and
 * ends when its stdin closes (the test that started it is gone).
 *
 * It misbehaves on purpose: cookies, a Refresh to the API, Clear-Site-Data, HSTS, an absolute
 * link; `/slow` never answers; `/echo` shows what reached it; `/storage` tries to read the
 * sandbox origin's localStorage and puts what it found in its title.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const [address = '', marker = ''] = process.argv.slice(2);

const server: Server = createServer((req, res) => {
  // one line per request, for the test's `paths`
  process.stdout.write(`${JSON.stringify({ path: req.url ?? '' })}\n`);
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
server.listen(0, address, () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
