import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { chapterImages } from '../../../sandbox-server/src/pack/chapter-images.ts';
import { plan, readChapters } from '../../../sandbox-server/src/pack/pack.ts';
import {
  extractMember,
  listTar,
  readMember,
  writeTar,
} from '../../../sandbox-server/src/pack/tar.ts';

const CHAPTER = `---
title: Fixture
order: 1
variables:
  image:
    default: nginx:1.29-alpine
    description: The image.
    kind: image
  new_image:
    default: nginx:1.29-alpine-slim
    description: The next image.
    kind: image
  local_image:
    default: app:1.0.0
    description: Built here.
    kind: image
---

\`\`\`console
$ kubectl create deployment hello --image=<image>
deployment.apps/hello created
$ kubectl set image deployment/hello '*=<new_image>'
deployment.apps/hello image updated
\`\`\`

\`\`\`console
$ cat > Dockerfile << EOF
heredoc> FROM alpine:3.22
heredoc> EOF
$ docker build -t <local_image> .
$ kubectl run app --image=<local_image>
\`\`\`

\`\`\`console norun
$ kubectl run never --image=not-packed:1
\`\`\`

\`\`\`yaml
apiVersion: v1
kind: Pod
spec:
  containers:
    - name: side
      image: busybox:1.37
    - name: main
      image: <image>
\`\`\`
`;

test('chapterImages: every image, where it is needed and who uses it', () => {
  const found = chapterImages([{ file: 'content/fixture.mdx', slug: 'fixture', text: CHAPTER }]);
  assert.deepEqual(
    found.images.map((i) => [i.image, i.where, i.usedBy.map((u) => u.snippet)]),
    [
      ['alpine:3.22', ['docker'], ['fixture-2']],
      ['busybox:1.37', ['cluster'], ['yaml@38']],
      ['nginx:1.29-alpine', ['cluster'], ['fixture-1', 'yaml@38']],
      ['nginx:1.29-alpine-slim', ['cluster'], ['fixture-1']],
    ],
  );
  // Built by the chapter: not something to fetch, even though a Pod runs it.
  assert.deepEqual(
    found.built.map((b) => b.image),
    ['app:1.0.0'],
  );
  assert.equal(found.images[0]?.usedBy[0]?.line, 26);
});

test('chapterImages: an image named to fail a pull on purpose is not one to pack', () => {
  const text = `---\ntitle: x\n---\n\n\`\`\`console\n$ kubectl run typo --image=nginx:1.29-does-not-exist\npod/typo created\n$ kubectl run ok --image=nginx:1.29-alpine\n\`\`\`\n`;
  const found = chapterImages([{ file: 'content/x.mdx', slug: 'x', text }]);
  assert.deepEqual(
    found.images.map((i) => i.image),
    ['nginx:1.29-alpine'],
  );
  assert.deepEqual(
    found.unpullable.map((i) => [i.image, i.usedBy[0]?.snippet]),
    [['nginx:1.29-does-not-exist', 'x-1']],
  );
});

test('plan: the manifest without Docker, from a content folder', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kn-pack-unit-'));
  try {
    writeFileSync(join(dir, 'fixture.mdx'), CHAPTER);
    writeFileSync(
      join(dir, '_draft.mdx'),
      '---\ntitle: x\n---\n\n```console\n$ kubectl run x --image=draft:1\n```\n',
    );
    const manifest = plan(readChapters(dir));
    assert.equal(manifest.kind, 'kubenotes-pack');
    assert.deepEqual(
      manifest.images.map((i) => i.ref),
      [
        'docker.io/library/alpine:3.22',
        'docker.io/library/busybox:1.37',
        'docker.io/library/nginx:1.29-alpine',
        'docker.io/library/nginx:1.29-alpine-slim',
      ],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tar: members written, listed and copied out', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kn-tar-unit-'));
  try {
    const big = join(dir, 'big.bin');
    const data = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
    writeFileSync(big, data);
    const archive = join(dir, 'out.tar');
    await writeTar(archive, [
      { name: 'manifest.json', data: Buffer.from('{"a":1}\n') },
      { name: 'images.tar', file: big },
    ]);
    const members = await listTar(archive);
    assert.deepEqual(
      members.map((m) => [m.name, m.size]),
      [
        ['manifest.json', 8],
        ['images.tar', data.length],
      ],
    );
    assert.equal((await readMember(archive, members[0]!)).toString(), '{"a":1}\n');
    const copy = join(dir, 'copy.bin');
    await extractMember(archive, members[1]!, copy);
    const { readFileSync } = await import('node:fs');
    assert.ok(readFileSync(copy).equals(data));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
