/**
 * The sandbox's image carries only the server's run-time packages (runtime-modules.mjs), not the
 * site's build tools: a server module that reaches shiki or astro, even through a shared
 * src/snippets module, starts in development and fails in the image ("Cannot find package").
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';

const CLI = pathToFileURL(join(import.meta.dirname, '..', '..', 'sandbox-server', 'src', 'cli.ts'));

test("the server's imports never reach the site's build tools (shiki, astro)", () => {
  const script = `
    import { registerHooks } from 'node:module';
    registerHooks({
      resolve(spec, context, next) {
        if (/^(shiki|@shikijs|astro|@astrojs)(\\/|$)/.test(spec)) {
          throw new Error('the server imports ' + spec + ' from ' + context.parentURL);
        }
        return next(spec, context);
      },
    });
    await import(${JSON.stringify(CLI.href)});`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script, '--', '--help'], {
    encoding: 'utf8',
  });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /Usage: kubenotes/);
});
