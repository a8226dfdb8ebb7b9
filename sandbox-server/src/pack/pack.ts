/**
 * `kubenotes pack`: every image the chapters use, and the kind node image, saved into one
 * archive for a venue with a bad network. The archive is a tar of:
 *
 *   kubenotes-pack.json   the manifest: each image, its size, where it is needed and which
 *                         chapter and snippet use it (first member: cheap to read)
 *   cluster-images.tar    `docker save` of the images Pods run (for `kind load image-archive`)
 *   docker-images.tar     `docker save` of the kind node image and the bases `docker build`
 *                         needs (for `docker load`), when there are any
 *
 * Both are saved for the kind node's platform (save-platform.ts says why).
 *
 * `kubenotes pack --list` prints what would be packed without Docker.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { type ChapterSource, chapterImages, type ImageUser } from './chapter-images.ts';
import {
  type ImagePlace,
  kindDefaultNodeImage,
  normalizeImage,
  withoutDigest,
} from './image-refs.ts';
import { mustRun, type RunCommand, runCommand } from './run-command.ts';
import { checkPlatform, savePlatform } from './save-platform.ts';
import { writeTar } from './tar.ts';

export const MANIFEST_NAME = 'kubenotes-pack.json';
export const CLUSTER_ARCHIVE = 'cluster-images.tar';
export const DOCKER_ARCHIVE = 'docker-images.tar';

export class PackError extends Error {
  override name = 'PackError';
}

export interface PackedImage {
  /** as the chapters write it */
  image: string;
  /** as containerd lists it */
  ref: string;
  where: ImagePlace[];
  /** Docker's image id and uncompressed size, when it was found */
  id?: string;
  size?: number;
  usedBy: ImageUser[];
}

export interface PackManifest {
  kind: 'kubenotes-pack';
  version: 1;
  created: string;
  /** the kind node image: `kind create cluster --image <image>` at the venue */
  nodeImage?: { image: string; pinned?: string; source: string; id?: string; size?: number };
  images: PackedImage[];
  /** images the chapters build themselves: nothing to pack */
  built: { image: string; usedBy: ImageUser[] }[];
  /** images the chapters name to show a pull that fails: nothing to pack */
  unpullable?: { image: string; usedBy: ImageUser[] }[];
  /** images not found in the local Docker engine (packed only with --allow-missing) */
  missing: PackedImage[];
  /** which images each archive member holds */
  members: Record<string, string[]>;
  /** the platform the archives were saved for (`docker save --platform`), when one was */
  platform?: string;
}

export interface PackOptions {
  out: string;
  contentDir: string;
  kindConfig: string | undefined;
  kindName: string;
  nodeImage: string | undefined;
  withNodeImage: boolean;
  allowMissing: boolean;
  list: boolean;
  /** save for this platform instead of the Docker engine's */
  platform: string | undefined;
}

export const PACK_USAGE = `Usage: kubenotes pack [--out FILE] [options]

Saves every image the guide's chapters use (--image=, image:, Dockerfile FROM, kubectl set
image; placeholders at their defaults), and the kind node image, into one archive with a
manifest, for \`kubenotes preload\` at a venue with a bad network. Needs Docker; images
missing locally are named, with how to get them.

Options:
  --out FILE          the archive (default kubenotes-images.tar)
  --content DIR       the chapters (default: the guide's content/)
  --node-image IMAGE  the kind node image to include (default: the one the kind cluster
                      --kind-name runs, else the kind config's, else kind's default)
  --no-node-image     leave the node image out (the venue has it already)
  --kind-name NAME    the kind cluster to read the node image from (default kubenotes)
  --allow-missing     pack what is there, and list the missing images in the manifest
  --platform OS/ARCH  save for this platform (default: the Docker engine's, which is the
                      kind node's; needs Docker 28+). Only for packing on one machine
                      for a venue machine of another architecture
  --list              print what would be packed (JSON), without Docker`;

export function parsePackArgs(
  argv: readonly string[],
  defaults: { contentDir: string; kindConfig?: string },
): PackOptions {
  const { values, positionals } = parse(argv, {
    out: { type: 'string' },
    content: { type: 'string' },
    'node-image': { type: 'string' },
    'no-node-image': { type: 'boolean' },
    'kind-name': { type: 'string' },
    'allow-missing': { type: 'boolean' },
    list: { type: 'boolean' },
    platform: { type: 'string' },
  });
  if (positionals.length > 0) {
    throw new PackError(`Unexpected argument "${positionals[0]}".\n\n${PACK_USAGE}`);
  }
  if (values['node-image'] && values['no-node-image']) {
    throw new PackError('--node-image and --no-node-image exclude each other.');
  }
  const platform = values.platform as string | undefined;
  const badPlatform = platform === undefined ? undefined : checkPlatform(platform);
  if (badPlatform) throw new PackError(badPlatform);
  return {
    out: (values.out as string | undefined) ?? 'kubenotes-images.tar',
    contentDir: (values.content as string | undefined) ?? defaults.contentDir,
    kindConfig: defaults.kindConfig,
    kindName: (values['kind-name'] as string | undefined) ?? 'kubenotes',
    nodeImage: values['node-image'] as string | undefined,
    withNodeImage: !values['no-node-image'],
    allowMissing: Boolean(values['allow-missing']),
    list: Boolean(values.list),
    platform,
  };
}

/** node:util parseArgs with errors that name the command. */
export function parse(
  argv: readonly string[],
  options: NonNullable<Parameters<typeof parseArgs>[0]>['options'],
): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
    return {
      values: parsed.values as Record<string, string | boolean | undefined>,
      positionals: parsed.positionals,
    };
  } catch (error) {
    throw new PackError(`${(error as Error).message}. Run with --help for the options.`);
  }
}

/** The chapters of a content folder (`.md`/`.mdx`, `_drafts` left out). */
export function readChapters(contentDir: string): ChapterSource[] {
  let names: string[];
  try {
    names = readdirSync(contentDir).sort();
  } catch (error) {
    throw new PackError(`Cannot read the chapters in ${contentDir}: ${(error as Error).message}`);
  }
  const chapters = names
    .filter((name) => /\.mdx?$/.test(name) && !name.startsWith('_'))
    .map((name) => {
      const path = join(contentDir, name);
      return {
        file: relative(process.cwd(), path) || path,
        slug: name.replace(/\.mdx?$/, ''),
        text: readFileSync(path, 'utf8'),
      };
    });
  if (chapters.length === 0) throw new PackError(`No chapters (.md, .mdx) in ${contentDir}.`);
  return chapters;
}

export interface PackDeps {
  run?: RunCommand;
  /** progress lines (stderr) */
  log?: (line: string) => void;
}

/** Which kind node image to pack, and where that choice came from. */
export async function resolveNodeImage(
  options: Pick<PackOptions, 'nodeImage' | 'kindName' | 'kindConfig'>,
  run: RunCommand,
): Promise<{ image: string; source: string }> {
  if (options.nodeImage) return { image: options.nodeImage, source: '--node-image' };
  const node = `${options.kindName}-control-plane`;
  const inspected = await run('docker', ['inspect', '--format', '{{.Config.Image}}', node]).catch(
    () => undefined,
  );
  const running = inspected?.code === 0 ? inspected.stdout.trim() : '';
  if (running) return { image: running, source: `the kind cluster ${options.kindName} (${node})` };
  if (options.kindConfig) {
    try {
      const config = parseYaml(readFileSync(options.kindConfig, 'utf8')) as {
        nodes?: { image?: string }[];
      };
      const image = config?.nodes?.find((n) => n.image)?.image;
      if (image) return { image, source: options.kindConfig };
    } catch {
      // no config file, or not YAML: fall through to kind's default
    }
  }
  const version = await run('kind', ['version']).catch(() => undefined);
  const image = version?.code === 0 ? kindDefaultNodeImage(version.stdout) : undefined;
  if (image) return { image, source: `kind's default (${version?.stdout.trim()})` };
  throw new PackError(
    'Cannot tell which kind node image to pack: no kind cluster runs, the kind config names none, and kind is missing or unknown. Pass --node-image IMAGE, or --no-node-image.',
  );
}

/** What the chapters need, as a manifest without Docker's ids and sizes (--list). */
export function plan(chapters: readonly ChapterSource[]): PackManifest {
  const found = chapterImages(chapters);
  return {
    kind: 'kubenotes-pack',
    version: 1,
    created: new Date().toISOString(),
    images: found.images.map((n) => ({ ...n, ref: normalizeImage(n.image) })),
    built: found.built,
    unpullable: found.unpullable,
    missing: [],
    members: {},
  };
}

export async function pack(options: PackOptions, deps: PackDeps = {}): Promise<PackManifest> {
  const run = deps.run ?? runCommand;
  const log = deps.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const manifest = plan(readChapters(options.contentDir));
  if (options.withNodeImage) {
    const node = await resolveNodeImage(options, run);
    manifest.nodeImage = {
      image: withoutDigest(node.image),
      ...(node.image.includes('@') ? { pinned: node.image } : {}),
      source: node.source,
    };
  }
  if (options.list) return manifest;

  const saveFor = await savePlatform(run, options.platform).catch((error: Error) => {
    throw new PackError(
      error.message.startsWith('--platform')
        ? error.message
        : `kubenotes pack needs a running Docker engine (it saves the images from it): ${error.message}`,
    );
  });
  if (saveFor.platform) manifest.platform = saveFor.platform;
  const platformArgs = saveFor.platform ? ['--platform', saveFor.platform] : [];
  // Which images the local engine has.
  const inspect = async (image: string) => {
    const result = await run('docker', [
      'image',
      'inspect',
      '--format',
      '{{.Id}} {{.Size}}',
      image,
    ]);
    if (result.code !== 0) return undefined;
    const [id = '', size = '0'] = result.stdout.trim().split(/\s+/);
    return { id, size: Number(size) };
  };
  const present: typeof manifest.images = [];
  for (const image of manifest.images) {
    const found = await inspect(image.image);
    if (found) present.push({ ...image, ...found });
    else manifest.missing.push(image);
  }
  let nodeMissing = false;
  if (manifest.nodeImage) {
    const node = manifest.nodeImage;
    let found = await inspect(node.image);
    // kind pulls its node image by digest, which leaves it untagged: tag it, so that it can be
    // saved under a name `kind create cluster --image` finds at the venue.
    if (!found && node.pinned && (await inspect(node.pinned))) {
      await mustRun(run, 'docker', ['tag', node.pinned, node.image]);
      log(`kubenotes pack: tagged ${node.pinned} as ${node.image}`);
      found = await inspect(node.image);
    }
    if (found) Object.assign(node, found);
    else nodeMissing = true;
  }
  if ((manifest.missing.length > 0 || nodeMissing) && !options.allowMissing) {
    throw new PackError(missingReport(manifest, nodeMissing));
  }
  if (manifest.missing.length > 0) log(missingReport(manifest, nodeMissing));
  manifest.images = present;

  const cluster = present.filter((i) => i.where.includes('cluster')).map((i) => i.image);
  // An image needed in both places (alpine: Pods run it, and a Dockerfile builds FROM it)
  // goes into both archives.
  const docker = present
    .filter((i) => i.where.includes('docker'))
    .map((i) => i.image)
    .concat(manifest.nodeImage && !nodeMissing ? [manifest.nodeImage.image] : []);
  if (manifest.nodeImage && nodeMissing) delete manifest.nodeImage;

  const work = mkdtempSync(join(tmpdir(), 'kubenotes-pack-'));
  try {
    const members: { name: string; file: string }[] = [];
    for (const [name, images] of [
      [CLUSTER_ARCHIVE, cluster],
      [DOCKER_ARCHIVE, docker],
    ] as const) {
      if (images.length === 0) continue;
      const file = join(work, name);
      log(`kubenotes pack: docker save ${[...platformArgs, ...images].join(' ')} → ${name}`);
      await mustRun(run, 'docker', ['save', ...platformArgs, '-o', file, ...images]);
      manifest.members[name] = [...images];
      members.push({ name, file });
    }
    if (members.length === 0) {
      throw new PackError(
        'Nothing to pack: the chapters use no image, and no node image is packed.',
      );
    }
    log(`kubenotes pack: writing ${options.out}`);
    await writeTar(options.out, [
      { name: MANIFEST_NAME, data: Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`) },
      ...members,
    ]);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return manifest;
}

function missingReport(manifest: PackManifest, nodeMissing: boolean): string {
  const lines = manifest.missing.map(
    (image) =>
      `  ${image.image}  (${image.usedBy.map((u) => `${u.snippet}, ${u.file}:${u.line}`).join('; ')})\n      get it where there is network: docker pull ${image.image}`,
  );
  if (nodeMissing && manifest.nodeImage) {
    const node = manifest.nodeImage;
    lines.push(
      `  ${node.image}  (the kind node image, from ${node.source})\n      get it where there is network: docker pull ${node.pinned ?? node.image}${node.pinned ? ` && docker tag ${node.pinned} ${node.image}` : ''}\n      or pass --node-image IMAGE / --no-node-image`,
    );
  }
  return `${lines.length} image(s) the guide needs are not in the local Docker engine:\n${lines.join('\n')}\nThen run kubenotes pack again (or pass --allow-missing to pack the others).`;
}

/** A few lines for the terminal: what went into the archive. */
export function packSummary(manifest: PackManifest, out: string): string {
  const mb = (bytes: number | undefined) =>
    bytes === undefined ? '?' : `${(bytes / 1e6).toFixed(1)} MB`;
  const rows = manifest.images.map(
    (i) =>
      `  ${i.image.padEnd(40)} ${mb(i.size).padStart(9)}  ${i.where.join('+').padEnd(14)} ${[...new Set(i.usedBy.map((u) => u.chapter))].join(', ')}`,
  );
  if (manifest.nodeImage) {
    rows.push(
      `  ${manifest.nodeImage.image.padEnd(40)} ${mb(manifest.nodeImage.size).padStart(9)}  kind node`,
    );
  }
  let size = '';
  try {
    size = ` (${mb(statSync(out).size)})`;
  } catch {
    // --list: no archive
  }
  const built = manifest.built.length
    ? `\nBuilt by the chapters themselves (not packed): ${manifest.built.map((b) => b.image).join(', ')}`
    : '';
  const unpullable = manifest.unpullable?.length
    ? `\nNamed to show a pull that fails (not packed): ${manifest.unpullable.map((b) => b.image).join(', ')}`
    : '';
  const missing = manifest.missing.length
    ? `\nMISSING (not packed): ${manifest.missing.map((m) => m.image).join(', ')}`
    : '';
  const platform = manifest.platform ? `, saved for ${manifest.platform}` : '';
  return `${out}${size}${platform}:\n${rows.join('\n')}${built}${unpullable}${missing}\nAt the venue: kubenotes preload ${out} --name <kind cluster>`;
}
