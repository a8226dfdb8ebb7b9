/**
 * Sessions and terminals for the scenarios: every token handed out is remembered (no server log
 * may contain one), and terminals get a longer wait than the tests', for a server under load.
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

export function openTerminal(
  baseUrl: string,
  session: { id: string; token: string },
  options: AttachOptions = {},
  timeoutMs = 20_000,
): Promise<TerminalClient> {
  return TerminalClient.open(baseUrl, session, options, timeoutMs);
}

export async function deleteSession(baseUrl: string, session: CreatedSession): Promise<number> {
  const res = await fetch(`${baseUrl}/api/sessions/${session.id}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${session.token}` },
  });
  return res.status;
}
