/**
 * Each workshop session's home on a tmpfs of its own, of a fixed size. Homes live in the
 * server's state folder, on the disk that also holds every other home, the server's own state
 * and often Docker's images; without a limit one `dd if=/dev/zero of=~/big` fills it for
 * everyone. With it the writer gets
 * "No space left on device" at the limit. The pages count against the session's memory cgroup
 * as they are written, and are freed when the session ends and its mount goes.
 *
 * mount(8) and umount(8) run with argv arrays and no environment but PATH; a session's run
 * asynchronously (each takes about 4 ms, which 300 sessions ending at once would otherwise hold
 * the event loop for), the start-up check and clean-up synchronously.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { isServerAlive, ownerMark } from '../processes/process-tree.ts';

/**
 * The source field of our mounts, `kubenotes-home@<owner mark>`: which server mounted a home,
 * so one that starts after a crash unmounts what the dead one left, and no live server's.
 */
const SOURCE_PREFIX = 'kubenotes-home@';

/** A line of /proc/self/mountinfo, the parts we need. */
export interface MountEntry {
  mountPoint: string;
  fsType: string;
  source: string;
}

/** mountinfo escapes space, tab, newline and backslash in paths as octal (`\040`). */
function unescapeOctal(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) =>
    String.fromCharCode(Number.parseInt(octal, 8)),
  );
}

/**
 * Parses /proc/<pid>/mountinfo: `id parent major:minor root mount-point options [optional
 * fields…] - fs-type source super-options`. Lines that do not have that shape are skipped.
 */
export function parseMountInfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    if (dash < 6 || dash + 2 >= fields.length) continue;
    entries.push({
      mountPoint: unescapeOctal(fields[4]!),
      fsType: fields[dash + 1]!,
      source: unescapeOctal(fields[dash + 2]!),
    });
  }
  return entries;
}

/** The mounts at or below `folder`, deepest first (the order they can be unmounted in). */
export function mountsUnder(entries: readonly MountEntry[], folder: string): MountEntry[] {
  const root = resolve(folder);
  return entries
    .filter((entry) => entry.mountPoint === root || entry.mountPoint.startsWith(root + sep))
    .sort((a, b) => b.mountPoint.length - a.mountPoint.length);
}

function currentMounts(): MountEntry[] {
  return parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8'));
}

const COMMAND_OPTIONS = { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, timeout: 10_000 };

interface Outcome {
  ok: boolean;
  message: string;
}

function outcome(file: string, status: number | null, stderr: string, error?: Error): Outcome {
  const message = (error?.message ?? stderr ?? '').trim();
  return { ok: status === 0, message: message || `${file} exited with ${status}` };
}

function runSync(file: string, args: string[]): Outcome {
  const result = spawnSync(file, args, { ...COMMAND_OPTIONS, encoding: 'utf8' });
  return outcome(file, result.status, result.stderr, result.error);
}

function run(file: string, args: string[]): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(file, args, { ...COMMAND_OPTIONS, encoding: 'utf8' }, (error, _stdout, stderr) => {
      const status = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolve(outcome(file, status, stderr, error && status === null ? error : undefined));
    });
  });
}

/** The options of a session home's tmpfs: root's until the sandbox hands it over. */
export function homeMountOptions(sizeBytes: number): string {
  return `size=${sizeBytes},mode=0700,uid=0,gid=0,nosuid,nodev`;
}

export class HomeMountError extends Error {
  override name = 'HomeMountError';
}

function mountArgs(home: string, sizeBytes: number): string[] {
  return ['-t', 'tmpfs', '-o', homeMountOptions(sizeBytes), SOURCE_PREFIX + ownerMark(), home];
}

function mountError(message: string): HomeMountError {
  return new HomeMountError(
    `Could not give the session home a tmpfs of its own (${message}). The server needs ` +
      'root with CAP_SYS_ADMIN to mount one; or set sandbox.homeSize to 0 to keep homes on the ' +
      "state folder's disk, with no limit.",
  );
}

/** Makes `home` (if missing) and mounts a tmpfs of `sizeBytes` on it; rejects with HomeMountError. */
export async function mountHome(home: string, sizeBytes: number): Promise<void> {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const mounted = await run('mount', mountArgs(home, sizeBytes));
  if (!mounted.ok) throw mountError(mounted.message);
}

/**
 * Unmounts whatever is mounted at or below `folder` (a home, or the folder of all homes);
 * returns what could not be, with why. Call it once no process of the session is left; a
 * mount still busy is detached (lazily unmounted) rather than left behind.
 */
export async function unmountUnder(folder: string): Promise<string[]> {
  const failures: string[] = [];
  for (const { mountPoint } of mountsAt(folder)) {
    if ((await run('umount', [mountPoint])).ok) continue;
    const detached = await run('umount', ['--lazy', mountPoint]);
    if (!detached.ok) failures.push(`${mountPoint}: ${detached.message}`);
  }
  return failures;
}

function mountsAt(folder: string): MountEntry[] {
  let real: string;
  try {
    real = realpathSync(folder); // mountinfo names mounts by their real path
  } catch {
    return []; // no folder, no mount
  }
  return mountsUnder(currentMounts(), real);
}

/** Unmounts the homes that servers which are gone (a crash, SIGKILL) left mounted. */
export function unmountHomesOfDeadServers(): { unmounted: string[]; failures: string[] } {
  const stale = currentMounts()
    .filter(({ source }) => source.startsWith(SOURCE_PREFIX))
    .filter(({ source }) => !isServerAlive(source.slice(SOURCE_PREFIX.length)))
    .sort((a, b) => b.mountPoint.length - a.mountPoint.length);
  const unmounted: string[] = [];
  const failures: string[] = [];
  for (const { mountPoint } of stale) {
    const failure = unmountSync(mountPoint);
    if (failure) failures.push(failure);
    else unmounted.push(mountPoint);
  }
  return { unmounted, failures };
}

/** Unmounts (or else detaches) the mount at `mountPoint`; what went wrong, if anything. */
function unmountSync(mountPoint: string): string | undefined {
  if (runSync('umount', [mountPoint]).ok) return undefined;
  const detached = runSync('umount', ['--lazy', mountPoint]);
  return detached.ok ? undefined : `${mountPoint}: ${detached.message}`;
}

/**
 * Whether this host can mount a home: mounts and unmounts a tiny tmpfs in `stateDir`. The
 * answer is undefined when it can, else why not.
 */
export function homeMountUnavailable(stateDir: string): string | undefined {
  const probe = join(stateDir, `.home-mount-probe-${process.pid}`);
  mkdirSync(probe, { recursive: true, mode: 0o700 });
  const mounted = runSync('mount', mountArgs(probe, 64 * 1024));
  if (!mounted.ok) {
    rmSync(probe, { recursive: true, force: true });
    return mountError(mounted.message).message;
  }
  const failures = mountsAt(probe).flatMap(({ mountPoint }) => unmountSync(mountPoint) ?? []);
  if (failures.length > 0) return `the probe mount stayed: ${failures.join('; ')}`;
  rmSync(probe, { recursive: true, force: true });
  return undefined;
}
