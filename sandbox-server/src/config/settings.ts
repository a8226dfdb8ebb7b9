/**
 * Every setting of the sandbox server, one row each: its value's schema and default, its flag
 * and environment variables, and what it does. This table is the only source: config.ts builds
 * the zod schema from it, `--help` and docs/configuration.md's table are rendered from it
 * (settings-doc.ts; a unit test fails when the document differs).
 */
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

interface Names {
  flag: string;
  /** environment variables, the first one preferred */
  env: readonly string[];
  help: string;
  /** the default in words, where the value alone would not say it */
  shown?: string;
}

interface About extends Names {
  /** a list: the flag may be given more than once, the variable holds a comma-separated list */
  repeatable: boolean;
  /** on or off: the flag takes no value and has a `--no-` form */
  boolean: boolean;
}

/** One setting: the schema its value is parsed with (its default included) and its names. */
export class Setting<S extends z.ZodType = z.ZodType> {
  readonly schema: S;
  readonly about: About;
  /** the default as a person writes it, undefined when there is none */
  readonly default: unknown;

  constructor(value: z.ZodType, schema: S, names: Names, fallback: unknown) {
    this.schema = schema;
    // How the flag is given follows from the value's kind, so it cannot disagree with it.
    this.about = { ...names, repeatable: value === list, boolean: value === flag };
    this.default = fallback;
  }
}

/** A setting with a default, given as a person would write it (`30m`, `256Mi`). */
function setting<S extends z.ZodType>(
  value: S,
  fallback: z.input<S>,
  names: Names,
): Setting<z.ZodPrefault<S>> {
  return new Setting(value, value.prefault(fallback), names, fallback);
}

/** A setting that is unset unless given. */
function optional<S extends z.ZodType>(value: S, names: Names): Setting<z.ZodOptional<S>> {
  return new Setting(value, value.optional(), names, undefined);
}

export const SETTINGS = {
  mode: setting(z.enum(['local', 'workshop']), 'local', {
    flag: '--mode',
    env: ['KUBENOTES_MODE'],
    help: 'local (one trusted reader) or workshop',
  }),
  host: setting(z.string().min(1), '127.0.0.1', {
    flag: '--host',
    env: ['KUBENOTES_HOST', 'HOST'],
    help: 'address to listen on',
  }),
  port: setting(count(0).max(65535), 8080, {
    flag: '--port',
    env: ['KUBENOTES_PORT', 'PORT'],
    help: 'port (0: any free)',
  }),
  siteDir: optional(z.string(), {
    flag: '--site-dir',
    env: ['KUBENOTES_SITE_DIR'],
    help: 'built site to serve',
  }),
  tasks: optional(z.string(), {
    flag: '--tasks',
    env: ['KUBENOTES_TASKS'],
    help: "the tasks' checks, tasks.json of a built site (default: the site folder's)",
  }),
  allowedOrigins: setting(list, [], {
    flag: '--allowed-origin',
    env: ['KUBENOTES_ALLOWED_ORIGINS'],
    help: 'origin of pages allowed to use the API',
    shown: 'own origin and localhost',
  }),
  trustProxy: setting(flag, false, {
    flag: '--trust-proxy',
    env: ['KUBENOTES_TRUST_PROXY'],
    help: "take the client's address from X-Forwarded-For",
  }),
  // The app route (http/app-proxy.ts).
  apps: {
    origin: optional(
      z
        .url({
          protocol: /^https?$/,
          error: 'expected an origin such as https://apps.example or http://localhost:8080',
        })
        .transform((url) => new URL(url).origin),
      {
        flag: '--apps-origin',
        env: ['KUBENOTES_APPS_ORIGIN'],
        help: "another host name of this server that serves readers' apps (then only it does)",
      },
    ),
    timeout: setting(duration, '15s', {
      flag: '--apps-timeout',
      env: ['KUBENOTES_APPS_TIMEOUT'],
      help: "how long a reader's app may take to answer when opened",
    }),
  },
  cluster: {
    provider: setting(z.enum(['auto', 'kind', 'existing', 'none']), 'auto', {
      flag: '--cluster',
      env: ['KUBENOTES_CLUSTER'],
      help: 'auto, kind, existing or none',
    }),
    kubeconfig: optional(z.string(), {
      flag: '--kubeconfig',
      env: ['KUBENOTES_KUBECONFIG'],
      help: 'kubeconfig for --cluster existing',
    }),
    context: optional(z.string(), {
      flag: '--context',
      env: ['KUBENOTES_CONTEXT'],
      help: 'context for --cluster existing',
    }),
    kindName: setting(z.string(), 'kubenotes', {
      flag: '--kind-name',
      env: ['KUBENOTES_KIND_NAME'],
      help: 'name of the kind cluster auto and kind use',
    }),
    kindConfig: optional(z.string(), {
      flag: '--kind-config',
      env: ['KUBENOTES_KIND_CONFIG'],
      help: "kind's cluster config file (nodes, port mappings)",
      shown: 'sandbox-server/kind/kind-config.yaml',
    }),
    kindImage: optional(z.string(), {
      flag: '--kind-image',
      env: ['KUBENOTES_KIND_IMAGE'],
      help: 'node image for a new kind cluster',
      shown: "kind's own",
    }),
    preloadImages: setting(list, [], {
      flag: '--preload-image',
      env: ['KUBENOTES_PRELOAD_IMAGES'],
      help: 'image loaded into the kind nodes at start, for venues with a bad network',
    }),
  },
  sessions: {
    max: setting(count(1), 20, {
      flag: '--max-sessions',
      env: ['KUBENOTES_MAX_SESSIONS'],
      help: 'most sessions at once; more get 503 and Retry-After',
    }),
    idleTimeout: setting(duration, '30m', {
      flag: '--idle-timeout',
      env: ['KUBENOTES_IDLE_TIMEOUT'],
      help: 'end a session after this long without input',
    }),
    lifetime: optional(duration, {
      flag: '--lifetime',
      env: ['KUBENOTES_LIFETIME'],
      help: 'absolute session lifetime',
      shown: '4h local, 2h workshop',
    }),
    grace: setting(duration, '10m', {
      flag: '--grace',
      env: ['KUBENOTES_GRACE'],
      help: 'keep a session this long after its last terminal closes',
    }),
    expiringWarning: setting(duration, '5m', {
      flag: '--expiring-warning',
      env: ['KUBENOTES_EXPIRING_WARNING'],
      help: 'warn terminals this long before a session ends',
    }),
    attachTimeout: setting(duration, '5s', {
      flag: '--attach-timeout',
      env: ['KUBENOTES_ATTACH_TIMEOUT'],
      help: 'time for a socket to send its attach message',
    }),
    perClientPerMinute: setting(count(1), 30, {
      flag: '--sessions-per-minute',
      env: ['KUBENOTES_SESSIONS_PER_MINUTE'],
      help: 'new sessions one client address may create per minute; with join codes, wrong codes only',
    }),
  },
  flow: {
    highWaterBytes: setting(count(1024), 1024 * 1024, {
      flag: '--high-water',
      env: ['KUBENOTES_HIGH_WATER'],
      help: 'unacknowledged output bytes that pause the shell',
    }),
    lowWaterBytes: setting(count(0), 256 * 1024, {
      flag: '--low-water',
      env: ['KUBENOTES_LOW_WATER'],
      help: 'unacknowledged output bytes that resume it',
    }),
    tooSlow: setting(duration, '5s', {
      flag: '--too-slow',
      env: ['KUBENOTES_TOO_SLOW'],
      help: 'close a terminal that stays above the high-water mark this long (4008 too_slow)',
    }),
  },
  heartbeat: setting(duration, '30s', {
    flag: '--heartbeat',
    env: ['KUBENOTES_HEARTBEAT'],
    help: 'ping interval; dead sockets are ended',
  }),
  screen: {
    enabled: setting(flag, true, {
      flag: '--screen',
      env: ['KUBENOTES_SCREEN'],
      help: 'keep each screen server-side, for resume',
    }),
    scrollback: setting(count(0).max(100_000), 1000, {
      flag: '--scrollback',
      env: ['KUBENOTES_SCROLLBACK'],
      help: 'lines of scrollback kept for resume',
    }),
  },
  shell: {
    command: setting(z.string(), 'bash', {
      flag: '--shell',
      env: ['KUBENOTES_SHELL'],
      help: 'the shell',
    }),
    path: optional(z.string(), {
      flag: '--shell-path',
      env: ['KUBENOTES_SHELL_PATH'],
      help: 'PATH inside the shells',
      shown: "the server's PATH",
    }),
    passEnv: setting(list, [], {
      flag: '--pass-env',
      env: ['KUBENOTES_PASS_ENV'],
      help: "names of the server's environment variables passed to the shells",
    }),
    stateDir: optional(z.string(), {
      flag: '--state-dir',
      env: ['KUBENOTES_STATE_DIR'],
      help: 'where session homes are made',
      shown: 'a temporary folder',
    }),
    podImage: optional(z.string(), {
      flag: '--shell-pod-image',
      env: ['KUBENOTES_SHELL_POD_IMAGE'],
      help: 'workshop: run each shell as a pod of this image (needs bash and kubectl)',
    }),
  },
  joinCodes: setting(list, [], {
    flag: '--join-code',
    env: ['KUBENOTES_JOIN_CODES'],
    help: 'workshop: code a participant must give, CODE or CODE:SEATS (that many live sessions at most)',
  }),
  instance: setting(
    z
      .string()
      .regex(
        /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/,
        'must be a short lowercase name (a-z, 0-9, -)',
      ),
    'kubenotes',
    {
      flag: '--instance',
      env: ['KUBENOTES_INSTANCE'],
      help: "workshop: label on this server's namespaces, apart from another server's on the same cluster",
    },
  ),
  quota: {
    pods: setting(count(1), 20, {
      flag: '--quota-pods',
      env: ['KUBENOTES_QUOTA_PODS'],
      help: 'workshop: pods per participant namespace',
    }),
    cpu: setting(z.string(), '2', {
      flag: '--quota-cpu',
      env: ['KUBENOTES_QUOTA_CPU'],
      help: 'workshop: CPU per participant namespace',
    }),
    memory: setting(z.string(), '2Gi', {
      flag: '--quota-memory',
      env: ['KUBENOTES_QUOTA_MEMORY'],
      help: 'workshop: memory per participant namespace',
    }),
  },
  adminToken: optional(z.string().min(16, 'must be at least 16 characters'), {
    flag: '--admin-token',
    env: ['KUBENOTES_ADMIN_TOKEN'],
    help: "workshop: the instructor's token (at least 16 characters); a flag shows in ps, so prefer the file or the variable",
  }),
  /** read into adminToken by loadConfig, never kept */
  adminTokenFile: optional(z.string(), {
    flag: '--admin-token-file',
    env: ['KUBENOTES_ADMIN_TOKEN_FILE'],
    help: "workshop: a file whose first line is the instructor's token",
  }),
  // baseline until the chapters' Pods run under restricted (non-root images, a securityContext)
  podSecurity: setting(z.enum(['restricted', 'baseline']), 'restricted', {
    flag: '--pod-security',
    env: ['KUBENOTES_POD_SECURITY'],
    help: "workshop: Pod Security level of participant namespaces, restricted or baseline (the guide's chapters run under restricted; baseline for Pods of your own that run as root)",
  }),
  sandbox: {
    isolation: setting(z.enum(['bwrap', 'none']), 'bwrap', {
      flag: '--sandbox',
      env: ['KUBENOTES_SANDBOX'],
      help: 'workshop: how shells are isolated, bwrap or none (local mode keeps a plain shell)',
    }),
    network: setting(z.enum(['isolated', 'host']), 'isolated', {
      flag: '--sandbox-network',
      env: ['KUBENOTES_SANDBOX_NETWORK'],
      help: "isolated (shells reach only the cluster's API server; a participant's terminals share one localhost) or host (shared)",
    }),
    uidFirst: setting(count(1000), 1_900_000_000, {
      flag: '--sandbox-uid-first',
      env: ['KUBENOTES_SANDBOX_UID_FIRST'],
      help: 'first uid of the range given to workshop shells',
    }),
    uidLast: setting(count(1000), 1_900_000_999, {
      flag: '--sandbox-uid-last',
      env: ['KUBENOTES_SANDBOX_UID_LAST'],
      help: 'last uid of that range (it holds at least --max-sessions)',
    }),
    pids: setting(count(16), 256, {
      flag: '--sandbox-pids',
      env: ['KUBENOTES_SANDBOX_PIDS'],
      help: 'processes per workshop shell',
    }),
    memory: setting(bytes, '512Mi', {
      flag: '--sandbox-memory',
      env: ['KUBENOTES_SANDBOX_MEMORY'],
      help: 'memory per workshop shell',
    }),
    cpuPercent: setting(count(1), 100, {
      flag: '--sandbox-cpu',
      env: ['KUBENOTES_SANDBOX_CPU'],
      help: 'CPU per workshop shell, percent of one core',
    }),
    tmpSize: setting(bytes, '256Mi', {
      flag: '--sandbox-tmp-size',
      env: ['KUBENOTES_SANDBOX_TMP_SIZE'],
      help: "size of each workshop shell's private /tmp",
    }),
    homeSize: setting(bytes, '256Mi', {
      flag: '--sandbox-home-size',
      env: ['KUBENOTES_SANDBOX_HOME_SIZE'],
      help: "size of each workshop session's home (a tmpfs of its own); 0: no limit",
    }),
    cgroupParent: setting(z.string(), 'kubenotes', {
      flag: '--sandbox-cgroup-parent',
      env: ['KUBENOTES_SANDBOX_CGROUP_PARENT'],
      help: 'cgroup under which session cgroups are made',
    }),
    readOnlyPaths: setting(list, [], {
      flag: '--sandbox-read-only',
      env: ['KUBENOTES_SANDBOX_READ_ONLY'],
      help: 'host folder shown read-only inside workshop shells',
    }),
    apiConnections: setting(count(1), 64, {
      flag: '--sandbox-api-connections',
      env: ['KUBENOTES_SANDBOX_API_CONNECTIONS'],
      help: "connections to the cluster's API server a workshop shell may hold at once",
    }),
  },
};

type Tree = { readonly [key: string]: Setting | Tree };

/** The zod shape of a tree of settings: a group is an object that defaults to its defaults. */
type Shape<T extends Tree> = {
  -readonly [K in keyof T]: T[K] extends Setting<infer S>
    ? S
    : T[K] extends Tree
      ? z.ZodPrefault<z.ZodObject<Shape<T[K]>>>
      : never;
};

export function schemaOf<T extends Tree>(tree: T): z.ZodObject<Shape<T>> {
  const shape: Record<string, z.ZodType> = {};
  for (const [key, node] of Object.entries(tree)) {
    shape[key] = node instanceof Setting ? node.schema : schemaOf(node).prefault({});
  }
  return z.object(shape) as z.ZodObject<Shape<T>>;
}

/** Every setting with its dotted path (`sessions.max`), in the table's order. */
export function settingsList(tree: Tree = SETTINGS, prefix = ''): [string, Setting][] {
  return Object.entries(tree).flatMap(([key, node]): [string, Setting][] =>
    node instanceof Setting ? [[`${prefix}${key}`, node]] : settingsList(node, `${prefix}${key}.`),
  );
}
