/**
 * The first command typed into a new session, the moment its prompt mark arrives (as the
 * page's Run does), is echoed once: the mark must mean readline has the terminal, not only
 * that bash is about to print a prompt. A race, so many fresh sessions, a few at a time.
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

test(`${SESSIONS} fresh sessions: the first command, typed at the prompt mark, is echoed once`, async () => {
  const problems: string[] = [];
  for (let start = 0; start < SESSIONS; start += AT_ONCE) {
    const batch = Array.from({ length: AT_ONCE }, (_, i) => firstCommand(start + i));
    for (const problem of await Promise.all(batch)) if (problem) problems.push(problem);
  }
  assert.deepEqual(problems, []);
});
