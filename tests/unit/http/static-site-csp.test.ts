import assert from 'node:assert/strict';
import { test } from 'node:test';
import { contentSecurityPolicy } from '../../../sandbox-server/src/http/static-site.ts';

test("the guide's pages may frame their own origin, and the apps' origin when one is set", () => {
  const own = contentSecurityPolicy('<p>hello</p>');
  assert.match(own, /(^|; )frame-src 'self'(;|$)/);
  const withApps = contentSecurityPolicy('<p>hello</p>', ['https://apps.workshop.example']);
  assert.match(withApps, /(^|; )frame-src 'self' https:\/\/apps\.workshop\.example(;|$)/);
  assert.match(withApps, /frame-ancestors 'none'/);
});
