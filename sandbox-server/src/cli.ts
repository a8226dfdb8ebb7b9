/**
 * kubenotes — the command line.
 *
 *   kubenotes serve [settings]    build the guide if it changed, serve it and the sandbox (npm start)
 *   kubenotes sandbox [settings]  the sandbox server alone (the site hosted elsewhere)
 *   kubenotes dev                 the authors' loop: astro dev with a sandbox beside it (npm run dev)
 *   kubenotes workshop --join-code CODE [settings]
 *                                 serve in workshop mode (an admin token is made if none is given)
 *   kubenotes pack [--out FILE]   save every image the chapters use into one archive (src/pack)
 *   kubenotes preload FILE        load such an archive into the kind cluster's nodes, and check
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Config, ConfigError, loadConfig } from './config/config.ts';
import { helpText } from './config/settings-doc.ts';
import { PACK_USAGE, PackError, pack, packSummary, parsePackArgs } from './pack/pack.ts';
import { PRELOAD_USAGE, parsePreloadArgs, preload, preloadSummary } from './pack/preload.ts';
import { StartingProvider } from './providers/starting-provider.ts';
import { type SandboxServer, startSandboxServer } from './server.ts';
import { buildSite, siteIsCurrent } from './site-build.ts';
import { createLogger } from './telemetry/log.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const USAGE = `Usage: kubenotes <command> [settings]

Commands:
  serve     build the guide when it changed, then serve it and the sandbox on one port
  sandbox   run only the sandbox server (the guide is hosted elsewhere)
  dev       astro dev (hot reload) with a sandbox beside it
  workshop  serve in workshop mode: --join-code CODE required; prints a new admin token
            when --admin-token is not given
  pack      save the images the chapters use into one archive (kubenotes pack --help)
  preload   load such an archive into a kind cluster and check it (kubenotes preload --help)

${helpText()}`;

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  // pack and preload take their own options, not the server's settings.
  if (command === 'pack' || command === 'preload') {
    if (rest.includes('--help') || rest.includes('-h')) {
      console.log(command === 'pack' ? PACK_USAGE : PRELOAD_USAGE);
      return;
    }
    return command === 'pack' ? packCommand(rest) : preloadCommand(rest);
  }
  if (!command || command === '--help' || command === 'help' || rest.includes('--help')) {
    console.log(USAGE);
    return;
  }
  switch (command) {
    case 'serve':
      return serve(rest, true);
    case 'sandbox':
      return serve(rest, false);
    case 'workshop':
      return workshop(rest);
    case 'dev':
      return dev(rest);
    default:
      throw new ConfigError(`Unknown command "${command}".\n\n${USAGE}`);
  }
}

async function serve(argv: string[], withSite: boolean): Promise<void> {
  await serveConfig(
    loadConfig({ argv, env: process.env, warn: (line) => console.error(line) }),
    withSite,
  );
}

async function serveConfig(config: Config, withSite: boolean): Promise<SandboxServer> {
  const outDir = join(ROOT, 'dist');
  if (withSite && !config.siteDir) {
    if (siteIsCurrent(ROOT, outDir)) {
      console.error('kubenotes: the guide is up to date (dist/).');
    } else {
      console.error('kubenotes: building the guide…');
      await buildSite(ROOT, outDir);
    }
    config.siteDir = outDir;
  }
  if (config.mode === 'local') warnAboutMissingTools(config);
  const server = await listen(config);
  console.error(`\nkubenotes: the guide and its sandbox are at ${server.url}/\n`);
  void sayWhenClusterReady(server);
  stopOnSignals(server);
  return server;
}

/**
 * `kubenotes workshop`: `serve` in workshop mode, which strangers use, so it insists on a join
 * code, and makes (and prints, once) an instructor token when none is given.
 */
async function workshop(argv: string[]): Promise<void> {
  const modeAt = argv.findIndex((a) => a === '--mode' || a.startsWith('--mode='));
  const mode = argv[modeAt]?.includes('=') ? argv[modeAt]?.split('=')[1] : argv[modeAt + 1];
  if (modeAt >= 0 && mode !== 'workshop') {
    throw new ConfigError('kubenotes workshop always runs in workshop mode; leave out --mode.');
  }
  const config = loadConfig({
    argv: [...argv, '--mode', 'workshop'],
    env: process.env,
    warn: (line) => console.error(line),
  });
  if (config.joinCodes.length === 0) {
    throw new ConfigError(
      'kubenotes workshop needs a join code, which participants type to get a terminal: --join-code CODE (repeatable), KUBENOTES_JOIN_CODES, or "joinCodes" in the --config file.',
    );
  }
  let generated: string | undefined;
  if (!config.adminToken) {
    generated = randomBytes(18).toString('base64url');
    config.adminToken = generated;
  }
  const server = await serveConfig(config, true);
  const lines = [
    `kubenotes: workshop mode, ${config.sessions.max} sessions at most, join code${config.joinCodes.length > 1 ? 's' : ''} required.`,
    `kubenotes: the instructor page is ${server.url}/instructor/`,
  ];
  if (generated) {
    lines.push(
      `kubenotes: instructor (admin) token, made for this run: ${generated}`,
      '           keep it to yourself; give --admin-token-file FILE (or KUBENOTES_ADMIN_TOKEN) to choose one.',
    );
  }
  console.error(`${lines.join('\n')}\n`);
}

async function packCommand(argv: string[]): Promise<void> {
  const options = parsePackArgs(argv, {
    contentDir: join(ROOT, 'content'),
    kindConfig: join(ROOT, 'sandbox-server', 'kind', 'kind-config.yaml'),
  });
  if (options.list) {
    console.log(JSON.stringify(await pack(options), null, 2));
    return;
  }
  // Missing images stop it with their names, unless --allow-missing (then they are listed).
  const manifest = await pack(options);
  console.log(packSummary(manifest, options.out));
}

async function preloadCommand(argv: string[]): Promise<void> {
  const options = parsePreloadArgs(argv);
  const result = await preload(options);
  console.log(preloadSummary(result, options.name));
  if (!result.ok) process.exitCode = 1;
}

async function dev(argv: string[]): Promise<void> {
  // The sandbox listens on its own port; astro dev proxies /api to it (astro.config.mjs).
  const config = loadConfig({
    argv,
    env: { KUBENOTES_PORT: '8081', ...process.env, PORT: undefined },
  });
  const server = await listen(config);
  const astro = spawn(
    process.execPath,
    [join(ROOT, 'node_modules', 'astro', 'bin', 'astro.mjs'), 'dev'],
    {
      cwd: ROOT,
      stdio: 'inherit',
      env: { ...process.env, KUBENOTES_SANDBOX_URL: server.url },
    },
  );
  astro.on('exit', (code) => {
    void server.close().then(() => process.exit(code ?? 0));
  });
  stopOnSignals(server, () => astro.kill('SIGTERM'));
}

async function listen(config: Config): Promise<SandboxServer> {
  const log = createLogger((line) => process.stdout.write(line));
  try {
    return await startSandboxServer(config, { log });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new ConfigError(
        `Port ${config.port} on ${config.host} is in use. Stop the program using it, or choose another port: PORT=${config.port + 1} npm start`,
      );
    }
    throw error;
  }
}

/** In local mode the reader uses their own tools; name any that is missing and how to get it. */
function warnAboutMissingTools(config: Config): void {
  const path = config.shell.path ?? process.env.PATH ?? '';
  const tools: [string, string][] = [
    ['kubectl', 'https://kubernetes.io/docs/tasks/tools/'],
    ['kind', 'https://kind.sigs.k8s.io/docs/user/quick-start/#installation'],
    ['docker', 'https://docs.docker.com/engine/install/'],
  ];
  for (const [tool, where] of tools) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { env: { PATH: path }, stdio: 'ignore' });
    } catch {
      console.error(
        `kubenotes: ${tool} is not installed; the guide's ${tool} commands will fail. Get it: ${where}`,
      );
    }
  }
}

/** While the kind cluster is made, the page is served already: say so, and when it is done. */
async function sayWhenClusterReady(server: SandboxServer): Promise<void> {
  const { provider } = server;
  if (!(provider instanceof StartingProvider) || !(await provider.status()).starting) return;
  console.error(
    'kubenotes: the kind cluster is still being made; the dock shows how far, and Run buttons come on when it is ready.',
  );
  await provider.settled;
  const status = await provider.status();
  console.error(
    status.ready
      ? 'kubenotes: the cluster is ready.'
      : `kubenotes: ${status.message ?? 'the cluster is not ready'}`,
  );
}

function stopOnSignals(server: SandboxServer, before?: () => void): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.error(`kubenotes: ${signal}: ending sessions and stopping…`);
    before?.();
    server.close().then(
      () => process.exit(0),
      (error: Error) => {
        console.error(`kubenotes: failed to stop cleanly: ${error.message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main(process.argv.slice(2)).catch((error: Error) => {
  if (error instanceof ConfigError || error instanceof PackError) {
    console.error(`kubenotes: ${error.message}`);
  } else {
    console.error(`kubenotes: ${error.message}`);
    if (process.env.KUBENOTES_DEBUG) console.error(error.stack);
  }
  process.exit(2);
});
