/**
 * The dock's Cluster panel (docs/cluster-view.md), loaded the first time the reader opens it:
 * the namespace as the ownership tree (cluster-svg.ts), redrawn as changes arrive; a selector
 * box whose matches are highlighted (the API server's own selector grammar); hovering or
 * focusing a Deployment, ReplicaSet or Service highlights the Pods its selector matches, and
 * Enter puts that selector in the box; the same data as a table; the recent events.
 */
import './cluster-panel.css';
import {
  ClusterModel,
  clusterTree,
  selectedPods,
} from '../../sandbox-server/src/shared/cluster-model.ts';
import type { ClusterObject, PodView } from '../../sandbox-server/src/shared/cluster-objects.ts';
import { parseSelector } from '../../sandbox-server/src/shared/label-selector.ts';
import type { ServerMessage } from '../../sandbox-server/src/shared/protocol.ts';
import type { TerminalSession } from '../client/terminal-session.ts';
import { deploymentDetail, podPhase, renderClusterSvg, serviceDetail } from './cluster-svg.ts';

const MARKUP = `
<div class="kn-cv-tools">
  <label for="kn-cv-selector">Highlight Pods matching</label>
  <input id="kn-cv-selector" type="text" autocomplete="off" spellcheck="false"
    placeholder="app=web,track!=canary" aria-describedby="kn-cv-selector-status" />
  <p id="kn-cv-selector-status" class="kn-cv-selector-status" aria-live="polite"></p>
  <p class="kn-cv-hint">Point at or focus a Deployment, ReplicaSet or Service to highlight the Pods its selector matches; click or Enter keeps it.</p>
</div>
<p class="kn-cv-state" role="status"></p>
<div class="kn-cv-picture"></div>
<details class="kn-cv-table-box">
  <summary>The same as a table</summary>
  <table class="kn-cv-table">
    <caption>Objects in the namespace, owners before what they own</caption>
    <thead><tr><th scope="col">Kind</th><th scope="col">Name</th><th scope="col">Owner</th>
      <th scope="col">Status</th><th scope="col">Labels</th><th scope="col">Matches</th></tr></thead>
    <tbody></tbody>
  </table>
</details>
<h3 class="kn-cv-events-title">Recent events</h3>
<ol class="kn-cv-events"></ol>`;

export class ClusterPanel {
  readonly #root: HTMLElement;
  readonly #session: TerminalSession;
  readonly #model = new ClusterModel();
  readonly #picture: HTMLElement;
  readonly #input: HTMLInputElement;
  readonly #status: HTMLElement;
  readonly #state: HTMLElement;
  readonly #resize: ResizeObserver;
  #stop: (() => void) | undefined;
  /** the owner hovered or focused: its selector's Pods are highlighted meanwhile */
  #transient: string | undefined;
  #frame = 0;
  #width = 0;
  #loaded = false;

  constructor(root: HTMLElement, session: TerminalSession) {
    this.#root = root;
    this.#session = session;
    root.innerHTML = MARKUP;
    this.#picture = root.querySelector('.kn-cv-picture')!;
    this.#input = root.querySelector('#kn-cv-selector')!;
    this.#status = root.querySelector('.kn-cv-selector-status')!;
    this.#state = root.querySelector('.kn-cv-state')!;
    this.#state.textContent = 'Waiting for the cluster…';
    this.#input.addEventListener('input', () => this.#highlight());
    this.#picture.addEventListener('pointerover', (e) => this.#hover(e.target));
    this.#picture.addEventListener('pointerleave', () => this.#hover(null));
    this.#picture.addEventListener('focusin', (e) => this.#hover(e.target));
    this.#picture.addEventListener('focusout', () => this.#hover(null));
    this.#picture.addEventListener('click', (e) => this.#choose(e.target));
    this.#picture.addEventListener('keydown', (e) => {
      if (e.key !== 'Enter' && e.key !== ' ') return;
      e.preventDefault();
      this.#choose(e.target);
    });
    this.#resize = new ResizeObserver(() => {
      const width = this.#picture.clientWidth;
      if (width && Math.abs(width - this.#width) > 4) this.#draw();
    });
    this.#resize.observe(this.#picture);
  }

  /** Shown: subscribe (the server sends a snapshot, then changes); hidden: unsubscribe. */
  show(visible: boolean): void {
    if (visible && !this.#stop) {
      this.#stop = this.#session.clusterView((message) => this.#message(message));
    } else if (!visible && this.#stop) {
      this.#stop();
      this.#stop = undefined;
    }
  }

  #message(message: ServerMessage): void {
    switch (message.type) {
      case 'cluster-snapshot':
        this.#loaded = true;
        this.#model.snapshot(message.namespace, message.objects, message.events);
        this.#state.textContent = '';
        break;
      case 'cluster-changes':
        this.#model.apply(message.changes, message.events);
        break;
      case 'cluster-unavailable':
        this.#state.textContent = message.message;
        break;
      default:
        return;
    }
    this.#draw();
  }

  #owner(target: EventTarget | null): HTMLElement | null {
    return (target as Element | null)?.closest?.<HTMLElement>('[data-selector]') ?? null;
  }

  #hover(target: EventTarget | null): void {
    const selector = this.#owner(target)?.dataset.selector;
    if (selector === this.#transient) return;
    this.#transient = selector;
    this.#highlight();
  }

  /** Enter or a click on an owner: its selector goes into the box, to stay. */
  #choose(target: EventTarget | null): void {
    const owner = this.#owner(target);
    if (!owner) return;
    this.#input.value = owner.dataset.selector ?? '';
    this.#highlight();
  }

  #draw(): void {
    if (this.#frame) return;
    this.#frame = requestAnimationFrame(() => {
      this.#frame = 0;
      this.#render();
    });
  }

  /** Which Pods to highlight: the hovered or focused owner's, else the typed selector's. */
  #highlighted(): ReadonlySet<string> {
    const pods = this.#model.of('Pod');
    const typed = this.#input.value.trim();
    const parsed = parseSelector(typed);
    const chosen = typed && parsed.ok ? selectedPods(parsed.selector, pods) : new Set<string>();
    if (!typed) this.#status.textContent = '';
    else if (!parsed.ok) this.#status.textContent = `Not a selector: ${parsed.error}`;
    else this.#status.textContent = `${chosen.size} of ${pods.length} Pods match.`;
    return this.#transient !== undefined ? selectedPods(this.#transient, pods) : chosen;
  }

  /** A new highlight changes classes only: the picture (and the keyboard's place) stays. */
  #highlight(): void {
    if (!this.#loaded) return;
    const highlight = this.#highlighted();
    for (const pod of this.#picture.querySelectorAll<SVGGElement>('.kn-cv-pod')) {
      pod.classList.toggle('kn-cv-hit', highlight.has(pod.dataset.uid ?? ''));
    }
    const typed = this.#input.value.trim();
    for (const owner of this.#picture.querySelectorAll<HTMLElement>('.kn-cv-owner')) {
      const active = typed !== '' && owner.dataset.selector === typed;
      owner.classList.toggle('kn-cv-active', active);
      owner.setAttribute('aria-pressed', String(active));
    }
    this.#table(highlight);
  }

  #render(): void {
    if (!this.#loaded) return;
    // Keep the keyboard where it was: the picture is drawn anew.
    const focused = (document.activeElement as HTMLElement | null)?.closest?.<HTMLElement>(
      '.kn-cv-owner',
    )?.dataset.uid;
    this.#width = this.#picture.clientWidth;
    this.#picture.innerHTML = renderClusterSvg(clusterTree(this.#model.objects.values()), {
      width: Math.max(280, this.#width),
      title: `Objects in namespace ${this.#model.namespace}`,
      interactive: true,
      idPrefix: 'kn-cv-live',
    });
    if (focused) {
      this.#picture
        .querySelector<HTMLElement>(`.kn-cv-owner[data-uid="${CSS.escape(focused)}"]`)
        ?.focus();
    }
    this.#highlight();
    this.#events();
  }

  #table(highlight: ReadonlySet<string>): void {
    const tree = clusterTree(this.#model.objects.values());
    const rows: [ClusterObject, string][] = [];
    for (const d of tree.deployments) {
      rows.push([d.deployment, deploymentDetail(d.deployment)]);
      for (const r of d.replicaSets) {
        rows.push([
          r.replicaSet,
          `revision ${r.replicaSet.revision ?? '?'}, ${r.replicaSet.ready} of ${r.replicaSet.replicas} ready`,
        ]);
        for (const p of r.pods) rows.push([p, podStatus(p)]);
      }
    }
    for (const r of tree.replicaSets) {
      rows.push([r.replicaSet, `${r.replicaSet.ready} of ${r.replicaSet.replicas} ready`]);
      for (const p of r.pods) rows.push([p, podStatus(p)]);
    }
    for (const p of tree.pods) rows.push([p, podStatus(p)]);
    for (const s of tree.services) rows.push([s.service, serviceDetail(s.service, s.endpoints)]);
    const body = this.#root.querySelector('.kn-cv-table tbody')!;
    body.replaceChildren(
      ...rows.map(([object, status]) => {
        const tr = document.createElement('tr');
        const cells = [
          object.kind,
          object.name,
          object.owner ? `${object.owner.kind} ${object.owner.name}` : '—',
          status,
          Object.entries(object.labels)
            .map(([k, v]) => `${k}=${v}`)
            .join(', ') || '—',
          object.kind === 'Pod' ? (highlight.has(object.uid) ? 'yes' : 'no') : '',
        ];
        cells.forEach((text, i) => {
          const cell = document.createElement(i === 1 ? 'th' : 'td');
          if (i === 1) cell.setAttribute('scope', 'row');
          cell.textContent = text;
          tr.append(cell);
        });
        return tr;
      }),
    );
  }

  #events(): void {
    const list = this.#root.querySelector('.kn-cv-events')!;
    const events = this.#model.events.slice(0, 20);
    if (events.length === 0) {
      const li = document.createElement('li');
      li.textContent = 'No events yet.';
      list.replaceChildren(li);
      return;
    }
    list.replaceChildren(
      ...events.map((e) => {
        const li = document.createElement('li');
        li.className = e.type === 'Warning' ? 'kn-cv-warning' : '';
        const time = document.createElement('time');
        time.dateTime = e.at;
        time.textContent = new Date(e.at).toLocaleTimeString();
        li.append(
          time,
          ` ${e.type === 'Warning' ? 'Warning: ' : ''}${e.object} ${e.reason}: ${e.message}${e.count > 1 ? ` (×${e.count})` : ''}`,
        );
        return li;
      }),
    );
  }

  dispose(): void {
    this.show(false);
    this.#resize.disconnect();
    cancelAnimationFrame(this.#frame);
  }
}

function podStatus(p: PodView): string {
  return `${podPhase(p)}${p.reason ? ` (${p.reason})` : ''}, ${p.ready}/${p.containers.length} ready, ${p.restarts} restarts${p.node ? `, on ${p.node}` : ''}`;
}
