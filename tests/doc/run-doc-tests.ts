/**
 * Doc-tests: every runnable block of every chapter, chapter by chapter in reading order, sent
 * through the real sandbox server's protocol to a session whose shell talks to the test
 * cluster, with the variables' default values. Each block must succeed, or do what its fence
 * meta declares (`exit=N`, `until="…"`, `timeout=…`, `expect="…"`: text its output must
 * show); a block that needs what this sandbox
 * lacks (`needs=docker reason="…"`) is a declared skip, and a skip without a reason fails.
 *
 * The blocks are run by the same SnippetRunner the browser uses, so the doc-tests prove the
 * Run button's logic too.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SnippetRunner } from '../../src/client/snippet-runner.ts';
import { type CollectedChapter, collectSnippets } from '../../src/snippets/extract.ts';
import { fillPlaceholders } from '../../src/snippets/placeholders.ts';
import { createSession, endSession, plain, TerminalClient } from '../support/terminal-client.ts';
import { startTestServer } from '../support/test-server.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CONTENT = join(ROOT, 'content');
/** Commands without their own timeout= get this bound, so a hung `wait` cannot hang CI. */
const DEFAULT_TIMEOUT_MS = 120_000;
/** `KUBENOTES_DOC_CHAPTERS=pods,services`: only these chapters (slugs), for writing one. */
const ONLY_CHAPTERS = process.env.KUBENOTES_DOC_CHAPTERS
  ? process.env.KUBENOTES_DOC_CHAPTERS.split(',').map((slug) => slug.trim())
  : undefined;

interface ChapterResult {
  slug: string;
  ran: number;
  succeeded: number;
  skipped: number;
  failed: number;
}

function chapters(): { slug: string; order: number; chapter: CollectedChapter }[] {
  return readdirSync(CONTENT)
    .filter((file) => /\.mdx?$/.test(file) && !file.startsWith('_'))
    .map((file) => {
      const slug = file.replace(/\.mdx?$/, '');
      const chapter = collectSnippets(readFileSync(join(CONTENT, file), 'utf8'), slug, {
        file: `content/${file}`,
      });
      return { slug, order: Number(chapter.frontmatter.order ?? 0), chapter };
    })
    .filter(({ chapter }) => chapter.snippets.length > 0)
    .filter(({ slug }) => !ONLY_CHAPTERS || ONLY_CHAPTERS.includes(slug))
    .sort((a, b) => a.order - b.order);
}

export function serverArgs(env: NodeJS.ProcessEnv): string[] {
  const kubeconfig = env.KUBENOTES_TEST_KUBECONFIG;
  if (!kubeconfig) return ['--cluster', 'none'];
  const context = /^current-context:\s*"?([^"\s]+)/m.exec(readFileSync(kubeconfig, 'utf8'))?.[1];
  return ['--cluster', 'existing', '--kubeconfig', kubeconfig, '--context', context ?? ''];
}

async function main(): Promise<void> {
  if (!process.env.KUBENOTES_TEST_KUBECONFIG) {
    console.log(
      'doc-tests: no test cluster (KUBENOTES_TEST_KUBECONFIG is unset); run them through `npm test`.',
    );
    console.log('doc-tests: 0 passed, 1 failed');
    process.exit(1);
  }
  const path = [process.env.KUBENOTES_TEST_KUBECTL_DIR, '/usr/local/bin', '/usr/bin', '/bin']
    .filter(Boolean)
    .join(':');
  const server = await startTestServer(serverArgs(process.env), { env: { PATH: path } });
  const capabilities = (await server.provider.status()).capabilities;
  const results: ChapterResult[] = [];
  try {
    for (const { slug, chapter } of chapters()) {
      const result: ChapterResult = { slug, ran: 0, succeeded: 0, skipped: 0, failed: 0 };
      results.push(result);
      console.log(`\n■ ${slug} (${chapter.snippets.length} blocks)`);
      // Each chapter runs in a fresh session.
      const session = await createSession(server.url);
      const term = await TerminalClient.open(server.url, session, { cols: 160, rows: 50 });
      // open() has waited for the first prompt already.
      const runner = new SnippetRunner((text) => term.type(text), { atPrompt: true });
      term.onText((text) => runner.feed(text));
      for (const snippet of chapter.snippets) {
        const where = `content/${slug}.mdx:${snippet.line} [${snippet.id}]`;
        const missing = snippet.meta.needs.filter((need) => !capabilities.includes(need));
        if (missing.length > 0) {
          if (!snippet.meta.reason) {
            result.failed++;
            console.log(`  ✗ ${where}: needs=${missing.join(',')} without a reason="…"`);
          } else {
            result.skipped++;
            console.log(
              `  – ${where}: skipped, needs ${missing.join(', ')} (${snippet.meta.reason})`,
            );
          }
          continue;
        }
        const commands = snippet.commands.map((command) => {
          const filled = fillPlaceholders(command, {}, chapter.variables);
          if (!filled.ok)
            throw new Error(`${where}: ${filled.errors.map((e) => e.message).join(' ')}`);
          return filled.text;
        });
        result.ran++;
        const from = term.output.length;
        let outcome = await runner.run({
          commands,
          exit: snippet.meta.exit,
          until: snippet.meta.until,
          timeoutMs: snippet.meta.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        });
        const shown = plain(term.output.slice(from));
        const expected = snippet.meta.expect;
        // The typed commands are echoed too: the text must appear more often than they hold it.
        if (
          outcome.ok &&
          expected &&
          count(shown, expected) <= count(commands.join('\n'), expected)
        ) {
          outcome = { ok: false, reason: `its output does not show expect="${expected}"` };
        }
        if (outcome.ok) {
          result.succeeded++;
          console.log(`  ✓ ${where}`);
        } else {
          result.failed++;
          console.log(`  ✗ ${where}: ${outcome.reason}`);
          console.log(
            `    commands:\n${commands.map((c) => `      $ ${c.replaceAll('\n', '\n        ')}`).join('\n')}`,
          );
          const output = plain(term.output.slice(from)).trimEnd().split('\n').slice(-40);
          console.log(`    terminal:\n${output.map((line) => `      | ${line}`).join('\n')}`);
        }
      }
      term.close();
      await endSession(server.url, session);
    }
  } finally {
    await server.stop();
  }

  console.log('\nchapter              ran  succeeded  skipped  failed');
  for (const r of results) {
    console.log(
      `${r.slug.padEnd(20)} ${String(r.ran).padStart(3)}  ${String(r.succeeded).padStart(9)}  ${String(r.skipped).padStart(7)}  ${String(r.failed).padStart(6)}`,
    );
  }
  const total = results.reduce(
    (t, r) => ({
      passed: t.passed + r.succeeded,
      failed: t.failed + r.failed,
      skipped: t.skipped + r.skipped,
    }),
    { passed: 0, failed: 0, skipped: 0 },
  );
  console.log(
    `doc-tests: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`,
  );
  process.exit(total.failed === 0 && total.passed > 0 ? 0 : 1);
}

function count(text: string, part: string): number {
  return text.split(part).length - 1;
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
