import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ConfigError,
  ConfigSchema,
  loadConfig,
} from '../../../sandbox-server/src/config/config.ts';

test('defaults: local mode on 127.0.0.1:8080, 4 h lifetime, 30 min idle, 10 min grace', () => {
  const config = loadConfig();
  assert.equal(config.mode, 'local');
  assert.equal(config.host, '127.0.0.1');
  assert.equal(config.port, 8080);
  assert.equal(config.sessions.lifetime, 4 * 3_600_000);
  assert.equal(config.sessions.idleTimeout, 30 * 60_000);
  assert.equal(config.sessions.grace, 10 * 60_000);
  assert.equal(config.sessions.attachTimeout, 5000);
  assert.equal(config.cluster.provider, 'auto');
});

test('workshop mode defaults to a 2 h lifetime', () => {
  assert.equal(loadConfig({ argv: ['--mode', 'workshop'] }).sessions.lifetime, 2 * 3_600_000);
});

test('precedence: flags over environment over config file over defaults', () => {
  const readFile = () => JSON.stringify({ port: 9000, sessions: { max: 7, idleTimeout: '5m' } });
  const fromFile = loadConfig({ argv: ['--config', 'x.json'], readFile });
  assert.equal(fromFile.port, 9000);
  assert.equal(fromFile.sessions.max, 7);
  assert.equal(fromFile.sessions.idleTimeout, 300_000);
  const fromEnv = loadConfig({ argv: ['--config', 'x.json'], env: { PORT: '9100' }, readFile });
  assert.equal(fromEnv.port, 9100);
  const fromFlag = loadConfig({
    argv: ['--config', 'x.json', '--port=9200'],
    env: { PORT: '9100' },
    readFile,
  });
  assert.equal(fromFlag.port, 9200);
});

test('repeatable and boolean flags', () => {
  const config = loadConfig({
    argv: ['--join-code', 'a', '--join-code', 'b', '--no-screen', '--trust-proxy'],
    env: { KUBENOTES_PASS_ENV: 'FOO, BAR' },
  });
  assert.deepEqual(config.joinCodes, ['a', 'b']);
  assert.equal(config.screen.enabled, false);
  assert.equal(config.trustProxy, true);
  assert.deepEqual(config.shell.passEnv, ['FOO', 'BAR']);
});

const bad: [string, Parameters<typeof loadConfig>[0], RegExp][] = [
  [
    'a port that is not a number',
    { argv: ['--port', 'eighty'] },
    /port \(--port \/ KUBENOTES_PORT \/ PORT\).*flag --port/,
  ],
  ['a port out of range', { env: { PORT: '70000' } }, /port.*environment variable PORT/],
  ['an unknown mode', { argv: ['--mode', 'party'] }, /mode.*local.*workshop/],
  [
    'a bad duration',
    { argv: ['--idle-timeout', 'soon'] },
    /sessions\.idleTimeout.*duration such as 90s/,
  ],
  ['max sessions of zero', { env: { KUBENOTES_MAX_SESSIONS: '0' } }, /sessions\.max/],
  ['an unknown flag', { argv: ['--prot', '80'] }, /Unknown flag --prot/],
  ['a flag without its value', { argv: ['--port'] }, /--port needs a value/],
  ['a short admin token', { argv: ['--admin-token', 'short'] }, /adminToken.*16 characters/],
  [
    'an unreadable config file',
    { argv: ['--config', '/nonexistent/k.json'] },
    /Cannot read the config file/,
  ],
  [
    'a config file that is not JSON',
    { argv: ['--config', 'c'], readFile: () => 'port: 1' },
    /not valid JSON/,
  ],
  [
    'a config value of the wrong type',
    { argv: ['--config', 'c'], readFile: () => '{"sessions":{"max":"lots"}}' },
    /sessions\.max.*config file c/,
  ],
];

for (const [name, sources, message] of bad) {
  test(`config refuses ${name} with a message naming the setting`, () => {
    assert.throws(
      () => loadConfig(sources),
      (error: Error) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, message);
        return true;
      },
    );
  });
}

test('loading never changes the defaults', () => {
  const before = JSON.stringify(ConfigSchema.parse({}));
  loadConfig({ argv: ['--port', '1234', '--join-code', 'x'] });
  assert.equal(JSON.stringify(ConfigSchema.parse({})), before);
});

test('the admin token from a file (first line) or the environment; a flag works but is warned about', () => {
  const token = 'a-token-of-twenty-chars';
  const files: Record<string, string> = { '/run/secrets/admin': `${token}\n` };
  const readFile = (path: string) => {
    const text = files[path];
    if (text === undefined) throw new Error('ENOENT: no such file');
    return text;
  };
  const warnings: string[] = [];
  const warn = (line: string) => warnings.push(line);
  const fromFile = loadConfig({
    argv: ['--admin-token-file', '/run/secrets/admin'],
    readFile,
    warn,
  });
  assert.equal(fromFile.adminToken, token);
  const fromEnvFile = loadConfig({
    env: { KUBENOTES_ADMIN_TOKEN_FILE: '/run/secrets/admin' },
    readFile,
    warn,
  });
  assert.equal(fromEnvFile.adminToken, token);
  assert.equal(loadConfig({ env: { KUBENOTES_ADMIN_TOKEN: token }, warn }).adminToken, token);
  assert.deepEqual(warnings, [], 'no warning for the file or the variable');
  assert.equal(loadConfig({ argv: ['--admin-token', token], warn }).adminToken, token);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /--admin-token shows in the process list.*--admin-token-file/);
  assert.throws(
    () => loadConfig({ argv: ['--admin-token-file', '/nope'], readFile }),
    /adminTokenFile.*cannot read \/nope/,
  );
  assert.throws(
    () =>
      loadConfig({
        argv: ['--admin-token', token, '--admin-token-file', '/run/secrets/admin'],
        readFile,
      }),
    /give it once/,
  );
  files['/run/secrets/short'] = 'short\n';
  assert.throws(
    () => loadConfig({ argv: ['--admin-token-file', '/run/secrets/short'], readFile }),
    /adminToken.*at least 16 characters.*file \/run\/secrets\/short/,
  );
});
