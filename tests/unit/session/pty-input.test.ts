/**
 * PtyInput against the real node-pty: what is typed arrives, a paste larger than the pty takes
 * at once arrives whole and in order, and once node-pty has closed the pty's fd nothing is
 * written to that number again (it may name someone else's file by then).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as pty from 'node-pty';
import { PtyInput } from '../../../sandbox-server/src/session/pty-input.ts';

/** A program in a pty, with what it printed so far. */
function run(script: string) {
  const shell = pty.spawn('bash', ['--norc', '--noprofile', '-c', script], {
    cols: 80,
    rows: 24,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' },
    encoding: null,
  });
  let output = '';
  shell.onData((data) => {
    output += (data as unknown as Buffer).toString('latin1');
  });
  const exited = new Promise<void>((resolve) => shell.onExit(() => resolve()));
  return {
    shell,
    exited,
    output: () => output,
    async until(text: string, what: string): Promise<void> {
      for (let waited = 0; !output.includes(text); waited += 10) {
        if (waited > 10_000)
          assert.fail(`${what}: never printed ${JSON.stringify(text)}: ${output}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
  };
}

test('typing reaches the shell, written straight to the pty', async () => {
  const program = run('read -r line; echo "got:$line"');
  const input = new PtyInput(program.shell);
  try {
    assert.equal(input.direct, true, 'node-pty looks as this module expects');
    input.write(Buffer.from('hello\r'));
    await program.until('got:hello', 'the shell');
  } finally {
    input.dispose();
    program.shell.kill();
  }
});

test('a paste larger than the pty takes at once arrives whole, in order', async () => {
  // Raw mode: no line limit, no echo, every byte as it is. The program reads only after a
  // pause, so the pty's input buffer fills and the rest must wait in our queue.
  const program = run('stty raw -echo; echo READY; sleep 0.3; head -c 300001 | sha256sum');
  const input = new PtyInput(program.shell);
  try {
    await program.until('READY', 'stty');
    const parts = [randomBytes(200_000), Buffer.from('|'), randomBytes(100_000)];
    for (const part of parts) input.write(part);
    assert.ok(input.queuedBytes > 0, 'the pty could not take it all at once');
    const sum = createHash('sha256').update(Buffer.concat(parts)).digest('hex');
    await program.until(sum, 'sha256sum of the paste');
    assert.equal(input.queuedBytes, 0);
  } finally {
    input.dispose();
    program.shell.kill();
  }
});

test('once the shell side hangs up, input goes nowhere: not into a file that took the fd number', async () => {
  // The shell lets go of the terminal but lives on, so node-pty closes the fd (read EIO) long
  // before the exit that would end the session (it ignores the hang-up node-pty's close sends).
  const program = run("trap '' HUP; exec </dev/null >/dev/null 2>&1; sleep 3");
  const input = new PtyInput(program.shell);
  const fd = (program.shell as unknown as { fd: number }).fd;
  const dir = mkdtempSync(join(tmpdir(), 'kubenotes-pty-input-'));
  const opened: number[] = [];
  try {
    for (let waited = 0; ; waited += 10) {
      try {
        fstatSync(fd);
      } catch {
        break; // closed
      }
      if (waited > 5000) assert.fail('node-pty never closed the fd of a terminal nobody holds');
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.doesNotThrow(() => process.kill(program.shell.pid, 0), 'the shell still runs');
    // Take the number back, as any file or socket opened next would.
    const file = join(dir, 'someone-else');
    for (let i = 0; i < 16 && !opened.includes(fd); i++) opened.push(openSync(file, 'w'));
    assert.ok(opened.includes(fd), `fd ${fd} was reused`);
    input.write(Buffer.from('typed after the hang-up\r'));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(readFileSync(file, 'utf8'), '', 'nothing written into the file');
    assert.equal(input.queuedBytes, 0, 'nothing kept for a terminal that is gone');
  } finally {
    for (const taken of opened) closeSync(taken);
    input.dispose();
    program.shell.kill('SIGKILL');
    await program.exited;
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a pty it does not recognise gets its own write', () => {
  const written: Buffer[] = [];
  const foreign = { write: (data: Buffer) => written.push(data) } as unknown as pty.IPty;
  const input = new PtyInput(foreign);
  assert.equal(input.direct, false);
  input.write(Buffer.from('ls\r'));
  assert.deepEqual(written, [Buffer.from('ls\r')]);
});

test('dispose drops what waits and stops retrying', async () => {
  const program = run('stty raw -echo; echo READY; sleep 5');
  const input = new PtyInput(program.shell);
  try {
    await program.until('READY', 'stty');
    input.write(randomBytes(200_000));
    assert.ok(input.queuedBytes > 0);
    input.dispose();
    input.dispose();
    assert.equal(input.queuedBytes, 0);
    input.write(Buffer.from('more'));
    assert.equal(input.queuedBytes, 0, 'a disposed input takes nothing');
  } finally {
    program.shell.kill('SIGKILL');
    await program.exited;
  }
});
