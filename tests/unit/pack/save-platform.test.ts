/**
 * `kubenotes pack` saves for the kind node's platform, so that `kind load image-archive`
 * (`ctr import --all-platforms`) does not stop at another platform's absent blobs under
 * Docker's containerd image store (kubernetes-sigs/kind#3795). Docker is faked: these tests
 * check which commands pack and preload run, and what they tell the user.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  CLUSTER_ARCHIVE,
  MANIFEST_NAME,
  type PackOptions,
  pack,
  packSummary,
  parsePackArgs,
} from '../../../sandbox-server/src/pack/pack.ts';
import { preload, readPack } from '../../../sandbox-server/src/pack/preload.ts';
import type { CommandResult, RunCommand } from '../../../sandbox-server/src/pack/run-command.ts';
import { writeTar } from '../../../sandbox-server/src/pack/tar.ts';

const CHAPTER = `---
title: Fixture
order: 1
---

\`\`\`console
$ kubectl create deployment hello --image=nginx:1.29-alpine
deployment.apps/hello created
\`\`\`
`;

interface FakeDocker {
  run: RunCommand;
  calls: string[][];
}

/** A Docker engine at `api` on `platform` holding every image; `kind load` answers `kindLoad`. */
function fakeDocker(
  api: string,
  platform = 'linux/amd64',
  kindLoad: CommandResult = { code: 0, stdout: '', stderr: '' },
): FakeDocker {
  const calls: string[][] = [];
  const ok = (stdout = ''): CommandResult => ({ code: 0, stdout, stderr: '' });
  const run: RunCommand = async (command, args) => {
    calls.push([command, ...args]);
    const [verb] = args;
    if (command === 'docker' && verb === 'version') return ok(`${api} ${api} ${platform}\n`);
    if (command === 'docker' && verb === 'image') return ok('sha256:0123 1000\n');
    if (command === 'docker' && verb === 'save') {
      writeFileSync(args[args.indexOf('-o') + 1]!, 'an image archive');
      return ok();
    }
    if (command === 'kind' && verb === 'get' && args[1] === 'clusters') return ok('kubenotes\n');
    if (command === 'kind' && verb === 'get' && args[1] === 'nodes')
      return ok('kubenotes-control-plane\n');
    if (command === 'kind' && verb === 'load') return kindLoad;
    if (command === 'docker' && verb === 'exec') {
      return ok(
        JSON.stringify({ images: [{ repoTags: ['docker.io/library/nginx:1.29-alpine'] }] }),
      );
    }
    return { code: 1, stdout: '', stderr: `fake docker: unexpected ${command} ${args.join(' ')}` };
  };
  return { run, calls };
}

function withContent(t: { after: (fn: () => void) => void }): { dir: string; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'kubenotes-pack-platform-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'content'));
  writeFileSync(join(dir, 'content', 'fixture.mdx'), CHAPTER);
  return { dir, out: join(dir, 'images.tar') };
}

function options(dir: string, out: string, extra: Partial<PackOptions> = {}): PackOptions {
  return {
    ...parsePackArgs(['--out', out, '--no-node-image'], { contentDir: join(dir, 'content') }),
    ...extra,
  };
}

const saves = (calls: string[][]) => calls.filter(([c, verb]) => c === 'docker' && verb === 'save');

test('pack saves for the Docker engine’s platform, which is the kind node’s', async (t) => {
  const { dir, out } = withContent(t);
  const docker = fakeDocker('1.52', 'linux/arm64');
  const manifest = await pack(options(dir, out), { run: docker.run, log: () => {} });

  const [save] = saves(docker.calls);
  assert.deepEqual(save?.slice(0, 4), ['docker', 'save', '--platform', 'linux/arm64']);
  assert.equal(save?.at(-1), 'nginx:1.29-alpine');
  assert.equal(manifest.platform, 'linux/arm64');
  // The archive's own manifest says so too, for preload's error message.
  assert.equal((await readPack(out)).manifest.platform, 'linux/arm64');
  assert.match(packSummary(manifest, out), /, saved for linux\/arm64:/);
});

test('an image Pods run and a Dockerfile builds FROM goes into both archives', async (t) => {
  const { dir, out } = withContent(t);
  writeFileSync(
    join(dir, 'content', 'both.mdx'),
    `---\ntitle: Both\norder: 2\n---\n\n\`\`\`console\n$ cat > Dockerfile << 'EOF'\n> FROM alpine:3.22\n> EOF\n$ kubectl run client --image=alpine:3.22\n\`\`\`\n`,
  );
  const docker = fakeDocker('1.52');
  const manifest = await pack(options(dir, out), { run: docker.run, log: () => {} });
  assert.deepEqual(manifest.members, {
    'cluster-images.tar': ['alpine:3.22', 'nginx:1.29-alpine'],
    'docker-images.tar': ['alpine:3.22'],
  });
});

test('pack --platform saves for the platform asked for (a venue machine of another kind)', async (t) => {
  const { dir, out } = withContent(t);
  const docker = fakeDocker('1.52', 'linux/arm64');
  await pack(options(dir, out, { platform: 'linux/amd64' }), { run: docker.run, log: () => {} });
  assert.deepEqual(saves(docker.calls)[0]?.slice(2, 4), ['--platform', 'linux/amd64']);
});

test('an engine older than Docker 28 gets a plain docker save, which it would refuse otherwise', async (t) => {
  const { dir, out } = withContent(t);
  const docker = fakeDocker('1.41');
  const manifest = await pack(options(dir, out), { run: docker.run, log: () => {} });
  const [save] = saves(docker.calls);
  assert.ok(save);
  assert.ok(!save.includes('--platform'), save.join(' '));
  assert.equal(manifest.platform, undefined);
});

test('--platform on an engine older than Docker 28 is refused, saying why', async (t) => {
  const { dir, out } = withContent(t);
  const docker = fakeDocker('1.41');
  await assert.rejects(
    pack(options(dir, out, { platform: 'linux/amd64' }), { run: docker.run, log: () => {} }),
    /--platform linux\/amd64 needs Docker 28 or newer \(API 1\.48\); this client and engine speak API 1\.41/,
  );
  assert.equal(saves(docker.calls).length, 0);
});

test('a --platform that is not os/arch is refused before Docker is asked', () => {
  assert.throws(
    () => parsePackArgs(['--platform', 'amd64'], { contentDir: 'content' }),
    /--platform amd64: write os\/arch, as in linux\/amd64/,
  );
  assert.equal(
    parsePackArgs(['--platform', 'linux/arm64/v8'], { contentDir: 'content' }).platform,
    'linux/arm64/v8',
  );
});

test('preload explains kind’s "content digest … not found" and how to get past it', async (t) => {
  const { dir } = withContent(t);
  const file = join(dir, 'old-pack.tar');
  const archive = join(dir, CLUSTER_ARCHIVE);
  writeFileSync(archive, 'an image archive');
  const manifest = {
    kind: 'kubenotes-pack',
    version: 1,
    created: new Date().toISOString(),
    images: [
      {
        image: 'nginx:1.29-alpine',
        ref: 'docker.io/library/nginx:1.29-alpine',
        where: ['cluster'],
        usedBy: [],
      },
    ],
    built: [],
    missing: [],
    members: { [CLUSTER_ARCHIVE]: ['nginx:1.29-alpine'] },
  };
  await writeTar(file, [
    { name: MANIFEST_NAME, data: Buffer.from(JSON.stringify(manifest)) },
    { name: CLUSTER_ARCHIVE, file: archive },
  ]);
  const docker = fakeDocker('1.52', 'linux/amd64', {
    code: 1,
    stdout: '',
    stderr:
      'ERROR: failed to load image: command "docker exec --privileged -i kubenotes-control-plane ctr --namespace=k8s.io images import --all-platforms --digests --snapshotter=overlayfs -" failed with error: exit status 1\nCommand Output: ctr: content digest sha256:b1addbe72465a718643cff9e60a58e6df1841e29d6d7d60c9a85d8d72f08d1a7: not found\n',
  });
  await assert.rejects(
    preload({ file, name: 'kubenotes', tmpDir: dir }, { run: docker.run, log: () => {} }),
    /kind load image-archive failed: [\s\S]*content digest sha256:b1ad\S+ not found[\s\S]*saved without --platform\): make it again with this version of kubenotes pack/,
  );
});
