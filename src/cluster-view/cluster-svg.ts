/**
 * Draws a namespace's ownership tree (shared/cluster-model.ts) as SVG text: each Deployment
 * with its ReplicaSets, newest revision first, each with its Pods; ReplicaSets and Pods no one
 * owns; Services with their endpoints. One renderer for the live view (re-drawn at the
 * panel's width as changes arrive) and the chapters' diagrams (drawn at build time), so the
 * two look alike. Colours are the site's theme variables, so both themes follow by
 * themselves. Pure string building: no DOM, runs in the browser and in Astro's build.
 */
import type {
  ClusterTree,
  ReplicaSetBranch,
} from '../../sandbox-server/src/shared/cluster-model.ts';
import type {
  DeploymentView,
  PodView,
  ServiceView,
} from '../../sandbox-server/src/shared/cluster-objects.ts';

export interface RenderOptions {
  /** the drawing's width in CSS pixels; Pods wrap to fit */
  width: number;
  /** the accessible name of the picture */
  title: string;
  /** the text alternative; by default `describeTree` */
  description?: string | undefined;
  /** Pods (uids) to highlight: what a hovered owner's or the typed selector matches */
  highlight?: ReadonlySet<string> | undefined;
  /** owners focusable, carrying their selector (the live view) */
  interactive?: boolean | undefined;
  /** draw each Pod's containers in its one network namespace */
  containers?: boolean | undefined;
  /** unique per page: ids of the title and description */
  idPrefix: string;
}

const PAD = 8;
const GAP = 8;
const LINE = 16;
const POD_MIN = 150;
const POD_H = 4 * LINE + 10;
const CHAR = 6.9;

export const CLUSTER_SVG_STYLE = `
.kn-cv text{font:12px system-ui,-apple-system,'Segoe UI',sans-serif;fill:var(--sl-color-white,#111)}
.kn-cv .kn-cv-strong{font-weight:600}
.kn-cv .kn-cv-soft{fill:var(--sl-color-gray-2,#444)}
.kn-cv .kn-cv-box{fill:var(--sl-color-black,#fff);stroke:var(--sl-color-gray-4,#888);stroke-width:1}
.kn-cv .kn-cv-deployment>.kn-cv-box{fill:var(--sl-color-gray-6,#eee)}
.kn-cv .kn-cv-replicaset>.kn-cv-box{fill:var(--sl-color-black,#fff)}
.kn-cv .kn-cv-pod>.kn-cv-box{fill:var(--sl-color-gray-6,#eee)}
.kn-cv .kn-cv-service>.kn-cv-box{fill:var(--sl-color-gray-6,#eee);stroke-dasharray:4 3}
.kn-cv .kn-cv-netns{fill:none;stroke:var(--sl-color-blue,#36c);stroke-dasharray:3 2}
.kn-cv .kn-cv-container{fill:var(--sl-color-gray-6,#eee);stroke:var(--sl-color-gray-4,#888)}
.kn-cv .kn-cv-deleting>.kn-cv-box{stroke-dasharray:2 3}
.kn-cv .kn-cv-dot-Running{fill:var(--sl-color-green,#2a2)}
.kn-cv .kn-cv-dot-Pending{fill:var(--sl-color-orange,#d80)}
.kn-cv .kn-cv-dot-Failed{fill:var(--sl-color-red,#c22)}
.kn-cv .kn-cv-dot-Succeeded,.kn-cv .kn-cv-dot-Unknown,.kn-cv .kn-cv-dot-Terminating{fill:var(--sl-color-gray-3,#888)}
.kn-cv .kn-cv-hit>.kn-cv-box{stroke:var(--sl-color-accent,#36c);stroke-width:3;fill:var(--sl-color-accent-low,#dde)}
.kn-cv .kn-cv-check{visibility:hidden;font-weight:700}
.kn-cv .kn-cv-hit>.kn-cv-check{visibility:visible}
.kn-cv .kn-cv-owner{cursor:pointer;outline:none}
.kn-cv .kn-cv-head{fill:transparent;stroke:none}
.kn-cv .kn-cv-owner:hover>.kn-cv-head{stroke:var(--sl-color-gray-3,#888);stroke-width:1}
.kn-cv .kn-cv-owner:focus-visible>.kn-cv-head,.kn-cv .kn-cv-owner.kn-cv-active>.kn-cv-head{stroke:var(--sl-color-accent,#36c);stroke-width:3}
`;

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** `text` cut to fit `width` pixels, with an ellipsis. */
function fit(text: string, width: number): string {
  const max = Math.max(3, Math.floor(width / CHAR));
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** A name cut in its middle: the random suffix is what tells a ReplicaSet's Pods apart. */
function fitName(text: string, width: number): string {
  const max = Math.max(5, Math.floor(width / CHAR));
  if (text.length <= max) return text;
  const tail = Math.min(8, Math.floor((max - 1) / 2));
  return `${text.slice(0, max - 1 - tail)}…${text.slice(-tail)}`;
}

function line(x: number, y: number, text: string, width: number, cls = ''): string {
  const shown = cls === 'kn-cv-strong' ? fitName(text, width) : fit(text, width);
  return `<text x="${x}" y="${y}"${cls ? ` class="${cls}"` : ''}>${esc(shown)}</text>`;
}

function box(x: number, y: number, w: number, h: number): string {
  return `<rect class="kn-cv-box" x="${x}" y="${y}" width="${w}" height="${h}" rx="6"/>`;
}

interface Block {
  svg: string;
  height: number;
}

export function podPhase(pod: PodView): string {
  return pod.deleting ? 'Terminating' : pod.phase;
}

function podLines(pod: PodView): string[] {
  const labels = Object.entries(pod.labels)
    .filter(([k]) => k !== 'pod-template-hash')
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  return [
    pod.name,
    `${podPhase(pod)}${pod.reason && pod.reason !== pod.phase ? ` (${pod.reason})` : ''} · ${pod.ready}/${pod.containers.length} ready`,
    `restarts ${pod.restarts}${pod.node ? ` · ${pod.node}` : ''}`,
    labels || 'no labels',
  ];
}

function podChip(pod: PodView, x: number, y: number, w: number, o: RenderOptions): Block {
  const hit = o.highlight?.has(pod.uid) ?? false;
  const lines = podLines(pod);
  const phase = podPhase(pod);
  let inner = '';
  let height = POD_H;
  if (o.containers && pod.containers.length > 0) {
    // The containers side by side inside one dashed line: the Pod's network namespace.
    const cw = (w - 2 * PAD - GAP * (pod.containers.length - 1)) / pod.containers.length;
    const top = y + POD_H - 4;
    inner += `<rect class="kn-cv-netns" x="${x + PAD / 2}" y="${top}" width="${w - PAD}" height="${LINE * 3 + 8}" rx="4"/>`;
    inner += line(
      x + PAD,
      top + LINE - 2,
      `network namespace · IP ${pod.ip ?? '(none yet)'} · localhost`,
      w - 2 * PAD,
      'kn-cv-soft',
    );
    pod.containers.forEach((name, i) => {
      const cx = x + PAD + i * (cw + GAP);
      inner += `<rect class="kn-cv-container" x="${cx}" y="${top + LINE + 2}" width="${cw}" height="${LINE + 8}" rx="3"/>`;
      inner += line(cx + 6, top + 2 * LINE + 4, `container ${name}`, cw - 12);
    });
    height = POD_H + LINE * 3 + 8;
  }
  const text = lines
    .map((t, i) =>
      line(
        x + (i === 1 ? 20 : PAD),
        y + LINE * (i + 1),
        t,
        w - (i === 1 ? 20 + PAD : 2 * PAD) - (i === 0 ? 16 : 0),
        i === 0 ? 'kn-cv-strong' : i === 3 ? 'kn-cv-soft' : '',
      ),
    )
    .join('');
  // Shown when the Pod is highlighted: a selected Pod is marked by more than its colour.
  const check = `<text class="kn-cv-check" x="${x + w - PAD - 10}" y="${y + LINE}" aria-hidden="true">✓</text>`;
  const dot = `<circle class="kn-cv-dot-${esc(phase)}" cx="${x + 13}" cy="${y + 2 * LINE - 4}" r="4"/>`;
  const classes = `kn-cv-pod${hit ? ' kn-cv-hit' : ''}${pod.deleting ? ' kn-cv-deleting' : ''}`;
  return {
    svg: `<g class="${classes}" data-uid="${esc(pod.uid)}">${box(x, y, w, height)}${dot}${text}${check}${inner}</g>`,
    height,
  };
}

function podGrid(pods: PodView[], x: number, y: number, w: number, o: RenderOptions): Block {
  if (pods.length === 0)
    return { svg: line(x, y + LINE - 2, 'no Pods', w, 'kn-cv-soft'), height: LINE + 2 };
  const min = o.containers ? Math.max(POD_MIN, 260) : POD_MIN;
  const cols = Math.max(1, Math.min(pods.length, Math.floor((w + GAP) / (min + GAP))));
  const cw = (w - GAP * (cols - 1)) / cols;
  let svg = '';
  let rowTop = y;
  let rowHeight = 0;
  pods.forEach((pod, i) => {
    if (i > 0 && i % cols === 0) {
      rowTop += rowHeight + GAP;
      rowHeight = 0;
    }
    const chip = podChip(pod, x + (i % cols) * (cw + GAP), rowTop, cw, o);
    svg += chip.svg;
    rowHeight = Math.max(rowHeight, chip.height);
  });
  return { svg, height: rowTop + rowHeight - y };
}

/** An owner: a box with a heading and a second line, around what it owns. */
function owner(
  kind: string,
  object: { uid: string; name: string; deleting?: boolean | undefined },
  selector: string | undefined,
  heading: string,
  detail: string,
  x: number,
  y: number,
  w: number,
  o: RenderOptions,
  content: (x: number, y: number, w: number) => Block,
): Block {
  const top = y + PAD + 2 * LINE + 4;
  const inner = content(x + PAD, top, w - 2 * PAD);
  const height = top - y + inner.height + PAD;
  const head =
    line(x + PAD, y + PAD + LINE - 2, heading, w - 2 * PAD, 'kn-cv-strong') +
    line(x + PAD, y + PAD + 2 * LINE - 2, detail, w - 2 * PAD, 'kn-cv-soft');
  // In the live view the heading is a button (named by its text) that highlights the Pods
  // the owner's selector matches; the box around what it owns is not, so buttons never nest.
  const selectorData = `data-selector="${esc(selector ?? '')}"`;
  const heads = o.interactive
    ? `<g class="kn-cv-owner" tabindex="0" role="button" aria-pressed="false" ${selectorData} data-uid="${esc(object.uid)}"><rect class="kn-cv-head" x="${x + 2}" y="${y + 2}" width="${w - 4}" height="${2 * LINE + PAD}" rx="5"/>${head}</g>`
    : head;
  const cls = `kn-cv-${kind.toLowerCase()}${object.deleting ? ' kn-cv-deleting' : ''}`;
  return {
    svg:
      `<g class="${cls}" data-uid="${esc(object.uid)}"${o.interactive ? ` ${selectorData}` : ''}>${box(x, y, w, height)}` +
      `${heads}${inner.svg}</g>`,
    height,
  };
}

function stack(blocks: ((y: number) => Block)[], y: number): Block {
  let svg = '';
  let at = y;
  for (const make of blocks) {
    const block = make(at);
    svg += block.svg;
    at += block.height + GAP;
  }
  return { svg, height: Math.max(0, at - y - GAP) };
}

function replicaSetBlock(
  branch: ReplicaSetBranch,
  x: number,
  y: number,
  w: number,
  o: RenderOptions,
): Block {
  const rs = branch.replicaSet;
  return owner(
    'ReplicaSet',
    rs,
    rs.selector,
    `ReplicaSet ${rs.name}`,
    `${rs.revision ? `revision ${rs.revision} · ` : ''}${rs.ready} of ${rs.replicas} ready${rs.image ? ` · ${rs.image}` : ''}`,
    x,
    y,
    w,
    o,
    (ix, iy, iw) => podGrid(branch.pods, ix, iy, iw, o),
  );
}

export function deploymentDetail(d: DeploymentView): string {
  const surge =
    d.strategy === 'Recreate'
      ? 'Recreate'
      : d.maxSurge !== undefined
        ? `maxSurge ${d.maxSurge} · maxUnavailable ${d.maxUnavailable ?? '25%'}`
        : '';
  return `${d.ready} of ${d.replicas} ready · ${d.updated} up to date${surge ? ` · ${surge}` : ''}`;
}

export function serviceDetail(s: ServiceView, endpoints: { ip: string; ready: boolean }[]): string {
  const ready = endpoints.filter((e) => e.ready);
  return `${s.selector ? `selects ${s.selector}` : 'no selector'} · ${ready.length} endpoint${ready.length === 1 ? '' : 's'}${ready.length ? `: ${ready.map((e) => e.ip).join(', ')}` : ''}`;
}

function section(title: string, x: number, y: number, w: number): Block {
  return { svg: line(x, y + LINE - 2, title, w, 'kn-cv-strong'), height: LINE };
}

export function renderClusterSvg(tree: ClusterTree, o: RenderOptions): string {
  const w = Math.max(200, Math.round(o.width));
  const inner = w - 2 * PAD;
  const blocks: ((y: number) => Block)[] = [];
  for (const { deployment: d, replicaSets } of tree.deployments) {
    blocks.push((y) =>
      owner(
        'Deployment',
        d,
        d.selector,
        `Deployment ${d.name}`,
        deploymentDetail(d),
        PAD,
        y,
        inner,
        o,
        (ix, iy, iw) =>
          stack(
            replicaSets.map((r) => (ry: number) => replicaSetBlock(r, ix, ry, iw, o)),
            iy,
          ),
      ),
    );
  }
  for (const branch of tree.replicaSets)
    blocks.push((y) => replicaSetBlock(branch, PAD, y, inner, o));
  if (tree.pods.length > 0) {
    if (blocks.length > 0) blocks.push((y) => section('Pods without a ReplicaSet', PAD, y, inner));
    blocks.push((y) => podGrid(tree.pods, PAD, y, inner, o));
  }
  for (const { service, endpoints } of tree.services) {
    blocks.push((y) =>
      owner(
        'Service',
        service,
        service.selector,
        `Service ${service.name} · ${service.type}${service.clusterIP && service.clusterIP !== 'None' ? ` ${service.clusterIP}` : ''}${service.ports.length ? ` · ${service.ports.join(', ')}` : ''}`,
        serviceDetail(service, endpoints),
        PAD,
        y,
        inner,
        o,
        () => ({ svg: '', height: -PAD }),
      ),
    );
  }
  if (blocks.length === 0)
    blocks.push((y) =>
      section('Nothing here yet: no Deployments, Pods or Services.', PAD, y, inner),
    );
  const body = stack(blocks, PAD);
  const height = Math.ceil(body.height + 2 * PAD);
  const description = o.description ?? describeTree(tree);
  const id = esc(o.idPrefix);
  const role = o.interactive ? 'group' : 'img';
  return (
    `<svg class="kn-cv" xmlns="http://www.w3.org/2000/svg" width="${w}" height="${height}" viewBox="0 0 ${w} ${height}" role="${role}" aria-labelledby="${id}-title" aria-describedby="${id}-desc">` +
    `<title id="${id}-title">${esc(o.title)}</title><desc id="${id}-desc">${esc(description)}</desc>` +
    `<style>${CLUSTER_SVG_STYLE}</style>${body.svg}</svg>`
  );
}

function podText(pod: PodView): string {
  return `${pod.name} (${podPhase(pod)}, ${pod.ready} of ${pod.containers.length} containers ready${pod.restarts ? `, ${pod.restarts} restarts` : ''})`;
}

function podsText(pods: PodView[]): string {
  return pods.length ? `Pods ${pods.map(podText).join('; ')}` : 'no Pods';
}

/** The picture in words: its text alternative, and the live view's summary. */
export function describeTree(tree: ClusterTree): string {
  const parts: string[] = [];
  for (const { deployment: d, replicaSets } of tree.deployments) {
    const owned = replicaSets
      .map(
        (r) =>
          `ReplicaSet ${r.replicaSet.name}${r.replicaSet.revision ? ` (revision ${r.replicaSet.revision})` : ''}, which owns ${podsText(r.pods)}`,
      )
      .join('; and ');
    parts.push(`Deployment ${d.name} (${deploymentDetail(d)}) owns ${owned || 'no ReplicaSet'}.`);
  }
  for (const r of tree.replicaSets)
    parts.push(`ReplicaSet ${r.replicaSet.name} owns ${podsText(r.pods)}.`);
  if (tree.pods.length)
    parts.push(`Pods without a ReplicaSet: ${tree.pods.map(podText).join('; ')}.`);
  for (const { service, endpoints } of tree.services) {
    parts.push(`Service ${service.name}: ${serviceDetail(service, endpoints)}.`);
  }
  return parts.join(' ') || 'An empty namespace.';
}
