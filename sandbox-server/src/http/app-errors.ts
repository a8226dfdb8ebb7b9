/**
 * Why an app could not be opened, in words a reader can act on: the API server's refusals
 * (a Status object) mapped to the app route's error codes (docs/protocol.md).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { AppTarget } from '../shared/app-target.ts';
import { APP_MAX_BYTES, apiRequest, readAll } from './app-upstream.ts';
import { HttpError } from './http-error.ts';

/** The API server's refusal, in words a reader can act on. */
export async function explainRefusal(
  status: ApiStatus,
  target: AppTarget,
  namespace: string,
  access: KubeConfig,
): Promise<HttpError> {
  const what = targetWords(target);
  const message = status.message ?? '';
  const plural = target.kind === 'svc' ? 'services' : 'pods';
  if (status.code === 404) {
    return new HttpError(
      404,
      'app_not_found',
      `There is no ${target.kind === 'svc' ? 'Service' : 'Pod'} ${target.name} in your namespace ${namespace}. Check the name with \`kubectl get ${plural}\`.`,
    );
  }
  if (/no endpoints available/i.test(message)) {
    return new HttpError(
      503,
      'app_not_ready',
      `${what} has no ready Pod behind it: its selector matches no Pod, or they are not Ready yet. Look with \`kubectl get endpoints ${target.name}\` and \`kubectl get pods\`.`,
    );
  }
  if (/no service port/i.test(message)) {
    return new HttpError(
      502,
      'app_wrong_port',
      `${what} has no port ${target.port}. See its ports with \`kubectl get service ${target.name}\`.`,
    );
  }
  if (/address not allowed/i.test(message) && target.kind === 'pod') {
    const phase = await podPhase(access, namespace, target.name);
    return new HttpError(
      503,
      'app_not_ready',
      `${what} is not running${phase ? ` (it is ${phase})` : ''}, so there is nothing to open yet. Watch it with \`kubectl get pod ${target.name} -w\`.`,
    );
  }
  if (/connection refused/i.test(message)) {
    return new HttpError(
      502,
      'app_wrong_port',
      `Nothing answers on port ${target.port} of ${targetWords(target, false)}: the app listens on another port, or has not started. Check the container's port in \`kubectl describe ${target.kind === 'svc' ? 'service' : 'pod'} ${target.name}\`.`,
    );
  }
  if (/timeout|deadline exceeded/i.test(message)) {
    return new HttpError(
      504,
      'app_timeout',
      `${what} did not answer in time (the API server said: ${message}).`,
    );
  }
  return new HttpError(
    status.code === 401 || status.code === 403 ? 403 : 502,
    'app_refused',
    `The Kubernetes API server refused to open ${targetWords(target, false)}: ${message || status.reason || `status ${status.code}`}`,
  );
}

export interface ApiStatus {
  code?: number;
  reason?: string;
  message?: string;
}

export function asApiStatus(body: Buffer): ApiStatus | undefined {
  try {
    const value = JSON.parse(body.toString('utf8'));
    if (value?.kind === 'Status' && value?.apiVersion === 'v1') return value;
  } catch {
    // not JSON after all
  }
  return undefined;
}

/** `The Service web` (or, within a sentence, `the Service web`). */
export function targetWords(target: AppTarget, capital = true): string {
  const article = capital ? 'The' : 'the';
  return `${article} ${target.kind === 'svc' ? 'Service' : 'Pod'} ${target.name}`;
}

export function tooLarge(target: AppTarget): HttpError {
  return new HttpError(
    502,
    'app_too_large',
    `${targetWords(target)} answered with more than ${APP_MAX_BYTES / 1024 / 1024} MiB; the sandbox passes on less. Use \`kubectl port-forward\` for large downloads.`,
  );
}

async function podPhase(access: KubeConfig, namespace: string, name: string): Promise<string> {
  try {
    const response = await apiRequest(
      access,
      'GET',
      `/api/v1/namespaces/${namespace}/pods/${name}`,
      { accept: 'application/json' },
      5000,
    );
    const pod = JSON.parse((await readAll(response, 1024 * 1024)).toString('utf8'));
    return typeof pod?.status?.phase === 'string' ? pod.status.phase : '';
  } catch {
    return '';
  }
}
