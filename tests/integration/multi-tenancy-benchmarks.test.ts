/**
 * The Kubernetes Multi-Tenancy Benchmarks' profile-level-1 checks that apply to a participant's
 * namespace, reproduced as our own tests against the test cluster: from a workshop shell, as
 * the participant. Pod checks use `--dry-run=server`, which runs every admission plugin (Pod
 * Security, the quota) without creating anything.
 *
 *   MTB-PL1-CC-CPI-1  block access to cluster resources
 *   MTB-PL1-CC-TI-2   block access to other tenants' resources
 *   MTB-PL1-BC-CPI-3  block add capabilities
 *   MTB-PL1-BC-CPI-4  require run as non-root user
 *   MTB-PL1-BC-CPI-5  block privileged containers
 *   MTB-PL1-BC-CPI-6  block privilege escalation
 *   MTB-PL1-BC-HI-1   block host path volumes, host networking and ports, NodePort Services
 *   MTB-PL1-BC-HI-3/4 block host PID and host IPC
 *   MTB-PL1-CC-FNS-1/2 a quota on compute and on every kind the tenant can create
 *   MTB-PL1-BC-CPI-1  block modification of the quota (and the LimitRange)
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { V1Container, V1PodSpec } from '@kubernetes/client-node';
import {
  type CreatedSession,
  createSession,
  endSession,
  plain,
  TerminalClient,
} from '../support/terminal-client.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import {
  noTestCluster,
  shellPath,
  workshopArgs as workshopServer,
} from '../support/workshop-server.ts';

const skip = noTestCluster;
const JOIN = 'mtb-2026';

/** A pod that Pod Security `restricted` admits; each check changes one thing of it. */
function pod(name: string, change: (spec: V1PodSpec) => void = () => {}): string {
  const spec: V1PodSpec = {
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 101,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    containers: [
      {
        name: 'c',
        image: 'nginx:1.29-alpine',
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
      },
    ],
  };
  change(spec);
  const manifest = { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec };
  return `kubectl create --dry-run=server -f - <<'EOF'\n${JSON.stringify(manifest)}\nEOF`;
}

const first = (spec: V1PodSpec): V1Container => spec.containers[0]!;

/** `kubectl auth can-i` said no (its last line; warnings come before). */
const saidNo = (text: string) => /(^|\n)no\s*$/.test(text.trim());

describe('Multi-Tenancy Benchmarks, profile level 1, as a participant', { skip }, () => {
  let server: TestServer;
  let a: CreatedSession & { namespace: string };
  let b: CreatedSession & { namespace: string };
  let term: TerminalClient;
  const run = async (command: string) => {
    const result = await term.run(command, 120_000);
    return { code: result.exitCode, text: plain(result.output) };
  };

  before(async () => {
    server = await startTestServer(
      workshopServer(`mtb${Date.now().toString(36)}`, JOIN, ['--pod-security', 'restricted']),
      { env: { PATH: shellPath } },
    );
    a = (await createSession(server.url, { joinCode: JOIN })) as typeof a;
    b = (await createSession(server.url, { joinCode: JOIN })) as typeof b;
    term = await TerminalClient.open(server.url, a, { cols: 250 });
    await term.run("alias kubectl='kubectl --request-timeout=30s'");
  });
  after(async () => {
    term?.close();
    for (const s of [a, b]) if (s) await endSession(server.url, s);
    await server?.stop();
  });

  test('MTB-PL1-CC-CPI-1: cluster resources are out of reach', async () => {
    for (const resource of [
      'nodes',
      'namespaces',
      'persistentvolumes',
      'storageclasses.storage.k8s.io',
      'clusterroles.rbac.authorization.k8s.io',
      'clusterrolebindings.rbac.authorization.k8s.io',
      'customresourcedefinitions.apiextensions.k8s.io',
      'validatingadmissionpolicies.admissionregistration.k8s.io',
      'mutatingwebhookconfigurations.admissionregistration.k8s.io',
      'priorityclasses.scheduling.k8s.io',
    ]) {
      for (const verb of ['list', 'create', 'delete']) {
        const can = await run(`kubectl auth can-i ${verb} ${resource}`);
        assert.ok(saidNo(can.text), `${verb} ${resource}: ${can.text}`);
      }
    }
    const nodes = await run('kubectl get nodes');
    assert.notEqual(nodes.code, 0);
    assert.match(nodes.text, /forbidden/i);
  });

  test("MTB-PL1-CC-TI-2: another participant's namespace is out of reach", async () => {
    for (const [verb, resource] of [
      ['list', 'pods'],
      ['create', 'pods'],
      ['get', 'secrets'],
      ['list', 'services'],
      ['create', 'pods/exec'],
      ['delete', 'deployments.apps'],
    ] as const) {
      const can = await run(`kubectl auth can-i ${verb} ${resource} -n ${b.namespace}`);
      assert.ok(saidNo(can.text), `${verb} ${resource} in B: ${can.text}`);
    }
    const other = await run(`kubectl get pods -n ${b.namespace}`);
    assert.match(other.text, /forbidden/i);
  });

  test('the restricted pod itself is admitted (the checks below fail for their one change)', async () => {
    const fine = await run(pod('fine'));
    assert.equal(fine.code, 0, fine.text);
    assert.match(fine.text, /pod\/fine created \(server dry run\)/);
  });

  const refusedPods: [string, string, (spec: V1PodSpec) => void][] = [
    [
      'MTB-PL1-BC-CPI-3: added capabilities',
      'caps',
      (s) => {
        first(s).securityContext!.capabilities = { drop: ['ALL'], add: ['NET_ADMIN'] };
      },
    ],
    [
      'MTB-PL1-BC-CPI-4: running as root',
      'root',
      (s) => {
        s.securityContext = { runAsUser: 0, seccompProfile: { type: 'RuntimeDefault' } };
      },
    ],
    [
      'MTB-PL1-BC-CPI-4: no runAsNonRoot',
      'maybe-root',
      (s) => {
        s.securityContext = { seccompProfile: { type: 'RuntimeDefault' } };
      },
    ],
    [
      'MTB-PL1-BC-CPI-5: a privileged container',
      'privileged',
      (s) => {
        // (allowPrivilegeEscalation false contradicts privileged: the API refuses that pair)
        first(s).securityContext = { privileged: true, capabilities: { drop: ['ALL'] } };
      },
    ],
    [
      'MTB-PL1-BC-CPI-6: privilege escalation',
      'escalate',
      (s) => {
        first(s).securityContext!.allowPrivilegeEscalation = true;
      },
    ],
    [
      'MTB-PL1-BC-HI-1: a hostPath volume',
      'hostpath',
      (s) => {
        s.volumes = [{ name: 'h', hostPath: { path: '/' } }];
        first(s).volumeMounts = [{ name: 'h', mountPath: '/host' }];
      },
    ],
    [
      'MTB-PL1-BC-HI-1: host networking',
      'hostnet',
      (s) => {
        s.hostNetwork = true;
      },
    ],
    [
      'MTB-PL1-BC-HI-1: a host port',
      'hostport',
      (s) => {
        first(s).ports = [{ containerPort: 80, hostPort: 80 }];
      },
    ],
    [
      'MTB-PL1-BC-HI-3: the host PID namespace',
      'hostpid',
      (s) => {
        s.hostPID = true;
      },
    ],
    [
      'MTB-PL1-BC-HI-4: the host IPC namespace',
      'hostipc',
      (s) => {
        s.hostIPC = true;
      },
    ],
  ];
  for (const [name, podName, change] of refusedPods) {
    test(`${name} is refused by Pod Security`, async () => {
      const refused = await run(pod(podName, change));
      assert.notEqual(refused.code, 0, refused.text);
      assert.match(refused.text, /violates PodSecurity/);
    });
  }

  test('MTB-PL1-BC-HI-1: a NodePort Service is refused by the quota', async () => {
    const nodePort = await run('kubectl create service nodeport np --tcp=80:80 --dry-run=server');
    assert.notEqual(nodePort.code, 0, nodePort.text);
    assert.match(nodePort.text, /exceeded quota.*services\.nodeports/);
  });

  test('MTB-PL1-CC-FNS-1/2: the quota limits compute, and counts every kind the participant can create', async () => {
    const hard = JSON.parse(
      (
        await run("kubectl get resourcequota -o jsonpath='{.items[0].spec.hard}'; echo")
      ).text.trim(),
    ) as Record<string, string>;
    for (const key of [
      'requests.cpu',
      'limits.cpu',
      'requests.memory',
      'limits.memory',
      'requests.ephemeral-storage',
      'limits.ephemeral-storage',
      'requests.storage',
    ]) {
      assert.ok(hard[key], `the quota has no ${key}`);
    }
    // Every kind the participant may create in its namespace (subresources and the
    // self-reviews, which are never stored, aside) has a count in the quota.
    const list = (await run('kubectl auth can-i --list --no-headers; echo')).text;
    const creatable = list
      .split('\n')
      .map((line) => /^(\S+)\s+\[.*?\]\s+\[.*?\]\s+\[(.*)\]\s*$/.exec(line.trim()))
      .filter((m) => m?.[2]?.split(' ').includes('create'))
      .map((m) => m![1]!)
      .filter(
        (resource) =>
          !resource.includes('/') &&
          !/\.authorization\.k8s\.io$|\.authentication\.k8s\.io$/.test(resource),
      );
    assert.ok(creatable.includes('pods'), `can-i --list: ${JSON.stringify(list)}`);
    const counted = (resource: string) =>
      hard[resource] !== undefined || hard[`count/${resource}`] !== undefined;
    const uncounted = creatable.filter((resource) => !counted(resource));
    assert.deepEqual(uncounted, [], `kinds without a count in the quota: ${uncounted.join(', ')}`);
  });

  test('MTB-PL1-BC-CPI-1: the quota and the LimitRange cannot be changed or removed', async () => {
    for (const [verb, resource] of [
      ['update', 'resourcequotas'],
      ['patch', 'resourcequotas'],
      ['delete', 'resourcequotas'],
      ['create', 'resourcequotas'],
      ['update', 'limitranges'],
      ['delete', 'limitranges'],
    ] as const) {
      const can = await run(`kubectl auth can-i ${verb} ${resource}`);
      assert.ok(saidNo(can.text), `${verb} ${resource}: ${can.text}`);
    }
    const raise = await run(
      `kubectl patch resourcequota participant-quota --type=merge -p '{"spec":{"hard":{"pods":"1000"}}}'`,
    );
    assert.notEqual(raise.code, 0);
    assert.match(raise.text, /forbidden/i);
  });
});
