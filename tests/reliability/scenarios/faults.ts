/**
 * Faults on one server: a shell killed (from inside and from outside), a socket dropped in
 * the middle of output, a client that freezes (no acks, no reads). After each, the session
 * resumes where docs/protocol.md says it can, and nothing of the killed shell is left running.
 */
import type { Socket } from 'node:net';
import { plain, type TerminalClient } from '../../support/terminal-client.ts';
import { type Context, errorText, sleep } from '../lib/context.ts';
import { EchoSession } from '../lib/echo.ts';
import { isAlive, marker, processesWithArg, untilGone } from '../lib/procs.ts';
import { mib, ms, percentile, size } from '../lib/report.ts';
import { rssOf, spawnServer } from '../lib/server-process.ts';
import { createSession, openTerminal } from '../lib/terminal.ts';

async function shellPid(term: TerminalClient): Promise<number> {
  const result = await term.run('echo "shell=$$"');
  const pid = Number(/shell=(\d+)/.exec(plain(result.output))?.[1]);
  if (!pid) throw new Error(`no shell pid in ${JSON.stringify(result.output)}`);
  return pid;
}

function socketOf(term: TerminalClient): Socket {
  return (term.ws as unknown as { _socket: Socket })._socket;
}

export async function killShell(ctx: Context): Promise<void> {
  const server = await spawnServer(['--cluster', 'none']);
  ctx.defer(() => server.stop());
  const session = await createSession(server.url);
  const term = await openTerminal(server.url, session);

  for (const how of ['inside', 'outside'] as const) {
    const failures: string[] = [];
    const pid = await shellPid(term);
    // Jobs the shell started: one in the background, one that ignores hangups.
    const job = marker();
    const nohup = marker();
    await term.run(`sleep ${job} & nohup sleep ${nohup} >/dev/null 2>&1 &`);
    const exit = term.waitForMessage('exit', 10_000);
    const killedAt = performance.now();
    if (how === 'inside') term.type('kill -9 $$\r');
    else process.kill(pid, 'SIGKILL');
    let exitMessage: { code: number } | undefined;
    try {
      exitMessage = await exit;
    } catch (error) {
      failures.push(`no exit message: ${errorText(error)}`);
    }
    const exitMs = performance.now() - killedAt;
    // A shell killed by SIGKILL is reported as a shell reports it: 128 + 9.
    if (exitMessage && exitMessage.code !== 137) {
      failures.push(`exit code ${exitMessage.code}, not 137 (killed by SIGKILL)`);
    }
    const left = await untilGone(
      () => [...processesWithArg(job), ...processesWithArg(nohup)],
      5000,
    );
    if (isAlive(pid)) failures.push(`the shell ${pid} still runs`);
    for (const p of left) failures.push(`left running: ${p.pid} ${p.cmdline}`);
    // The next input starts a new shell, which receives it.
    const typedAt = performance.now();
    const from = term.output.length;
    term.type('echo "new-shell=$$"\r');
    let newPid = 0;
    let answerMs = Number.NaN;
    try {
      await term.waitFor(
        () =>
          /new-shell=\d+/.test(
            plain(term.output.slice(from)).replace(/echo "new-shell=\$\$"/g, ''),
          ),
        15_000,
        'the new shell to answer',
      );
      answerMs = performance.now() - typedAt;
      newPid = Number(
        /new-shell=(\d+)/.exec(
          plain(term.output.slice(from)).replace(/echo "new-shell=\$\$"/g, ''),
        )?.[1],
      );
      if (newPid === pid) failures.push('the same shell answered');
      // Its next prompt, so the next command is not confused with this one.
      await term.waitFor(
        () => /new-shell=\d+[\s\S]*\x1b\]133;A/.test(term.output.slice(from)),
        10_000,
        'the new prompt',
      );
    } catch (error) {
      failures.push(errorText(error));
    }
    ctx.rec.check(
      how === 'inside'
        ? '`kill -9 $$` typed in the shell (a background job and a nohup job running)'
        : 'SIGKILL to the shell from outside, by pid (same jobs running)',
      `exit message (code ${exitMessage?.code ?? '—'}) after ${ms(exitMs)}; jobs left: ${left.length}; next input answered by a new shell (pid ${pid} → ${newPid || '—'}) in ${ms(answerMs)}`,
      failures,
    );
  }
  term.close();
}

export async function socketDrop(ctx: Context): Promise<void> {
  const server = await spawnServer(['--cluster', 'none']);
  ctx.defer(() => server.stop());
  const session = await createSession(server.url);
  const term = await openTerminal(server.url, session, { cols: 120, rows: 40 });

  // Numbered lines, slowly enough that the drop lands in the middle.
  const total = 400;
  term.type(`for i in $(seq 1 ${total}); do echo "drop-line-$i"; sleep 0.01; done\r`);
  await term.waitForText('drop-line-60', 20_000);
  const seenBefore = [...plain(term.output).matchAll(/drop-line-(\d+)\n/g)].map((m) =>
    Number(m[1]),
  );
  const lastSeen = Math.max(...seenBefore);
  // Drop the TCP connection: no close frame, as when a laptop loses its network.
  const droppedAt = performance.now();
  term.ws.terminate();

  const failures: string[] = [];
  const back = await openTerminal(server.url, session, { cols: 120, rows: 40 });
  const reattachMs = performance.now() - droppedAt;
  if (!back.ready?.resumed) failures.push('ready.resumed is not true');
  await back.waitFor(() => back.replay !== undefined, 10_000, 'the replayed screen');
  const replay = plain(back.replay ?? '');
  if (!replay.includes(`drop-line-${lastSeen}\n`)) {
    failures.push(
      `the replayed screen lacks drop-line-${lastSeen}, the last line seen before the drop`,
    );
  }
  await back.waitForMark('command-end', 30_000);
  // Replayed screen + live output after it: every line from the last one seen to the end.
  const after = new Set(
    [...plain(back.output).matchAll(/drop-line-(\d+)\n/g)].map((m) => Number(m[1])),
  );
  const missing: number[] = [];
  for (let i = lastSeen; i <= total; i++) if (!after.has(i)) missing.push(i);
  if (missing.length > 0)
    failures.push(`lines missing after the reattach: ${missing.slice(0, 10).join(', ')}`);
  const alive = await back.run('echo still-alive');
  if (!plain(alive.output).includes('still-alive')) failures.push('the shell did not answer');
  ctx.rec.check(
    'TCP socket dropped (no close frame) while the shell prints numbered lines; reattach at once',
    `resumed: ${back.ready?.resumed}; reattached in ${ms(reattachMs)}; replay ${size(Buffer.byteLength(back.replay ?? ''))} holds line ${lastSeen} (the last seen); lines ${lastSeen}–${total}: ${total - lastSeen + 1 - missing.length} present, ${missing.length} missing; shell alive`,
    failures,
  );

  // Again in the middle of a flood: the shell survives and ends its command.
  const heavy: string[] = [];
  back.type('seq 1 300000 | sed "s/^/heavy-/"\r');
  await back.waitFor(() => back.bytesReceived > 1024 * 1024, 20_000, '1 MiB of output');
  back.ws.terminate();
  const third = await openTerminal(server.url, session, { cols: 120, rows: 40 });
  await third
    .waitForMark('command-end', 60_000)
    .catch((error: unknown) => heavy.push(errorText(error)));
  await third.waitFor(() => third.replay !== undefined, 10_000, 'replay').catch(() => undefined);
  const check = await third.run('echo heavy-done');
  if (!plain(check.output).includes('heavy-done')) heavy.push('the shell did not answer');
  const screen = plain(third.output);
  if (!screen.includes('heavy-300000')) heavy.push('heavy-300000 never shown after the reattach');
  ctx.rec.check(
    'TCP socket dropped after 1 MiB of a 2.8 MiB `seq | sed` flood; reattach',
    `resumed: ${third.ready?.resumed}; the command ran to its end (heavy-300000 on screen); shell alive`,
    heavy,
  );
  third.close();
}

export async function freezeClient(ctx: Context): Promise<void> {
  // The defaults: high water 1 MiB, too slow after 5 s.
  const server = await spawnServer(['--cluster', 'none']);
  ctx.defer(() => server.stop());
  const control = await EchoSession.open(server.url, 'control');
  const session = await createSession(server.url);
  const frozen = await openTerminal(server.url, session, { ack: false });
  const failures: string[] = [];

  const rssBefore = server.rss();
  let peak = rssBefore;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssOf(server.pid));
  }, 200);
  frozen.type('yes kn-frozen\r');
  // Frozen: the client stops reading its socket altogether (and never acks).
  const started = performance.now();
  const startedWall = Date.now();
  socketOf(frozen).pause();

  // Meanwhile another session types; the server notices the frozen one within bounds.
  const typing = control.typeUntil(performance.now() + 9000);
  let slowAfter = Number.NaN;
  while (performance.now() - started < 20_000) {
    const slow = server.events('attachment_too_slow').find((e) => e.session === session.id);
    if (slow) {
      slowAfter = Date.parse(String(slow.time)) - startedWall;
      break;
    }
    await sleep(100);
  }
  await typing.catch((error: unknown) => failures.push(`control: ${errorText(error)}`));
  clearInterval(sampler);
  if (!Number.isFinite(slowAfter)) failures.push('the server never closed the frozen socket');
  else if (slowAfter > 10_000) failures.push(`closed only after ${ms(slowAfter)} (bound 10 s)`);
  // The client wakes up: it reads what was buffered, then the close.
  socketOf(frozen).resume();
  const closed = await frozen.waitForClose(40_000).catch(() => undefined);
  if (closed?.code !== 4008 || closed.reason !== 'too_slow') {
    failures.push(`closed with ${JSON.stringify(closed)}, not 4008 too_slow`);
  }
  const grown = peak - rssBefore;
  // Bounded, not growing with the flood: the shell is paused, nothing is buffered for the
  // frozen client past the high-water mark (it got about 1 MiB in all, below).
  if (grown > 256 * 1024 * 1024) failures.push(`server memory grew ${mib(grown)} (bound 256 MiB)`);
  if (frozen.bytesReceived > 4 * 1024 * 1024) {
    failures.push(
      `the frozen client was sent ${mib(frozen.bytesReceived)}, far past the 1 MiB mark`,
    );
  }
  failures.push(
    ...control.errors,
    ...(control.verifiedBytes === control.sentBytes ? [] : ['control lost bytes']),
  );

  // It may reattach, stop the flood and go on.
  const back = await openTerminal(server.url, session);
  const interrupted = back.waitForMark('command-end', 20_000);
  back.type('\x03');
  await interrupted.catch((error: unknown) => failures.push(`after reattach: ${errorText(error)}`));
  const alive = await back.run('echo unfrozen');
  if (!plain(alive.output).includes('unfrozen')) failures.push('the shell did not answer');
  ctx.rec.check(
    'a client stops reading its socket and never acks while its shell runs `yes`; another session types meanwhile',
    `closed 4008 too_slow ${ms(slowAfter)} after the freeze (limit 5 s above 1 MiB, bound 10 s); the frozen client got ${size(frozen.bytesReceived)}; server RSS +${mib(grown)} (bound 256 MiB); the other session: ${control.latencies.length} lines, echo p99 ${ms(percentile(control.latencies, 99))}, no errors; reattach + Ctrl-C: shell alive`,
    failures,
  );
  back.close();
  control.close();
}
