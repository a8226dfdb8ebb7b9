/**
 * The screens of every session, parsed off the main thread: the server posts each session's
 * output here and goes on serving sockets; this thread keeps a headless xterm.js per session
 * and serializes it when a terminal resumes. Messages are handled in order, so a serialize
 * sees every write posted before it.
 */
import { parentPort } from 'node:worker_threads';
import serialize from '@xterm/addon-serialize';
import headless from '@xterm/headless';

export type ScreenRequest =
  | { op: 'open'; id: number; cols: number; rows: number; scrollback: number }
  | { op: 'write'; id: number; data: Uint8Array }
  | { op: 'resize'; id: number; cols: number; rows: number }
  | { op: 'serialize'; id: number; request: number }
  | { op: 'close'; id: number };

export type ScreenReply =
  | { op: 'parsed'; id: number; bytes: number }
  | { op: 'serialized'; request: number; text: string };

interface Entry {
  terminal: InstanceType<typeof headless.Terminal>;
  serializer: InstanceType<typeof serialize.SerializeAddon>;
}

const screens = new Map<number, Entry>();
const port = parentPort;
if (!port) throw new Error('screen-worker.ts runs as a worker thread.');
const reply = (message: ScreenReply) => port.postMessage(message);

port.on('message', (message: ScreenRequest) => {
  switch (message.op) {
    case 'open': {
      const terminal = new headless.Terminal({
        cols: message.cols,
        rows: message.rows,
        scrollback: message.scrollback,
        allowProposedApi: true,
      });
      const serializer = new serialize.SerializeAddon();
      terminal.loadAddon(serializer);
      screens.set(message.id, { terminal, serializer });
      return;
    }
    case 'write': {
      const entry = screens.get(message.id);
      const bytes = message.data.length;
      if (!entry) return reply({ op: 'parsed', id: message.id, bytes });
      entry.terminal.write(message.data, () => reply({ op: 'parsed', id: message.id, bytes }));
      return;
    }
    case 'resize':
      screens.get(message.id)?.terminal.resize(message.cols, message.rows);
      return;
    case 'serialize': {
      const entry = screens.get(message.id);
      if (!entry) return reply({ op: 'serialized', request: message.request, text: '' });
      // An empty write completes after every write queued before it.
      entry.terminal.write('', () => {
        // The session may have ended (its screen closed) meanwhile: serializing a disposed
        // terminal touches freed state (reliability suite, token-hygiene scenario: an attach
        // right before a DELETE made xterm report a leak from this thread).
        const text = screens.get(message.id) === entry ? entry.serializer.serialize() : '';
        reply({ op: 'serialized', request: message.request, text });
      });
      return;
    }
    case 'close':
      screens.get(message.id)?.terminal.dispose();
      screens.delete(message.id);
      return;
  }
});
