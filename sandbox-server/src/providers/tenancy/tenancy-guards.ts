/**
 * What RBAC cannot say about a participant's objects, said once per server instance by a
 * ValidatingAdmissionPolicy bound to the instance's namespaces (by their labels):
 *
 * - no Service with `externalIPs` (CVE-2020-8554): with `services: create`, a participant could
 *   claim any IP, another participant's Pod's included, and take its traffic.
 *
 * ValidatingAdmissionPolicy is GA in Kubernetes 1.30. On an older cluster (or one whose admin
 * identity may not create it) the server logs `guard_unavailable` with the reason and goes on:
 * external IPs are then refused only where the cluster's own DenyServiceExternalIPs admission
 * plugin is on. The policy and binding are cluster-wide and outlive the server; the next start
 * replaces them, and they match only namespaces this instance labels.
 */
import {
  AdmissionregistrationV1Api,
  type KubeConfig,
  type V1ValidatingAdmissionPolicy,
  type V1ValidatingAdmissionPolicyBinding,
} from '@kubernetes/client-node';
import type { Logger } from '../../telemetry/log.ts';
import { INSTANCE, MANAGED_BY } from './tenancy-objects.ts';

export const EXTERNAL_IPS_MESSAGE =
  'A workshop namespace may not give a Service externalIPs: they could take traffic meant for other participants (CVE-2020-8554).';

export interface GuardObjects {
  policy: V1ValidatingAdmissionPolicy;
  binding: V1ValidatingAdmissionPolicyBinding;
}

/** The policy and its binding for one server instance (pure). */
export function guardObjects(instance: string): GuardObjects {
  const name = `kubenotes-${instance}-participants`;
  const metadata = { name, labels: { [MANAGED_BY]: 'kubenotes', [INSTANCE]: instance } };
  return {
    policy: {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata,
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: {
          resourceRules: [
            {
              apiGroups: [''],
              apiVersions: ['v1'],
              operations: ['CREATE', 'UPDATE'],
              resources: ['services'],
            },
          ],
        },
        validations: [
          {
            expression: '!has(object.spec.externalIPs) || size(object.spec.externalIPs) == 0',
            message: EXTERNAL_IPS_MESSAGE,
            reason: 'Forbidden',
          },
        ],
      },
    },
    binding: {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata,
      spec: {
        policyName: name,
        validationActions: ['Deny'],
        matchResources: {
          namespaceSelector: { matchLabels: { [MANAGED_BY]: 'kubenotes', [INSTANCE]: instance } },
        },
      },
    },
  };
}

const isConflict = (error: unknown) => (error as { code?: number }).code === 409;

/**
 * Creates (or replaces) the instance's policy and binding. Resolves true when they are in
 * place, false when the cluster would not take them (logged once, with the reason).
 */
export async function installGuards(
  admin: KubeConfig,
  instance: string,
  log: Logger,
): Promise<boolean> {
  const api = admin.makeApiClient(AdmissionregistrationV1Api);
  const { policy, binding } = guardObjects(instance);
  const name = policy.metadata!.name!;
  try {
    // Made by someone allowed to (the Helm chart makes it, and lets the server only read it).
    const present = await Promise.all([
      api.readValidatingAdmissionPolicy({ name }),
      api.readValidatingAdmissionPolicyBinding({ name }),
    ]).then(
      ([p, b]) =>
        p.spec?.validations?.[0]?.expression === policy.spec?.validations?.[0]?.expression &&
        JSON.stringify(b.spec?.matchResources?.namespaceSelector?.matchLabels) ===
          JSON.stringify(binding.spec?.matchResources?.namespaceSelector?.matchLabels),
      () => false,
    );
    if (present) {
      log.log('info', 'guard_installed', { policy: name, by: 'already there' });
      return true;
    }
    try {
      await api.createValidatingAdmissionPolicy({ body: policy });
    } catch (error) {
      if (!isConflict(error)) throw error;
      const existing = await api.readValidatingAdmissionPolicy({ name });
      policy.metadata = { ...policy.metadata, resourceVersion: existing.metadata?.resourceVersion };
      await api.replaceValidatingAdmissionPolicy({ name, body: policy });
    }
    try {
      await api.createValidatingAdmissionPolicyBinding({ body: binding });
    } catch (error) {
      if (!isConflict(error)) throw error;
      const existing = await api.readValidatingAdmissionPolicyBinding({ name });
      binding.metadata = {
        ...binding.metadata,
        resourceVersion: existing.metadata?.resourceVersion,
      };
      await api.replaceValidatingAdmissionPolicyBinding({ name, body: binding });
    }
    log.log('info', 'guard_installed', { policy: name });
    return true;
  } catch (error) {
    const code = (error as { code?: number }).code;
    log.log('warn', 'guard_unavailable', {
      policy: name,
      reason:
        code === 404
          ? 'this cluster has no ValidatingAdmissionPolicy (Kubernetes < 1.30, or admissionregistration.k8s.io/v1 off): Services with externalIPs are refused only if its DenyServiceExternalIPs admission plugin is on'
          : `the cluster refused the policy: ${(error as Error).message}`,
    });
    return false;
  }
}
