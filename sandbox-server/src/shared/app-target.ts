/**
 * What a reader can open in the browser: a Service or a Pod of their namespace and a port,
 * written `svc/<name>:<port>` or `pod/<name>:<port>` (a fence's `open=`, the app link request,
 * the app route). Shared by the browser and the server, so both accept exactly the same names.
 */

export type AppKind = 'svc' | 'pod';

export interface AppTarget {
  kind: AppKind;
  /** a Kubernetes object name (DNS-1123 label for a Service; subdomain for a Pod) */
  name: string;
  /** a port number, or (Services only) the name of one of its ports */
  port: string;
}

/** The API's plural for each kind, as in `/api/v1/namespaces/NS/services/NAME:PORT/proxy`. */
export const APP_RESOURCE: Record<AppKind, 'services' | 'pods'> = { svc: 'services', pod: 'pods' };

/** DNS-1123 label: what `kubectl expose` / `create service` accept as a Service name. */
const LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** DNS-1123 subdomain: a Pod's name may hold dots. */
const SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** IANA service name, as a Service port's `name` (at least one letter, no double dash). */
function isPortName(text: string): boolean {
  return text.length <= 15 && LABEL.test(text) && /[a-z]/.test(text) && !text.includes('--');
}
const PORT_NUMBER = /^[1-9][0-9]{0,4}$/;

export const APP_TARGET_USAGE = 'svc/NAME:PORT or pod/NAME:PORT, as in svc/web:80';

/** Parses `svc/web:80`; returns the reason when it is not a target. Pure; never throws. */
export function parseAppTarget(
  text: string,
): { ok: true; target: AppTarget } | { ok: false; error: string } {
  const match = /^(svc|pod)\/([^:/]+):([^:/]+)$/.exec(text);
  if (!match) return { ok: false, error: `"${clip(text)}" is not ${APP_TARGET_USAGE}` };
  const kind = match[1] as AppKind;
  const name = match[2] ?? '';
  const port = match[3] ?? '';
  const nameOk = kind === 'svc' ? LABEL.test(name) : SUBDOMAIN.test(name);
  if (!nameOk) {
    return {
      ok: false,
      error: `"${clip(name)}" is not a ${kind === 'svc' ? 'Service' : 'Pod'} name: lowercase letters, digits and dashes${kind === 'pod' ? ' (and dots)' : ''}, starting and ending with a letter or digit`,
    };
  }
  const number = PORT_NUMBER.test(port) ? Number(port) : Number.NaN;
  const portOk = (number >= 1 && number <= 65535) || (kind === 'svc' && isPortName(port));
  if (!portOk) {
    return {
      ok: false,
      error: `"${clip(port)}" is not a port: a number from 1 to 65535${kind === 'svc' ? ", or the name of one of the Service's ports" : ''}`,
    };
  }
  return { ok: true, target: { kind, name, port } };
}

export function formatAppTarget(target: AppTarget): string {
  return `${target.kind}/${target.name}:${target.port}`;
}

function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}
