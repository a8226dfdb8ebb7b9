/**
 * A port nothing listens on now on 127.0.0.1, for tests that must name one (a port-forward, a
 * second server): runs side by side on one machine must never meet on a fixed port.
 */
import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
