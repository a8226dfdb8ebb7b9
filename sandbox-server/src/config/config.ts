/**
 * The sandbox server's settings: one table names every setting with its flag and environment
 * variable; values come from defaults < config file < KUBENOTES_* variables < flags, and are
 * validated with zod at this boundary. A bad value is refused with a sentence naming the
 * setting, where it came from, and what is expected. The defaults are never mutated.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseDuration } from './duration.ts';

const duration = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const ms = parseDuration(value);
  if (ms === null) {
    ctx.addIssue({ code: 'custom', message: 'expected a duration such as 90s, 30m or 4h' });
    return z.NEVER;
  }
  return ms;
});
const count = (min: number) => z.coerce.number().int().min(min);
const BYTE_UNITS: Record<string, number> = {
  '': 1,
  k: 1e3,
  m: 1e6,
  g: 1e9,
  ki: 1024,
  mi: 1024 ** 2,
  gi: 1024 ** 3,
};
/** Sizes: a number of bytes, or `512Mi`, `1Gi`, `500M`. */
const bytes = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmg]i?)?b?\s*$/i.exec(String(value));
  const unit = BYTE_UNITS[(match?.[2] ?? '').toLowerCase()];
  if (!match || unit === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: 'expected a size such as 512Mi, 1Gi or a number of bytes',
    });
    return z.NEVER;
  }
  return Math.round(Number(match[1]) * unit);
});
const flag = z.union([z.boolean(), z.enum(['true', 'false', '1', '0'])]).transform((v) => {
  return v === true || v === 'true' || v === '1';
});
const list = z
  .union([z.array(z.string()), z.string()])
  .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean));

export const ConfigSchema = z.object({
  mode: z.enum(['local', 'workshop']).default('local'),
  host: z.string().min(1).default('127.0.0.1'),
  port: count(0).max(65535).default(8080),
  siteDir: z.string().optional(),
  /** the tasks' checks (tasks.json of a built site); default: the one in siteDir */
  tasks: z.string().optional(),
  allowedOrigins: list.default([]),
  trustProxy: flag.default(false),
  cluster: z
    .object({
      provider: z.enum(['auto', 'kind', 'existing', 'none']).default('auto'),
      kubeconfig: z.string().optional(),
      context: z.string().optional(),
      kindName: z.string().default('kubenotes'),
      /** kind's cluster config; default sandbox-server/kind/kind-config.yaml */
      kindConfig: z.string().optional(),
      /** a node image other than kind's default */
      kindImage: z.string().optional(),
      /** images loaded into the kind nodes at start, for venues with a bad network */
      preloadImages: list.default([]),
    })
    .prefault({}),
  sessions: z
    .object({
      max: count(1).default(20),
      idleTimeout: duration.default(30 * 60_000),
      lifetime: duration.optional(),
      grace: duration.default(10 * 60_000),
      expiringWarning: duration.default(5 * 60_000),
      attachTimeout: duration.default(5000),
      perClientPerMinute: count(1).default(30),
    })
    .prefault({}),
  flow: z
    .object({
      highWaterBytes: count(1024).default(1024 * 1024),
      lowWaterBytes: count(0).default(256 * 1024),
      tooSlow: duration.default(5000),
    })
    .prefault({}),
  heartbeat: duration.default(30_000),
  screen: z
    .object({
      enabled: flag.default(true),
      scrollback: count(0).max(100_000).default(1000),
    })
    .prefault({}),
  shell: z
    .object({
      command: z.string().default('bash'),
      /** PATH for the shells; default: the server's own PATH (local mode) */
      path: z.string().optional(),
      /** extra environment variable names passed through to the shells */
      passEnv: list.default([]),
      stateDir: z.string().optional(),
      /** workshop: run each shell as a pod of this image in the cluster */
      podImage: z.string().optional(),
    })
    .prefault({}),
  joinCodes: list.default([]),
  /** names this server's namespaces apart from another server's on the same cluster */
  instance: z
    .string()
    .regex(/^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/, 'must be a short lowercase name (a-z, 0-9, -)')
    .default('kubenotes'),
  quota: z
    .object({
      pods: count(1).default(20),
      cpu: z.string().default('2'),
      memory: z.string().default('2Gi'),
    })
    .prefault({}),
  adminToken: z.string().min(16, 'must be at least 16 characters').optional(),
  /** how workshop shells are isolated (local mode keeps the plain shell) */
  sandbox: z
    .object({
      isolation: z.enum(['bwrap', 'none']).default('bwrap'),
      /** isolated: a network of its own per shell, out only to the API server; host: shared */
      network: z.enum(['isolated', 'host']).default('isolated'),
      uidFirst: count(1000).default(1_900_000_000),
      uidLast: count(1000).default(1_900_000_999),
      pids: count(16).default(256),
      memory: bytes.default(512 * 1024 * 1024),
      cpuPercent: count(1).default(100),
      tmpSize: bytes.default(256 * 1024 * 1024),
      /** 0: homes stay on the state folder's disk, with no limit */
      homeSize: bytes.default(256 * 1024 * 1024),
      cgroupParent: z.string().default('kubenotes'),
      readOnlyPaths: list.default([]),
    })
    .prefault({}),
});

export type Config = z.infer<typeof ConfigSchema>;

/** Whether workshop shells run in a bwrap sandbox on this machine (not in pods, not bare). */
export function sandboxedShells(config: Config): boolean {
  return (
    config.mode === 'workshop' && config.sandbox.isolation === 'bwrap' && !config.shell.podImage
  );
}

/** Whether those shells get a network of their own, reaching the cluster through a relay. */
export function relayedShells(config: Config): boolean {
  return sandboxedShells(config) && config.sandbox.network === 'isolated';
}
export type ConfigInput = z.input<typeof ConfigSchema>;

/** Every setting that can come from a flag or an environment variable. */
interface Setting {
  path: string;
  flag: string;
  env: string[];
  repeatable?: boolean;
  boolean?: boolean;
  help: string;
}

export const SETTINGS: readonly Setting[] = [
  { path: 'mode', flag: '--mode', env: ['KUBENOTES_MODE'], help: 'local or workshop' },
  { path: 'host', flag: '--host', env: ['KUBENOTES_HOST', 'HOST'], help: 'address to listen on' },
  { path: 'port', flag: '--port', env: ['KUBENOTES_PORT', 'PORT'], help: 'port (0: any free)' },
  {
    path: 'siteDir',
    flag: '--site-dir',
    env: ['KUBENOTES_SITE_DIR'],
    help: 'built site to serve',
  },
  {
    path: 'tasks',
    flag: '--tasks',
    env: ['KUBENOTES_TASKS'],
    help: "the tasks' checks, tasks.json of a built site (default: the site folder's)",
  },
  {
    path: 'allowedOrigins',
    flag: '--allowed-origin',
    env: ['KUBENOTES_ALLOWED_ORIGINS'],
    repeatable: true,
    help: 'origin allowed to use the API (default: own origin and localhost)',
  },
  {
    path: 'trustProxy',
    flag: '--trust-proxy',
    env: ['KUBENOTES_TRUST_PROXY'],
    boolean: true,
    help: "take the client's address from X-Forwarded-For",
  },
  {
    path: 'cluster.provider',
    flag: '--cluster',
    env: ['KUBENOTES_CLUSTER'],
    help: 'auto, kind, existing or none',
  },
  {
    path: 'cluster.kubeconfig',
    flag: '--kubeconfig',
    env: ['KUBENOTES_KUBECONFIG'],
    help: 'kubeconfig for --cluster existing',
  },
  {
    path: 'cluster.context',
    flag: '--context',
    env: ['KUBENOTES_CONTEXT'],
    help: 'context for --cluster existing',
  },
  {
    path: 'cluster.kindName',
    flag: '--kind-name',
    env: ['KUBENOTES_KIND_NAME'],
    help: 'name of the kind cluster',
  },
  {
    path: 'cluster.kindConfig',
    flag: '--kind-config',
    env: ['KUBENOTES_KIND_CONFIG'],
    help: "kind's cluster config file (nodes, port mappings)",
  },
  {
    path: 'cluster.kindImage',
    flag: '--kind-image',
    env: ['KUBENOTES_KIND_IMAGE'],
    help: 'node image for a new kind cluster',
  },
  {
    path: 'cluster.preloadImages',
    flag: '--preload-image',
    env: ['KUBENOTES_PRELOAD_IMAGES'],
    repeatable: true,
    help: 'image loaded into the kind nodes at start (repeatable)',
  },
  {
    path: 'sessions.max',
    flag: '--max-sessions',
    env: ['KUBENOTES_MAX_SESSIONS'],
    help: 'most sessions at once',
  },
  {
    path: 'sessions.idleTimeout',
    flag: '--idle-timeout',
    env: ['KUBENOTES_IDLE_TIMEOUT'],
    help: 'end a session after this long without input',
  },
  {
    path: 'sessions.lifetime',
    flag: '--lifetime',
    env: ['KUBENOTES_LIFETIME'],
    help: 'absolute session lifetime (default 4h local, 2h workshop)',
  },
  {
    path: 'sessions.grace',
    flag: '--grace',
    env: ['KUBENOTES_GRACE'],
    help: 'keep a session this long after its last terminal closes',
  },
  {
    path: 'sessions.expiringWarning',
    flag: '--expiring-warning',
    env: ['KUBENOTES_EXPIRING_WARNING'],
    help: 'warn this long before a session ends',
  },
  {
    path: 'sessions.attachTimeout',
    flag: '--attach-timeout',
    env: ['KUBENOTES_ATTACH_TIMEOUT'],
    help: 'time for a socket to send its attach message',
  },
  {
    path: 'sessions.perClientPerMinute',
    flag: '--sessions-per-minute',
    env: ['KUBENOTES_SESSIONS_PER_MINUTE'],
    help: 'sessions one client may create per minute',
  },
  {
    path: 'flow.highWaterBytes',
    flag: '--high-water',
    env: ['KUBENOTES_HIGH_WATER'],
    help: 'unacknowledged bytes that pause the shell',
  },
  {
    path: 'flow.lowWaterBytes',
    flag: '--low-water',
    env: ['KUBENOTES_LOW_WATER'],
    help: 'unacknowledged bytes that resume it',
  },
  {
    path: 'heartbeat',
    flag: '--heartbeat',
    env: ['KUBENOTES_HEARTBEAT'],
    help: 'ping interval; dead sockets are ended',
  },
  {
    path: 'screen.enabled',
    flag: '--screen',
    env: ['KUBENOTES_SCREEN'],
    boolean: true,
    help: 'keep each screen server-side for resume',
  },
  {
    path: 'screen.scrollback',
    flag: '--scrollback',
    env: ['KUBENOTES_SCROLLBACK'],
    help: 'lines of scrollback kept for resume',
  },
  {
    path: 'shell.command',
    flag: '--shell',
    env: ['KUBENOTES_SHELL'],
    help: 'the shell (bash)',
  },
  {
    path: 'shell.path',
    flag: '--shell-path',
    env: ['KUBENOTES_SHELL_PATH'],
    help: 'PATH inside the shells',
  },
  {
    path: 'shell.passEnv',
    flag: '--pass-env',
    env: ['KUBENOTES_PASS_ENV'],
    repeatable: true,
    help: 'extra variable names passed to the shells',
  },
  {
    path: 'shell.podImage',
    flag: '--shell-pod-image',
    env: ['KUBENOTES_SHELL_POD_IMAGE'],
    help: 'workshop: run each shell as a pod of this image (needs bash)',
  },
  {
    path: 'shell.stateDir',
    flag: '--state-dir',
    env: ['KUBENOTES_STATE_DIR'],
    help: 'where session homes are made',
  },
  {
    path: 'joinCodes',
    flag: '--join-code',
    env: ['KUBENOTES_JOIN_CODES'],
    repeatable: true,
    help: 'code a participant must give (workshop)',
  },
  {
    path: 'instance',
    flag: '--instance',
    env: ['KUBENOTES_INSTANCE'],
    help: "label on this server's namespaces (workshop)",
  },
  {
    path: 'quota.pods',
    flag: '--quota-pods',
    env: ['KUBENOTES_QUOTA_PODS'],
    help: 'pods per participant namespace (workshop)',
  },
  {
    path: 'quota.cpu',
    flag: '--quota-cpu',
    env: ['KUBENOTES_QUOTA_CPU'],
    help: 'CPU per participant namespace (workshop)',
  },
  {
    path: 'quota.memory',
    flag: '--quota-memory',
    env: ['KUBENOTES_QUOTA_MEMORY'],
    help: 'memory per participant namespace (workshop)',
  },
  {
    path: 'sandbox.isolation',
    flag: '--sandbox',
    env: ['KUBENOTES_SANDBOX'],
    help: 'bwrap (default) or none: how workshop shells are isolated',
  },
  {
    path: 'sandbox.network',
    flag: '--sandbox-network',
    env: ['KUBENOTES_SANDBOX_NETWORK'],
    help: "isolated (default: each shell reaches only the cluster's API server) or host",
  },
  {
    path: 'sandbox.uidFirst',
    flag: '--sandbox-uid-first',
    env: ['KUBENOTES_SANDBOX_UID_FIRST'],
    help: 'first uid of the range given to workshop shells',
  },
  {
    path: 'sandbox.uidLast',
    flag: '--sandbox-uid-last',
    env: ['KUBENOTES_SANDBOX_UID_LAST'],
    help: 'last uid of that range',
  },
  {
    path: 'sandbox.pids',
    flag: '--sandbox-pids',
    env: ['KUBENOTES_SANDBOX_PIDS'],
    help: 'processes per workshop shell',
  },
  {
    path: 'sandbox.memory',
    flag: '--sandbox-memory',
    env: ['KUBENOTES_SANDBOX_MEMORY'],
    help: 'memory per workshop shell (e.g. 512Mi)',
  },
  {
    path: 'sandbox.cpuPercent',
    flag: '--sandbox-cpu',
    env: ['KUBENOTES_SANDBOX_CPU'],
    help: 'CPU per workshop shell, percent of one core',
  },
  {
    path: 'sandbox.tmpSize',
    flag: '--sandbox-tmp-size',
    env: ['KUBENOTES_SANDBOX_TMP_SIZE'],
    help: "size of each workshop shell's private /tmp",
  },
  {
    path: 'sandbox.homeSize',
    flag: '--sandbox-home-size',
    env: ['KUBENOTES_SANDBOX_HOME_SIZE'],
    help: "size of each workshop session's home (a tmpfs of its own); 0: no limit",
  },
  {
    path: 'sandbox.cgroupParent',
    flag: '--sandbox-cgroup-parent',
    env: ['KUBENOTES_SANDBOX_CGROUP_PARENT'],
    help: 'cgroup under which session cgroups are made',
  },
  {
    path: 'sandbox.readOnlyPaths',
    flag: '--sandbox-read-only',
    env: ['KUBENOTES_SANDBOX_READ_ONLY'],
    repeatable: true,
    help: 'host folder shown read-only inside workshop shells',
  },
  {
    path: 'adminToken',
    flag: '--admin-token',
    env: ['KUBENOTES_ADMIN_TOKEN'],
    help: "instructor's token (workshop)",
  },
];

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface ConfigSources {
  argv?: readonly string[];
  env?: Readonly<Record<string, string | undefined>>;
  /** read when --config / KUBENOTES_CONFIG names a file */
  readFile?: (path: string) => string;
}

/** Builds the configuration from flags, environment and an optional JSON config file. */
export function loadConfig(sources: ConfigSources = {}): Config {
  const argv = sources.argv ?? [];
  const env = sources.env ?? {};
  const origin = new Map<string, string>();
  const raw: Record<string, unknown> = {};

  const { values: flagValues, configFile } = parseFlags(argv);
  const file = configFile ?? env.KUBENOTES_CONFIG;
  if (file) {
    const fromFile = readConfigFile(file, sources.readFile ?? ((p) => readFileSync(p, 'utf8')));
    Object.assign(raw, fromFile);
    for (const path of leafPaths(fromFile)) origin.set(path, `config file ${file}`);
  }
  for (const setting of SETTINGS) {
    const name = setting.env.find((n) => env[n] !== undefined && env[n] !== '');
    if (name) {
      setPath(raw, setting.path, env[name]);
      origin.set(setting.path, `environment variable ${name}`);
    }
  }
  for (const [path, value] of flagValues) {
    setPath(raw, path, value);
    const setting = SETTINGS.find((s) => s.path === path);
    origin.set(path, `flag ${setting?.flag}`);
  }

  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const path = issue.path.join('.');
      const setting = SETTINGS.find((s) => s.path === path);
      const names = setting ? ` (${[setting.flag, ...setting.env].join(' / ')})` : '';
      const from = origin.get(path);
      const got = from ? `; it came from the ${from}` : '';
      return `Invalid setting ${path || '(root)'}${names}: ${issue.message}${got}.`;
    });
    throw new ConfigError(lines.join('\n'));
  }
  const config = parsed.data;
  const uids = config.sandbox.uidLast - config.sandbox.uidFirst + 1;
  if (
    config.mode === 'workshop' &&
    config.sandbox.isolation === 'bwrap' &&
    uids < config.sessions.max
  ) {
    throw new ConfigError(
      `Invalid setting sandbox.uidFirst/uidLast (--sandbox-uid-first / --sandbox-uid-last): the range holds ${uids} uids but --max-sessions is ${config.sessions.max}; widen the range.`,
    );
  }
  return {
    ...config,
    sessions: {
      ...config.sessions,
      lifetime: config.sessions.lifetime ?? (config.mode === 'workshop' ? 2 : 4) * 3_600_000,
    },
  };
}

function parseFlags(argv: readonly string[]): {
  values: Map<string, unknown>;
  configFile: string | undefined;
} {
  const values = new Map<string, unknown>();
  let configFile: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (!arg.startsWith('--')) {
      throw new ConfigError(`Unexpected argument "${arg}". Run with --help for the settings.`);
    }
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(0, eq) : arg;
    let inline: string | undefined = eq >= 0 ? arg.slice(eq + 1) : undefined;
    const negated = name.startsWith('--no-') ? `--${name.slice(5)}` : undefined;
    const setting = SETTINGS.find((s) => s.flag === name || (s.boolean && s.flag === negated));
    if (name === '--config') {
      configFile = inline ?? argv[++i];
      if (!configFile) throw new ConfigError('--config needs a file name.');
      continue;
    }
    if (!setting) {
      throw new ConfigError(`Unknown flag ${name}. Run with --help for the settings.`);
    }
    if (setting.boolean) {
      values.set(setting.path, negated === setting.flag ? 'false' : (inline ?? 'true'));
      continue;
    }
    if (inline === undefined) {
      inline = argv[++i];
      if (inline === undefined || inline.startsWith('--')) {
        throw new ConfigError(`${name} needs a value (${setting.help}).`);
      }
    }
    if (setting.repeatable) {
      const previous = (values.get(setting.path) as string[] | undefined) ?? [];
      values.set(setting.path, [...previous, inline]);
    } else {
      values.set(setting.path, inline);
    }
  }
  return { values, configFile };
}

function readConfigFile(path: string, read: (path: string) => string): Record<string, unknown> {
  let text: string;
  try {
    text = read(path);
  } catch (error) {
    throw new ConfigError(
      `Cannot read the config file ${path}: ${(error as Error).message}. Check the path given to --config.`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(
      `The config file ${path} is not valid JSON: ${(error as Error).message}.`,
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(`The config file ${path} must hold a JSON object of settings.`);
  }
  return value as Record<string, unknown>;
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1] ?? path] = value;
}

function leafPaths(value: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(value).flatMap(([key, inner]) =>
    typeof inner === 'object' && inner !== null && !Array.isArray(inner)
      ? leafPaths(inner as Record<string, unknown>, `${prefix}${key}.`)
      : [`${prefix}${key}`],
  );
}

export function helpText(): string {
  const rows = SETTINGS.map((s) => {
    const env = s.env[0] ?? '';
    return `  ${`${s.flag}${s.boolean ? '' : ' VALUE'}`.padEnd(28)} ${s.help} [${env}]`;
  });
  return [
    'Settings (flag, what it does, [environment variable]); --config FILE reads a JSON file:',
    ...rows,
  ].join('\n');
}
