/**
 * A network of the test's own for the stand-in apps (tests/support/app-responder.ts): a network
 * namespace `kn-app-<pid36>-<n>` joined to this machine by a veth pair whose host end has the
 * same name (≤ 15 characters), each end with one address of a free /30 from the documentation
 * ranges TEST-NET-2 and TEST-NET-3 (RFC 5737, never routed anywhere). The API server, on this
 * machine, reaches the namespace's address through the host end, and nothing else can: no
 * service listens on this machine's own addresses, and no packet for it leaves the machine.
 *
 * Why not a fixed range: the /30 must overlap no address or route the machine already has
 * (on some machines TEST-NET-1, 192.0.2.0/24, is eth0's own network and its default gateway),
 * and concurrent runs each need their own. It is chosen under a machine-wide lock, which also
 * removes what a run that crashed left (its pid dead).
 */
import { spawnSync } from 'node:child_process';
import { acquireMachineLock, ownerAlive } from './machine-lock.ts';

const PREFIX = 'kn-app-';
const NAME = /^kn-app-([0-9a-z]+)-([0-9a-z])$/;
const POOLS = ['198.51.100.0', '203.0.113.0'];
const LOCK = '/var/run/kubenotes-app-network.lock';

export interface AppNetwork {
  /** the namespace's name, for `ip netns exec` */
  namespace: string;
  /** the app's address, inside the namespace: what a Pod's IP is pointed at */
  address: string;
  close(): void;
}

/** Why the app network cannot be made here, or undefined when it can. */
export function appNetworkUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) {
    return 'the stand-in app runs in a network namespace of its own, which needs root';
  }
  if (spawnSync('ip', ['-V']).status !== 0) {
    return 'the stand-in app needs `ip` (iproute2) to make its network namespace';
  }
  return undefined;
}

let made = 0;
/** one at a time within this process too (the lock file is for other runs) */
let queue: Promise<unknown> = Promise.resolve();

export function createAppNetwork(): Promise<AppNetwork> {
  const next = queue.then(create);
  queue = next.catch(() => undefined);
  return next;
}

async function create(): Promise<AppNetwork> {
  const name = `${PREFIX}${process.pid.toString(36)}-${(made++ % 36).toString(36)}`;
  const release = await acquireMachineLock(LOCK, 'a network for the stand-in app', console.log);
  try {
    removeStale();
    const [host, app] = freeSubnet();
    ip('netns', 'add', name);
    const network: AppNetwork = {
      namespace: name,
      address: app,
      close: () => {
        // The namespace's processes are the responders, each closed by its owner; the veth
        // pair goes with either of its ends.
        spawnSync('ip', ['link', 'del', name]);
        spawnSync('ip', ['netns', 'del', name]);
      },
    };
    try {
      // loopback's MTU: the 17 MiB answers of the size tests cross it as fast as they would
      // this machine's own address (at 1500, one missed the route's 2 s timeout on a busy machine)
      ip(
        'link',
        'add',
        name,
        'mtu',
        '65535',
        'type',
        'veth',
        'peer',
        'name',
        'app0',
        'mtu',
        '65535',
        'netns',
        name,
      );
      ip('addr', 'add', `${host}/30`, 'dev', name);
      ip('link', 'set', name, 'up');
      ip('-n', name, 'addr', 'add', `${app}/30`, 'dev', 'app0');
      ip('-n', name, 'link', 'set', 'app0', 'up');
      ip('-n', name, 'link', 'set', 'lo', 'up');
    } catch (error) {
      network.close();
      throw error;
    }
    return network;
  } finally {
    release();
  }
}

function ip(...args: string[]): string {
  const run = spawnSync('ip', args, { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`ip ${args.join(' ')}: ${run.stderr.trim()}`);
  return run.stdout;
}

/** The app networks of runs that ended without removing them (their pid is dead). */
function removeStale(): void {
  const dead = (name: string) => {
    const match = NAME.exec(name);
    if (match === null) return false;
    const pid = Number.parseInt(match[1] ?? '', 36);
    // the namespace's file tells when it was made, so a reused pid does not keep it (nor block
    // this run's own name: the names are made of pids); a veth whose namespace file is gone
    // goes by its pid alone
    return !ownerAlive(pid, `/run/netns/${name}`);
  };
  for (const line of ip('netns', 'list').split('\n')) {
    const name = line.split(' ')[0] ?? '';
    if (!dead(name)) continue;
    // a responder left running inside it (its parent died first)
    for (const pid of spawnSync('ip', ['netns', 'pids', name], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {}
    }
    spawnSync('ip', ['netns', 'del', name]);
    console.log(`removed the network namespace ${name} a crashed test run left`);
  }
  const links = JSON.parse(ip('-j', 'link', 'show', 'type', 'veth')) as { ifname: string }[];
  for (const { ifname } of links) {
    if (!dead(ifname)) continue;
    spawnSync('ip', ['link', 'del', ifname]);
    console.log(`removed the interface ${ifname} a crashed test run left`);
  }
}

/** A /30 of the pools that overlaps no address or route of this machine: [host end, app end]. */
function freeSubnet(): [string, string] {
  const taken: [number, number][] = [];
  const routes = JSON.parse(ip('-j', '-4', 'route', 'show', 'table', 'all')) as { dst: string }[];
  const addresses = JSON.parse(ip('-j', '-4', 'addr')) as {
    addr_info: { local: string; prefixlen: number }[];
  }[];
  for (const { dst } of routes) {
    if (dst !== 'default') taken.push(prefix(dst));
  }
  for (const { addr_info } of addresses) {
    for (const { local, prefixlen } of addr_info) taken.push(prefix(`${local}/${prefixlen}`));
  }
  for (const pool of POOLS) {
    const base = toNumber(pool);
    for (let at = base; at < base + 256; at += 4) {
      const overlaps = taken.some(([net, bits]) => {
        const shorter = Math.min(bits, 30);
        const mask = shorter === 0 ? 0 : (~0 << (32 - shorter)) >>> 0;
        return (net & mask) >>> 0 === (at & mask) >>> 0;
      });
      if (!overlaps) return [toAddress(at + 1), toAddress(at + 2)];
    }
  }
  throw new Error(`no free /30 for the stand-in app in ${POOLS.map((p) => `${p}/24`).join(', ')}`);
}

function prefix(text: string): [number, number] {
  const [address = '', bits = '32'] = text.split('/');
  return [toNumber(address), Number(bits)];
}

function toNumber(address: string): number {
  return address.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

function toAddress(n: number): string {
  return [24, 16, 8, 0].map((shift) => (n >>> shift) & 255).join('.');
}
