/**
 * Escape attempts from a workshop participant's shell (workshop mode, bubblewrap sandbox, a
 * namespace per session on the test cluster): the admin kubeconfig, another participant's
 * files, the Docker socket, the server's /proc, other credentials for the cluster's API,
 * cluster-scoped objects and privileged pods, the quota, a fork bomb and a memory bomb. Each
 * must be denied or contained, and the server and the other sessions must not notice.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { plain, type TerminalClient } from '../../support/terminal-client.ts';
import { type Context, errorText, sleep, type TestClusterInfo } from '../lib/context.ts';
import { ECHO_COMMAND, EchoSession } from '../lib/echo.ts';
import { ms, percentile } from '../lib/report.ts';
import { spawnServer } from '../lib/server-process.ts';
import { deleteSession, openTerminal } from '../lib/terminal.ts';
import {
  createWorkshopSession,
  deleteInstanceNamespaces,
  newcomerDuring,
  noSandboxReason,
  shellPath,
  uniqueInstance,
  workshopArgs,
} from '../lib/workshop.ts';

interface Attempt {
  what: string;
  command: string;
  /** what the output must not show (a secret, a success) */
  forbidden?: RegExp;
  /** what the output must show (the reason it was refused) */
  expect?: RegExp;
  /** it must fail (non-zero exit); default true */
  fails?: boolean;
}

/** A pod spec that Pod Security `restricted` (the participants' namespaces) admits. */
const RESTRICTED_POD_SPEC = {
  securityContext: {
    runAsNonRoot: true,
    runAsUser: 101,
    seccompProfile: { type: 'RuntimeDefault' },
  },
  containers: [
    {
      name: 'nginx',
      image: 'nginx:1.29-alpine',
      securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
    },
  ],
};

const SLOW =
  /Client\.Timeout|deadline exceeded|i\/o timeout|TLS handshake timeout|Timeout exceeded/i;

async function attempt(
  term: TerminalClient,
  a: Attempt,
): Promise<{ ok: boolean; text: string; code: number | undefined }> {
  let result = await term.run(a.command, 60_000);
  // A slow API server (the test cluster is shared) is not an answer: ask once more.
  if (SLOW.test(plain(result.output))) result = await term.run(a.command, 60_000);
  const text = plain(result.output).trim();
  const failed = result.exitCode !== 0;
  const ok =
    (a.fails === false || failed) &&
    !a.forbidden?.test(text) &&
    !(a.expect && !a.expect.test(text));
  return { ok, text, code: result.exitCode };
}

/** The port etcd serves clients on, read from its command line (the test cluster's). */
function etcdClientPort(): number | undefined {
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const m = /--listen-client-urls=http:\/\/127\.0\.0\.1:(\d+)/.exec(cmd);
      if (m) return Number(m[1]);
    } catch {
      // gone
    }
  }
  return undefined;
}

export async function workshopEscape(ctx: Context): Promise<void> {
  const why = noSandboxReason();
  if (why) {
    ctx.rec.add(
      'escape attempts from a sandboxed workshop shell',
      '—',
      'skip',
      `cannot sandbox here: ${why}`,
    );
    return;
  }
  const cluster = ctx.cluster as TestClusterInfo;
  const instance = uniqueInstance('relesc');
  ctx.defer(() => deleteInstanceNamespaces(cluster, instance));
  const server = await spawnServer(
    workshopArgs(cluster, { instance, extra: ['--quota-pods', '5', '--max-sessions', '8'] }),
    { env: { PATH: shellPath(cluster) } },
  );
  ctx.defer(() => server.stop());
  const a = await createWorkshopSession(server.url);
  const b = await createWorkshopSession(server.url);
  const termA = await openTerminal(server.url, a, { cols: 250 });
  const termB = await openTerminal(server.url, b, { cols: 250 });
  // Every API call bounded, so a slow shared API server shows as a timeout, not a hang.
  await termA.run("alias kubectl='kubectl --request-timeout=20s'");
  const homeB = plain((await termB.run('echo "$HOME"')).output).trim();
  const secretB = `secret-of-b-${Date.now()}`;
  await termB.run(`echo ${secretB} > ~/notes.txt; chmod 644 ~/notes.txt`);
  const uidA = Number(plain((await termA.run('id -u')).output).trim());
  const uidB = Number(plain((await termB.run('id -u')).output).trim());
  // The API server as A's shell reaches it (through the relay, when its network is its own).
  const apiServer = plain(
    (await termA.run("kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}'"))
      .output,
  ).trim();
  const pkiDir = cluster.kubeconfig.replace(/kubeconfig$/, 'kwok/clusters/kubenotes-test/pki');
  const secrets = /client-key-data|BEGIN [A-Z ]*PRIVATE KEY|secret-of-b|eyJhbGciOi/;

  // ---- the host: files, sockets, processes -------------------------------------------
  const hostAttempts: Attempt[] = [
    {
      what: "the server's (admin) kubeconfig",
      command: `cat ${cluster.kubeconfig}`,
      forbidden: secrets,
    },
    {
      what: "the cluster's PKI",
      command: `ls ${pkiDir}; cat ${pkiDir}/admin.key`,
      forbidden: secrets,
    },
    // (/root/.cache/… exists only as the empty path to the read-only kubectl folder.)
    {
      what: "root's home",
      command: 'ls -a /root /root/.cache /root/.cache/kubenotes 2>&1',
      forbidden: /test-cluster|\.kube\b|\.ssh|\.bash_history|kind-node/,
      fails: false,
    },
    { what: "B's notes", command: `cat ${homeB}/notes.txt`, forbidden: secrets },
    { what: "B's kubeconfig", command: `cat ${homeB}/.kube/config`, forbidden: secrets },
    {
      what: 'the other homes',
      command: 'ls "$(dirname "$HOME")" | grep -v "^$(basename "$HOME")$"',
      forbidden: /\w/,
    },
    {
      what: 'the Docker socket',
      command: 'ls -l /var/run/docker.sock /run/docker.sock /run/containerd/containerd.sock',
    },
    {
      what: 'Docker over its socket',
      command: 'curl -sS --max-time 3 --unix-socket /var/run/docker.sock http://docker/version',
      forbidden: /ApiVersion/,
    },
    {
      what: "the server's /proc",
      command: `cat /proc/${server.pid}/environ /proc/${server.pid}/cmdline`,
      forbidden: /KUBENOTES|kubenotes\.mjs/,
    },
    { what: 'signal the server', command: `kill -0 ${server.pid}` },
    { what: "pid 1's environment", command: 'cat /proc/1/environ', forbidden: /PATH=/ },
    {
      what: 'processes visible (only its own)',
      command: `ls /proc | grep -c '^[0-9]' | awk '{ exit ($1 > 20) }'`,
      fails: false,
    },
    {
      what: 'the ServiceAccount token mount',
      command:
        'cat /var/run/secrets/kubernetes.io/serviceaccount/token /run/secrets/kubernetes.io/serviceaccount/token',
      forbidden: secrets,
    },
    { what: 'write to the system', command: 'touch /usr/escape /etc/escape /escape' },
    {
      what: 'become root (setuid, no_new_privs)',
      command: 'su -c id root </dev/null || sudo -n id',
      forbidden: /uid=0/,
    },
    {
      what: "B's uid",
      command: `setpriv --reuid=${uidB} id`,
      forbidden: new RegExp(`uid=${uidB}`),
    },
    {
      what: 'a user namespace (unshare -U -r: CAP_SYS_ADMIN over new namespaces)',
      command: 'unshare -U -r -m -n id',
      forbidden: /uid=0/,
    },
    {
      what: 'a device',
      command:
        'cat /dev/sda /dev/mem /dev/kmsg 2>&1 | head -c 100; ls /dev | grep -E "^(sd|nvme|vd|mem|kmsg)"',
      forbidden: /^(sd|nvme|vd|mem|kmsg)/m,
    },
  ];
  const hostFailures: string[] = [];
  for (const h of hostAttempts) {
    const r = await attempt(termA, h);
    if (!r.ok) hostFailures.push(`${h.what}: exit ${r.code}: ${r.text.slice(0, 160)}`);
  }
  ctx.rec.check(
    `from A's shell: ${hostAttempts.length} attempts on the host (${hostAttempts.map((h) => h.what).join('; ')})`,
    `${hostAttempts.length - hostFailures.length}/${hostAttempts.length} denied; A runs as uid ${uidA}, B as uid ${uidB}`,
    hostFailures,
  );

  // ---- the cluster's API ----------------------------------------------------------------
  const curl = `curl -sk --max-time 5 -w ' HTTP %{http_code}'`;
  const refusedHttp = /HTTP 40[13]/;
  const forbidden = /forbidden|Unauthorized|must be logged in|exceeded quota|violates PodSecurity/i;
  const privileged = JSON.stringify({
    spec: {
      hostPID: true,
      hostNetwork: true,
      containers: [
        {
          name: 'p',
          image: 'busybox',
          command: ['sleep', '3600'],
          securityContext: { privileged: true },
          volumeMounts: [{ name: 'host', mountPath: '/host' }],
        },
      ],
      volumes: [{ name: 'host', hostPath: { path: '/' } }],
    },
  });
  const apiAttempts: Attempt[] = [
    {
      what: 'anonymous: list namespaces',
      command: `${curl} ${apiServer}/api/v1/namespaces`,
      expect: refusedHttp,
      fails: false,
    },
    {
      what: 'anonymous: read secrets',
      command: `${curl} ${apiServer}/api/v1/secrets`,
      expect: refusedHttp,
      fails: false,
    },
    {
      what: 'a forged token',
      command: `${curl} -H 'Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln' ${apiServer}/api/v1/pods`,
      expect: refusedHttp,
      fails: false,
    },
    {
      what: "kubectl without A's kubeconfig",
      command: `kubectl --kubeconfig=/dev/null --server=${apiServer} --insecure-skip-tls-verify --token=x get pods </dev/null`,
      expect: forbidden,
    },
    {
      what: 'mint a token for itself',
      command: 'kubectl create token participant',
      expect: forbidden,
    },
    { what: "B's namespace", command: `kubectl get pods -n ${b.namespace}`, expect: forbidden },
    {
      what: 'kube-system secrets',
      command: 'kubectl get secrets -n kube-system',
      expect: forbidden,
    },
    { what: 'nodes', command: 'kubectl get nodes', expect: forbidden },
    { what: 'label a node', command: 'kubectl label node kwok-node-0 pwned=1', expect: forbidden },
    {
      what: 'create a namespace',
      command: 'kubectl create namespace escape-attempt',
      expect: forbidden,
    },
    {
      what: 'bind cluster-admin (cluster-wide)',
      command: `kubectl create clusterrolebinding escape --clusterrole=cluster-admin --serviceaccount=${a.namespace}:participant`,
      expect: forbidden,
    },
    {
      what: 'bind cluster-admin (in its namespace)',
      command: `kubectl create rolebinding escape --clusterrole=cluster-admin --serviceaccount=${a.namespace}:participant`,
      expect: forbidden,
    },
    {
      what: 'create a ClusterRole',
      command: 'kubectl create clusterrole escape --verb=* --resource=*',
      expect: forbidden,
    },
    {
      what: 'widen its own Role',
      command:
        'kubectl patch role participant --type=json -p=\'[{"op":"add","path":"/rules/0/resources/-","value":"secrets"}]\'',
      expect: forbidden,
    },
    {
      what: 'create a PersistentVolume',
      command: `echo '{"apiVersion":"v1","kind":"PersistentVolume","metadata":{"name":"escape"},"spec":{"capacity":{"storage":"1Gi"},"accessModes":["ReadWriteOnce"],"hostPath":{"path":"/"}}}' | kubectl create -f -`,
      expect: forbidden,
    },
    {
      what: 'create a PriorityClass',
      command: 'kubectl create priorityclass escape --value=1000000000',
      expect: forbidden,
    },
    {
      what: 'create a webhook',
      command: `echo '{"apiVersion":"admissionregistration.k8s.io/v1","kind":"ValidatingWebhookConfiguration","metadata":{"name":"escape"},"webhooks":[]}' | kubectl create -f -`,
      expect: forbidden,
    },
    {
      what: "a privileged pod with the host's / and pid namespace",
      command: `kubectl run escape --image=busybox --restart=Never --overrides='${privileged}'`,
      expect: forbidden,
    },
    {
      what: 'a pod with a hostPath volume',
      command: `kubectl run hostpath --image=busybox --restart=Never --overrides='${JSON.stringify({ spec: { containers: [{ name: 'h', image: 'busybox', volumeMounts: [{ name: 'h', mountPath: '/h' }] }], volumes: [{ name: 'h', hostPath: { path: '/var/run/docker.sock' } }] } })}'`,
      expect: forbidden,
    },
    {
      what: 'a pod with added capabilities',
      command: `kubectl run caps --image=busybox --restart=Never --overrides='${JSON.stringify({ spec: { containers: [{ name: 'c', image: 'busybox', securityContext: { capabilities: { add: ['SYS_ADMIN'] } } }] } })}'`,
      expect: forbidden,
    },
  ];
  const apiFailures: string[] = [];
  const started = performance.now();
  for (const attemptSpec of apiAttempts) {
    const r = await attempt(termA, attemptSpec);
    if (!r.ok) apiFailures.push(`${attemptSpec.what}: exit ${r.code}: ${r.text.slice(0, 200)}`);
  }
  ctx.rec.check(
    `from A's shell: ${apiAttempts.length} attempts on the cluster's API (anonymous, forged or minted tokens, other namespaces, cluster-scoped objects, RBAC escalation, privileged and hostPath pods)`,
    `${apiAttempts.length - apiFailures.length}/${apiAttempts.length} refused by the API server (RBAC, PodSecurity) in ${ms(performance.now() - started)}`,
    apiFailures,
  );

  // ---- quota ---------------------------------------------------------------------------
  const quotaFailures: string[] = [];
  const flood = await termA.run(
    `(for i in 1 2 3 4 5 6 7; do kubectl run q-$i --image=nginx:1.29-alpine --restart=Never --overrides='${JSON.stringify({ spec: RESTRICTED_POD_SPEC })}' || exit 9; done)`,
    90_000,
  );
  const made = (plain(flood.output).match(/pod\/q-\d+ created/g) ?? []).length;
  if (flood.exitCode !== 9 || !/exceeded quota/.test(plain(flood.output))) {
    quotaFailures.push(`7 pods: exit ${flood.exitCode}: ${plain(flood.output).slice(-200)}`);
  }
  const memory = await termA.run(
    `kubectl run hog --image=busybox --restart=Never --overrides='${JSON.stringify({ spec: { containers: [{ name: 'hog', image: 'busybox', resources: { requests: { memory: '64Gi' }, limits: { memory: '64Gi' } } }] } })}'`,
  );
  if (memory.exitCode === 0 || !/exceeded quota|forbidden/i.test(plain(memory.output))) {
    quotaFailures.push(`64Gi pod: ${plain(memory.output).slice(0, 200)}`);
  }
  const nodePort = await termA.run('kubectl create service nodeport np --tcp=80:80');
  if (nodePort.exitCode === 0) quotaFailures.push('a NodePort service was allowed');
  const deploy = await termA.run(
    `kubectl create deployment wide --image=nginx:1.29-alpine --replicas=50 && kubectl patch deployment wide --type=merge -p '${JSON.stringify({ spec: { template: { spec: RESTRICTED_POD_SPEC } } })}' && sleep 3 && echo "pods=$(kubectl get pods --no-headers | wc -l)"`,
  );
  const pods = Number(/pods=(\d+)/.exec(plain(deploy.output))?.[1] ?? -1);
  if (pods > 5) quotaFailures.push(`${pods} pods exist (quota 5)`);
  ctx.rec.check(
    'A against its quota (5 pods): 7 pods one by one, a 64Gi pod, a NodePort service, a 50-replica Deployment',
    `${made} pods made, the next refused (exceeded quota); 64Gi refused; NodePort refused; after the Deployment: ${pods} pods in the namespace (quota 5)`,
    quotaFailures,
  );

  // ---- host loopback services (the sandbox shares the host's network) --------------------
  const listener = createServer((socket) => socket.end('host-only-service\n'));
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', () => resolve()));
  ctx.defer(() => new Promise((resolve) => listener.close(resolve)));
  const port = (listener.address() as { port: number }).port;
  const loop = plain(
    (await termA.run(`timeout 3 bash -c 'cat < /dev/tcp/127.0.0.1/${port}'`)).output,
  );
  const etcd = etcdClientPort();
  const etcdAnswer = etcd
    ? plain((await termA.run(`curl -s --max-time 3 http://127.0.0.1:${etcd}/version`)).output)
    : '';
  const reached = loop.includes('host-only-service');
  const etcdAnswers = /etcdserver/.test(etcdAnswer);
  ctx.rec.check(
    "A reaches no service on the host's loopback (its shell has a network of its own)",
    `a test listener on 127.0.0.1:${port}: ${reached ? 'reached' : 'not reached'}; the test cluster's etcd (127.0.0.1:${etcd ?? '?'}, no client auth): ${etcdAnswers ? 'answers' : 'no answer'}; kubectl still works, through the relay to the API server`,
    [
      ...(reached ? [`the host's loopback listener answered: ${loop.slice(0, 100)}`] : []),
      ...(etcdAnswers ? [`etcd answered: ${etcdAnswer.slice(0, 100)}`] : []),
    ],
  );

  // ---- disk ----------------------------------------------------------------------------
  const tmp = await termA.run(
    'head -c 300M /dev/zero > /tmp/fill; echo "tmp exit $?"; rm -f /tmp/fill',
  );
  const home = await termA.run(
    'head -c 300M /dev/zero > ~/fill; echo "home exit $?"; rm -f ~/fill',
  );
  const tmpFull = /No space left/.test(plain(tmp.output));
  ctx.rec.check(
    'A fills its private /tmp (300 MiB into a 256 MiB tmpfs)',
    tmpFull ? 'stopped at the tmpfs size: No space left on device' : 'not stopped',
    tmpFull ? [] : [`/tmp: ${plain(tmp.output).slice(0, 200)}`],
  );
  const homeFull = /No space left/.test(plain(home.output));
  ctx.rec.check(
    "A fills its home (300 MiB into the default 256 MiB), not the server's disk",
    homeFull ? 'stopped at the home size: No space left on device' : 'not stopped',
    homeFull ? [] : [`home: ${plain(home.output).slice(0, 200)}`],
  );

  // ---- bombs ---------------------------------------------------------------------------
  const echoB = new EchoSession(termB, 'B');
  termB.type(ECHO_COMMAND);
  await sleep(500);
  const bombFailures: string[] = [];
  const bombStart = performance.now();
  // A classic fork bomb, in the background of A's shell, for 10 s.
  termA.type('(f(){ f | f & }; f) 2>/dev/null; sleep 10; echo bomb-done\r');
  await sleep(2000);
  const during = Date.now();
  const bTyping = echoB.typeUntil(performance.now() + 6000).catch((error: unknown) => {
    bombFailures.push(`B: ${errorText(error)}`);
  });
  const { fresh, failure, health } = await newcomerDuring(
    server.url,
    'the bomb',
    'echo c-works',
    30_000,
  );
  if (failure) bombFailures.push(failure);
  await bTyping;
  const countA = readdirSync('/proc').filter((p) => {
    try {
      return (
        /^\d+$/.test(p) &&
        new RegExp(`^Uid:\\s+${uidA}\\b`, 'm').test(readFileSync(`/proc/${p}/status`, 'utf8'))
      );
    } catch {
      return false;
    }
  }).length;
  if (health !== 200) bombFailures.push(`health ${health} during the bomb`);
  if (countA > 300) bombFailures.push(`A has ${countA} processes (limit 256)`);
  bombFailures.push(...echoB.errors.map((e) => `B: ${e}`));
  if (echoB.verifiedBytes !== echoB.sentBytes) bombFailures.push('B lost bytes');
  const latency = percentile(echoB.latencies, 99);
  // Ending A ends every process it has.
  await deleteSession(server.url, a);
  await sleep(1500);
  const leftA = readdirSync('/proc').filter((p) => {
    try {
      return (
        /^\d+$/.test(p) &&
        new RegExp(`^Uid:\\s+${uidA}\\b`, 'm').test(readFileSync(`/proc/${p}/status`, 'utf8'))
      );
    } catch {
      return false;
    }
  }).length;
  if (leftA > 0) bombFailures.push(`${leftA} processes of A left after its session ended`);
  ctx.rec.check(
    "a fork bomb in A's shell (f(){ f | f & }; f), then A's session ended",
    `A held at ${countA} processes (cgroup limit 256, RLIMIT_NPROC) ${((during - Date.now()) / -1000).toFixed(0)} s in; meanwhile B echoed ${echoB.latencies.length} lines intact (p99 ${ms(latency)}), a new session was ${fresh}, health ${health}; after ending A: ${leftA} of its processes left (${ms(performance.now() - bombStart)} in all)`,
    bombFailures,
  );

  // A memory bomb in a fresh session D: the session's cgroup kills it, B goes on.
  const d = await createWorkshopSession(server.url);
  const termD = await openTerminal(server.url, d);
  const memFailures: string[] = [];
  // ulimit -v is only a safety net for hosts without a memory cgroup (2 GiB, above the
  // cgroup's 512 MiB): there the row fails instead of the host running out of memory.
  const hog = await termD.run(
    '(ulimit -v 2097152; timeout 60 tail /dev/zero); echo "hog exit $?"',
    90_000,
  );
  const killed = /hog exit 137/.test(plain(hog.output)) || /Killed/.test(plain(hog.output));
  if (!killed) memFailures.push(`tail /dev/zero: ${plain(hog.output).slice(-200)}`);
  echoB.send(Buffer.from('after the memory bomb\n'));
  await echoB.drained(10_000).catch((error: unknown) => memFailures.push(`B: ${errorText(error)}`));
  const alive = await termD.run('echo d-alive');
  if (!plain(alive.output).includes('d-alive'))
    memFailures.push("D's shell did not survive its hog");
  if (!server.alive()) memFailures.push('the server died');
  ctx.rec.check(
    "a memory bomb in D's shell (tail /dev/zero, which keeps one endless line)",
    `${killed ? 'killed by the cgroup memory limit (512 MiB): exit 137' : 'not killed'} (D's cgroup limits: ${server.events('sandbox_opened').find((e) => e.session === d.id)?.cgroup ?? '?'}); D's shell answers; B still echoes; server up`,
    memFailures,
  );
  termA.close();
  termB.close();
  termD.close();
}
