/**
 * Which platform `kubenotes pack` saves images for.
 *
 * `kind load image-archive` imports with `ctr images import --all-platforms`. Under Docker's
 * containerd image store (the default of new Docker 29 installs) a plain `docker save` of a
 * pulled multi-platform image writes the image's whole index, while only the engine's own
 * platform was ever pulled, so that import stops at the first absent blob
 * (`content digest sha256:…: not found`; kubernetes-sigs/kind#3795). Saved for one platform,
 * the archive holds only what is there. kind's nodes run on the engine itself, so the node's
 * platform is the engine's.
 */
import { mustRun, type RunCommand } from './run-command.ts';

/** `docker save --platform` needs API 1.48 (Docker 28.0) on both ends. */
export const SAVE_PLATFORM_API = '1.48';

export interface SavePlatform {
  /** `os/arch[/variant]` to pass to `docker save --platform`; undefined: a plain save */
  platform: string | undefined;
}

const PLATFORM = /^[a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9]+)?$/;

/** Checks a `--platform` value the way the error should name it. */
export function checkPlatform(value: string): string | undefined {
  return PLATFORM.test(value)
    ? undefined
    : `--platform ${value}: write os/arch, as in linux/amd64 or linux/arm64`;
}

/**
 * The engine's platform, when its API can save for one platform; a plain save otherwise
 * (engines that old keep the classic image store, whose saves hold one platform anyway).
 * `chosen` (the --platform option) wins, for packing on one machine for another.
 */
export async function savePlatform(
  run: RunCommand,
  chosen: string | undefined,
): Promise<SavePlatform> {
  const version = await mustRun(run, 'docker', [
    'version',
    '--format',
    '{{.Client.APIVersion}} {{.Server.APIVersion}} {{.Server.Os}}/{{.Server.Arch}}',
  ]);
  const [client = '', server = '', engine = ''] = version.trim().split(/\s+/);
  const api = [client, server].reduce((low, v) => (apiBelow(v, low) ? v : low));
  if (apiBelow(api, SAVE_PLATFORM_API)) {
    if (chosen) {
      throw new Error(
        `--platform ${chosen} needs Docker 28 or newer (API ${SAVE_PLATFORM_API}); this client and engine speak API ${api}. Pack without --platform, or on a newer Docker.`,
      );
    }
    return { platform: undefined };
  }
  if (chosen) return { platform: chosen };
  return { platform: PLATFORM.test(engine) ? engine : undefined };
}

/** `1.41` < `1.48`; anything unreadable counts as old. */
function apiBelow(version: string, than: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  const [thanMajor = 0, thanMinor = 0] = than.split('.').map(Number);
  if (!Number.isFinite(major) || !Number.isFinite(minor)) return true;
  return major < thanMajor || (major === thanMajor && minor < thanMinor);
}
