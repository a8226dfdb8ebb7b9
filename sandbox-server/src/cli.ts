/**
 * kubenotes — the command line.
 *
 *   kubenotes serve [settings]    build the guide if it changed, serve it and the sandbox (npm start)
 *   kubenotes sandbox [settings]  the sandbox server alone (the site hosted elsewhere)
 *   kubenotes dev                 the authors' loop: astro dev with a sandbox beside it (npm run dev)
 */
import { execFileSync, spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Config, ConfigError, helpText, loadConfig } from './config.ts';
import { createLogger } from './log.ts';
import { type SandboxServer, startSandboxServer } from './server.ts';
import { buildSite, siteIsCurrent } from './site-build.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const USAGE = `Usage: kubenotes <command> [settings]

Commands:
  serve     build the guide when it changed, then serve it and the sandbox on one port
  sandbox   run only the sandbox server (the guide is hosted elsewhere)
  dev       astro dev (hot reload) with a sandbox beside it

${helpText()}`;

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === 'help' || rest.includes('--help')) {
    console.log(USAGE);
    return;
  }
  switch (command) {
    case 'serve':
      return serve(rest, true);
    case 'sandbox':
      return serve(rest, false);
    case 'dev':
      return dev(rest);
    default:
      throw new ConfigError(`Unknown command "${command}".\n\n${USAGE}`);
  }
}

async function serve(argv: string[], withSite: boolean): Promise<void> {
  const config = loadConfig({ argv, env: process.env });
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
  stopOnSignals(server);
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
  if (error instanceof ConfigError) {
    console.error(`kubenotes: ${error.message}`);
  } else {
    console.error(`kubenotes: ${error.message}`);
    if (process.env.KUBENOTES_DEBUG) console.error(error.stack);
  }
  process.exit(2);
});
