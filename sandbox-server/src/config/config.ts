/**
 * Loads the sandbox server's settings (the table is settings.ts): values come from defaults <
 * config file < KUBENOTES_* variables < flags, and are validated with zod at this boundary. A bad value is refused with a sentence naming the
 * setting, where it came from, and what is expected. The defaults are never mutated.
 */
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { SETTINGS, type Setting, schemaOf, settingsList } from './settings.ts';

export const ConfigSchema = schemaOf(SETTINGS);

type ParsedConfig = z.infer<typeof ConfigSchema>;

/** The settings, with the defaults that depend on other settings decided. */
export type Config = ParsedConfig & {
  sessions: ParsedConfig['sessions'] & { lifetime: number };
};
export type ConfigInput = z.input<typeof ConfigSchema>;

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

const BY_PATH: ReadonlyMap<string, Setting> = new Map(settingsList());

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface ConfigSources {
  argv?: readonly string[];
  env?: Readonly<Record<string, string | undefined>>;
  /** read when --config / KUBENOTES_CONFIG or --admin-token-file names a file */
  readFile?: (path: string) => string;
  /** told what is allowed but unwise (an admin token on the command line) */
  warn?: (line: string) => void;
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
  for (const [path, { about }] of BY_PATH) {
    const name = about.env.find((n) => env[n] !== undefined && env[n] !== '');
    if (name) {
      setPath(raw, path, env[name]);
      origin.set(path, `environment variable ${name}`);
    }
  }
  for (const [path, value] of flagValues) {
    setPath(raw, path, value);
    origin.set(path, `flag ${BY_PATH.get(path)?.about.flag}`);
  }

  adminTokenFromFile(raw, origin, sources);

  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const path = issue.path.join('.');
      const about = BY_PATH.get(path)?.about;
      const names = about ? ` (${[about.flag, ...about.env].join(' / ')})` : '';
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

/**
 * The admin token from --admin-token-file / KUBENOTES_ADMIN_TOKEN_FILE (the file's first line),
 * and a warning when it was given as a flag: a flag shows in `ps` and in npm's echo of the
 * command line, to everyone on the machine.
 */
function adminTokenFromFile(
  raw: Record<string, unknown>,
  origin: Map<string, string>,
  sources: ConfigSources,
): void {
  const file = raw.adminTokenFile;
  delete raw.adminTokenFile;
  if (typeof file === 'string' && file !== '') {
    if (raw.adminToken !== undefined) {
      throw new ConfigError(
        `Invalid setting adminToken: it came from the ${origin.get('adminToken')} and from the ${origin.get('adminTokenFile')} (--admin-token-file); give it once.`,
      );
    }
    let text: string;
    try {
      text = (sources.readFile ?? ((p) => readFileSync(p, 'utf8')))(file);
    } catch (error) {
      throw new ConfigError(
        `Invalid setting adminTokenFile (--admin-token-file / KUBENOTES_ADMIN_TOKEN_FILE): cannot read ${file} (${(error as Error).message}); it came from the ${origin.get('adminTokenFile')}.`,
      );
    }
    raw.adminToken = text.split('\n')[0]?.trim() ?? '';
    origin.set('adminToken', `file ${file} (${origin.get('adminTokenFile')})`);
  } else if (origin.get('adminToken') === 'flag --admin-token') {
    sources.warn?.(
      "kubenotes: warning: --admin-token shows in the process list (ps) and in npm's echo of the command; give it with --admin-token-file FILE or KUBENOTES_ADMIN_TOKEN instead.",
    );
  }
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
    const found = [...BY_PATH].find(
      ([, { about }]) => about.flag === name || (about.boolean && about.flag === negated),
    );
    if (name === '--config') {
      configFile = inline ?? argv[++i];
      if (!configFile) throw new ConfigError('--config needs a file name.');
      continue;
    }
    if (!found) {
      throw new ConfigError(`Unknown flag ${name}. Run with --help for the settings.`);
    }
    const [path, { about }] = found;
    if (about.boolean) {
      values.set(path, negated === about.flag ? 'false' : (inline ?? 'true'));
      continue;
    }
    if (inline === undefined) {
      inline = argv[++i];
      if (inline === undefined || inline.startsWith('--')) {
        throw new ConfigError(`${name} needs a value (${about.help}).`);
      }
    }
    if (about.repeatable) {
      const previous = (values.get(path) as string[] | undefined) ?? [];
      values.set(path, [...previous, inline]);
    } else {
      values.set(path, inline);
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
