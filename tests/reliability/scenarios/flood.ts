/**
 * Flood: some sessions print as fast as they can (`yes`, `cat` of a large file in a loop,
 * one of them with nobody attached) while others type. The typists' echo latency is reported
 * with and without the flood (the goal is within 2x; reported, never judged: wall-clock time
 * on a shared 2-core machine is not a test). Judged: every byte of every stream (the floods'
 * too, against the file and the `yes` line), no errors, the server's memory bounded, and every
 * flooding shell answering after Ctrl-C.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { plain, type TerminalClient } from '../../support/terminal-client.ts';
import { type Context, errorText, mapLimit, sleep } from '../lib/context.ts';
import { EchoSession } from '../lib/echo.ts';
import { count, mib, ms, percentile } from '../lib/report.ts';
import { rssOf, spawnServer } from '../lib/server-process.ts';
import { createSession, deleteSession, openTerminal } from '../lib/terminal.ts';

const BEGIN = Buffer.from('KN-FLOOD-BEGIN\n');

/** A flooding session whose output is compared, byte by byte, with a repeating pattern. */
class Flood {
  readonly client: TerminalClient;
  readonly label: string;
  readonly #pattern: Buffer;
  readonly errors: string[] = [];
  #started = false;
  #checking = true;
  #prefix = Buffer.alloc(0);
  verified = 0;
  after = 0;

  constructor(client: TerminalClient, label: string, pattern: Buffer) {
    this.client = client;
    this.label = label;
    // Repeated to at least 64 KiB, so chunks are compared in a few native calls.
    this.#pattern = Buffer.concat(
      Array.from({ length: Math.ceil((64 * 1024) / pattern.length) }, () => pattern),
    );
    client.ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) this.#onBytes(data);
    });
  }

  get started(): boolean {
    return this.#started;
  }

  #onBytes(data: Buffer): void {
    // The client keeps all output as text; a flood would make that string huge (marks are
    // read incrementally, so dropping the text does not lose them).
    if (this.#checking && this.client.output.length > 1 << 20) this.client.output = '';
    if (!this.#checking) {
      this.after += data.length;
      return;
    }
    if (!this.#started) {
      this.#prefix = Buffer.concat([this.#prefix, data]);
      const at = this.#prefix.indexOf(BEGIN);
      if (at < 0) return;
      this.#started = true;
      data = this.#prefix.subarray(at + BEGIN.length);
      this.#prefix = Buffer.alloc(0);
    }
    const p = this.#pattern;
    let i = 0;
    while (i < data.length) {
      const at = (this.verified + i) % p.length;
      const n = Math.min(p.length - at, data.length - i);
      if (!data.subarray(i, i + n).equals(p.subarray(at, at + n))) {
        let j = 0;
        while (j < n && data[i + j] === p[at + j]) j++;
        this.errors.push(
          `byte ${this.verified + i + j} of the flood differs (dropped, added or reordered)`,
        );
        this.#checking = false;
        return;
      }
      i += n;
    }
    this.verified += data.length;
  }

  /** Stops comparing (what follows Ctrl-C is the shell's), then sends Ctrl-C. */
  interrupt(): void {
    this.#checking = false;
    this.client.type('\x03');
  }
}

export async function flood(ctx: Context): Promise<void> {
  const { quiet, floods, seconds, fileMiB } = ctx.sizes.flood;
  const dir = mkdtempSync(join(tmpdir(), 'kubenotes-flood-'));
  ctx.defer(() => rmSync(dir, { recursive: true, force: true }));
  // A large file of numbered lines, read by the shells (local mode: the same user).
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < fileMiB * 1024 * 1024; i++) {
    const line = `${String(i).padStart(9, '0')} the quick brown fox jumps over the lazy dog ☸\n`;
    lines.push(line);
    size += Buffer.byteLength(line);
  }
  const bigFile = join(dir, 'big.txt');
  const content = Buffer.from(lines.join(''));
  writeFileSync(bigFile, content);

  const server = await spawnServer([
    '--cluster',
    'none',
    '--max-sessions',
    String(quiet + floods + 10),
    '--sessions-per-minute',
    '1000000',
  ]);
  ctx.defer(() => server.stop());

  const typists = await mapLimit(
    Array.from({ length: quiet }, (_, i) => i),
    8,
    (i) => EchoSession.open(server.url, `q${i}`),
  );

  // Phase 1: quiet.
  ctx.log(`flood: ${quiet} typists, quiet phase ${seconds} s`);
  let until = performance.now() + seconds * 1000;
  await Promise.all(typists.map((t) => t.typeUntil(until)));
  const quietLatencies = typists.flatMap((t) => t.latencies);
  const quietCount = quietLatencies.length;

  // The floods: attached, acknowledging as a browser does.
  const sessions = [];
  const flooding: Flood[] = [];
  for (let i = 0; i < floods; i++) {
    const session = await createSession(server.url);
    sessions.push(session);
    const client = await openTerminal(server.url, session, { cols: 200, rows: 50 });
    const yes = i % 2 === 0;
    const pattern = yes ? Buffer.from(`kn-flood-${i}\n`) : content;
    const f = new Flood(client, `f${i}`, pattern);
    flooding.push(f);
    client.type(
      `stty -echo -opost; printf '%s%s\\n' KN-FLOOD- BEGIN; ${yes ? `yes kn-flood-${i}` : `while :; do cat ${bigFile}; done`}\r`,
    );
  }
  // And one with nobody attached: only the server-side screen reads it.
  const orphan = await createSession(server.url);
  const orphanTerm = await openTerminal(server.url, orphan);
  orphanTerm.type('yes kn-flood-unattended\r');
  await sleep(200);
  orphanTerm.close();

  const rssBefore = server.rss();
  let peak = rssBefore;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssOf(server.pid));
  }, 200);
  const floodStart = performance.now();
  await Promise.all(
    flooding.map((f) => f.client.waitFor(() => f.started, 15_000, `${f.label} to start`)),
  );

  // Phase 2: the same typists, during the flood.
  ctx.log(`flood: ${floods} floods + 1 unattended, typing phase ${seconds} s`);
  until = performance.now() + seconds * 1000;
  await Promise.all(typists.map((t) => t.typeUntil(until)));
  const floodLatencies = typists.flatMap((t) => t.latencies).slice(quietCount);
  const floodSeconds = (performance.now() - floodStart) / 1000;
  for (const f of flooding) f.interrupt();
  clearInterval(sampler);
  peak = Math.max(peak, server.rss());

  // Every flooding shell answers after Ctrl-C.
  const liveness: string[] = [];
  await Promise.all(
    flooding.map(async (f) => {
      try {
        await f.client.waitForMark('command-end', 20_000);
        const result = await f.client.run(`stty sane; echo ${f.label}-alive`, 20_000);
        if (!plain(result.output).includes(`${f.label}-alive`)) {
          liveness.push(`${f.label} did not answer after Ctrl-C`);
        }
      } catch (error) {
        liveness.push(`${f.label}: ${errorText(error)}`);
      }
    }),
  );
  // The unattended one too, when someone comes back to it.
  try {
    const back = await openTerminal(server.url, orphan);
    const interrupted = back.waitForMark('command-end', 20_000);
    back.type('\x03');
    await interrupted;
    const result = await back.run('echo unattended-alive', 20_000);
    if (!plain(result.output).includes('unattended-alive')) liveness.push('unattended: no answer');
    back.close();
  } catch (error) {
    liveness.push(`unattended: ${errorText(error)}`);
  }

  const floodBytes = flooding.reduce((sum, f) => sum + f.verified, 0);
  const typed = typists.reduce((sum, t) => sum + t.sentBytes, 0);
  const echoed = typists.reduce((sum, t) => sum + t.verifiedBytes, 0);
  const errors = [
    ...typists.flatMap((t) => t.errors.map((e) => `${t.label}: ${e}`)),
    ...flooding.flatMap((f) => f.errors.map((e) => `${f.label}: ${e}`)),
    ...server
      .logs()
      .split('\n')
      .filter((l) => l.includes('"level":"error"')),
  ];
  if (typed !== echoed) errors.push(`${typed - echoed} typed bytes never came back`);
  for (const f of flooding) {
    if (f.verified < 1024 * 1024) errors.push(`${f.label} flowed only ${f.verified} bytes`);
  }
  const grown = peak - rssBefore;
  const bound = 256 * 1024 * 1024;
  if (grown > bound) errors.push(`server memory grew ${mib(grown)}, over ${mib(bound)}`);
  if (!server.alive()) errors.push('the server died');

  const p99Quiet = percentile(quietLatencies, 99);
  const p99Flood = percentile(floodLatencies, 99);
  ctx.rec.check(
    `${floods} sessions flood (\`yes\`, \`cat\` of a ${fileMiB} MiB file in a loop) + 1 flooding with nobody attached, while ${quiet} others type; every byte of every stream compared`,
    `floods: ${mib(floodBytes)} in ${floodSeconds.toFixed(1)} s (${mib(floodBytes / floodSeconds)}/s), all identical to the source; typists: ${count(echoed)} bytes echoed identical; server RSS ${mib(rssBefore)} → peak ${mib(peak)} (+${mib(grown)}, bound +${mib(bound)})`,
    errors.slice(0, 5),
  );
  ctx.rec.check(
    'Ctrl-C in every flooding shell, the unattended one after a reattach',
    `${floods + 1 - liveness.length}/${floods + 1} answered`,
    liveness,
  );
  const ratio = p99Flood / p99Quiet;
  ctx.rec.info(
    'the typists\u2019 echo p99, quiet vs during the flood (goal: within 2x; reported only)',
    `quiet p99 ${ms(p99Quiet)} (${count(quietLatencies.length)} lines) → flood p99 ${ms(p99Flood)} (${count(floodLatencies.length)} lines): ${ratio.toFixed(2)}x${ratio <= 2 ? ', within the 2x goal' : ', over the 2x goal'}`,
  );
  for (const t of typists) t.close();
  for (const f of flooding) f.client.close();
  await mapLimit(sessions, 8, (s) => deleteSession(server.url, s));
}
