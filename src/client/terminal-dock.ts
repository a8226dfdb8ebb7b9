/**
 * <kn-terminal-dock>: the terminal docked at the bottom of every page. The markup is in the
 * page (Footer.astro); xterm and the connection load only when the dock first opens. Its
 * state (open, height, font size) is remembered, so the next page reopens it and resumes the
 * same session, and so does a reload.
 */

import { type SandboxStatus, watchSandboxStatus } from './sandbox-status.ts';
import { sandboxUrl } from './sandbox-url.ts';
import type { RunJob, RunResult } from './snippet-runner.ts';
import type { TerminalSession } from './terminal-session.ts';

const KEY = 'kubenotes:dock';
/** px: the least the dock shrinks to, and the least of the window it leaves to the page */
const MIN_HEIGHT = 120;
const ROOM_TO_READ = 200;

interface DockState {
  open: boolean;
  minimized: boolean;
  /** px, as the reader last set it; undefined: the default, a share of the window */
  height: number | undefined;
  fontSize: number;
  screenReader: boolean;
  /** the Cluster panel is open (docs/cluster-view.md) */
  cluster: boolean;
  /** the terminal (tab) shown */
  terminal: number;
  /** the terminals opened, each resumed on the next page */
  terminals: number[];
}

function loadState(): DockState {
  const defaults: DockState = {
    open: false,
    minimized: false,
    height: undefined,
    fontSize: 14,
    screenReader: false,
    cluster: false,
    terminal: 1,
    terminals: [1],
  };
  try {
    return { ...defaults, ...JSON.parse(localStorage.getItem(KEY) ?? '{}') };
  } catch {
    return defaults;
  }
}

export class TerminalDock extends HTMLElement {
  #state = loadState();
  /** each terminal's session, by number, made when first opened */
  readonly #sessions = new Map<number, Promise<TerminalSession>>();
  /** each terminal's connection status, shown for the terminal in view */
  readonly #statusText = new Map<number, string>();
  /** where the reader was on the page before the terminal: Escape, Tab goes back there */
  #cameFrom: HTMLElement | undefined;
  /** the block run last: the reader's place in the chapter */
  #lastRun: string | undefined;

  connectedCallback(): void {
    // Starlight's page columns make a containing block for fixed elements; the dock belongs
    // to the whole window, so it moves to <body> (and is connected again there).
    if (this.parentElement !== document.body) {
      document.body.append(this);
      return;
    }
    if (this.dataset.ready) return;
    this.dataset.ready = 'true';
    this.#knownTerminals();
    this.#applyState();
    this.addEventListener('click', (event) => {
      const button = (event.target as Element | null)?.closest<HTMLButtonElement>(
        'button[data-action]',
      );
      if (button) this.#action(button.dataset.action ?? '');
    });
    this.querySelector('form.kn-join')?.addEventListener('submit', (event) => {
      event.preventDefault();
      const input = this.querySelector<HTMLInputElement>('#kn-join-code');
      const code = input?.value.trim() ?? '';
      if (!code) return;
      this.#joinForm(false);
      void this.session().then((s) => s.setJoinCode(code));
    });
    this.#resizable();
    this.#tabs();
    document.addEventListener('click', (event) => {
      if ((event.target as Element | null)?.closest('[data-open-terminal]')) {
        void this.open().then((session) => session.focus());
      }
    });
    document.addEventListener('focusin', (event) => {
      const target = event.target;
      if (target instanceof HTMLElement && !this.contains(target)) this.#cameFrom = target;
    });
    // The page leaves room for the dock as it really is (a phone caps its height; the bar
    // may wrap), so the end of the page and a block scrolled into view stay above it.
    new ResizeObserver(() => this.#reserveSpace()).observe(this);
    addEventListener('resize', () => this.#reserveSpace());
    watchSandboxStatus((status) => this.#showClusterStatus(status));
    // A page opened with the dock open (navigation, reload) resumes its sessions at once.
    if (this.#state.open) {
      for (const n of this.#state.terminals) void this.session(n);
      void this.open(this.#state.terminal);
    }
    if (this.#state.open && this.#state.cluster) void this.#showCluster(true);
  }

  /** Opens the dock on terminal `n` (the one in view when not given), loading it the first time. */
  async open(n = this.#state.terminal): Promise<TerminalSession> {
    const terminals = this.#state.terminals.includes(n)
      ? this.#state.terminals
      : [...this.#state.terminals, n].sort((a, b) => a - b);
    this.#save({ open: true, minimized: false, terminal: n, terminals });
    return this.session(n);
  }

  session(n = 1): Promise<TerminalSession> {
    const made = this.#sessions.get(n);
    if (made) return made;
    const session = import('./terminal-session.ts').then(({ TerminalSession }) => {
      const screen = this.querySelector<HTMLElement>(`#kn-term-panel-${n}`)!;
      const session = new TerminalSession(
        screen,
        sandboxUrl(),
        {
          status: (status) => {
            let text = '';
            switch (status.state) {
              case 'connecting':
                text = 'Connecting…';
                break;
              case 'connected':
                text = status.resumed ? 'Connected (resumed)' : 'Connected';
                this.dataset.namespace = status.namespace;
                this.#showNamespace(status.namespace);
                this.#joinForm(false);
                break;
              case 'reconnecting':
                text = `${status.why} Reconnecting in ${status.inSeconds} s…`;
                break;
              case 'needs-join-code':
                text = status.why;
                this.#joinForm(true, status.why);
                break;
              case 'ended':
              case 'failed':
                text = status.why;
                break;
            }
            this.#statusText.set(n, text);
            this.querySelector(`#kn-term-tab-${n}`)?.setAttribute('data-connection', status.state);
            if (n === this.#state.terminal) {
              this.#showStatus();
              this.dataset.connection = status.state;
            }
          },
          notice: (message) => {
            const notice = this.querySelector('.kn-dock-notice');
            if (notice) notice.textContent = message;
          },
          // Tasks (task-element.ts) and progress (page-progress.ts) listen on the document.
          commandEnd: () => document.dispatchEvent(new CustomEvent('kubenotes:command-end')),
          progress: (message) =>
            document.dispatchEvent(
              new CustomEvent(`kubenotes:${message.type}`, { detail: message }),
            ),
          hintId: 'kn-dock-hint',
          leave: (backward) => (backward ? false : this.#leaveForward()),
        },
        this.#state.fontSize,
        undefined,
        {
          terminal: n,
          // The second terminal joins the first's namespace; the first, when it needs a new
          // session, joins the namespace the second still holds (docs/protocol.md).
          companion:
            n === 1
              ? () => this.#otherSession()
              : async () => {
                  const first = await this.session(1);
                  return first.connectedSession();
                },
        },
      );
      session.setScreenReaderMode(this.#state.screenReader);
      return session;
    });
    this.#sessions.set(n, session);
    return session;
  }

  /** What was remembered names only terminals this page has (an older page may have had others). */
  #knownTerminals(): void {
    const known = [...this.querySelectorAll<HTMLElement>('[role="tab"]')].map((tab) =>
      Number(tab.dataset.terminal),
    );
    const { terminal, terminals } = this.#state;
    const kept = Array.isArray(terminals) ? terminals.filter((n) => known.includes(n)) : [];
    this.#state.terminals = kept.includes(1) ? kept : [1, ...kept];
    if (!known.includes(terminal)) this.#state.terminal = 1;
  }

  /** A session another terminal than the first holds, if any (not waiting for one). */
  async #otherSession(): Promise<{ id: string; token: string } | undefined> {
    for (const [n, made] of this.#sessions) {
      if (n === 1) continue;
      const stored = (await made).storedSession;
      if (stored) return stored;
    }
    return undefined;
  }

  /** Every terminal made so far. */
  async #all(): Promise<TerminalSession[]> {
    return Promise.all(this.#sessions.values());
  }

  #showStatus(): void {
    const text = this.querySelector('.kn-dock-status');
    if (text) text.textContent = this.#statusText.get(this.#state.terminal) ?? '';
  }

  /**
   * The terminals are tabs (role tablist): the arrow keys, Home and End move between them and
   * show the one they reach; each shows its session, made the first time.
   */
  #tabs(): void {
    const list = this.querySelector<HTMLElement>('[role="tablist"]');
    if (!list) return;
    const tabs = () => [...list.querySelectorAll<HTMLButtonElement>('[role="tab"]')];
    list.addEventListener('click', (event) => {
      const tab = (event.target as Element | null)?.closest<HTMLButtonElement>('[role="tab"]');
      if (tab) void this.open(Number(tab.dataset.terminal));
    });
    list.addEventListener('keydown', (event) => {
      const all = tabs();
      const at = all.indexOf(document.activeElement as HTMLButtonElement);
      if (at < 0) return;
      const to: Record<string, number> = {
        ArrowRight: (at + 1) % all.length,
        ArrowLeft: (at - 1 + all.length) % all.length,
        Home: 0,
        End: all.length - 1,
      };
      const next = to[event.key];
      if (next === undefined) return;
      event.preventDefault();
      all[next]?.focus();
      void this.open(Number(all[next]?.dataset.terminal));
    });
  }

  /** Runs a snippet's commands in its terminal (`term=`), opening and showing it. */
  async run(snippetId: string, job: RunJob, terminal = 1): Promise<RunResult> {
    this.#lastRun = snippetId;
    const session = await this.open(terminal);
    session.fit();
    session.progress(snippetId, 'running');
    const result = await session.run(job);
    session.progress(snippetId, result.ok ? 'succeeded' : 'failed', result.code);
    return result;
  }

  /**
   * Asks the server to check tasks. The terminal opens only when the reader asked (Check):
   * the check after a command must not reopen a dock the reader has just closed.
   */
  async check(
    chapter: string,
    tasks: string[],
    variables: Record<string, string>,
    asked: boolean,
  ): Promise<void> {
    if (asked) await this.open();
    // Through the first terminal's session, whichever is in view (the namespace is one).
    const session = await this.session(1);
    session.check(chapter, tasks, variables);
  }

  /** Runs a chapter's clean-up blocks, whatever their exit codes, then forgets its progress. */
  async startClean(
    page: string,
    chapter: string,
    steps: { id: string; commands: string[] }[],
  ): Promise<void> {
    const session = await this.open(1);
    session.fit();
    for (const step of steps) {
      await session.run({ commands: step.commands, exit: 0, anyExit: true });
    }
    // The server answers a reset with the session's record: then it has forgotten.
    const heard = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 3000);
      document.addEventListener(
        'kubenotes:record',
        () => {
          clearTimeout(timer);
          resolve();
        },
        { once: true },
      );
    });
    session.reset(page, chapter);
    await heard;
  }

  #action(action: string): void {
    switch (action) {
      case 'minimize':
        this.#save({ minimized: !this.#state.minimized });
        break;
      case 'close':
        this.#save({ open: false });
        break;
      case 'font-up':
      case 'font-down': {
        const size = Math.min(
          28,
          Math.max(9, this.#state.fontSize + (action === 'font-up' ? 1 : -1)),
        );
        this.#save({ fontSize: size });
        void this.#all().then((all) => {
          for (const s of all) s.setFontSize(size);
        });
        break;
      }
      case 'screen-reader':
        this.#save({ screenReader: !this.#state.screenReader });
        void this.#all().then((all) => {
          for (const s of all) s.setScreenReaderMode(this.#state.screenReader);
        });
        break;
      case 'new-session':
        void this.#newSessions();
        break;
      case 'reset-namespace':
        void this.#resetNamespace();
        break;
      case 'cluster':
        void this.#showCluster(!this.#state.cluster);
        break;
    }
  }

  /**
   * New session: every terminal's ends (the second first, so the first cannot rejoin it) and
   * each starts again, together in a new namespace.
   */
  async #newSessions(): Promise<void> {
    const all = [...this.#sessions.entries()].sort(([a], [b]) => b - a);
    for (const [, made] of all) await (await made).endSession();
    for (const [, made] of all.reverse()) (await made).reconnect();
  }

  /**
   * "Reset my namespace" (workshops): after the reader confirms, the server deletes what they
   * made in their namespace; its answer says what, in the notice (terminal-session.ts), and
   * the page forgets the progress (page-progress.ts).
   */
  async #resetNamespace(): Promise<void> {
    const namespace = this.querySelector('.kn-dock-namespace')?.textContent || 'your namespace';
    const sure = confirm(
      `Delete everything you made in ${namespace}: Deployments, Pods, Services, ConfigMaps, Jobs and the rest? Your progress on every chapter starts over. This cannot be undone.`,
    );
    if (!sure) return;
    await this.open();
    const session = await this.session(1);
    const notice = this.querySelector('.kn-dock-notice');
    if (notice) notice.textContent = 'Resetting your namespace…';
    session.resetNamespace();
  }

  /** The Cluster panel (src/cluster-view/), loaded by the terminal's chunk on first use. */
  async #showCluster(visible: boolean): Promise<void> {
    this.#save({ cluster: visible });
    await this.open();
    const session = await this.session(1);
    await session.showCluster(this.querySelector('.kn-dock-cluster')!, this.#state.cluster);
  }

  #save(change: Partial<DockState>): void {
    this.#state = { ...this.#state, ...change };
    localStorage.setItem(KEY, JSON.stringify(this.#state));
    this.#applyState();
  }

  #applyState(): void {
    const { open, minimized, height, screenReader, cluster, terminal } = this.#state;
    for (const tab of this.querySelectorAll<HTMLElement>('[role="tab"]')) {
      const shown = Number(tab.dataset.terminal) === terminal;
      tab.setAttribute('aria-selected', String(shown));
      tab.tabIndex = shown ? 0 : -1;
    }
    for (const panel of this.querySelectorAll<HTMLElement>('[role="tabpanel"]')) {
      panel.hidden = Number(panel.dataset.terminal) !== terminal;
    }
    this.#showStatus();
    const connection = this.querySelector<HTMLElement>(`#kn-term-tab-${terminal}`)?.dataset
      .connection;
    if (connection) this.dataset.connection = connection;
    this.toggleAttribute('data-cluster', cluster);
    this.querySelector<HTMLElement>('.kn-dock-cluster')?.toggleAttribute('hidden', !cluster);
    this.querySelector('[data-action="cluster"]')?.setAttribute('aria-pressed', String(cluster));
    this.hidden = !open;
    this.toggleAttribute('data-minimized', minimized);
    if (height === undefined) this.style.removeProperty('--kn-dock-height');
    else this.style.setProperty('--kn-dock-height', `${height}px`);
    this.#reserveSpace();
    this.querySelector('[data-action="minimize"]')?.setAttribute(
      'aria-expanded',
      String(!minimized),
    );
    const minimize = this.querySelector('[data-action="minimize"]');
    if (minimize) minimize.textContent = minimized ? 'Show' : 'Hide';
    this.querySelector('[data-action="screen-reader"]')?.setAttribute(
      'aria-pressed',
      String(screenReader),
    );
    if (open && !minimized) void this.#sessions.get(terminal)?.then((s) => s.fit());
  }

  /**
   * Escape, then Tab in the terminal: back to the reader's place on the page, the Run button
   * of the block run last (Tab from there reaches the next block), or else where focus was.
   */
  #leaveForward(): boolean {
    const lastRun = this.#lastRun
      ? document.querySelector<HTMLElement>(
          `kn-snippet[data-snippet-id="${CSS.escape(this.#lastRun)}"] .kn-run`,
        )
      : null;
    let target = lastRun ?? (this.#cameFrom?.isConnected ? this.#cameFrom : undefined);
    if (!target) {
      target = document.querySelector<HTMLElement>('main') ?? undefined;
      target?.setAttribute('tabindex', '-1');
    }
    if (!target) return false;
    target.focus({ preventScroll: true });
    target.scrollIntoView({ block: 'nearest' });
    return true;
  }

  #reserveSpace(): void {
    const space = this.hidden ? 0 : Math.ceil(this.getBoundingClientRect().height);
    document.documentElement.style.setProperty('--kn-dock-space', `${space}px`);
    const handle = this.querySelector('.kn-dock-resize');
    if (!handle || space === 0) return;
    handle.setAttribute('aria-valuenow', String(space));
    handle.setAttribute('aria-valuemax', String(this.#tallest()));
  }

  /** The dock never takes so much of the window that the page cannot be read. */
  #tallest(): number {
    return Math.max(MIN_HEIGHT, innerHeight - ROOM_TO_READ);
  }

  /**
   * Scrolls `block` (the step just run) into the part of the window the dock leaves free: the
   * whole block if it fits, and its bar with the state in any case.
   */
  reveal(block: HTMLElement): void {
    this.#reserveSpace();
    block.scrollIntoView({ block: 'nearest' });
    block.querySelector('.kn-snippet-bar')?.scrollIntoView({ block: 'nearest' });
  }

  /** The sandbox's cluster, in a few words: whether Run can work, and if not, why. */
  #showClusterStatus(status: SandboxStatus): void {
    const slot = this.querySelector('.kn-dock-cluster-status');
    if (!slot) return;
    let text: string;
    if (!status.reachable) text = 'No sandbox';
    else if (status.clusterReady)
      text = `Cluster ready${status.provider ? ` (${status.provider})` : ''}`;
    else if (status.clusterStarting)
      text = `Cluster starting: ${status.clusterMessage ?? 'being made'}`;
    else text = `No cluster: ${status.clusterMessage ?? 'not ready'}`;
    slot.textContent = text;
    slot.setAttribute('title', text);
    // Only a workshop gives each reader a namespace of their own to reset.
    this.querySelector<HTMLElement>('[data-action="reset-namespace"]')?.toggleAttribute(
      'hidden',
      !(status.reachable && status.mode === 'workshop'),
    );
    this.dataset.clusterState = !status.reachable
      ? 'none'
      : status.clusterReady
        ? 'ready'
        : status.clusterStarting
          ? 'starting'
          : 'not-ready';
  }

  /** In a workshop each participant works in a namespace of their own: say which. */
  #showNamespace(namespace: string): void {
    const slot = this.querySelector('.kn-dock-namespace');
    if (!slot) return;
    slot.textContent = namespace && namespace !== 'default' ? `namespace ${namespace}` : '';
  }

  #joinForm(show: boolean, why?: string): void {
    const form = this.querySelector<HTMLFormElement>('form.kn-join');
    if (!form) return;
    form.hidden = !show;
    const error = form.querySelector('.kn-join-error');
    if (error) error.textContent = why ?? '';
    if (show) form.querySelector<HTMLInputElement>('input')?.focus();
  }

  /**
   * Drag the top edge, or use the arrow keys (Page Up/Down for big steps, Home/End for the
   * extremes) on it, to change the height. Remembered like the rest of the dock's state.
   */
  #resizable(): void {
    const handle = this.querySelector<HTMLElement>('.kn-dock-resize');
    if (!handle) return;
    handle.setAttribute('aria-valuemin', String(MIN_HEIGHT));
    const set = (height: number) => {
      this.#save({ height: Math.round(Math.min(this.#tallest(), Math.max(MIN_HEIGHT, height))) });
    };
    const current = () => this.getBoundingClientRect().height;
    handle.addEventListener('pointerdown', (event) => {
      event.preventDefault();
      handle.setPointerCapture(event.pointerId);
      const move = (e: PointerEvent) => set(innerHeight - e.clientY);
      const up = () => {
        handle.removeEventListener('pointermove', move);
        handle.removeEventListener('pointerup', up);
      };
      handle.addEventListener('pointermove', move);
      handle.addEventListener('pointerup', up);
    });
    handle.addEventListener('keydown', (event) => {
      const steps: Record<string, number> = {
        ArrowUp: 24,
        ArrowDown: -24,
        PageUp: 120,
        PageDown: -120,
        Home: -Infinity,
        End: Infinity,
      };
      const step = steps[event.key];
      if (step === undefined) return;
      event.preventDefault();
      set(current() + step);
    });
  }
}
