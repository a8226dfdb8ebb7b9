/**
 * The heavy half of the terminal, loaded on the first Run (or when a page opens with the dock
 * already open): xterm.js with its fit and web-links addons, the sandbox connection, and the
 * snippet runner. The dock element owns one of these and disposes it.
 */
import '@xterm/xterm/css/xterm.css';
import { FitAddon } from '@xterm/addon-fit';
import { WebLinksAddon } from '@xterm/addon-web-links';
import { type ITheme, Terminal } from '@xterm/xterm';
import type {
  NamespaceResetMessage,
  RecordMessage,
  ServerMessage,
  TaskMessage,
} from '../../sandbox-server/src/shared/protocol.ts';
import {
  type ConnectionOptions,
  type ConnectionStatus,
  SandboxConnection,
} from './sandbox-connection.ts';
import { type RunJob, type RunResult, SnippetRunner } from './snippet-runner.ts';
import { type WayOutKey, wayOutKey } from './terminal-way-out.ts';

const LIGHT: ITheme = {
  background: '#ffffff',
  foreground: '#1f2328',
  cursor: '#1f2328',
  selectionBackground: '#b6d7ff',
  black: '#24292f',
  red: '#b42318',
  green: '#116329',
  yellow: '#7a4b00',
  blue: '#0550ae',
  magenta: '#8250df',
  cyan: '#1b7c83',
  white: '#6e7781',
  brightBlack: '#57606a',
  brightRed: '#a40e26',
  brightGreen: '#1a7f37',
  brightYellow: '#633c01',
  brightBlue: '#0969da',
  brightMagenta: '#a475f9',
  brightCyan: '#3192aa',
  brightWhite: '#8c959f',
};
const DARK: ITheme = {
  background: '#0d1117',
  foreground: '#e6edf3',
  cursor: '#e6edf3',
  selectionBackground: '#264f78',
};

export interface TerminalSessionEvents {
  status(status: ConnectionStatus): void;
  notice(text: string): void;
  /** a command ended in the shell (its OSC 133 end mark) */
  commandEnd?(): void;
  /** a task's check came back, the session's record after an attach, or a namespace reset */
  progress?(message: TaskMessage | RecordMessage | NamespaceResetMessage): void;
  /** Escape then Tab: move focus out of the terminal; false leaves it to the browser */
  leave?(backward: boolean): boolean;
  /** the id of the element that tells the way out (terminal-way-out.ts) */
  hintId?: string;
}

export class TerminalSession {
  readonly terminal: Terminal;
  readonly #fit = new FitAddon();
  readonly #connection: SandboxConnection;
  readonly #runner: SnippetRunner;
  readonly #decoder = new TextDecoder();
  readonly #encoder = new TextEncoder();
  readonly #observer: MutationObserver;
  readonly #resizeObserver: ResizeObserver;
  readonly #wayOut: WayOutKey;
  #expectReplay = false;
  #whenConnected = deferred();
  #clusterListener: ((message: ServerMessage) => void) | undefined;
  #clusterPanel: Promise<{ show(visible: boolean): void }> | undefined;

  constructor(
    container: HTMLElement,
    base: string,
    events: TerminalSessionEvents,
    fontSize: number,
    /** an instructor's read-only view of another session */
    watch?: { id: string; token: string },
    /** which of the dock's terminals, and its companion (sandbox-connection.ts) */
    options: ConnectionOptions = {},
  ) {
    this.terminal = new Terminal({
      fontSize,
      fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace',
      cursorBlink: true,
      scrollback: 5000,
      theme: theme(),
      allowProposedApi: false,
    });
    this.terminal.loadAddon(this.#fit);
    this.terminal.loadAddon(new WebLinksAddon());
    this.terminal.open(container);
    this.terminal.textarea?.setAttribute('aria-label', 'Terminal input');
    // Said when the terminal takes focus, so a screen reader user knows the way out.
    if (events.hintId) this.terminal.textarea?.setAttribute('aria-describedby', events.hintId);
    this.#fit.fit();

    this.#connection = new SandboxConnection(
      base,
      {
        output: (bytes) => this.#output(bytes),
        message: (message) => this.#message(message, events),
        status: (status) => {
          if (status.state === 'connected') this.#whenConnected.resolve();
          else if (this.#whenConnected.settled) this.#whenConnected = deferred();
          events.status(status);
        },
      },
      watch,
      options,
    );
    this.#runner = new SnippetRunner((text) => this.#connection.input(this.#encoder.encode(text)), {
      onCommandEnd: () => events.commandEnd?.(),
    });
    this.#wayOut = wayOutKey(
      (text) => this.#connection.input(this.#encoder.encode(text)),
      (backward) => events.leave?.(backward) ?? false,
    );
    this.terminal.attachCustomKeyEventHandler((event) => this.#wayOut.handle(event));
    this.terminal.onData((data) => this.#connection.input(this.#encoder.encode(data)));
    this.terminal.onBinary((data) => {
      this.#connection.input(Uint8Array.from(data, (c) => c.charCodeAt(0) & 0xff));
    });
    this.terminal.onResize(({ cols, rows }) => this.#connection.resize(cols, rows));

    // Follow the site's light/dark switch.
    this.#observer = new MutationObserver(() => {
      this.terminal.options.theme = theme();
    });
    this.#observer.observe(document.documentElement, {
      attributes: true,
      attributeFilter: ['data-theme'],
    });
    this.#resizeObserver = new ResizeObserver(() => this.fit());
    this.#resizeObserver.observe(container);
    void this.#connection.connect(this.terminal.cols, this.terminal.rows);
  }

  #output(bytes: Uint8Array): void {
    if (this.#expectReplay) {
      // The replayed screen of a resumed session replaces what this terminal showed.
      this.#expectReplay = false;
      this.terminal.reset();
      this.#runner.reset();
    }
    this.#runner.feed(this.#decoder.decode(bytes, { stream: true }));
    // Acknowledge once xterm has processed the bytes: that is the flow control.
    this.terminal.write(bytes, () => this.#connection.ack(bytes.length));
  }

  #message(message: ServerMessage, events: TerminalSessionEvents): void {
    if (message.type.startsWith('cluster-')) return this.#clusterListener?.(message);
    switch (message.type) {
      case 'ready':
        this.#expectReplay = message.resumed;
        break;
      case 'exit':
        this.terminal.write(
          `\r\n\x1b[2m[the shell exited with code ${message.code}; press Enter for a new one]\x1b[0m\r\n`,
        );
        break;
      case 'expiring':
        events.notice(`This session ends at ${new Date(message.at).toLocaleTimeString()}.`);
        break;
      case 'notice':
        events.notice(message.message);
        break;
      case 'error':
        events.notice(message.message);
        break;
      case 'namespace-reset':
        events.notice(message.message);
        events.progress?.(message);
        break;
      case 'task':
      case 'record':
        events.progress?.(message);
        break;
    }
  }

  /** This terminal's session, once attached: another terminal joins its namespace. */
  async connectedSession(): Promise<{ id: string; token: string } | undefined> {
    void this.#connection.connect(this.terminal.cols, this.terminal.rows);
    await this.#whenConnected.promise;
    return this.#connection.session;
  }

  /** This terminal's session as stored, attached or not (none before the first). */
  get storedSession(): { id: string; token: string } | undefined {
    return this.#connection.session;
  }

  run(job: RunJob): Promise<RunResult> {
    void this.#connection.connect(this.terminal.cols, this.terminal.rows);
    return this.#runner.run(job);
  }

  progress(snippet: string, state: 'running' | 'succeeded' | 'failed', code?: number): void {
    this.#connection.progress(snippet, state, code);
  }

  /** Asks the server to check tasks of a chapter; answers come as `progress` events. */
  check(chapter: string, tasks: string[], variables: Record<string, string>): void {
    this.#connection.send({ type: 'check', chapter, tasks, variables });
  }

  /** Asks the server to reset the participant's namespace (workshops, docs/tasks.md). */
  resetNamespace(): void {
    this.#connection.send({ type: 'reset-namespace' });
  }

  /** Tells the server that a chapter was started clean (docs/tasks.md). */
  reset(page: string, chapter: string): void {
    this.#connection.send({ type: 'reset', page, chapter });
  }

  /** Shows or hides the dock's Cluster panel in `root`, loading it the first time. */
  async showCluster(root: HTMLElement, visible: boolean): Promise<void> {
    this.#clusterPanel ??= import('../cluster-view/cluster-panel.ts').then(
      ({ ClusterPanel }) => new ClusterPanel(root, this),
    );
    (await this.#clusterPanel).show(visible);
  }

  /** The cluster view's messages go to `listener` until the returned function is called. */
  clusterView(listener: (message: ServerMessage) => void): () => void {
    this.#clusterListener = listener;
    this.#connection.setClusterView(true);
    return () => {
      if (this.#clusterListener !== listener) return;
      this.#clusterListener = undefined;
      this.#connection.setClusterView(false);
    };
  }

  setJoinCode(code: string): void {
    this.#connection.setJoinCode(code);
    void this.#connection.connect(this.terminal.cols, this.terminal.rows);
  }

  reconnect(): void {
    void this.#connection.connect(this.terminal.cols, this.terminal.rows);
  }

  /** Ends the session, keeping the terminal; `reconnect` starts the next. */
  async endSession(): Promise<void> {
    this.#whenConnected = deferred();
    await this.#connection.endSession();
    this.terminal.reset();
    this.#runner.reset();
  }

  async newSession(): Promise<void> {
    await this.#connection.endSession();
    this.terminal.reset();
    this.#runner.reset();
    void this.#connection.connect(this.terminal.cols, this.terminal.rows);
  }

  /** A link to one of the session's apps (sandbox-connection.ts). */
  appLink(target: string): Promise<string> {
    return this.#connection.appLink(target);
  }

  fit(): void {
    if (this.terminal.element?.offsetParent === null) return; // hidden: nothing to measure
    this.#fit.fit();
  }

  setFontSize(size: number): void {
    this.terminal.options.fontSize = size;
    this.fit();
  }

  setScreenReaderMode(on: boolean): void {
    this.terminal.options.screenReaderMode = on;
  }

  focus(): void {
    this.terminal.focus();
  }

  dispose(): void {
    this.#wayOut.dispose();
    this.#observer.disconnect();
    this.#resizeObserver.disconnect();
    this.#connection.dispose();
    this.terminal.dispose();
  }
}

function deferred(): { promise: Promise<void>; resolve(): void; settled: boolean } {
  let resolve!: () => void;
  const made = {
    promise: new Promise<void>((r) => {
      resolve = r;
    }),
    settled: false,
    resolve: () => {
      made.settled = true;
      resolve();
    },
  };
  return made;
}

function theme(): ITheme {
  return document.documentElement.dataset.theme === 'light' ? LIGHT : DARK;
}
