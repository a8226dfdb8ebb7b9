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
}

function loadState(): DockState {
  const defaults: DockState = {
    open: false,
    minimized: false,
    height: undefined,
    fontSize: 14,
    screenReader: false,
    cluster: false,
  };
  try {
    return { ...defaults, ...JSON.parse(localStorage.getItem(KEY) ?? '{}') };
  } catch {
    return defaults;
  }
}

export class TerminalDock extends HTMLElement {
  #state = loadState();
  #session: Promise<TerminalSession> | undefined;
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
    // A page opened with the dock open (navigation, reload) resumes the session at once.
    if (this.#state.open) void this.open();
    if (this.#state.open && this.#state.cluster) void this.#showCluster(true);
  }

  /** Opens the dock, loading the terminal the first time. */
  async open(): Promise<TerminalSession> {
    this.#save({ open: true, minimized: false });
    return this.session();
  }

  session(): Promise<TerminalSession> {
    this.#session ??= import('./terminal-session.ts').then(({ TerminalSession }) => {
      const screen = this.querySelector<HTMLElement>('.kn-dock-screen')!;
      const session = new TerminalSession(
        screen,
        sandboxUrl(),
        {
          status: (status) => {
            const text = this.querySelector('.kn-dock-status');
            if (!text) return;
            switch (status.state) {
              case 'connecting':
                text.textContent = 'Connecting…';
                break;
              case 'connected':
                text.textContent = status.resumed ? 'Connected (resumed)' : 'Connected';
                this.dataset.namespace = status.namespace;
                this.#showNamespace(status.namespace);
                this.#joinForm(false);
                break;
              case 'reconnecting':
                text.textContent = `${status.why} Reconnecting in ${status.inSeconds} s…`;
                break;
              case 'needs-join-code':
                text.textContent = status.why;
                this.#joinForm(true, status.why);
                break;
              case 'ended':
              case 'failed':
                text.textContent = status.why;
                break;
            }
            this.dataset.connection = status.state;
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
      );
      session.setScreenReaderMode(this.#state.screenReader);
      return session;
    });
    return this.#session;
  }

  /** Runs a snippet's commands, opening the terminal if needed. */
  async run(snippetId: string, job: RunJob): Promise<RunResult> {
    this.#lastRun = snippetId;
    const session = await this.open();
    session.fit();
    session.progress(snippetId, 'running');
    const result = await session.run(job);
    session.progress(snippetId, result.ok ? 'succeeded' : 'failed', result.code);
    return result;
  }

  /**
   * Asks the server to check tasks. The terminal opens only when the reader asked (Check);
   * after a command it is open already.
   */
  async check(chapter: string, tasks: string[], variables: Record<string, string>): Promise<void> {
    const session = await this.open();
    session.check(chapter, tasks, variables);
  }

  /** Runs a chapter's clean-up blocks, whatever their exit codes, then forgets its progress. */
  async startClean(
    page: string,
    chapter: string,
    steps: { id: string; commands: string[] }[],
  ): Promise<void> {
    const session = await this.open();
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
        void this.#session?.then((s) => s.setFontSize(size));
        break;
      }
      case 'screen-reader':
        this.#save({ screenReader: !this.#state.screenReader });
        void this.#session?.then((s) => s.setScreenReaderMode(this.#state.screenReader));
        break;
      case 'new-session':
        void this.#session?.then((s) => s.newSession());
        break;
      case 'cluster':
        void this.#showCluster(!this.#state.cluster);
        break;
    }
  }

  /** The Cluster panel (src/cluster-view/), loaded by the terminal's chunk on first use. */
  async #showCluster(visible: boolean): Promise<void> {
    this.#save({ cluster: visible });
    const session = await this.open();
    await session.showCluster(this.querySelector('.kn-dock-cluster')!, this.#state.cluster);
  }

  #save(change: Partial<DockState>): void {
    this.#state = { ...this.#state, ...change };
    localStorage.setItem(KEY, JSON.stringify(this.#state));
    this.#applyState();
  }

  #applyState(): void {
    const { open, minimized, height, screenReader, cluster } = this.#state;
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
    if (open && !minimized) void this.#session?.then((s) => s.fit());
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
