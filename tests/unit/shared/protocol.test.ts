import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodeClientMessage,
  decodeServerMessage,
} from '../../../sandbox-server/src/shared/protocol.ts';

const clientCases: [
  string,
  string,
  'ok' | 'malformed_message' | 'unknown_type' | 'invalid_message',
][] = [
  ['attach', '{"type":"attach","token":"t","cols":80,"rows":24}', 'ok'],
  ['attach read-only', '{"type":"attach","token":"t","cols":80,"rows":24,"readOnly":true}', 'ok'],
  ['unknown fields are ignored (forward compatible)', '{"type":"ack","bytes":5,"extra":1}', 'ok'],
  ['resize at the bounds', '{"type":"resize","cols":1000,"rows":500}', 'ok'],
  [
    'progress',
    '{"type":"progress","page":"/pods/","snippet":"pods-1","state":"failed","code":1}',
    'ok',
  ],
  ['not JSON', '{type', 'malformed_message'],
  ['a JSON string', '"attach"', 'malformed_message'],
  ['an array', '[{"type":"ack"}]', 'malformed_message'],
  ['null', 'null', 'malformed_message'],
  ['no type', '{"bytes":1}', 'unknown_type'],
  ['unknown type', '{"type":"exec"}', 'unknown_type'],
  [
    'a server message sent by a client',
    '{"type":"ready","session":"x","resumed":false}',
    'unknown_type',
  ],
  ['cols 0', '{"type":"resize","cols":0,"rows":24}', 'invalid_message'],
  ['cols over 1000', '{"type":"resize","cols":1001,"rows":24}', 'invalid_message'],
  ['rows fractional', '{"type":"resize","cols":80,"rows":2.5}', 'invalid_message'],
  ['negative ack', '{"type":"ack","bytes":-1}', 'invalid_message'],
  ['ack as a string', '{"type":"ack","bytes":"5"}', 'invalid_message'],
  ['attach without token', '{"type":"attach","cols":80,"rows":24}', 'invalid_message'],
  [
    'progress with a bad state',
    '{"type":"progress","page":"/","snippet":"a","state":"done"}',
    'invalid_message',
  ],
];

for (const [name, text, expected] of clientCases) {
  test(`client message: ${name} → ${expected}`, () => {
    const decoded = decodeClientMessage(text);
    if (expected === 'ok') {
      assert.ok(decoded.ok, decoded.ok ? '' : decoded.message);
    } else {
      assert.equal(decoded.ok, false);
      if (!decoded.ok) {
        assert.equal(decoded.code, expected);
        assert.ok(decoded.message.endsWith('.'), 'a sentence');
      }
    }
  });
}

test('invalid messages name the field at fault', () => {
  const decoded = decodeClientMessage('{"type":"resize","cols":80,"rows":0}');
  assert.equal(decoded.ok, false);
  if (!decoded.ok) assert.match(decoded.message, /"rows"/);
});

test('server messages decode on the client side, and client messages do not', () => {
  assert.ok(decodeServerMessage('{"type":"exit","code":3}').ok);
  assert.ok(decodeServerMessage('{"type":"notice","message":"Break in 5 minutes"}').ok);
  const wrong = decodeServerMessage('{"type":"ack","bytes":1}');
  assert.equal(wrong.ok, false);
});
