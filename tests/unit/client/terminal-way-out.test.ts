import assert from 'node:assert/strict';
import { test } from 'node:test';
import { wayOutKey } from '../../../src/client/terminal-way-out.ts';

/** A keydown as xterm's custom key handler receives it. */
function key(name: string, mods: { shiftKey?: boolean; ctrlKey?: boolean } = {}) {
  let prevented = false;
  const event = {
    type: 'keydown',
    key: name,
    shiftKey: false,
    ctrlKey: false,
    altKey: false,
    metaKey: false,
    ...mods,
    preventDefault: () => {
      prevented = true;
    },
  } as unknown as KeyboardEvent;
  return { event, prevented: () => prevented };
}

function setup(leaves = true) {
  const sent: string[] = [];
  const left: boolean[] = [];
  const way = wayOutKey(
    (text) => sent.push(text),
    (backward) => {
      left.push(backward);
      return leaves;
    },
  );
  return { way, sent, left };
}

test('Tab alone is the shell’s', () => {
  const { way, sent, left } = setup();
  assert.equal(way.handle(key('Tab').event), true, 'xterm sends it to the shell');
  assert.deepEqual(sent, []);
  assert.deepEqual(left, []);
});

test('Escape then Tab leaves, and the shell never sees the Escape', () => {
  const { way, sent, left } = setup();
  assert.equal(way.handle(key('Escape').event), false);
  const tab = key('Tab');
  assert.equal(way.handle(tab.event), false);
  assert.equal(tab.prevented(), true);
  assert.deepEqual(left, [false]);
  assert.deepEqual(sent, []);
  way.dispose();
});

test('Escape, Shift, Tab leaves backwards', () => {
  const { way, left } = setup();
  way.handle(key('Escape').event);
  assert.equal(way.handle(key('Shift', { shiftKey: true }).event), true);
  way.handle(key('Tab', { shiftKey: true }).event);
  assert.deepEqual(left, [true]);
});

test('Escape then another key: the Escape goes first, as typed', () => {
  const { way, sent, left } = setup();
  way.handle(key('Escape').event);
  assert.equal(way.handle(key('b').event), true);
  assert.deepEqual(sent, ['\x1b']);
  assert.deepEqual(left, []);
});

test('a held Escape is sent on its own after a moment', async () => {
  const { way, sent } = setup();
  way.handle(key('Escape').event);
  await new Promise((resolve) => setTimeout(resolve, 1100));
  assert.deepEqual(sent, ['\x1b']);
  // Tab after that is the shell's again.
  assert.equal(way.handle(key('Tab').event), true);
});

test('where nothing takes the focus, the browser’s Tab moves it', () => {
  const { way } = setup(false);
  way.handle(key('Escape').event);
  const tab = key('Tab');
  assert.equal(way.handle(tab.event), false);
  assert.equal(tab.prevented(), false);
});
