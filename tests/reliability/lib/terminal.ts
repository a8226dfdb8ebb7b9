/**
 * Opening a terminal under load. TerminalClient.open waits for `ready`, then for the next
 * prompt mark counted from that moment; when the prompt arrives in the same TCP read as
 * `ready` (a busy server), ws delivers both in one go and the mark is already logged by the
 * time open() starts waiting, so it waits in vain. This waits for the prompt mark anywhere in
 * the output instead.
 */
import {
  type AttachOptions,
  type CreatedSession,
  createSession as create,
  TerminalClient,
} from '../../support/terminal-client.ts';

/** Every session token handed out during the run: no server log may contain one. */
export const issuedTokens = new Set<string>();

export async function createSession(
  baseUrl: string,
  body: Record<string, unknown> = {},
): Promise<CreatedSession> {
  const session = await create(baseUrl, body);
  issuedTokens.add(session.token);
  return session;
}

const PROMPT_MARK = '\x1b]133;A';

export async function openTerminal(
  baseUrl: string,
  session: { id: string; token: string },
  options: AttachOptions = {},
  timeoutMs = 20_000,
): Promise<TerminalClient> {
  const client = await TerminalClient.connect(baseUrl, session, options);
  await client.waitFor(() => client.ready !== undefined, timeoutMs, 'ready');
  if (!client.ready?.resumed && !options.readOnly) {
    await client.waitFor(() => client.output.includes(PROMPT_MARK), timeoutMs, 'the first prompt');
  }
  return client;
}

export async function deleteSession(baseUrl: string, session: CreatedSession): Promise<number> {
  const res = await fetch(`${baseUrl}/api/sessions/${session.id}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${session.token}` },
  });
  return res.status;
}
