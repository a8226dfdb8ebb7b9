/**
 * `kubenotes preload <file.tar>`: at the venue, puts a pack's images where the guide needs
 * them — the kind node image and `docker build`'s bases into the local Docker engine
 * (`docker load`), the images Pods run into every node of the kind cluster
 * (`kind load image-archive`) — then checks, node by node (`crictl images`, else
 * `ctr -n k8s.io images ls`), that every image the chapters need is there, naming any that
 * is missing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { missingImages } from './image-refs.ts';
import {
  CLUSTER_ARCHIVE,
  DOCKER_ARCHIVE,
  MANIFEST_NAME,
  PackError,
  type PackManifest,
  parse,
} from './pack.ts';
import { mustRun, type RunCommand, runCommand } from './run-command.ts';
import { extractMember, listTar, readMember, type TarMember } from './tar.ts';

export interface PreloadOptions {
  file: string;
  name: string;
  tmpDir: string | undefined;
}

export const PRELOAD_USAGE = `Usage: kubenotes preload FILE.tar [--name kubenotes]

Loads an archive made by \`kubenotes pack\`: the kind node image and build bases into the local
Docker engine, the images the chapters run into every node of the kind cluster, then checks
each node has every image the chapters need, naming any that is missing.

Options:
  --name NAME      the kind cluster (default kubenotes)
  --tmp-dir DIR    where the archive's parts are unpacked on the way (default: the system's)`;

export function parsePreloadArgs(argv: readonly string[]): PreloadOptions {
  const { values, positionals } = parse(argv, {
    name: { type: 'string' },
    'tmp-dir': { type: 'string' },
  });
  const [file, ...extra] = positionals;
  if (!file) throw new PackError(`kubenotes preload needs the archive.\n\n${PRELOAD_USAGE}`);
  if (extra.length > 0) throw new PackError(`Unexpected argument "${extra[0]}".`);
  return {
    file,
    name: (values.name as string | undefined) ?? 'kubenotes',
    tmpDir: values['tmp-dir'] as string | undefined,
  };
}

/** The manifest of a pack (its first member), checked. */
export async function readPack(
  file: string,
): Promise<{ manifest: PackManifest; members: TarMember[] }> {
  let members: TarMember[];
  try {
    members = await listTar(file);
  } catch (error) {
    throw new PackError(`Cannot read ${file}: ${(error as Error).message}`);
  }
  const entry = members.find((m) => m.name === MANIFEST_NAME);
  if (!entry) {
    throw new PackError(`${file} is not a kubenotes pack (it has no ${MANIFEST_NAME}).`);
  }
  const manifest = JSON.parse((await readMember(file, entry)).toString('utf8')) as PackManifest;
  if (manifest.kind !== 'kubenotes-pack' || manifest.version !== 1) {
    throw new PackError(`${file}: unknown pack format (${manifest.kind} v${manifest.version}).`);
  }
  return { manifest, members };
}

export interface NodeReport {
  node: string;
  /** how the node's images were listed */
  via: string;
  missing: string[];
}

export interface PreloadResult {
  manifest: PackManifest;
  nodes: NodeReport[];
  /** images needed on the Docker engine that it lacks */
  dockerMissing: string[];
  ok: boolean;
}

export async function preload(
  options: PreloadOptions,
  deps: { run?: RunCommand; log?: (line: string) => void } = {},
): Promise<PreloadResult> {
  const run = deps.run ?? runCommand;
  const log = deps.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const { manifest, members } = await readPack(options.file);
  const member = (name: string) => members.find((m) => m.name === name);
  const work = mkdtempSync(join(options.tmpDir ?? tmpdir(), 'kubenotes-preload-'));
  try {
    // 1. The local Docker engine: the node image (for kind create cluster) and build bases.
    const dockerArchive = member(DOCKER_ARCHIVE);
    if (dockerArchive) {
      const path = join(work, DOCKER_ARCHIVE);
      await extractMember(options.file, dockerArchive, path);
      log(
        `kubenotes preload: docker load (${(manifest.members[DOCKER_ARCHIVE] ?? []).join(', ')})`,
      );
      await mustRun(run, 'docker', ['load', '-i', path]).catch((error: Error) => {
        throw new PackError(`Loading images into Docker failed: ${error.message}`);
      });
      rmSync(path, { force: true });
    }
    const dockerNeeded = [
      ...manifest.images.filter((i) => i.where.includes('docker')).map((i) => i.image),
      ...(manifest.nodeImage ? [manifest.nodeImage.image] : []),
    ];
    const dockerMissing: string[] = [];
    for (const image of dockerNeeded) {
      const found = await run('docker', ['image', 'inspect', image]);
      if (found.code !== 0) dockerMissing.push(image);
    }

    // 2. The kind cluster's nodes.
    const clusters = await mustRun(run, 'kind', ['get', 'clusters']);
    if (!clusters.split('\n').includes(options.name)) {
      const create = manifest.nodeImage
        ? `kind create cluster --name ${options.name} --image ${manifest.nodeImage.image} --config sandbox-server/kind/kind-config.yaml`
        : `kind create cluster --name ${options.name} --config sandbox-server/kind/kind-config.yaml`;
      throw new PackError(
        `The kind cluster "${options.name}" does not exist${dockerArchive ? ' (the node image is now in Docker)' : ''}. Create it offline with\n  ${create}\nthen run kubenotes preload again.`,
      );
    }
    const clusterArchive = member(CLUSTER_ARCHIVE);
    if (clusterArchive) {
      const path = join(work, CLUSTER_ARCHIVE);
      await extractMember(options.file, clusterArchive, path);
      log(
        `kubenotes preload: kind load image-archive (${(manifest.members[CLUSTER_ARCHIVE] ?? []).join(', ')}) --name ${options.name}`,
      );
      await mustRun(run, 'kind', ['load', 'image-archive', path, '--name', options.name], {
        timeoutMs: 30 * 60_000,
      }).catch((error: Error) => {
        // An archive saved without --platform under Docker's containerd image store
        // (kubernetes-sigs/kind#3795); packs made since save for one platform.
        const hint = /content digest \S+ not found/.test(error.message)
          ? `\nThe archive names image content for platforms it does not hold${manifest.platform ? '' : ' (it was saved without --platform)'}: make it again with this version of kubenotes pack, which saves for the kind node's platform.`
          : '';
        throw new PackError(`kind load image-archive failed: ${error.message}${hint}`);
      });
    }

    // 3. Check each node: every image the chapters run, packed or reported missing at pack time.
    const needed = [
      ...manifest.images.filter((i) => i.where.includes('cluster')).map((i) => i.image),
      ...manifest.missing.filter((i) => i.where.includes('cluster')).map((i) => i.image),
    ];
    const nodes = (await mustRun(run, 'kind', ['get', 'nodes', '--name', options.name]))
      .split('\n')
      .map((n) => n.trim())
      .filter(Boolean);
    const reports: NodeReport[] = [];
    for (const node of nodes) {
      const listed = await nodeImages(run, node);
      reports.push({ node, via: listed.via, missing: missingImages(needed, listed.images) });
    }
    const ok = dockerMissing.length === 0 && reports.every((r) => r.missing.length === 0);
    return { manifest, nodes: reports, dockerMissing, ok };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The images a kind node's containerd has: `crictl images`, else `ctr -n k8s.io images ls`. */
export async function nodeImages(
  run: RunCommand,
  node: string,
): Promise<{ images: string[]; via: string }> {
  const crictl = await run('docker', ['exec', node, 'crictl', 'images', '-o', 'json']);
  if (crictl.code === 0) {
    try {
      const parsed = JSON.parse(crictl.stdout) as { images?: { repoTags?: string[] }[] };
      return {
        images: (parsed.images ?? []).flatMap((i) => i.repoTags ?? []),
        via: 'crictl images',
      };
    } catch {
      // fall through to ctr
    }
  }
  const ctr = await mustRun(run, 'docker', [
    'exec',
    node,
    'ctr',
    '-n',
    'k8s.io',
    'images',
    'ls',
    '-q',
  ]);
  return { images: ctr.split('\n').filter(Boolean), via: 'ctr -n k8s.io images ls' };
}

export function preloadSummary(result: PreloadResult, name: string): string {
  const lines: string[] = [];
  const needed = [
    ...result.manifest.images.filter((i) => i.where.includes('cluster')).map((i) => i.image),
    ...result.manifest.missing.filter((i) => i.where.includes('cluster')).map((i) => i.image),
  ];
  for (const report of result.nodes) {
    const have = needed.length - report.missing.length;
    lines.push(`  ${report.node}: ${have}/${needed.length} images present (${report.via})`);
    for (const image of report.missing) lines.push(`    MISSING ${image}`);
  }
  for (const image of result.dockerMissing) lines.push(`  docker engine: MISSING ${image}`);
  const nodeHint = result.manifest.nodeImage
    ? `\nCreate a cluster offline with --image ${result.manifest.nodeImage.image} (kind would otherwise try to pull its pinned default).`
    : '';
  return result.ok
    ? `kind cluster "${name}": every image the chapters need is present.\n${lines.join('\n')}${nodeHint}`
    : `kind cluster "${name}": some images the chapters need are missing.\n${lines.join('\n')}\nPack them where there is network (docker pull IMAGE, then kubenotes pack) and preload again.`;
}
