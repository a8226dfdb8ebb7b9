// Serves ONE connection of `kubectl port-forward` in the test cluster.
//
// kwok (ClusterPortForward, see cluster.ts) starts this script for every forwarded
// connection, with the connection on stdin/stdout. It answers one HTTP request with a
// page like nginx's default one (guides forward to nginx pods most often) and exits,
// so nothing keeps running between connections.

const page = `<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>This page is served by the kubenotes test cluster: pods there are simulated by kwok,
and every port-forwarded connection gets this answer.</p>
</body>
</html>
`;

let request = Buffer.alloc(0);
let answered = false;

function answer(): void {
  if (answered) return;
  answered = true;
  const head = request.toString('latin1');
  const isHead = head.startsWith('HEAD ');
  const body = Buffer.from(page, 'utf8');
  const response =
    'HTTP/1.1 200 OK\r\n' +
    'Server: nginx (simulated by the kubenotes test cluster)\r\n' +
    `Date: ${new Date().toUTCString()}\r\n` +
    'Content-Type: text/html\r\n' +
    `Content-Length: ${body.length}\r\n` +
    'Connection: close\r\n\r\n';
  process.stdout.write(response);
  if (!isHead) process.stdout.write(body);
  process.stdout.end(() => process.exit(0));
}

process.stdin.on('data', (chunk: Buffer) => {
  request = Buffer.concat([request, chunk]);
  if (request.includes('\r\n\r\n') || request.includes('\n\n') || request.length > 64 * 1024)
    answer();
});
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdout.on('error', () => process.exit(0));
// never linger: a connection that sends nothing is closed after a while
setTimeout(() => process.exit(0), 60_000).unref();
