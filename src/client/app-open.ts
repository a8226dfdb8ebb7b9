/**
 * "Open what you deployed": an Open button next to a block with `open="svc/<name>:80"` (and the
 * <kn-open-app> element an MDX page can place anywhere) shows the reader's app in a pane of the
 * terminal dock, and offers it in a new tab. Both use a link the sandbox makes for that one
 * app (POST /api/sessions/:id/apps); the app is served with `Content-Security-Policy: sandbox`
 * and the iframe is sandboxed too (never `allow-same-origin`), so the app never runs with the
 * guide's origin.
 */
import { parseAppTarget } from '../../sandbox-server/src/shared/app-target.ts';
import { fillPlaceholders } from '../snippets/placeholders.ts';
import type { TerminalDock } from './terminal-dock.ts';
import { onVariablesChanged, pageSpecs, variableValues } from './variables-store.ts';

const IFRAME_SANDBOX = 'allow-scripts allow-forms allow-popups';

/** `svc/<name>:80` with the reader's values, checked; or what is wrong with them. */
function fillTarget(raw: string): { ok: true; target: string } | { ok: false; message: string } {
  const specs = pageSpecs();
  const filled = fillPlaceholders(raw, variableValues(specs), specs);
  if (!filled.ok) return { ok: false, message: filled.errors.map((e) => e.message).join(' ') };
  const parsed = parseAppTarget(filled.text);
  return parsed.ok ? { ok: true, target: filled.text } : { ok: false, message: `${parsed.error}.` };
}

/** Opens the app in the dock's pane; resolves with a sentence for the reader's status line. */
export async function openApp(raw: string): Promise<string> {
  const filled = fillTarget(raw);
  if (!filled.ok) return filled.message;
  const dock = document.querySelector<TerminalDock>('kn-terminal-dock');
  if (!dock) return 'This page has no terminal dock.';
  try {
    const session = await dock.open();
    const url = await session.appLink(filled.target);
    paneOf(dock).show(filled.target, url, () => session.appLink(filled.target));
    return `Opened ${filled.target} below`;
  } catch (error) {
    return `Could not open ${filled.target}: ${(error as Error).message}`;
  }
}

function paneOf(dock: TerminalDock): AppPane {
  const existing = dock.querySelector<AppPane>('kn-app-pane');
  if (existing) return existing;
  const pane = document.createElement('kn-app-pane') as AppPane;
  (dock.querySelector('.kn-dock') ?? dock).append(pane);
  return pane;
}

/** The pane in the dock: the app in a sandboxed iframe, a new-tab link, reload and close. */
export class AppPane extends HTMLElement {
  #relink: (() => Promise<string>) | undefined;

  connectedCallback(): void {
    if (this.childElementCount > 0) return;
    this.setAttribute('role', 'region');
    this.innerHTML = `<div class="kn-app-bar">
  <h3 class="kn-app-title"></h3>
  <a class="kn-app-tab" target="_blank" rel="noopener noreferrer">Open in a new tab</a>
  <button type="button" data-app-action="reload">Reload</button>
  <button type="button" data-app-action="close" aria-label="Close the app">✕</button>
</div>
<iframe sandbox="${IFRAME_SANDBOX}" referrerpolicy="no-referrer"></iframe>`;
    this.addEventListener('click', (event) => {
      const action = (event.target as Element | null)?.closest<HTMLElement>('[data-app-action]')
        ?.dataset.appAction;
      if (action === 'close') this.close();
      if (action === 'reload') void this.#reload();
    });
  }

  show(target: string, url: string, relink: () => Promise<string>): void {
    this.#relink = relink;
    this.hidden = false;
    this.setAttribute('aria-label', `App ${target}`);
    this.querySelector('.kn-app-title')!.textContent = target;
    this.querySelector<HTMLAnchorElement>('.kn-app-tab')!.href = url;
    const frame = this.#frame();
    frame.title = `App ${target}`;
    frame.src = url;
    this.closest('kn-terminal-dock')?.setAttribute('data-app', target);
  }

  close(): void {
    this.hidden = true;
    this.#frame().src = 'about:blank';
    this.closest('kn-terminal-dock')?.removeAttribute('data-app');
  }

  /** A fresh link each time (links expire), so Reload also works after a break. */
  async #reload(): Promise<void> {
    if (!this.#relink) return;
    const url = await this.#relink().catch(() => undefined);
    if (!url) return;
    this.querySelector<HTMLAnchorElement>('.kn-app-tab')!.href = url;
    this.#frame().src = url;
  }

  #frame(): HTMLIFrameElement {
    return this.querySelector('iframe')!;
  }
}

/** Adds "Open" to a snippet whose fence has `open=…`. */
export function addOpenButton(snippet: HTMLElement): void {
  const raw = snippet.dataset.open;
  const bar = snippet.querySelector('.kn-snippet-bar');
  if (!raw || !bar) return;
  const button = openButton(raw, (message) => {
    const status = snippet.querySelector('.kn-status');
    if (status) status.textContent = message;
  });
  bar.insertBefore(button, snippet.querySelector('.kn-status'));
}

function openButton(raw: string, report: (message: string) => void): HTMLButtonElement {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'kn-open';
  button.textContent = 'Open';
  const label = () => {
    const filled = fillTarget(raw);
    button.setAttribute('aria-label', `Open ${filled.ok ? filled.target : raw} in a pane below`);
  };
  label();
  onVariablesChanged(label);
  button.addEventListener('click', async () => {
    button.disabled = true;
    report(`Opening…`);
    report(await openApp(raw));
    button.disabled = false;
  });
  return button;
}

/** `<kn-open-app data-open="svc/<name>:80">`: an Open button anywhere in a page (OpenApp.astro). */
export class OpenAppElement extends HTMLElement {
  connectedCallback(): void {
    const raw = this.dataset.open;
    if (!raw || this.querySelector('button')) return;
    const status = document.createElement('span');
    status.className = 'kn-status';
    status.setAttribute('role', 'status');
    this.append(
      openButton(raw, (message) => {
        status.textContent = message;
      }),
      status,
    );
  }
}
