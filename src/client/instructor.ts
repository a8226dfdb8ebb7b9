/**
 * <kn-instructor>: the live grid of a workshop, from the admin API's Server-Sent Events (read
 * with fetch, so the token travels in a header, never in a URL). One click watches a
 * participant's terminal read-only.
 */
import type {
  AdminEvent,
  SessionSummary as Summary,
} from '../../sandbox-server/src/shared/protocol.ts';
import { sandboxUrl } from './sandbox-url.ts';
import { classView, standing } from './task-class-view.ts';
import type { TerminalSession } from './terminal-session.ts';

const TOKEN_KEY = 'kubenotes:admin-token';

class Instructor extends HTMLElement {
  readonly #sessions = new Map<string, Summary>();
  #token = '';
  #abort: AbortController | undefined;
  #watching: TerminalSession | undefined;

  connectedCallback(): void {
    const form = this.querySelector<HTMLFormElement>('.kn-admin-login')!;
    const input = this.querySelector<HTMLInputElement>('#kn-admin-token')!;
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.#connect(input.value.trim());
    });
    this.querySelector('.kn-admin-broadcast')?.addEventListener('submit', (event) => {
      event.preventDefault();
      const message = this.querySelector<HTMLInputElement>('#kn-admin-message')!;
      void this.#call('POST', '/api/admin/broadcast', { message: message.value }).then((ok) => {
        if (ok) message.value = '';
      });
    });
    this.querySelector('tbody')?.addEventListener('click', (event) => {
      const button = (event.target as Element).closest<HTMLButtonElement>('button[data-action]');
      const id = button?.closest<HTMLElement>('tr')?.dataset.id;
      if (!button || !id) return;
      if (button.dataset.action === 'watch') void this.#watch(id);
      if (button.dataset.action === 'extend')
        void this.#call('POST', `/api/admin/sessions/${id}/extend`, { minutes: 15 });
      if (
        button.dataset.action === 'end' &&
        confirm(`End session ${id}? Its namespace is deleted.`)
      ) {
        void this.#call('DELETE', `/api/admin/sessions/${id}`);
      }
    });
    this.querySelector('.kn-admin-watch-stop')?.addEventListener('click', () =>
      this.#stopWatching(),
    );
    setInterval(() => this.#render(), 10_000);
    const saved = sessionStorage.getItem(TOKEN_KEY);
    if (saved) void this.#connect(saved);
  }

  #status(text: string): void {
    const status = this.querySelector('.kn-admin-status');
    if (status) status.textContent = text;
  }

  async #connect(token: string): Promise<void> {
    this.#token = token;
    this.#abort?.abort();
    this.#abort = new AbortController();
    this.#status('Connecting…');
    let res: Response;
    try {
      res = await fetch(`${sandboxUrl()}/api/admin/events`, {
        headers: { authorization: `Bearer ${token}` },
        signal: this.#abort.signal,
      });
    } catch (error) {
      this.#status(`The sandbox is not reachable: ${(error as Error).message}`);
      return;
    }
    if (!res.ok || !res.body) {
      const body = await res.json().catch(() => null);
      this.#status(body?.error?.message ?? `The sandbox answered ${res.status}.`);
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, token);
    this.#status('Connected.');
    this.querySelector<HTMLElement>('.kn-admin-live')!.hidden = false;
    this.#sessions.clear();
    void this.#read(res.body).then(() => {
      // The stream ended (a server restart): try again shortly.
      if (!this.#abort?.signal.aborted) setTimeout(() => void this.#connect(this.#token), 3000);
    });
  }

  async #read(body: ReadableStream<Uint8Array>): Promise<void> {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let cut = buffer.indexOf('\n\n');
        while (cut >= 0) {
          this.#onFrame(buffer.slice(0, cut));
          buffer = buffer.slice(cut + 2);
          cut = buffer.indexOf('\n\n');
        }
      }
    } catch {
      // Aborted or dropped.
    }
  }

  #onFrame(frame: string): void {
    const data = /^data: (.*)$/m.exec(frame)?.[1];
    if (!data) return;
    const event = JSON.parse(data) as AdminEvent;
    if (event.type === 'ended') this.#sessions.delete(event.id);
    else this.#sessions.set(event.session.id, event.session);
    this.#render();
  }

  #render(): void {
    const body = this.querySelector('tbody');
    if (!body) return;
    const now = Date.now();
    const rows = [...this.#sessions.values()].sort((a, b) =>
      a.createdAt.localeCompare(b.createdAt),
    );
    body.replaceChildren(
      ...rows.map((s) => {
        const row = document.createElement('tr');
        row.dataset.id = s.id;
        row.dataset.state = s.progress?.state ?? 'idle';
        const idle = Math.round((now - Date.parse(s.lastActiveAt)) / 60_000);
        const cells = [
          s.id,
          s.namespace,
          s.progress?.page ?? '—',
          s.progress
            ? `${s.progress.snippet} ${s.progress.state}${s.progress.code !== undefined ? ` (exit ${s.progress.code})` : ''}`
            : '—',
          tasksCell(s, now),
          `${idle} min${s.attached === 0 ? ', away' : ''}`,
          new Date(s.expiresAt).toLocaleTimeString(),
        ];
        for (const [i, text] of cells.entries()) {
          const cell = document.createElement('td');
          cell.textContent = text;
          if (i === 3) cell.className = 'kn-admin-snippet';
          row.append(cell);
        }
        const actions = document.createElement('td');
        for (const [action, label] of [
          ['watch', 'Watch'],
          ['extend', '+15 min'],
          ['end', 'End'],
        ]) {
          const button = document.createElement('button');
          button.type = 'button';
          button.dataset.action = action;
          button.textContent = label ?? '';
          button.setAttribute('aria-label', `${label} ${s.id}`);
          actions.append(button);
        }
        row.append(actions);
        return row;
      }),
    );
    this.#renderTasks(rows, now);
    const failing = rows.filter((s) => s.progress?.state === 'failed').length;
    const summary = this.querySelector('.kn-admin-summary');
    if (summary)
      summary.textContent = `${rows.length} sessions; ${failing} with a failing snippet.`;
  }

  /** The class view: per task, how many are done, trying, stuck. */
  #renderTasks(rows: Summary[], now: number): void {
    const body = this.querySelector('.kn-admin-tasks tbody');
    if (!body) return;
    body.replaceChildren(
      ...classView(rows, now).map((task) => {
        const row = document.createElement('tr');
        for (const text of [task.task, task.done, task.trying, task.stuck]) {
          const cell = document.createElement('td');
          cell.textContent = String(text);
          row.append(cell);
        }
        // What the participant typed: text only, never markup.
        const command = document.createElement('td');
        command.className = 'kn-admin-command';
        if (task.commonCommand) {
          const code = document.createElement('code');
          code.textContent = task.commonCommand.command;
          command.append(code, ` (${task.commonCommand.count})`);
        } else command.textContent = '—';
        row.append(command);
        if (task.stuck > 0) row.dataset.stuck = 'true';
        return row;
      }),
    );
  }

  async #call(method: string, path: string, body?: unknown): Promise<boolean> {
    const res = await fetch(sandboxUrl() + path, {
      method,
      headers: { authorization: `Bearer ${this.#token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!res.ok) {
      const answer = await res.json().catch(() => null);
      this.#status(answer?.error?.message ?? `The sandbox answered ${res.status}.`);
    }
    return res.ok;
  }

  async #watch(id: string): Promise<void> {
    this.#stopWatching();
    const panel = this.querySelector<HTMLElement>('.kn-admin-watch')!;
    panel.hidden = false;
    panel.querySelector('.kn-admin-watch-id')!.textContent = id;
    // xterm only draws what is on screen.
    panel.scrollIntoView({ block: 'start' });
    const { TerminalSession } = await import('./terminal-session.ts');
    const status = panel.querySelector('.kn-admin-watch-status')!;
    this.#watching = new TerminalSession(
      panel.querySelector<HTMLElement>('.kn-admin-watch-screen')!,
      sandboxUrl(),
      {
        status: (s) => {
          status.textContent = s.state === 'connected' ? 'Connected' : 'why' in s ? s.why : s.state;
        },
        notice: (text) => {
          status.textContent = text;
        },
      },
      13,
      { id, token: this.#token },
    );
  }

  #stopWatching(): void {
    this.#watching?.dispose();
    this.#watching = undefined;
    const panel = this.querySelector<HTMLElement>('.kn-admin-watch');
    if (panel) panel.hidden = true;
  }
}

customElements.define('kn-instructor', Instructor);

/** One participant's tasks: those done, and any they are stuck on. */
function tasksCell(session: Summary, now: number): string {
  const tasks = Object.entries(session.tasks ?? {});
  if (tasks.length === 0) return '—';
  const done = tasks.filter(([, t]) => t.state === 'done').length;
  const stuck = tasks.filter(([, t]) => standing(t, now) === 'stuck').map(([key]) => key);
  return `${done} done${stuck.length > 0 ? `; stuck on ${stuck.join(', ')}` : ''}`;
}
