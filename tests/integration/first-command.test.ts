/**
 * The first command typed into a new session is echoed once, whole and in order:
 * - typed the moment its prompt mark arrives (as the page's Run does): the mark must mean
 *   readline has the terminal, not only that bash is about to print a prompt;
 * - typed key by key before any prompt (a reader typing into a terminal that has just
 *   opened): the server holds those keys until the first prompt (session.ts, #beforePrompt);
 *   written while bash was starting they came out lost and reordered (`ho typeced-…`).
 * Both are races, so many fresh sessions, a few at a time.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createSession, endSession, plain, TerminalClient } from '../support/terminal-client.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

const SESSIONS = 200;
const AT_ONCE = 4;
const PROMPT_MARK = '\x1b]133;A';

let server: TestServer;
before(async () => {
  server = await startTestServer([
    '--max-sessions',
    String(AT_ONCE * 2),
    '--sessions-per-minute',
    '100000',
  ]);
});
after(() => server.stop());

async function firstCommand(index: number): Promise<string | undefined> {
  const session = await createSession(server.url);
  const term = await TerminalClient.open(server.url, session);
  try {
    await term.waitFor(() => term.output.includes(PROMPT_MARK), 10_000, 'the first prompt');
    const command = `echo first-${index}-$((40+2))`;
    term.type(`${command}\r`);
    await term.waitFor(() => plain(term.output).includes(`first-${index}-42`), 10_000, 'output');
    const echoed = plain(term.output).split(command).length - 1;
    return echoed === 1 ? undefined : `session ${index}: echoed ${echoed} times`;
  } finally {
    term.close();
    await endSession(server.url, session);
  }
}

/** Types key by key as soon as the socket is attached, before the shell has said anything. */
async function typedBeforePrompt(index: number): Promise<string | undefined> {
  const session = await createSession(server.url);
  const term = await TerminalClient.connect(server.url, session);
  try {
    await term.waitFor(() => term.ready !== undefined, 10_000, 'ready');
    const before = term.output.includes(PROMPT_MARK);
    const command = `echo typed-${index}-$((2+3))`;
    for (const key of `${command}\r`) term.type(key);
    await term.waitFor(() => plain(term.output).includes(`typed-${index}-5`), 10_000, 'output');
    const echoed = plain(term.output).split(command).length - 1;
    if (echoed === 1) return undefined;
    const screen = JSON.stringify(plain(term.output).slice(-200));
    return `session ${index}${before ? ' (prompt already up)' : ''}: echoed ${echoed} times: ${screen}`;
  } finally {
    term.close();
    await endSession(server.url, session);
  }
}

async function inBatches(run: (index: number) => Promise<string | undefined>): Promise<string[]> {
  const problems: string[] = [];
  for (let start = 0; start < SESSIONS; start += AT_ONCE) {
    const batch = Array.from({ length: AT_ONCE }, (_, i) => run(start + i));
    for (const problem of await Promise.all(batch)) if (problem) problems.push(problem);
  }
  return problems;
}

test(`${SESSIONS} fresh sessions: the first command, typed at the prompt mark, is echoed once`, async () => {
  assert.deepEqual(await inBatches(firstCommand), []);
});

test(`${SESSIONS} fresh sessions: keys typed before the first prompt arrive whole and in order`, async () => {
  assert.deepEqual(await inBatches(typedBeforePrompt), []);
});
