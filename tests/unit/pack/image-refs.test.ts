import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type ImageUse,
  imagesInCommand,
  imagesInDockerfile,
  imagesInYaml,
  kindDefaultNodeImage,
  missingImages,
  normalizeImage,
  shellWords,
  withoutDigest,
} from '../../../sandbox-server/src/pack/image-refs.ts';

const cluster = (image: string, how: string): ImageUse => ({ image, where: 'cluster', how });
const docker = (image: string, how: string): ImageUse => ({ image, where: 'docker', how });

const COMMANDS: { name: string; command: string; uses: ImageUse[]; builds?: string[] }[] = [
  {
    name: 'kubectl run --image=',
    command: 'kubectl run web --image=nginx:1.29-alpine --restart=Never',
    uses: [cluster('nginx:1.29-alpine', '--image')],
  },
  {
    name: '--image as its own word',
    command: 'kubectl create deployment hello --image nginx:1.29 --replicas=3',
    uses: [cluster('nginx:1.29', '--image')],
  },
  {
    name: 'a quoted image',
    command: `kubectl run web --image='registry.example:5000/team/app:2.1'`,
    uses: [cluster('registry.example:5000/team/app:2.1', '--image')],
  },
  {
    name: '--image-pull-policy is not an image',
    command:
      'kubectl run latest-demo --image=getting-started:latest --image-pull-policy=IfNotPresent --restart=Never',
    uses: [cluster('getting-started:latest', '--image')],
  },
  {
    name: 'set image with a quoted wildcard',
    command: `kubectl set image deployment/hello '*=nginx:1.29-alpine-slim'`,
    uses: [cluster('nginx:1.29-alpine-slim', 'set image')],
  },
  {
    name: 'set image, TYPE NAME and two containers',
    command: 'kubectl set image deployment hello nginx=nginx:1.30 sidecar=busybox:1.37 --record',
    uses: [cluster('nginx:1.30', 'set image'), cluster('busybox:1.37', 'set image')],
  },
  {
    name: 'annotate with = is not set image',
    command:
      'kubectl annotate deployment/hello kubernetes.io/change-cause="create with nginx:1.29"',
    uses: [],
  },
  {
    name: 'a pipeline and a second command',
    command: 'kubectl get pods | grep web && kubectl run b --image=busybox:1.37 -- sleep 1',
    uses: [cluster('busybox:1.37', '--image')],
  },
  {
    name: 'a line continuation',
    command: 'kubectl run web \\\n  --image=nginx:1.29 \\\n  --restart=Never',
    uses: [cluster('nginx:1.29', '--image')],
  },
  {
    name: 'environment assignments before kubectl',
    command: 'KUBECONFIG=/tmp/k kubectl run web --image=nginx:1.29',
    uses: [cluster('nginx:1.29', '--image')],
  },
  {
    name: 'a variable is not an image',
    command: 'kubectl run web --image=$IMAGE',
    uses: [],
  },
  {
    name: 'a comment is not a command',
    command: 'echo hi # kubectl run web --image=nginx:1.29',
    uses: [],
  },
  {
    name: 'heredoc Dockerfile: FROM, stages and scratch',
    command:
      'cat > Dockerfile << EOF\nFROM golang:1.25 AS build\nRUN go build\nFROM --platform=linux/amd64 alpine:3.22\nCOPY --from=build /app /app\nFROM build\nFROM scratch\nEOF',
    uses: [docker('golang:1.25', 'FROM'), docker('alpine:3.22', 'FROM')],
  },
  {
    name: 'heredoc YAML applied with kubectl',
    command:
      'kubectl apply -f - <<\'EOF\'\napiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n    - name: web\n      image: "nginx:1.29-alpine"  # pinned\n    - image: busybox:1.37\n      name: side\nEOF',
    uses: [cluster('nginx:1.29-alpine', 'image:'), cluster('busybox:1.37', 'image:')],
  },
  {
    name: 'docker build -t makes an image',
    command: 'docker build -t getting-started:1.0.0 .',
    uses: [],
    builds: ['getting-started:1.0.0'],
  },
  {
    name: 'docker build --tag= and -f',
    command: 'docker build -f Dockerfile.dev --tag=app:dev .',
    uses: [],
    builds: ['app:dev'],
  },
  {
    name: 'docker tag makes the second name',
    command: 'docker tag getting-started:1.0.0 getting-started:latest',
    uses: [],
    builds: ['getting-started:latest'],
  },
  {
    name: 'docker pull needs the image on the engine',
    command: 'docker pull alpine:3.22',
    uses: [docker('alpine:3.22', 'docker pull')],
  },
  {
    name: 'redirections are not arguments',
    command: 'kubectl run web --image=nginx:1.29 > /tmp/out.log 2>&1',
    uses: [cluster('nginx:1.29', '--image')],
  },
  {
    name: 'kind load names an image but does not need one from a registry',
    command: 'kind load docker-image getting-started:1.0.0 --name kubenotes',
    uses: [],
  },
];

for (const { name, command, uses, builds = [] } of COMMANDS) {
  test(`imagesInCommand: ${name}`, () => {
    const found = imagesInCommand(command);
    assert.deepEqual(found.uses, uses);
    assert.deepEqual(found.builds, builds);
  });
}

test('shellWords: quotes, escapes and operators', () => {
  assert.deepEqual(shellWords(`a 'b c' "d \\"e\\"" f\\ g; h|i && j`), [
    ['a', 'b c', 'd "e"', 'f g'],
    ['h'],
    ['i'],
    ['j'],
  ]);
  assert.deepEqual(shellWords('cat > file <<EOF'), [['cat']]);
});

const NORMALIZED: [string, string][] = [
  ['nginx', 'docker.io/library/nginx:latest'],
  ['nginx:1.29-alpine', 'docker.io/library/nginx:1.29-alpine'],
  ['me/app:1', 'docker.io/me/app:1'],
  ['docker.io/library/nginx:1.29', 'docker.io/library/nginx:1.29'],
  ['index.docker.io/me/app', 'docker.io/me/app:latest'],
  ['registry.k8s.io/pause:3.10.1', 'registry.k8s.io/pause:3.10.1'],
  ['localhost:5000/app', 'localhost:5000/app:latest'],
  ['localhost/app:2', 'localhost/app:2'],
  ['kindest/node:v1.35.0@sha256:abc', 'docker.io/kindest/node:v1.35.0@sha256:abc'],
  ['app@sha256:abc', 'docker.io/library/app@sha256:abc'],
];
for (const [ref, expected] of NORMALIZED) {
  test(`normalizeImage: ${ref}`, () => assert.equal(normalizeImage(ref), expected));
}

test('missingImages compares the forms tools print', () => {
  const present = [
    'docker.io/library/nginx:1.29-alpine',
    'docker.io/library/busybox:latest',
    'registry.k8s.io/pause:3.10.1',
  ];
  assert.deepEqual(
    missingImages(['nginx:1.29-alpine', 'busybox', 'nginx:1.29-alpine-slim'], present),
    ['nginx:1.29-alpine-slim'],
  );
  assert.deepEqual(missingImages([], present), []);
});

test('imagesInYaml ignores what is not an image', () => {
  assert.deepEqual(
    imagesInYaml('imagePullPolicy: Always\n# image: commented\nimage: {{ .Values.image }}'),
    [],
  );
  assert.deepEqual(imagesInYaml('  - image: nginx:1.29'), [cluster('nginx:1.29', 'image:')]);
});

test('imagesInDockerfile is case-insensitive', () => {
  assert.deepEqual(imagesInDockerfile('from alpine:3.22 as base\nfrom base'), [
    docker('alpine:3.22', 'FROM'),
  ]);
});

test("kind's default node image by version, and without its digest", () => {
  const image = kindDefaultNodeImage('kind v0.31.0 go1.25.5 linux/amd64');
  assert.match(image ?? '', /^kindest\/node:v1\.35\.0@sha256:/);
  assert.equal(withoutDigest(image ?? ''), 'kindest/node:v1.35.0');
  assert.equal(kindDefaultNodeImage('kind v9.9.9'), undefined);
});
