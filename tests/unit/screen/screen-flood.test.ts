import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import serialize from '@xterm/addon-serialize';
import headless from '@xterm/headless';
import { type Screen, ScreenHost } from '../../../sandbox-server/src/screen/screen.ts';
import {
  type FloodCut,
  FloodFilter,
  PlainRun,
  type ScreenGeometry,
} from '../../../sandbox-server/src/screen/screen-flood.ts';
import { GroundTracker, plainLength } from '../../../sandbox-server/src/screen/vt-ground.ts';
import { silentLogger } from '../../../sandbox-server/src/telemetry/log.ts';

const bytes = (text: string) => Buffer.from(text, 'latin1');

/** Where a PlainRun that drops as soon as it can has cut `pieces`, appended one by one. */
function floodCut(
  pieces: string | string[],
  startColumn: number,
  geometry: ScreenGeometry,
): FloodCut | undefined {
  const run = new PlainRun(startColumn, geometry, 0);
  for (const piece of typeof pieces === 'string' ? [pieces] : pieces) run.append(bytes(piece));
  return run.cut;
}

/** The first plain run of at least `minimum` bytes that starts in the ground state, or -1. */
function firstRun(tracker: GroundTracker, chunk: Uint8Array, minimum: number): number {
  let found = -1;
  for (let i = 0; i < chunk.length; ) {
    const at = tracker.untilPlain(chunk, i);
    if (at >= chunk.length) break;
    const length = plainLength(chunk, at);
    if (found < 0 && length >= minimum) found = at;
    i = at + length;
    tracker.sawPlain(chunk[i - 1]!);
  }
  return found;
}

describe('PlainRun: where a flood of plain text may be cut', () => {
  // 10 columns, 2 rows, 1 line of scrollback: 2·2 + 1 = 5 line advances must follow the cut.
  const small = { cols: 10, rows: 2, scrollback: 1 };
  const cases: {
    name: string;
    text: string;
    start?: number;
    want: { skip: number; column: number } | undefined;
  }[] = [
    { name: 'too few lines follow', text: 'a\r\nb\r\nc\r\nd\r\n', want: undefined },
    {
      name: 'lines: the cut leaves exactly five line feeds',
      text: '1\r\n2\r\n3\r\n4\r\n5\r\n6\r\n7\r\n',
      // "1\r\n2\r\n3\r" goes; the rest starts with the third of seven LFs. Column 0 after CR.
      want: { skip: 8, column: 0 },
    },
    {
      name: 'wrapping text counts a line every cols characters',
      text: 'x'.repeat(70),
      // 70 characters from column 0 wrap 6 times (characters 11, 21, … 61); the last cut with
      // five wraps after it is before character 20, at column 9 (at 20 a wrap is pending).
      want: { skip: 19, column: 9 },
    },
    {
      name: 'a pending wrap at the start counts as the first wrap',
      text: 'x'.repeat(60),
      start: 10,
      want: { skip: 9, column: 9 },
    },
    {
      name: 'a line feed after the last column keeps the cursor on it',
      text: `${'x'.repeat(10)}\n\n\n\n\n\n`,
      // After 10 x's the column is 10 (pending); LF puts it at 9.
      want: { skip: 11, column: 9 },
    },
  ];
  for (const { name, text, start, want } of cases) {
    test(name, () => assert.deepEqual(floodCut(text, start ?? 0, small), want));
  }
});

/** The same cut, worked out one byte at a time: the reference the fast version must match. */
function floodCutByteByByte(
  run: Uint8Array,
  startColumn: number,
  { cols, rows, scrollback }: { cols: number; rows: number; scrollback: number },
): { skip: number; column: number } | undefined {
  const needed = 2 * rows + scrollback;
  const advances: { at: number; before: number }[] = [];
  let column = startColumn;
  run.forEach((byte, i) => {
    if (byte === 0x0d) column = 0;
    else if (byte === 0x0a) {
      advances.push({ at: i, before: column });
      column = Math.min(column, cols - 1);
    } else {
      if (column >= cols) {
        advances.push({ at: i, before: column });
        column = 0;
      }
      column++;
    }
  });
  if (cols < 2 || advances.length < needed) return undefined;
  const first = advances[advances.length - needed]!;
  const cut =
    first.before < cols
      ? { skip: first.at, column: first.before }
      : { skip: first.at - 1, column: cols - 1 };
  return cut.skip > 0 ? cut : undefined;
}

test('PlainRun agrees with a byte-by-byte count on random text, appended in pieces', () => {
  let state = 7;
  const r = () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
  for (let round = 0; round < 300; round++) {
    const geometry = {
      cols: 1 + Math.floor(r() * 30),
      rows: 1 + Math.floor(r() * 6),
      scrollback: Math.floor(r() * 20),
    };
    const alphabet = ['x', 'x', 'x', 'x', '\r', '\n', '\r\n'];
    const text = Array.from(
      { length: Math.floor(r() * 400) },
      () => alphabet[Math.floor(r() * alphabet.length)],
    ).join('');
    const start = Math.floor(r() * (geometry.cols + 1));
    // Appended in random pieces, as reads arrive.
    const pieces: string[] = [];
    for (let at = 0; at < text.length; ) {
      const size = 1 + Math.floor(r() * 60);
      pieces.push(text.slice(at, at + size));
      at += size;
    }
    assert.deepEqual(
      floodCut(pieces, start, geometry),
      floodCutByteByByte(bytes(text), start, geometry),
      `${JSON.stringify(geometry)} from column ${start}: ${JSON.stringify(text)}`,
    );
  }
});

test('plainLength finds the first byte that is not plain, wherever it is', () => {
  const base = Buffer.alloc(1100, 'k');
  base.fill('\r\n', 500, 520);
  for (const odd of [0x00, 0x07, 0x09, 0x1b, 0x1f, 0x7f, 0x80, 0x9b, 0xc2, 0xff]) {
    for (const offset of [0, 1, 2, 3]) {
      for (const at of [0, 1, 63, 64, 65, 66, 67, 255, 510, 999]) {
        const copy = Buffer.from(base);
        copy[offset + at] = odd;
        const view = new Uint8Array(copy.buffer, copy.byteOffset + offset, 1000);
        assert.equal(plainLength(view), at, `byte ${odd} at ${at}, offset ${offset}`);
      }
    }
  }
  assert.equal(plainLength(new Uint8Array(base.buffer, base.byteOffset + 1, 1000)), 1000);
});

describe('FloodFilter: which output makes it ask the parser for its cursor', () => {
  const prompt = '\x1b]133;A\x07$ \x1b]133;B\x07';
  const cases: { name: string; frames: string[]; asks: boolean }[] = [
    { name: "a keystroke's echo after a prompt", frames: [prompt, 'k'], asks: false },
    { name: 'a typed word, one echo at a time', frames: [prompt, ...'kubectl'], asks: false },
    { name: 'a short line ending a frame', frames: [`${prompt}${'k'.repeat(200)}`], asks: false },
    { name: 'a flood in one frame', frames: [prompt, 'k'.repeat(4096)], asks: true },
    { name: 'a flood after a short start', frames: [`${prompt}kk`, 'k'.repeat(4096)], asks: true },
    {
      name: 'plain text long enough, within a frame',
      frames: [`${'k'.repeat(300)}\x1b[m`],
      asks: true,
    },
  ];
  for (const { name, frames, asks } of cases) {
    test(name, () => {
      let asked = 0;
      let parsed = 0;
      const filter = new FloodFilter(
        { cols: 80, rows: 24, scrollback: 100 },
        { parse: (bytes) => (parsed += bytes.length), askCursor: () => asked++ },
      );
      for (const frame of frames) filter.write(Buffer.from(frame, 'latin1'));
      assert.equal(asked > 0, asks);
      const total = frames.reduce((sum, frame) => sum + frame.length, 0);
      // What is not asked about is parsed at once; what is, is held until the answer.
      assert.equal(parsed + filter.heldBytes, total);
    });
  }
});

describe('GroundTracker: only runs the parser would print count', () => {
  const flood = 'k'.repeat(100);
  const cases: { name: string; chunks: string[]; want: number[] }[] = [
    { name: 'plain text from the start', chunks: [flood], want: [0] },
    { name: 'after a complete CSI', chunks: [`\x1b[31m${flood}`], want: [5] },
    { name: 'inside an OSC payload: never', chunks: [`\x1b]52;c;${flood}\x07`], want: [-1] },
    { name: 'after the OSC ends with BEL', chunks: [`\x1b]0;t\x07${flood}`], want: [6] },
    { name: 'a CSI split across writes', chunks: ['\x1b[3', `1m${flood}`], want: [-1, 2] },
    {
      name: 'a DCS is only over at ST',
      chunks: [`\x1bPq${flood}\x07${flood}\x1b\\${flood}`],
      want: [206],
    },
    { name: 'after a UTF-8 lead byte: not yet', chunks: ['\xe2', `${flood}`], want: [-1, -1] },
    {
      name: 'a C1 control (UTF-8 encoded) is followed to ESC',
      chunks: [`\xc2\x9b${flood}\x1b[m${flood}`],
      want: [105],
    },
    { name: 'CAN cancels a sequence', chunks: [`\x1b]0;${flood}\x18${flood}`], want: [105] },
  ];
  for (const { name, chunks, want } of cases) {
    test(name, () => {
      const tracker = new GroundTracker();
      assert.deepEqual(
        chunks.map((chunk) => firstRun(tracker, bytes(chunk), 100)),
        want,
      );
    });
  }
});

/**
 * Writes output to a session screen as a pty delivers it: in reads of at most 64 KiB, each
 * once the parser has caught up with the one before (as it mostly has in a session; the
 * randomized cases below also write without waiting).
 */
async function deliver(screen: Screen, chunks: Uint8Array[]): Promise<void> {
  for (const chunk of chunks) {
    for (let at = 0; at < chunk.length; at += 64 * 1024) {
      screen.write(chunk.subarray(at, at + 64 * 1024));
      for (let waited = 0; screen.pendingBytes > 0 && waited < 200; waited++) {
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    }
  }
}

/** The screen as a full parse leaves it. */
async function parsedFully(
  chunks: Uint8Array[],
  geometry: { cols: number; rows: number; scrollback: number },
): Promise<string> {
  const terminal = new headless.Terminal({ ...geometry, allowProposedApi: true });
  const serializer = new serialize.SerializeAddon();
  terminal.loadAddon(serializer);
  for (const chunk of chunks) terminal.write(chunk);
  await new Promise<void>((resolve) => terminal.write('', resolve));
  const text = serializer.serialize();
  terminal.dispose();
  return text;
}

describe('a session screen (worker thread) shows what a full parse shows', () => {
  const host = new ScreenHost(silentLogger);
  after(() => host.dispose());

  /** Sends the chunks the way a session does and serializes; also says how much was skipped. */
  async function throughWorker(
    chunks: Uint8Array[],
    geometry: { cols: number; rows: number; scrollback: number },
  ): Promise<{ screen: string; skipped: number }> {
    const screen = host.open(geometry);
    await deliver(screen, chunks);
    const text = await screen.serialize();
    const skipped = screen.skippedBytes;
    screen.dispose();
    return { screen: text, skipped };
  }

  const line = (n: number) => `line ${n} ${'abcdefghij'.repeat(n % 7)}\r\n`;
  const lines = (from: number, count: number) =>
    Array.from({ length: count }, (_, i) => line(from + i)).join('');
  const geometry = { cols: 80, rows: 24, scrollback: 200 };
  const cases: { name: string; chunks: string[]; skips: boolean; geometry?: typeof geometry }[] = [
    {
      name: 'a flood without newlines (yes-like)',
      chunks: ['$ ', 'k'.repeat(300_000), '\r\n$ '],
      skips: true,
    },
    {
      name: 'a flood of lines, coloured prompt after',
      chunks: [lines(0, 20_000), '\x1b[32m$\x1b[m '],
      skips: true,
    },
    {
      name: 'colour set before the flood carries on',
      chunks: [`\x1b[1;34m${lines(0, 9000)}\x1b[0m`],
      skips: true,
    },
    {
      name: 'starting mid-line with a pending wrap',
      chunks: ['x'.repeat(79), 'y', 'z'.repeat(200_000), '\r\n'],
      skips: true,
    },
    {
      name: 'odd columns and a wrap phase that is not zero',
      chunks: ['abc', 'q'.repeat(150_001), 'tail'],
      skips: true,
      geometry: { cols: 37, rows: 11, scrollback: 50 },
    },
    {
      name: 'inside the alternate screen',
      chunks: ['\x1b[?1049h', lines(0, 9000), 'end'],
      skips: true,
    },
    {
      // xterm.js may not apply `5:1`; either way the screen must match and nothing is cut.
      name: 'a scroll region given with sub-parameters: same screen, no cut',
      chunks: ['\x1b[2J\x1b[Htop line\x1b[5:1;24r\x1b[24;1H', lines(0, 9000)],
      skips: false,
    },
    {
      name: 'a scroll region keeps the lines outside it',
      chunks: ['\x1b[2J\x1b[Htop line\x1b[5;20r\x1b[20;1H', lines(0, 9000), '\x1b[r'],
      skips: false,
    },
    {
      name: 'autowrap off: the last column is overwritten',
      chunks: ['\x1b[?7l', 'w'.repeat(300_000)],
      skips: false,
    },
    { name: 'insert mode', chunks: ['\x1b[4h', lines(0, 9000)], skips: false },
    {
      name: 'an OSC payload is not text',
      chunks: [`\x1b]0;${'t'.repeat(200_000)}\x07after`],
      skips: false,
    },
    {
      name: 'a CSI split at the start of the flood',
      chunks: ['\x1b[3', `1m${'r'.repeat(200_000)}`],
      skips: true,
    },
    {
      name: 'UTF-8 before and after the flood',
      chunks: ['héllo ✓ ', 'ü'.repeat(10), lines(0, 9000), '✓ done'],
      skips: true,
    },
    { name: 'tabs stop the flood', chunks: [`${'a\tb\r\n'.repeat(40_000)}`], skips: false },
    { name: 'a small output is parsed as it is', chunks: [lines(0, 50)], skips: false },
  ];
  for (const { name, chunks, skips, geometry: g = geometry } of cases) {
    test(name, async () => {
      const encoded = chunks.map((c) => new Uint8Array(Buffer.from(c, 'utf8')));
      const full = await parsedFully(encoded, g);
      const { screen, skipped } = await throughWorker(encoded, g);
      assert.equal(screen, full);
      if (skips) assert.ok(skipped > 0, 'expected the flood to be skipped');
      else assert.equal(skipped, 0);
    });
  }
});

test('a resume in the middle of a flood sees it so far, and the flood goes on being skipped', async () => {
  const host = new ScreenHost(silentLogger);
  try {
    const geometry = { cols: 80, rows: 24, scrollback: 100 };
    const first = [new Uint8Array(Buffer.from(`$ yes\r\n${'y\r\n'.repeat(60_000)}`))];
    const second = [new Uint8Array(Buffer.from(`${'y\r\n'.repeat(60_000)}^C\r\n$ `))];
    const screen = host.open(geometry);
    await deliver(screen, first);
    assert.equal(await screen.serialize(), await parsedFully(first, geometry));
    const before = screen.skippedBytes;
    await deliver(screen, second);
    assert.equal(await screen.serialize(), await parsedFully([...first, ...second], geometry));
    assert.ok(screen.skippedBytes > before, 'the flood after the resume was skipped too');
    screen.dispose();
  } finally {
    await host.dispose();
  }
});

test('a resize in the middle of a flood (held or followed) lands where it did in the output', async () => {
  const host = new ScreenHost(silentLogger);
  try {
    const geometry = { cols: 80, rows: 24, scrollback: 100 };
    const before = new Uint8Array(
      Buffer.from(`$ cat log\r\n${'line of a log\r\n'.repeat(20_000)}`),
    );
    const after = new Uint8Array(Buffer.from(`${'w'.repeat(150_000)}\r\n$ `));
    // The reference: the same bytes and the resize at the same point, parsed in full.
    const terminal = new headless.Terminal({ ...geometry, allowProposedApi: true });
    const serializer = new serialize.SerializeAddon();
    terminal.loadAddon(serializer);
    terminal.write(before);
    await new Promise<void>((resolve) => terminal.write('', resolve));
    terminal.resize(100, 30);
    terminal.write(after);
    await new Promise<void>((resolve) => terminal.write('', resolve));
    const reference = serializer.serialize();
    terminal.dispose();

    for (const wait of [false, true]) {
      const screen = host.open(geometry);
      // Without waiting, the resize comes while the filter still holds the flood for the
      // worker's answer; with waiting, while it follows the flood.
      if (wait) await deliver(screen, [before]);
      else screen.write(before);
      screen.resize(100, 30);
      if (wait) await deliver(screen, [after]);
      else screen.write(after);
      assert.equal(await screen.serialize(), reference, wait ? 'following' : 'holding');
      screen.dispose();
    }
  } finally {
    await host.dispose();
  }
});

describe('random output, randomly split: the worker still shows what a full parse shows', () => {
  const host = new ScreenHost(silentLogger);
  let skipped = 0;
  after(() => host.dispose());
  // A seeded generator, so a failure names the seed that reproduces it.
  function random(seed: number): () => number {
    let state = seed;
    return () => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return state / 2 ** 31;
    };
  }
  const pieces: ((r: () => number) => string)[] = [
    (r) => 'k'.repeat(Math.floor(r() * 200_000)),
    (r) =>
      Array.from(
        { length: Math.floor(r() * 5000) },
        (_, i) => `${i} ${'w'.repeat(i % 90)}\r\n`,
      ).join(''),
    (r) => `\x1b[${Math.floor(r() * 30)};${Math.floor(r() * 90)}H`,
    () => '\x1b[1;31m',
    () => '\x1b[0m',
    () => '\x1b[2J',
    (r) => `\x1b[${1 + Math.floor(r() * 5)};${6 + Math.floor(r() * 10)}r`,
    () => '\x1b[r',
    () => '\x1b[?1049h',
    () => '\x1b[?1049l',
    () => '\x1b[?7l',
    () => '\x1b[?7h',
    (r) => `\x1b]0;${'t'.repeat(Math.floor(r() * 100_000))}\x07`,
    () => 'ünï ✓\t',
    // A progress line redrawn with CR only: no line advances, so a run keeps it all, up to a bound.
    (r) =>
      Array.from(
        { length: Math.floor(r() * 20_000) },
        (_, i) => `\r${i} of 20000 ${'='.repeat(i % 60)}`,
      ).join(''),
    () => '\n\n\r',
  ];
  for (let seed = 1; seed <= 24; seed++) {
    test(`seed ${seed}`, async () => {
      const r = random(seed);
      const geometry = {
        cols: 20 + Math.floor(r() * 100),
        rows: 5 + Math.floor(r() * 30),
        scrollback: Math.floor(r() * 300),
      };
      const all = Buffer.from(
        Array.from({ length: 12 }, () => pieces[Math.floor(r() * pieces.length)]!(r)).join(''),
        'utf8',
      );
      // Split anywhere, even inside a sequence or a character.
      const chunks: Uint8Array[] = [];
      for (let at = 0; at < all.length; ) {
        const size = 1 + Math.floor(r() * 150_000);
        chunks.push(new Uint8Array(all.subarray(at, at + size)));
        at += size;
      }
      const screen = host.open(geometry);
      if (seed % 2 === 0) await deliver(screen, chunks);
      else for (const chunk of chunks) screen.write(chunk);
      const text = await screen.serialize();
      skipped += screen.skippedBytes;
      screen.dispose();
      assert.equal(text, await parsedFully(chunks, geometry));
    });
  }
  // Otherwise the seeds would only show that parsing everything works.
  test('some seeds made floods the worker skipped', () => assert.ok(skipped > 0));
});
